"""The record of a meeting after it: who attended and the minutes, the issues raised there
filed as cases, supervisors' findings filed from chat, and the alarms that ask for the
record and report it missing.

Supervisors' findings filed with ``/finding`` are signed suggestions with channel
``supervisor``; issues raised at a meeting are signed suggestions with channel ``meeting``
and the supervisor as reporter, linked to the meeting in ``meeting_issues``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.i18n import NP_, Translate, plural_translator, resolve_language
from bot.runtime import Runtime
from bot.services import notify
from bot.services.deadlines import due_times, replan_case
from bot.services.meetings.roster import (
    NAME_MAX_CHARS,
    MeetingError,
    RosterEntry,
    is_organizer,
    is_supervisor,
    meeting_title,
    meeting_when,
    organizers,
    person_name,
    roster_of,
)
from storage import cases as case_repo
from storage import directory, people
from storage import meetings as repo
from storage.meetings import Meeting
from storage.models import Case, NewCase, Person
from storage.sql import Conn

#: Longest minutes kept (several messages may be sent).
MINUTES_MAX_CHARS = 20000

CHANNEL_MEETING = "meeting"
#: The marker of a supervisor's finding: the case's channel.
CHANNEL_FINDING = "supervisor"


# ----------------------------------------------------------------------------- the record

def _checked_organizer(conn: Conn, runtime: Runtime, meeting_id: int,
                       telegram_id: int) -> Meeting:
    meeting = repo.get(conn, meeting_id)
    if meeting is None or meeting.status == "cancelled":
        raise MeetingError("not_found")
    if not is_organizer(conn, meeting, telegram_id):
        raise MeetingError("not_organizer")
    return meeting


async def start_record(runtime: Runtime, meeting_id: int, telegram_id: int
                       ) -> tuple[Meeting, list[RosterEntry]]:
    """The meeting and its list, if this person may record it now."""
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[Meeting, list[RosterEntry]]:
        meeting = _checked_organizer(conn, runtime, meeting_id, telegram_id)
        if meeting.status == "held":
            raise MeetingError("recorded")
        if now < meeting.starts_at:
            raise MeetingError("not_yet")
        return meeting, roster_of(conn, runtime, meeting)
    return await runtime.db.read(work)


async def record(runtime: Runtime, meeting_id: int, organizer: Person,
                 present: Iterable[int], minutes: str | None,
                 file: tuple[str, str, str | None] | None) -> tuple[Meeting, list[RosterEntry]]:
    """Record a meeting as held: who of its list attended (``present`` person ids; others
    did not), the minutes as text and/or a file ``(kind, file_id, name)``."""
    minutes = (minutes or "").strip() or None
    if minutes is None and file is None:
        raise MeetingError("invalid")
    now = runtime.clock.now()
    wanted = set(present)

    def work(conn: Conn) -> tuple[Meeting, list[RosterEntry]]:
        meeting = _checked_organizer(conn, runtime, meeting_id, organizer.telegram_id)
        if meeting.status == "held":
            raise MeetingError("recorded")
        if now < meeting.starts_at:
            raise MeetingError("not_yet")
        roster = roster_of(conn, runtime, meeting)
        presence = [(e.person_id, e.person_id in wanted) for e in roster]
        if not repo.record(conn, meeting.id, organizer.id, now,
                                 (minutes or "")[:MINUTES_MAX_CHARS] or None, file, presence):
            raise MeetingError("recorded")
        held = repo.get(conn, meeting.id)
        assert held is not None
        return held, roster_of(conn, runtime, held)
    return await runtime.db.write(work)


# ----------------------------------------------------------------------------- issues, findings

async def check_issue(runtime: Runtime, meeting_id: int, telegram_id: int
                      ) -> tuple[Meeting, list[RosterEntry]]:
    """The held meeting and its list, if this person may file its issues."""
    def work(conn: Conn) -> tuple[Meeting, list[RosterEntry]]:
        meeting = _checked_organizer(conn, runtime, meeting_id, telegram_id)
        if meeting.status != "held":
            raise MeetingError("not_held")
        return meeting, roster_of(conn, runtime, meeting)
    return await runtime.db.read(work)


def _check_text(runtime: Runtime, text: str) -> str:
    limits = runtime.config.limits
    text = text.strip()
    if not limits.text_min_chars <= len(text) <= limits.text_max_chars:
        raise MeetingError("invalid")
    return text


def _file(conn: Conn, runtime: Runtime, *, channel: str, category_id: str, text: str,
          reporter: Person, reporter_name: str, language: str, key: str, actor: Person,
          actor_role: str, now: datetime) -> tuple[Case, bool]:
    """A signed suggestion routed by its category, carded to its unit, with its alarms."""
    config = runtime.config
    try:
        unit_id = config.category(category_id).unit
    except KeyError as exc:
        raise MeetingError("invalid") from exc
    accept_due, answer_due = due_times(config, runtime.calendar, "suggestion", category_id, now)
    new = NewCase(
        kind="suggestion", category_id=category_id, unit_id=unit_id, channel=channel,
        anonymous=False, reporter_person_id=reporter.id,
        delivery_chat_id=reporter.telegram_id, reporter_name=reporter_name, reporter_phone=None,
        language=language, text=text, created_at=now, accept_due=accept_due,
        answer_due=answer_due, idempotency_key=key,
    )
    year = now.astimezone(config.general.tz).year
    case, created = case_repo.create_case(conn, new, year=year, actor_role=actor_role,
                                          actor_person_id=actor.id)
    if created:
        notify.send_cards(conn, runtime, case, (), now=now)
        replan_case(conn, runtime, case.id, now=now)
    return case, created


def issue_buttons(meeting_id: int) -> notify.RenderButtons:
    """Another issue of the same meeting, or done."""
    return lambda t: [[(t("➕ File an issue as a case"), f"mtg:{meeting_id}:iss")],
                      [(t("✔ Finish"), "mtr:finish")]]


async def file_issue(runtime: Runtime, meeting_id: int, organizer: Person, person_id: int,
                     category_id: str, text: str, key: str, language: str) -> Case:
    """File an issue raised at a held meeting as a case, with the supervisor who raised it
    as the (signed) reporter; they hear back like any reporter. The organizer's receipt (in
    ``language``) is owed in the same transaction. Idempotent by ``key``."""
    text = _check_text(runtime, text)
    now = runtime.clock.now()

    def work(conn: Conn) -> Case:
        meeting = _checked_organizer(conn, runtime, meeting_id, organizer.telegram_id)
        if meeting.status != "held":
            raise MeetingError("not_held")
        entry = next((e for e in roster_of(conn, runtime, meeting)
                      if e.person_id == person_id), None)
        reporter = people.get_person(conn, person_id) if entry else None
        if entry is None or reporter is None:
            raise MeetingError("invalid")
        spoken = resolve_language(reporter.language, reporter.telegram_language,
                                    runtime.config.general.default_language)
        case, created = _file(
            conn, runtime, channel=CHANNEL_MEETING, category_id=category_id, text=text,
            reporter=reporter, reporter_name=entry.name, language=spoken, key=key,
            actor=organizer, actor_role="organizer", now=now)
        if created:
            repo.add_issue(conn, meeting.id, case.id, person_id, now)
            number = case.number
            notify.send(conn, runtime, [notify.Recipient(organizer.telegram_id, spoken)],
                        lambda t, lang: t(
                                  "✅ Filed as {number} for {unit}, with {name} as the reporter "
                                  "(they hear back). Another issue?").format(
                                  number=number, unit=notify.unit_name(runtime, case.unit_id,
                                                                       lang),
                                  name=entry.name),
                        buttons=issue_buttons(meeting.id), case_id=case.id, now=now)
            notify.to_reporter(conn, runtime, case, lambda t, lang: t(
                "📨 The issue you raised at the {title} of {when} was filed as {number} for "
                "{unit}. You will hear back here; see it with /my."
            ).format(title=meeting_title(runtime, meeting, t, lang),
                     when=meeting_when(runtime, meeting, t), number=number,
                     unit=notify.unit_name(runtime, case.unit_id, lang)), now=now)
        return case
    return await runtime.db.write(work)


async def file_finding(runtime: Runtime, person: Person, name: str, category_id: str,
                       text: str, key: str, language: str) -> Case:
    """A supervisor's finding from chat: a signed suggestion, channel ``supervisor``; its
    receipt is owed in the same transaction."""
    text = _check_text(runtime, text)
    now = runtime.clock.now()

    def work(conn: Conn) -> Case:
        if not is_supervisor(directory.memberships_of(conn, person.telegram_id)):
            raise MeetingError("not_supervisor")
        shown = " ".join(name.split())[:NAME_MAX_CHARS] or person_name(
            person.display_name, person.telegram_id)
        if shown != person.display_name:
            people.set_display_name(conn, person.id, shown)
        case, created = _file(
            conn, runtime, channel=CHANNEL_FINDING, category_id=category_id, text=text,
            reporter=person, reporter_name=shown, language=language, key=key, actor=person,
            actor_role="reporter", now=now)
        if created:
            number = case.number
            notify.to_reporter(conn, runtime, case, lambda t, lang: t(
                "✅ Filed as {number} for {unit}: a signed finding from a supervisor. You will "
                "hear back here; see it with /my.").format(
                number=number, unit=notify.unit_name(runtime, case.unit_id, lang)), now=now)
        return case
    return await runtime.db.write(work)


async def is_supervisor_now(runtime: Runtime, telegram_id: int) -> bool:
    def work(conn: Conn) -> bool:
        return is_supervisor(directory.memberships_of(conn, telegram_id))
    return await runtime.db.read(work)


# ----------------------------------------------------------------------------- alarms

RECORD_PROMPT = NP_(
    "📝 The {title} of {when} should have taken place. Please record it within {days} day: "
    "who attended, the minutes, and the issues raised.",
    "📝 The {title} of {when} should have taken place. Please record it within {days} days: "
    "who attended, the minutes, and the issues raised.")
NOT_RECORDED = NP_(
    "📕 No record of the {title} of {when} ({place}) within {days} day. Organizer: "
    "{organizer}. It counts as not held.",
    "📕 No record of the {title} of {when} ({place}) within {days} days. Organizer: "
    "{organizer}. It counts as not held.")


def _record_days(runtime: Runtime, meeting: Meeting) -> int:
    """The days its schedule gives to record a meeting."""
    return next((s.record_within_days for s in runtime.config.meetings
                 if s.id == meeting.schedule_key), 3)


def ask_for_record(conn: Conn, runtime: Runtime, meeting: Meeting
                   , *, now: datetime) -> None:
    """The ``record`` alarm: the organizer is asked to record the meeting."""
    days = _record_days(runtime, meeting)
    notify.send(
        conn, runtime, organizers(conn, runtime, meeting),
        lambda t, language: plural_translator(language)(*RECORD_PROMPT, days).format(
            title=meeting_title(runtime, meeting, t, language),
            when=meeting_when(runtime, meeting, t), days=days),
        buttons=lambda t: [[(t("📝 Record the meeting"), f"mtg:{meeting.id}:rec")]], now=now)


def report_missing(conn: Conn, runtime: Runtime, meeting: Meeting,
                   now: datetime) -> None:
    """The ``missing`` alarm: no record in time; the supervision group is told, once."""
    if not repo.mark_missing(conn, meeting.id, now):
        return
    days = _record_days(runtime, meeting)
    named: str | None = None
    if meeting.organizer.isdigit():
        person = people.find_person(conn, int(meeting.organizer))
        named = person_name(person.display_name if person else None, int(meeting.organizer))

    def render(t: Translate, language: str) -> str:
        organizer = named or t("the head of {unit}").format(unit=notify.unit_name(
            runtime, meeting.organizer.removeprefix("head:"), language))
        return plural_translator(language)(*NOT_RECORDED, days).format(
            title=meeting_title(runtime, meeting, t, language),
            when=meeting_when(runtime, meeting, t), place=meeting.place, days=days,
            organizer=organizer)

    notify.send(conn, runtime, notify.supervision_recipients(conn, runtime), render, now=now)
