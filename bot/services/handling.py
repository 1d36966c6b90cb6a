"""What a unit does with a case, and what the reporter says back.

Every action re-reads the case and the actor's roles inside its transaction, refuses what
the actor may not do *now* (recording the refusal in the case's trail), and writes the
messages it owes into the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services import alarms, limits, notify, routing, sealed
from bot.services.deadlines import due_times
from bot.services.roles import handles, is_supervision, overseer, signs_off
from storage import answers as answer_repo
from storage import cases as case_repo
from storage import directory, people
from storage.models import Answer, Case, Membership, NewAttachment, Person

OUTCOMES = ("resolved", "partly_resolved", "explained", "not_ours")
OUTCOME_NAMES = {
    "resolved": N_("resolved"),
    "partly_resolved": N_("partly resolved"),
    "explained": N_("explained: cannot be done"),
    "not_ours": N_("not our responsibility"),
}
RATINGS = ("satisfied", "basically", "unsatisfied")
RATING_NAMES = {
    "satisfied": N_("satisfied"),
    "basically": N_("basically satisfied"),
    "unsatisfied": N_("not satisfied"),
}
ACTION_STATES = {
    "accept": ("new",),
    "answer": ("accepted", "reopened", "info_requested"),
    "transfer": ("new", "accepted", "reopened", "info_requested"),
    "ask": ("accepted", "reopened"),
}


class Refused(Exception):
    """The action is not allowed now; ``reason`` is a stable code for the message."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Actor:
    """The person acting, with the name colleagues see on cards."""

    person: Person
    name: str


async def _refuse(
    runtime: Runtime, case_id: int | None, actor: Person, action: str, reason: str,
    detail: str | None = None,
) -> Refused:
    """Record a refused attempt in the case's trail (nothing else changes).

    A refusal to someone who holds no role is only counted, in memory
    (:mod:`bot.services.limits`): a stranger's forged presses must not fill the trail.
    """
    if case_id is None or not await limits.holds_a_role(runtime, actor.telegram_id):
        limits.count_refusal(runtime, reason)
    else:
        async with runtime.db.transaction() as conn:
            if await case_repo.get_case(conn, case_id) is not None:
                await case_repo.append_event(
                    conn, case_id, runtime.clock.now(), actor.id, "none", "refused", None, None,
                    {"action": action, "reason": reason},
                )
    return Refused(reason, detail)


async def _role_for(roles: list[Membership], case: Case) -> str:
    for role in ("head", "official", "supervision"):
        if any(m.role == role and m.unit_id == case.unit_id for m in roles):
            return role
    return "supervision" if is_supervision(roles) else "none"


async def _load(
    conn: aiosqlite.Connection, case_id: int, actor: Person
) -> tuple[Case | None, list[Membership]]:
    return (await case_repo.get_case(conn, case_id),
            await directory.memberships_of(conn, actor.telegram_id))


async def check(runtime: Runtime, case_id: int, actor: Person, action: str) -> Case:
    """May ``actor`` start ``action`` on the case now? Returns the case or raises Refused."""
    async with runtime.db.read() as conn:
        case, roles = await _load(conn, case_id, actor)
    reason = _why_not(case, roles, action)
    if reason:
        raise await _refuse(runtime, case.id if case else None, actor, action, reason)
    assert case is not None
    if action == "ask" and not case.reachable:
        raise await _refuse(runtime, case.id, actor, action, "no_feedback")
    return case


def _why_not(case: Case | None, roles: list[Membership], action: str) -> str | None:
    if case is None:
        return "not_found"
    if not handles(roles, case):
        return "not_allowed"
    if case.state not in ACTION_STATES[action]:
        return "state"
    return None


async def _attachment_count(conn: aiosqlite.Connection, case_id: int) -> int:
    return len(await case_repo.attachments_of(conn, case_id))


def _status(message: str, **params: object) -> notify.Render:
    """A status line for cards, translated per reader (unit names in their language)."""
    def render(t: Translate, language: str) -> str:
        values = {k: (v(language) if callable(v) else v) for k, v in params.items()}
        return t(message).format(**values)
    return render


def _unit(runtime: Runtime, unit_id: str) -> Callable[[str], str]:
    return lambda language: notify.unit_name(runtime, unit_id, language)


# ----------------------------------------------------------------------------- accept

