"""A unit asks the reporter a question; the reporter replies, and the case goes back to
where it was (the answer clock paused meanwhile, if ``[alerts] pause_while_asking``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.i18n import N_
from bot.runtime import Runtime
from bot.services import acting, alarms, case_states, notify
from bot.services.acting import Actor, Refused
from storage import cases as case_repo
from storage import people
from storage.models import Case, NewAttachment, Person
from storage.sql import Conn


async def ask_reporter(runtime: Runtime, case_id: int, actor: Actor, question: str) -> Case:
    """Relay a question to the reporter (whoever they are, without revealing them)."""
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[Case | None, str | None]:
        case, roles = acting.load(conn, case_id, actor.person)
        reason = acting.why_not(case, roles, "ask")
        if reason is None and case is not None and not case.reachable:
            reason = "no_feedback"
        if reason is None:
            assert case is not None
            role = acting.role_for(roles, case)
            people.set_display_name(conn, actor.person.id, actor.name)
            after = case_states.next_state("ask", case.state)
            case_repo.set_state(conn, case.id, (case.state,), after, now)
            case_repo.append_event(
                conn, case.id, now, actor.person.id, role, "question", case.state, after,
                {"text": question})
            alarms.replan_case(conn, runtime, case.id, now=now)
            asked = case_repo.get_case(conn, case.id)
            assert asked is not None
            notify.to_reporter(
                conn, runtime, asked,
                lambda t, lang: t("❓ {unit} asks about your case {number}:\n\n{question}")
                .format(unit=notify.unit_name(runtime, asked.unit_id, lang),
                        number=asked.number, question=question),
                buttons=lambda t: [[(t("✍ Reply"), f"rep:{asked.id}:reply")]], now=now)
            notify.refresh_cards(
                conn, runtime, asked,
                acting.status(N_("❓ {name} asked the reporter: {question}"), name=actor.name,
                              question=question),
                acting.attachment_count(conn, case.id), now=now)
            return asked, None
        return case, reason
    case, reason = await runtime.db.write(work)
    if reason is None:
        assert case is not None
        return case
    raise await acting.refuse(runtime, case.id if case else None, actor.person, "ask",
                              reason or "invalid")


async def reporter_case(runtime: Runtime, case_id: int, person: Person, chat_id: int) -> Case:
    """A case the presser reported (by name, or on their sealed list of anonymous cases),
    or Refused('not_found')."""
    def work(conn: Conn) -> Case:
        case = acting.reporters_case(conn, runtime, case_id, person)
        if case is None:
            raise Refused("not_found")
        return case
    return await runtime.db.read(work)


def _after_pause(runtime: Runtime, case: Case, asked_at: datetime, now: datetime) -> datetime:
    """The answer deadline once the clock stood still from ``asked_at`` to ``now``.

    A deadline in working days is counted as the deadline rules count it: whole working
    days, the day the question was asked not counted (whatever the hour), so a reply the
    same day moves nothing and the deadline stays at the end of a working day. Other
    deadlines move by the time waited.
    """
    rule = runtime.config.deadlines.rule(case.kind, case.category_id).answer
    if not rule.working_days:
        return case.answer_due + (now - asked_at)
    tz = runtime.config.general.tz
    day, last = asked_at.astimezone(tz).date(), now.astimezone(tz).date()
    waited = 0
    while day < last:
        day += timedelta(days=1)
        waited += runtime.calendar.is_workday(day)
    if waited == 0:
        return case.answer_due
    return runtime.calendar.add_working_days(case.answer_due.astimezone(tz), waited)


async def reporter_reply(
    runtime: Runtime, case_id: int, person: Person, chat_id: int, text: str,
    attachments: tuple[NewAttachment, ...],
) -> Case:
    """The reporter's reply to a question goes back to the unit; the case goes on."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Case:
        case = acting.reporters_case(conn, runtime, case_id, person)
        if case is None:
            raise Refused("not_found")
        if not case_states.may("reply", case.state):
            raise Refused("state")
        events = case_repo.events_of(conn, case.id)
        asked = next((e for e in reversed(events) if e.type == "question"), None)
        # Back where the question was asked.
        back_to = case_states.next_state(
            "reply", case.state,
            asked.state_before if asked and asked.state_before else case_states.ACCEPTED)
        case_repo.set_state(conn, case.id, case_states.starts("reply"), back_to, now)
        paused = 0
        if asked is not None and runtime.config.alerts.pause_while_asking:
            # The answer clock stood still while the unit waited for the reporter.
            paused = int((now - asked.at).total_seconds())
            case_repo.set_due(conn, case.id, "answer",
                              _after_pause(runtime, case, asked.at, now), now)
        actor = None if case.anonymous else person.id
        event_id = case_repo.append_event(
            conn, case.id, now, actor, "reporter", "reply", case.state, back_to,
            {"text": text, "attachments": len(attachments), "paused_seconds": paused})
        alarms.replan_case(conn, runtime, case.id, now=now)
        case_repo.add_attachments(conn, case.id, event_id, attachments, now)
        replied = case_repo.get_case(conn, case.id)
        assert replied is not None
        notify.send(
            conn, runtime, notify.unit_recipients(conn, runtime, replied.unit_id),
            lambda t, lang: t("💬 The reporter of {number} replied:\n\n{text}").format(
                number=replied.number, text=text or "—"),
            attachments=attachments, case_id=replied.id, now=now)
        notify.refresh_cards(
            conn, runtime, replied, acting.status(N_("💬 The reporter replied: {text}"), text=text),
            acting.attachment_count(conn, case.id), now=now)
        return replied
    return await runtime.db.write(work)
