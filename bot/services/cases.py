"""Filing cases and what a reporter may do with their own."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

from bot.i18n import Translate
from bot.runtime import Runtime
from bot.services import acting, alarms, case_states, limits, notify, routing, scrub, sealed
from bot.services.deadlines import due_times
from bot.services.roles import route_concerning_head
from storage import cases as case_repo
from storage import disclosures as disclosure_repo
from storage import outbox as outbox_repo
from storage.models import Attachment, Case, CaseEvent, NewAttachment, NewCase, Person
from storage.outbox import OutboxItem
from storage.sql import Conn

KINDS = ("suggestion", "report")
# How a reporter stands behind a case.
IDENTITY_ANONYMOUS = "anonymous"  # confidential, feedback to a delivery address
IDENTITY_NO_FEEDBACK = "no_feedback"  # nothing links the case to anyone
IDENTITY_SIGNED = "signed"  # suggestion with the reporter's name
IDENTITY_NAMED = "named"  # named report: real name and phone
IDENTITIES = (IDENTITY_ANONYMOUS, IDENTITY_NO_FEEDBACK, IDENTITY_SIGNED, IDENTITY_NAMED)

# What the reporter may do, by state (the table: bot/services/case_states.py).
OPEN_STATES = case_states.OPEN
WITHDRAWABLE = case_states.starts("withdraw")
FOLLOWUP_ALLOWED = case_states.starts("followup")


@dataclass(frozen=True)
class Draft:
    """A case as the reporter has put it together, before it is stored."""

    key: str
    kind: str
    category_id: str
    unit_id: str
    text: str
    identity: str
    language: str
    reporter_name: str | None = None
    reporter_phone: str | None = None
    attachments: tuple[NewAttachment, ...] = field(default_factory=tuple)
    latitude: float | None = None
    longitude: float | None = None
    concerns_head: bool = False
    #: An opinion on this published disclosure (step 6 of the register).
    disclosure_id: int | None = None


class CaseError(Exception):
    """An action on a case that is not allowed; ``reason`` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def validate_draft(runtime: Runtime, draft: Draft) -> None:
    """Refuse a draft that names unknown things or lacks what its kind needs."""
    config = runtime.config
    if draft.kind not in KINDS or draft.identity not in IDENTITIES:
        raise CaseError("invalid")
    try:
        config.category(draft.category_id)
        config.unit(draft.unit_id)
    except KeyError as exc:
        raise CaseError("invalid") from exc
    if draft.kind == "report" and (
        draft.identity != IDENTITY_NAMED or not draft.reporter_name or not draft.reporter_phone
    ):
        raise CaseError("invalid")
    if draft.kind == "suggestion" and draft.identity == IDENTITY_NAMED:
        raise CaseError("invalid")
    if len(draft.attachments) > config.limits.max_attachments:
        raise CaseError("invalid")


class Filed(NamedTuple):
    """A case filed: whether it was new, and its receipt, claimed for sending now."""

    case: Case
    created: bool
    claimed: list[OutboxItem]