async def accept(runtime: Runtime, case_id: int, actor: Actor) -> Case:
    """The first acceptance wins; everyone's copy of the card shows who and when."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        case, roles = await _load(conn, case_id, actor.person)
        reason = _why_not(case, roles, "accept")
        if reason is None:
            assert case is not None
            if await case_repo.mark_accepted(conn, case.id, actor.person.id, now):
                role = await _role_for(roles, case)
                await people.set_display_name(conn, actor.person.id, actor.name)
                await case_repo.append_event(
                    conn, case.id, now, actor.person.id, role, "accepted", "new", "accepted")
                await alarms.replan_case(conn, runtime, case.id)
                accepted = await case_repo.get_case(conn, case.id)
                assert accepted is not None
                await notify.to_reporter(conn, runtime, accepted, lambda t, lang: t(
                    "Your case {number} has been accepted by {unit}. The answer is due by "
                    "{due}."
                ).format(number=accepted.number, unit=notify.unit_name(
                    runtime, accepted.unit_id, lang), due=notify.local_time(
                    runtime, accepted.answer_due)))
                await notify.refresh_cards(
                    conn, runtime, accepted,
                    _status(N_("✅ Accepted by {name} at {time}"), name=actor.name,
                            time=notify.local_time(runtime, now)),
                    await _attachment_count(conn, case.id))
                return accepted
    if case is not None and case.accepted_by == actor.person.id:
        # Their own acceptance, pressed again: a double tap, or the press replayed after a
        # restart that struck between the acceptance and its record. Done, not refused.
        return case
    if reason is None or (reason == "state" and case is not None
                          and case.accepted_by is not None):
        raise await _refuse(runtime, case_id, actor.person, "accept", "already")
    raise await _refuse(runtime, case.id if case else None, actor.person, "accept", reason)


# ----------------------------------------------------------------------------- answer

async def submit_answer(
    runtime: Runtime, case_id: int, actor: Actor, outcome: str, text: str,
    redirect: str | None, attachments: tuple[NewAttachment, ...],
) -> tuple[Case, bool]:
    """Answer a case; returns it and whether the answer waits for the head's sign-off."""
    if outcome not in OUTCOMES:
        raise Refused("invalid")
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        case, roles = await _load(conn, case_id, actor.person)
        reason = _why_not(case, roles, "answer")
        if reason is None:
            assert case is not None
            if await answer_repo.pending_answer(conn, case.id) is not None:
                reason = "pending"
        if reason is None:
            assert case is not None
            role = await _role_for(roles, case)
            await people.set_display_name(conn, actor.person.id, actor.name)
            needs_sign_off = runtime.config.unit(case.unit_id).sign_off and not signs_off(
                roles, case)
            answer_id = await answer_repo.add_answer(
                conn, case.id, case.unit_id, actor.person.id, outcome, text, redirect,
                "pending" if needs_sign_off else "sent", attachments, now)
            if needs_sign_off:
                await case_repo.append_event(
                    conn, case.id, now, actor.person.id, role, "answer_submitted", case.state,
                    case.state, {"answer": answer_id, "outcome": outcome})
                await _ask_sign_off(conn, runtime, case, answer_id, actor)
                await notify.refresh_cards(
                    conn, runtime, case,
                    _status(N_("✍ Answer by {name} waits for the head's sign-off"),
                            name=actor.name),
                    await _attachment_count(conn, case.id))
                return case, True
            answer = await answer_repo.get_answer(conn, answer_id)
            assert answer is not None
            answered = await _deliver_answer(conn, runtime, case, answer, actor, role)
            return answered, False
    raise await _refuse(runtime, case.id if case else None, actor.person, "answer",
                        reason or "invalid")


def outcome_text(t: Translate, answer: Answer) -> str:
    """The answer as the reporter reads it."""
    if answer.outcome == "not_ours":
        return t("Outcome: {outcome}. Where to go instead: {redirect}\n\n{text}").format(
            outcome=t(OUTCOME_NAMES[answer.outcome]), redirect=answer.redirect or "—",
            text=answer.text)
    return t("Outcome: {outcome}\n\n{text}").format(
        outcome=t(OUTCOME_NAMES[answer.outcome]), text=answer.text)


