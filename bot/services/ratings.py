"""The reporter rates an answer: satisfied, the case closes; not satisfied, it reopens at
the unit, the second time at the supervision group. An answer left unrated closes after
``[handling] close_unrated_days``."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import N_
from bot.runtime import Runtime
from bot.services import acting, alarms, case_states, notify, sealed
from bot.services.acting import Refused
from bot.services.deadlines import due_times
from bot.services.roles import overseer
from storage import answers as answer_repo
from storage import cases as case_repo
from storage.models import Case, Person
from storage.sql import Conn

RATINGS = ("satisfied", "basically", "unsatisfied")
RATING_NAMES = {
    "satisfied": N_("satisfied"),
    "basically": N_("basically satisfied"),
    "unsatisfied": N_("not satisfied"),
}


async def rate(
    runtime: Runtime, answer_id: int, person: Person, chat_id: int, rating: str
) -> tuple[Case, str]:
    """The reporter rates an answer. Returns the case and what followed:
    ``closed``, ``reopened`` (back to the same unit) or ``escalated`` (to supervision)."""
    if rating not in RATINGS:
        raise Refused("invalid")
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[Case, str]:
        answer = answer_repo.get_answer(conn, answer_id)
        case = case_repo.get_case(conn, answer.case_id) if answer else None
        if answer is None or case is None or not sealed.owns(conn, runtime.sealer, case, person):
            raise Refused("not_found")
        if answer.rating is not None:
            raise Refused("rated")  # their own rating, from an old button
        if not case_states.may("rate", case.state) or not answer_repo.rate(
                conn, answer.id, rating, now):
            raise Refused("state")
        actor = None if case.anonymous else person.id
        unit_id = case.unit_id
        if rating != "unsatisfied":
            case_repo.mark_closed(conn, case.id, now)
            outcome, after = "closed", case_states.CLOSED
        elif case.reopened == 0:
            case_repo.mark_reopened(conn, case.id, now)
            outcome, after = "reopened", case_states.REOPENED
        else:
            supervision = overseer(runtime.config, case.concerns_unit_id)
            assert supervision is not None
            accept_due, _ = due_times(runtime.config, runtime.calendar, case.kind,
                                      case.category_id, now)
            case_repo.move_to_unit(conn, case.id, supervision.id, accept_due, now,
                                   count_transfer=False)
            case_repo.mark_reopened(conn, case.id, now)
            outcome, after = "escalated", case_states.REOPENED
        case_repo.append_event(
            conn, case.id, now, actor, "reporter", "rated", case.state,
            case_states.next_state("rate", case.state, after),
            {"answer": answer.id, "rating": rating, "then": outcome})
        alarms.replan_case(conn, runtime, case.id, now=now)
        rated = case_repo.get_case(conn, case.id)
        assert rated is not None
        files = case_repo.attachments_of(conn, case.id)
        rating_status = acting.status(
            N_("⭐ The reporter rated the answer: {rating}"),
            rating=lambda language: acting.translated(language, RATING_NAMES[rating]))
        if outcome == "escalated":
            notify.refresh_cards(conn, runtime, rated, rating_status, len(files),
                                 unit_id=unit_id, now=now)
            notify.send_cards(
                conn, runtime, rated, files,
                acting.status(N_("⚠ Not satisfied twice with the answers of {unit}"),
                              unit=acting.unit_label(runtime, unit_id)), now=now)
        else:
            notify.refresh_cards(conn, runtime, rated, rating_status, len(files), now=now)
        return rated, outcome
    return await runtime.db.write(work)


async def rating_comment(
    runtime: Runtime, case_id: int, person: Person, chat_id: int, text: str
) -> Case:
    """The reporter's comment on their rating reaches the unit that holds the case."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Case:
        case = acting.reporters_case(conn, runtime, case_id, person)
        if case is None:
            raise Refused("not_found")
        if answer_repo.latest_rated(conn, case.id) is None:
            raise Refused("state")  # a comment on a rating needs a rating
        actor = None if case.anonymous else person.id
        case_repo.append_event(conn, case.id, now, actor, "reporter", "rating_comment",
                               case.state, case.state, {"text": text})
        notify.send(
            conn, runtime, notify.unit_recipients(conn, runtime, case.unit_id),
            lambda t, lang: t("💬 The reporter of {number} commented on the answer:\n\n{text}")
            .format(number=case.number, text=text), case_id=case.id, now=now)
        return case
    return await runtime.db.write(work)


async def close_unrated(runtime: Runtime) -> int:
    """Close answered cases whose reporter did not rate within the configured days."""
    now = runtime.clock.now()
    cutoff = now - timedelta(days=runtime.config.handling.close_unrated_days)

    def work(conn: Conn) -> int:
        closed = 0
        for case in case_repo.answered_before(conn, cutoff):
            case_repo.mark_closed(conn, case.id, now)
            case_repo.append_event(
                conn, case.id, now, None, "system", "closed", case.state,
                case_states.next_state("close_unrated", case.state), {"reason": "not_rated"})
            closed_case = case_repo.get_case(conn, case.id)
            assert closed_case is not None
            notify.refresh_cards(
                conn, runtime, closed_case,
                acting.status(N_("Closed: the reporter did not rate the answer")),
                acting.attachment_count(conn, case.id), now=now)
            closed += 1
        return closed
    return await runtime.db.write(work)