async def file_case(
    runtime: Runtime, draft: Draft, reporter: Person, chat_id: int
) -> Filed:
    """Store a case in one transaction; returns it, whether it was new, and what is owed to
    ``chat_id`` now (the receipt), claimed for the caller to send (``send_claimed``).

    The same draft key always yields the same case, so a repeated confirmation (a double
    press, a redelivered update) never files twice. An anonymous case keeps no link to the
    reporter but its sealed delivery chat, and the reporter's sealed list names it (both
    opened only with the seal key); a no-feedback case keeps none at all. Either's receipt
    forgets the chat and its text once sent.
    """
    validate_draft(runtime, draft)
    now = runtime.clock.now()
    accept_due, answer_due = due_times(
        runtime.config, runtime.calendar, draft.kind, draft.category_id, now
    )
    anonymous = draft.identity in (IDENTITY_ANONYMOUS, IDENTITY_NO_FEEDBACK)
    replies = draft.identity != IDENTITY_NO_FEEDBACK
    sealer = runtime.sealer
    # An anonymous case's files are held until scrubbed (bot/services/scrub.py): they are
    # not its attachments yet, and its cards wait for the scrubbed copies.
    held = scrub.is_held(anonymous, draft.attachments)
    unit_id, concerns = draft.unit_id, None
    if draft.kind == "report" and draft.concerns_head:
        # A report about a unit's own leadership never goes to that unit.
        unit_id, concerns = route_concerning_head(runtime.config, draft.unit_id)
    new = NewCase(
        kind=draft.kind, category_id=draft.category_id, unit_id=unit_id, channel="chat",
        anonymous=anonymous,
        reporter_person_id=None if anonymous else reporter.id,
        delivery_chat_id=chat_id if replies and not anonymous else None,
        delivery_sealed=sealer.seal_chat(chat_id) if replies and anonymous else None,
        reporter_name=None if anonymous else draft.reporter_name,
        reporter_phone=draft.reporter_phone if draft.identity == IDENTITY_NAMED else None,
        language=draft.language, text=draft.text, created_at=now, accept_due=accept_due,
        answer_due=answer_due, idempotency_key=draft.key,
        attachments=() if held else draft.attachments, latitude=draft.latitude,
        longitude=draft.longitude, concerns_unit_id=concerns,
    )
    year = now.astimezone(runtime.config.general.tz).year

    def store(conn: Conn) -> Filed:  # on the database thread
        # A unit nobody can take the case at passes it up the tree (bot/services/routing.py).
        target = routing.staffed_target(conn, runtime, unit_id, concerns)
        case, created = case_repo.create_case(
            conn, replace(new, unit_id=target), year=year, actor_role="reporter")
        if not created:
            return Filed(case, False, [])
        if case.unit_id != unit_id:
            routing.routed_up(conn, runtime, case, unit_id, now=now)
        if anonymous and replies:
            sealed.add_case(conn, sealer, reporter.id, case.id)
        if draft.disclosure_id is not None:
            disclosure_repo.link_opinion(conn, case.id, draft.disclosure_id)
        # The number is promised in the same transaction that files the case.
        notify.send(conn, runtime, [notify.Recipient(chat_id, draft.language)],
                    _receipt(runtime, case, draft.identity), forget=anonymous, now=now)
        if held:
            scrub.hold(conn, case, draft.attachments)
        else:
            notify.send_cards(conn, runtime, case, draft.attachments, now=now)
        alarms.replan_case(conn, runtime, case.id, now=now)
        return Filed(case, True, outbox_repo.claim_for_chat(
            conn, chat_id, now, runtime.leadership.holder))

    filed = await runtime.db.write(store)
    if filed.created:
        limits.filed(runtime, reporter.telegram_id)  # [limits] cases_per_day, in memory
    return filed


def _receipt(runtime: Runtime, case: Case, identity: str) -> notify.Render:
    supervision = runtime.config.supervision_unit()

    def render(t: Translate, language: str) -> str:
        if case.concerns_unit_id is not None:
            # Not the unit it concerns: the supervision group (or [routing]
            # above_supervision) handles it, as the summary before confirming said.
            if supervision is not None and case.unit_id == supervision.id:
                text = t(
                    "✅ Submitted. Your case number is {number}.\n"
                    "It concerns the leadership of {concerned}, so the supervision group "
                    "handles it, not {concerned}: it must be accepted by {accept_due} and "
                    "answered by {answer_due}. You will hear back here; follow it with /my.")
            else:
                text = t(
                    "✅ Submitted. Your case number is {number}.\n"
                    "It concerns the leadership of {concerned}, so {unit} handles it, not "
                    "{concerned}: it must be accepted by {accept_due} and answered by "
                    "{answer_due}. You will hear back here; follow it with /my.")
            return text.format(
                number=case.number, accept_due=notify.local_time(runtime, case.accept_due),
                answer_due=notify.local_time(runtime, case.answer_due),
                concerned=notify.unit_name(runtime, case.concerns_unit_id, language),
                unit=notify.unit_name(runtime, case.unit_id, language))
        if identity == IDENTITY_NO_FEEDBACK:
            text = t(
                "✅ Submitted. Your case number is {number}.\n"
                "You chose no replies, so nothing links this case to you: keep the number. "
                "The unit must accept it by {accept_due} and answer by {answer_due}."
            )
        else:
            text = t(
                "✅ Submitted. Your case number is {number}.\n"
                "The unit must accept it by {accept_due} and answer by {answer_due}. "
                "You will hear back here; follow it with /my."
            )
        return text.format(number=case.number,
                           accept_due=notify.local_time(runtime, case.accept_due),
                           answer_due=notify.local_time(runtime, case.answer_due))
    return render