async def _ask_sign_off(
    conn: aiosqlite.Connection, runtime: Runtime, case: Case, answer_id: int, actor: Actor
) -> None:
    answer = await answer_repo.get_answer(conn, answer_id)
    assert answer is not None
    await notify.send(
        conn, runtime, await notify.heads_of(conn, runtime, case.unit_id),
        lambda t, lang: t(
            "✍ {name} answered {number}. Please sign it off before it goes to the "
            "reporter.\n\n{answer}"
        ).format(name=actor.name, number=case.number, answer=outcome_text(t, answer)),
        buttons=lambda t: [[(t("✅ Approve"), f"sign:{answer_id}:ok")],
                           [(t("↩ Return with a comment"), f"sign:{answer_id}:back")]],
        attachments=answer.attachments, case_id=case.id,
    )


async def _deliver_answer(
    conn: aiosqlite.Connection, runtime: Runtime, case: Case, answer: Answer, actor: Actor,
    role: str,
) -> Case:
    """The answer reaches the reporter, with rating buttons; the case is answered."""
    moment = runtime.clock.now()
    await case_repo.mark_answered(conn, case.id, moment)
    await case_repo.append_event(
        conn, case.id, moment, actor.person.id, role, "answered", case.state, "answered",
        {"answer": answer.id, "outcome": answer.outcome})
    await alarms.replan_case(conn, runtime, case.id)
    answered = await case_repo.get_case(conn, case.id)
    assert answered is not None
    await notify.to_reporter(
        conn, runtime, answered,
        lambda t, lang: t("📬 The answer to your case {number} from {unit}:\n\n{answer}\n\n"
                          "How satisfied are you with it?").format(
            number=answered.number, unit=notify.unit_name(runtime, answered.unit_id, lang),
            answer=outcome_text(t, answer)),
        buttons=lambda t: [[(t("😊 Satisfied"), f"rate:{answer.id}:satisfied")],
                           [(t("🙂 Basically satisfied"), f"rate:{answer.id}:basically")],
                           [(t("🙁 Not satisfied"), f"rate:{answer.id}:unsatisfied")]],
        attachments=answer.attachments,
    )
    await notify.refresh_cards(
        conn, runtime, answered,
        _status(N_("📬 Answered by {name}: {outcome}"), name=actor.name,
                outcome=lambda language: _translated(language, OUTCOME_NAMES[answer.outcome])),
        await _attachment_count(conn, case.id))
    return answered


def _translated(language: str, message: str) -> str:
    from bot.i18n import translator

    return translator(language)(message)


def _sign_off_refusal(answer: Answer | None, case: Case | None, roles: list[Membership]
                      ) -> str | None:
    """Why ``roles`` may not decide on ``answer`` now (None: they may)."""
    if answer is None or case is None:
        return "not_found"
    if not signs_off(roles, case) or answer.unit_id != case.unit_id:
        return "not_allowed"
    if answer.status != "pending":
        return "already"
    return None


async def check_sign_off(runtime: Runtime, answer_id: int, person: Person) -> None:
    """Refuse at the press what ``decide_sign_off`` would refuse after the comment is
    typed (someone who does not sign off, an answer decided already)."""
    async with runtime.db.read() as conn:
        answer = await answer_repo.get_answer(conn, answer_id)
        case = await case_repo.get_case(conn, answer.case_id) if answer else None
        roles = await directory.memberships_of(conn, person.telegram_id)
    reason = _sign_off_refusal(answer, case, roles)
    if reason is not None:
        raise Refused(reason)


async def decide_sign_off(
    runtime: Runtime, answer_id: int, actor: Actor, approve: bool, comment: str | None = None,
) -> tuple[Case, Answer]:
    """The head approves (the answer goes out) or returns it with a comment."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        answer = await answer_repo.get_answer(conn, answer_id)
        case = await case_repo.get_case(conn, answer.case_id) if answer else None
        roles = await directory.memberships_of(conn, actor.person.telegram_id)
        reason = _sign_off_refusal(answer, case, roles)
        if reason is None and approve and case is not None and \
                case.state not in ACTION_STATES["answer"]:
            reason = "state"  # withdrawn (or moved on) while the answer waited
        if reason is None:
            assert answer is not None and case is not None
            await answer_repo.decide(conn, answer.id, "sent" if approve else "returned",
                                     actor.person.id, comment, now)
            await people.set_display_name(conn, actor.person.id, actor.name)
            role = await _role_for(roles, case)
            author = await people.get_person(conn, answer.author_id)
            if approve:
                await case_repo.append_event(
                    conn, case.id, now, actor.person.id, role, "signed_off", case.state,
                    case.state, {"answer": answer.id})
                author_name = (author.display_name if author else None) or actor.name
                case = await _deliver_answer(
                    conn, runtime, case, answer, Actor(author, author_name) if author else actor,
                    role)
            else:
                await case_repo.append_event(
                    conn, case.id, now, actor.person.id, role, "answer_returned", case.state,
                    case.state, {"answer": answer.id, "comment": comment or ""})
                await notify.refresh_cards(
                    conn, runtime, case,
                    _status(N_("↩ Answer returned by {name}: {comment}"), name=actor.name,
                            comment=comment or ""),
                    await _attachment_count(conn, case.id))
            if author is not None and author.id != actor.person.id:
                language = await notify.chat_language(conn, runtime, author.telegram_id)
                number = case.number
                await notify.send(
                    conn, runtime, [notify.Recipient(author.telegram_id, language)],
                    (lambda t, lang: t("✅ {name} approved your answer to {number}; it has "
                                       "gone to the reporter.").format(
                        name=actor.name, number=number)) if approve else
                    (lambda t, lang: t("↩ {name} returned your answer to {number}: {comment}\n"
                                       "Please answer again.").format(
                        name=actor.name, number=number, comment=comment or "—")),
                    case_id=case.id)
            return case, answer
    raise await _refuse(runtime, case.id if case else None, actor.person, "sign_off",
                        reason)


# ----------------------------------------------------------------------------- transfer

async def transfer(
    runtime: Runtime, case_id: int, actor: Actor, to_unit: str, reason_text: str
) -> tuple[Case, bool]:
    """Hand the case to another unit; past the transfer limit it goes to supervision.

    Returns the case and whether it went to the supervision group instead.
    """
    config = runtime.config
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        case, roles = await _load(conn, case_id, actor.person)
        reason = _why_not(case, roles, "transfer")
        try:
            config.unit(to_unit)
        except KeyError:
            reason = reason or "invalid"
        if reason is None and case is not None and to_unit == case.unit_id:
            reason = "same_unit"
        refused_role = "none"
        if reason is None:
            assert case is not None
            supervision = overseer(config, case.concerns_unit_id)
            escalated = (case.transfers + 1 > config.handling.max_transfers
                         and supervision is not None)
            target = supervision.id if escalated and supervision else to_unit
            role = await _role_for(roles, case)
            if case.concerns_unit_id in (to_unit, target):
                # The report is about that unit's own leadership: it must never see it.
                reason, refused_role = "concerned_unit", role
        if reason is None:
            assert case is not None
            await people.set_display_name(conn, actor.person.id, actor.name)
            accept_due, _ = due_times(config, runtime.calendar, case.kind, case.category_id, now)
            old_unit = case.unit_id
            # A unit nobody can take the case at passes it up the tree (services/routing.py).
            meant_for = target
            target = await routing.staffed_target(conn, runtime, target, case.concerns_unit_id)
            await case_repo.move_to_unit(conn, case.id, target, accept_due, now,
                                         count_transfer=True)
            await case_repo.append_event(
                conn, case.id, now, actor.person.id, role,
                "escalated" if escalated else "transferred", case.state, "new",
                {"from": old_unit, "to": target, "asked_for": to_unit, "reason": reason_text})
            await alarms.replan_case(conn, runtime, case.id)
            moved = await case_repo.get_case(conn, case.id)
            assert moved is not None
            if target != meant_for:
                await routing.routed_up(conn, runtime, moved, meant_for)
            files = await case_repo.attachments_of(conn, case.id)
            await notify.refresh_cards(
                conn, runtime, moved,
                _status(N_("↪ Transferred by {name} to {unit}: {reason}"), name=actor.name,
                        unit=_unit(runtime, target), reason=reason_text),
                len(files), unit_id=old_unit)
            await notify.send_cards(
                conn, runtime, moved, files,
                _status(N_("↪ Transferred from {unit}: {reason}"),
                        unit=_unit(runtime, old_unit), reason=reason_text))
            await notify.to_reporter(conn, runtime, moved, lambda t, lang: t(
                "Your case {number} has been transferred to {unit}. Reason: {reason}"
            ).format(number=moved.number, unit=notify.unit_name(runtime, target, lang),
                     reason=reason_text))
            return moved, escalated
    if reason == "concerned_unit" and case is not None:
        raise await _refuse_transfer(runtime, case, actor.person, refused_role, to_unit)
    raise await _refuse(runtime, case.id if case else None, actor.person, "transfer",
                        reason or "invalid")


async def _refuse_transfer(
    runtime: Runtime, case: Case, actor: Person, role: str, to_unit: str
) -> Refused:
    """A transfer to the unit a report is about: refused, and recorded in the trail."""
    async with runtime.db.transaction() as conn:
        await case_repo.append_event(
            conn, case.id, runtime.clock.now(), actor.id, role, "transfer_refused",
            case.state, case.state, {"to": to_unit, "reason": "concerned_unit"})
    return Refused("concerned_unit")


# ----------------------------------------------------------------------------- questions

async def ask_reporter(runtime: Runtime, case_id: int, actor: Actor, question: str) -> Case:
    """Relay a question to the reporter (whoever they are, without revealing them)."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        case, roles = await _load(conn, case_id, actor.person)
        reason = _why_not(case, roles, "ask")
        if reason is None and case is not None and not case.reachable:
            reason = "no_feedback"
        if reason is None:
            assert case is not None
            role = await _role_for(roles, case)
            await people.set_display_name(conn, actor.person.id, actor.name)
            await case_repo.set_state(conn, case.id, (case.state,), "info_requested", now)
            await case_repo.append_event(
                conn, case.id, now, actor.person.id, role, "question", case.state,
                "info_requested", {"text": question})
            await alarms.replan_case(conn, runtime, case.id)
            asked = await case_repo.get_case(conn, case.id)
            assert asked is not None
            await notify.to_reporter(
                conn, runtime, asked,
                lambda t, lang: t("❓ {unit} asks about your case {number}:\n\n{question}")
                .format(unit=notify.unit_name(runtime, asked.unit_id, lang),
                        number=asked.number, question=question),
                buttons=lambda t: [[(t("✍ Reply"), f"rep:{asked.id}:reply")]])
            await notify.refresh_cards(
                conn, runtime, asked,
                _status(N_("❓ {name} asked the reporter: {question}"), name=actor.name,
                        question=question),
                await _attachment_count(conn, case.id))
            return asked
    raise await _refuse(runtime, case.id if case else None, actor.person, "ask",
                        reason or "invalid")