async def my_cases(
    runtime: Runtime, reporter: Person, chat_id: int, page: int
) -> tuple[list[Case], int]:
    """One page of a reporter's cases (newest first) and the total: those filed by name,
    and the anonymous ones on the reporter's sealed list (``chat_id`` is not needed)."""
    size = runtime.config.limits.page_size

    def work(conn: Conn) -> tuple[list[Case], int]:
        anonymous = sealed.anonymous_case_ids(conn, runtime.sealer, reporter.id)
        return case_repo.reporter_cases(conn, reporter.id, anonymous, page * size, size)
    return await runtime.db.read(work)


async def own_case(runtime: Runtime, case_id: int, reporter: Person, chat_id: int) -> Case:
    """A case the reporter filed, or ``CaseError('not_found')``: whatever a button claims."""
    def work(conn: Conn) -> Case:
        case = acting.reporters_case(conn, runtime, case_id, reporter)
        if case is None:
            raise CaseError("not_found")
        return case
    return await runtime.db.read(work)


async def history(
    runtime: Runtime, case: Case
) -> tuple[list[CaseEvent], list[Attachment]]:
    """A case's events and attachments."""
    def work(conn: Conn) -> tuple[list[CaseEvent], list[Attachment]]:
        return (case_repo.events_of(conn, case.id),
                case_repo.attachments_of(conn, case.id))
    return await runtime.db.read(work)


async def add_followup(
    runtime: Runtime, case_id: int, reporter: Person, chat_id: int, text: str | None,
    attachments: tuple[NewAttachment, ...],
) -> Case:
    """Append a reporter's follow-up (text and/or files) to an open case."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Case:
        case = acting.reporters_case(conn, runtime, case_id, reporter)
        if case is None:
            raise CaseError("not_found")
        if not case_states.may("followup", case.state):
            raise CaseError("closed")
        actor = None if case.anonymous else reporter.id
        event_id = case_repo.append_event(
            conn, case.id, now, actor, "reporter", "followup", case.state, case.state,
            {"text": text or "", "attachments": len(attachments)},
        )
        case_repo.add_attachments(conn, case.id, event_id, attachments, now)
        case_repo.touch(conn, case.id, now)
        number = case.number
        notify.send(
            conn, runtime, notify.unit_recipients(conn, runtime, case.unit_id),
            lambda t, lang: t("📎 The reporter added information to {number}:\n\n{text}").format(
                number=number, text=text or "—"),
            attachments=attachments, case_id=case.id, now=now)
        return case
    return await runtime.db.write(work)


async def withdraw(runtime: Runtime, case_id: int, reporter: Person, chat_id: int) -> Case:
    """Withdraw a reporter's open case (recorded as an event)."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Case:
        case = acting.reporters_case(conn, runtime, case_id, reporter)
        if case is None:
            raise CaseError("not_found")
        if not case_states.may("withdraw", case.state):
            raise CaseError("closed")
        after = case_states.next_state("withdraw", case.state)
        case_repo.set_state(conn, case.id, (case.state,), after, now)
        actor = None if case.anonymous else reporter.id
        case_repo.append_event(
            conn, case.id, now, actor, "reporter", "withdrawn", case.state, after)
        updated = case_repo.get_case(conn, case.id)
        assert updated is not None
        notify.refresh_cards(conn, runtime, updated, None,
                             len(case_repo.attachments_of(conn, case.id)), now=now)
        return updated
    return await runtime.db.write(work)