async def reporter_case(runtime: Runtime, case_id: int, person: Person, chat_id: int) -> Case:
    """A case the presser reported (by name, or on their sealed list of anonymous cases),
    or Refused('not_found')."""
    async with runtime.db.read() as conn:
        case = await case_repo.get_case(conn, case_id)
        if case is None or not await sealed.owns(conn, runtime, case, person):
            raise Refused("not_found")
    return case


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
    async with runtime.db.transaction() as conn:
        case = await case_repo.get_case(conn, case_id)
        if case is None or not await sealed.owns(conn, runtime, case, person):
            raise Refused("not_found")
        if case.state != "info_requested":
            raise Refused("state")
        events = await case_repo.events_of(conn, case.id)
        asked = next((e for e in reversed(events) if e.type == "question"), None)
        back_to = asked.state_before if asked and asked.state_before else "accepted"
        await case_repo.set_state(conn, case.id, ("info_requested",), back_to, now)
        paused = 0
        if asked is not None and runtime.config.alerts.pause_while_asking:
            # The answer clock stood still while the unit waited for the reporter.
            paused = int((now - asked.at).total_seconds())
            await case_repo.set_due(conn, case.id, "answer",
                                    _after_pause(runtime, case, asked.at, now), now)
        actor = None if case.anonymous else person.id
        event_id = await case_repo.append_event(
            conn, case.id, now, actor, "reporter", "reply", "info_requested", back_to,
            {"text": text, "attachments": len(attachments), "paused_seconds": paused})
        await alarms.replan_case(conn, runtime, case.id)
        await case_repo.add_attachments(conn, case.id, event_id, attachments, now)
        replied = await case_repo.get_case(conn, case.id)
        assert replied is not None
        await notify.send(
            conn, runtime, await notify.unit_recipients(conn, runtime, replied.unit_id),
            lambda t, lang: t("💬 The reporter of {number} replied:\n\n{text}").format(
                number=replied.number, text=text or "—"),
            attachments=attachments, case_id=replied.id)
        await notify.refresh_cards(
            conn, runtime, replied, _status(N_("💬 The reporter replied: {text}"), text=text),
            await _attachment_count(conn, case.id))
        return replied


# ----------------------------------------------------------------------------- ratings

async def rate(
    runtime: Runtime, answer_id: int, person: Person, chat_id: int, rating: str
) -> tuple[Case, str]:
    """The reporter rates an answer. Returns the case and what followed:
    ``closed``, ``reopened`` (back to the same unit) or ``escalated`` (to supervision)."""
    if rating not in RATINGS:
        raise Refused("invalid")
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        answer = await answer_repo.get_answer(conn, answer_id)
        case = await case_repo.get_case(conn, answer.case_id) if answer else None
        if answer is None or case is None or not await sealed.owns(conn, runtime, case, person):
            raise Refused("not_found")
        if answer.rating is not None:
            raise Refused("rated")  # their own rating, from an old button
        if case.state != "answered" or not await answer_repo.rate(conn, answer.id, rating, now):
            raise Refused("state")
        actor = None if case.anonymous else person.id
        unit_id = case.unit_id
        if rating != "unsatisfied":
            await case_repo.mark_closed(conn, case.id, now)
            outcome, after = "closed", "closed"
        elif case.reopened == 0:
            await case_repo.mark_reopened(conn, case.id, now)
            outcome, after = "reopened", "reopened"
        else:
            supervision = overseer(runtime.config, case.concerns_unit_id)
            assert supervision is not None
            accept_due, _ = due_times(runtime.config, runtime.calendar, case.kind,
                                      case.category_id, now)
            await case_repo.move_to_unit(conn, case.id, supervision.id, accept_due, now,
                                         count_transfer=False)
            await case_repo.mark_reopened(conn, case.id, now)
            outcome, after = "escalated", "reopened"
        await case_repo.append_event(
            conn, case.id, now, actor, "reporter", "rated", "answered", after,
            {"answer": answer.id, "rating": rating, "then": outcome})
        await alarms.replan_case(conn, runtime, case.id)
        rated = await case_repo.get_case(conn, case.id)
        assert rated is not None
        files = await case_repo.attachments_of(conn, case.id)
        rating_status = _status(N_("⭐ The reporter rated the answer: {rating}"),
                                rating=lambda language: _translated(language,
                                                                    RATING_NAMES[rating]))
        if outcome == "escalated":
            await notify.refresh_cards(conn, runtime, rated, rating_status, len(files),
                                       unit_id=unit_id)
            await notify.send_cards(
                conn, runtime, rated, files,
                _status(N_("⚠ Not satisfied twice with the answers of {unit}"),
                        unit=_unit(runtime, unit_id)))
        else:
            await notify.refresh_cards(conn, runtime, rated, rating_status, len(files))
        return rated, outcome


async def rating_comment(
    runtime: Runtime, case_id: int, person: Person, chat_id: int, text: str
) -> Case:
    """The reporter's comment on their rating reaches the unit that holds the case."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        case = await case_repo.get_case(conn, case_id)
        if case is None or not await sealed.owns(conn, runtime, case, person):
            raise Refused("not_found")
        if await answer_repo.latest_rated(conn, case.id) is None:
            raise Refused("state")  # a comment on a rating needs a rating
        actor = None if case.anonymous else person.id
        await case_repo.append_event(conn, case.id, now, actor, "reporter", "rating_comment",
                                     case.state, case.state, {"text": text})
        await notify.send(
            conn, runtime, await notify.unit_recipients(conn, runtime, case.unit_id),
            lambda t, lang: t("💬 The reporter of {number} commented on the answer:\n\n{text}")
            .format(number=case.number, text=text), case_id=case.id)
        return case


async def close_unrated(runtime: Runtime) -> int:
    """Close answered cases whose reporter did not rate within the configured days."""
    now = runtime.clock.now()
    cutoff = now - timedelta(days=runtime.config.handling.close_unrated_days)
    closed = 0
    async with runtime.db.transaction() as conn:
        for case in await case_repo.answered_before(conn, cutoff):
            await case_repo.mark_closed(conn, case.id, now)
            await case_repo.append_event(conn, case.id, now, None, "system", "closed",
                                         "answered", "closed", {"reason": "not_rated"})
            closed_case = await case_repo.get_case(conn, case.id)
            assert closed_case is not None
            await notify.refresh_cards(
                conn, runtime, closed_case,
                _status(N_("Closed: the reporter did not rate the answer")),
                await _attachment_count(conn, case.id))
            closed += 1
    return closed
