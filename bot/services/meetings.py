"""Supervisors' meetings: the monthly meeting of each organization and the county's
quarterly symposium.

The schedules live in the configuration (``[[meetings]]``: a cron expression in the
county's time zone, place, organizer). :func:`sync` materialises them as rows for the
coming :data:`HORIZON` (idempotent: one row per schedule and scheduled date; a daily job
extends it and start-up runs it too). A meeting on a day off moves to the next working day
unless the schedule says ``shift = "none"``.

Each meeting gets alarms in the shared ``alarms`` table (subject ``meeting``), fired by
:func:`fire_alarm` through ``bot.services.alarms``, so each fires once, also across restarts:

- ``reminder`` — to every supervisor of the organization, with Attend / Cannot attend
  buttons (a reminder found late, while the meeting is still ahead, goes out once at
  start-up; one overtaken by a later reminder that is also due is skipped);
- ``summary`` — the attendance list to the organizer, the day before;
- ``record`` — the organizer is asked to record the meeting after it;
- ``missing`` — no record in time: the supervision group is told, once, and the meeting
  is marked (it counts as not held in :func:`meeting_figures`).

Supervisors' findings filed with ``/finding`` are signed suggestions with channel
``supervisor``; issues raised at a meeting are signed suggestions with channel ``meeting``
and the supervisor as reporter, linked to the meeting in ``meeting_issues``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiosqlite
from croniter import croniter

from bot.config import Config, MeetingConfig, MeetingOffset
from bot.i18n import N_, NP_, Translate, plural_translator, resolve_language
from bot.runtime import Runtime
from bot.services import alarms, notify
from bot.services.deadlines import due_times
from bot.workdays import WorkCalendar, end_of_day
from storage import alarms as alarm_repo
from storage import cases as case_repo
from storage import directory, people
from storage import meetings as repo
from storage.alarms import Alarm
from storage.meetings import Issue, Meeting, PlannedMeeting
from storage.models import Case, Membership, NewCase, Person, StaffMember

__all__ = [
    "CHANNEL_FINDING", "CHANNEL_MEETING", "HORIZON", "MeetingError", "RosterEntry",
    "SupervisorLine", "View", "answer", "attendance_text", "check_answer", "check_issue",
    "details", "file_finding", "file_issue", "fire_alarm", "is_supervisor", "issue_buttons",
    "is_supervisor_now", "meeting_figures", "meeting_title", "meeting_when", "my_meetings",
    "occurrences", "plan", "presence_text", "record", "scope", "start_record",
    "supervisor_lists", "sync",
]

#: How far ahead meetings are materialised (a daily job keeps it so).
HORIZON = timedelta(days=60)
#: Scheduled dates this far back are looked at again: their meeting may have moved ahead.
LOOKBACK = timedelta(days=31)
#: When the organizer is asked to record the meeting.
RECORD_PROMPT_AFTER = timedelta(hours=2)
#: Most days a meeting may move forward to reach a working day.
MAX_SHIFT_DAYS = 60
#: Longest minutes kept (several messages may be sent).
MINUTES_MAX_CHARS = 20000
NAME_MAX_CHARS = 64

CHANNEL_MEETING = "meeting"
#: The marker of a supervisor's finding: the case's channel.
CHANNEL_FINDING = "supervisor"

KIND_TITLES = {
    "monthly": N_("monthly supervisors' meeting of {unit}"),
    "symposium": N_("quarterly supervisors' symposium of {unit}"),
}


class MeetingError(Exception):
    """An action on a meeting that is not allowed now; ``reason`` is a stable code.

    ``not_found`` (no such meeting, or cancelled), ``not_supervisor`` (not a supervisor of
    the meeting's organization now), ``not_organizer``, ``past`` (answering after the
    start or the record), ``not_yet`` (recording before the start), ``recorded`` (recorded
    already), ``not_held`` (issues need a recorded meeting), ``invalid`` (bad input).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ----------------------------------------------------------------------------- schedule

def occurrences(schedule: MeetingConfig, calendar: WorkCalendar, tz: ZoneInfo,
                start: datetime, end: datetime) -> list[tuple[date, datetime]]:
    """``(scheduled date, start)`` of each meeting the schedule names in ``[start, end)``.

    The start is moved to the next working day (same time of day) when the scheduled day is
    not one and the schedule shifts.
    """
    found: list[tuple[date, datetime]] = []
    moments = croniter(schedule.cron, start.astimezone(tz) - timedelta(minutes=1),
                       day_or=False)
    while True:
        moment: datetime = moments.get_next(datetime)
        if moment >= end:
            return found
        slot = moment.date()
        day = slot
        if schedule.shift == "next_working_day":
            for _ in range(MAX_SHIFT_DAYS):
                if calendar.is_workday(day):
                    break
                day += timedelta(days=1)
        found.append((slot, datetime.combine(day, time(moment.hour, moment.minute),
                                             tzinfo=tz)))


def _before(local: datetime, offset: MeetingOffset, calendar: WorkCalendar) -> datetime:
    """The moment ``offset`` names before a meeting starting at ``local``."""
    day = local.date()
    if offset.unit == "d":
        day -= timedelta(days=offset.days)
    else:
        left = offset.days
        while left:
            day -= timedelta(days=1)
            if calendar.is_workday(day):
                left -= 1
    return datetime.combine(day, offset.at, tzinfo=local.tzinfo)


def plan(runtime: Runtime, schedule: MeetingConfig, meeting: Meeting
         ) -> list[tuple[str, datetime, datetime]]:
    """(kind, meeting start, fire_at) of the alarms a meeting should have from now on."""
    tz = runtime.config.general.tz
    now = runtime.clock.now()
    starts = meeting.starts_at
    local = starts.astimezone(tz)
    result: list[tuple[str, datetime, datetime]] = []
    for offset in schedule.reminders:
        fire = _before(local, offset, runtime.calendar)
        if now <= fire < starts:
            result.append(("reminder", starts, fire))
    fire = _before(local, schedule.summary, runtime.calendar)
    if now <= fire < starts:
        result.append(("summary", starts, fire))
    result.append(("record", starts, starts + RECORD_PROMPT_AFTER))
    deadline = end_of_day(local.date() + timedelta(days=schedule.record_within_days), tz)
    result.append(("missing", starts, deadline))
    return result


async def sync(runtime: Runtime) -> int:
    """Materialise the configured schedules up to :data:`HORIZON` ahead; returns how many
    meetings were created or changed.

    A meeting still ahead that the configuration no longer yields is cancelled with its
    alarms. Unchanged meetings keep their alarms (one due while the bot was down fires
    once at start-up).
    """
    config = runtime.config
    tz = config.general.tz
    now = runtime.clock.now()
    touched = 0
    async with runtime.db.transaction() as conn:
        wanted: set[int] = set()
        for schedule in config.meetings:
            for slot, starts in occurrences(schedule, runtime.calendar, tz, now - LOOKBACK,
                                            now + HORIZON):
                if starts <= now:
                    continue
                planned = PlannedMeeting(schedule.id, slot, schedule.unit, schedule.kind,
                                         starts, schedule.place, schedule.organizer)
                meeting, what = await repo.upsert(conn, planned, now)
                wanted.add(meeting.id)
                if what != "same":
                    touched += 1
                    await alarm_repo.replan(conn, "meeting", meeting.id,
                                            plan(runtime, schedule, meeting))
        for meeting in await repo.upcoming_scheduled(conn, now):
            if meeting.id not in wanted:
                await repo.cancel(conn, meeting.id)
                await alarm_repo.replan(conn, "meeting", meeting.id, [])
                touched += 1
    return touched


# ----------------------------------------------------------------------------- who is who

def scope(config: Config, meeting: Meeting) -> list[str]:
    """Units whose supervisors a meeting invites: a symposium reaches every unit below."""
    if meeting.kind != "symposium":
        return [meeting.unit_id]
    try:
        return [meeting.unit_id, *(u.id for u in config.descendants(meeting.unit_id))]
    except KeyError:
        return [meeting.unit_id]


def is_supervisor(roles: Iterable[Membership], units: Iterable[str] | None = None) -> bool:
    """Holds the supervisor role (in one of ``units``)."""
    wanted = None if units is None else set(units)
    return any(m.role == "supervisor" and (wanted is None or m.unit_id in wanted)
               for m in roles)


async def _is_organizer(conn: aiosqlite.Connection, meeting: Meeting, telegram_id: int) -> bool:
    if meeting.organizer.isdigit():
        return int(meeting.organizer) == telegram_id
    unit = meeting.organizer.removeprefix("head:")
    return any(m.role == "head" and m.unit_id == unit
               for m in await directory.memberships_of(conn, telegram_id))


async def _organizers(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting
                      ) -> list[notify.Recipient]:
    if meeting.organizer.isdigit():
        chat_id = int(meeting.organizer)
        return [notify.Recipient(chat_id, await notify.chat_language(conn, runtime, chat_id))]
    unit = meeting.organizer.removeprefix("head:")
    return [notify.Recipient(m.telegram_id, notify.staff_language(runtime, m))
            for m in await directory.unit_staff(conn, unit, ("head",))]


async def _supervisors(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting, *,
                       reachable: bool) -> list[StaffMember]:
    """The supervisors a meeting invites, once each (``reachable``: not blocked)."""
    found: dict[int, StaffMember] = {}
    for unit_id in scope(runtime.config, meeting):
        if reachable:
            members = await directory.unit_staff(conn, unit_id, ("supervisor",))
        else:
            members = [m for m in await directory.all_staff(conn, unit_id)
                       if m.role == "supervisor"]
        for member in members:
            found.setdefault(member.person_id, member)
    return sorted(found.values(), key=lambda m: m.telegram_id)


def person_name(display_name: str | None, telegram_id: int) -> str:
    return display_name or f"#{telegram_id}"


@dataclass(frozen=True)
class RosterEntry:
    """A supervisor on a meeting's list, with their answer and recorded presence."""

    person_id: int
    telegram_id: int
    name: str
    answer: str | None
    reason: str | None
    attended: bool | None


async def _roster(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting
                  ) -> list[RosterEntry]:
    """Today's supervisors of the meeting, plus anyone who answered or was recorded."""
    rows = {a.person_id: a for a in await repo.attendance(conn, meeting.id)}
    entries: dict[int, RosterEntry] = {}
    if meeting.status == "scheduled":
        for member in await _supervisors(conn, runtime, meeting, reachable=False):
            row = rows.get(member.person_id)
            entries[member.person_id] = RosterEntry(
                member.person_id, member.telegram_id,
                person_name(member.display_name, member.telegram_id),
                row.answer if row else None, row.reason if row else None,
                row.attended if row else None)
    for row in rows.values():
        if row.person_id not in entries and (meeting.status == "scheduled"
                                             or row.attended is not None):
            entries[row.person_id] = RosterEntry(
                row.person_id, row.telegram_id, person_name(row.display_name, row.telegram_id),
                row.answer, row.reason, row.attended)
    return sorted(entries.values(), key=lambda e: e.telegram_id)


# ----------------------------------------------------------------------------- texts

def meeting_title(runtime: Runtime, meeting: Meeting, t: Translate, language: str) -> str:
    """The title, e.g. "monthly supervisors' meeting of Beiguan Village", in the reader's
    language."""
    return t(KIND_TITLES[meeting.kind]).format(
        unit=notify.unit_name(runtime, meeting.unit_id, language))


def meeting_when(runtime: Runtime, meeting: Meeting, t: Translate) -> str:
    """The start, local, with the scheduled date when it moved to a working day."""
    text = notify.local_time(runtime, meeting.starts_at)
    if meeting.starts_at.astimezone(runtime.config.general.tz).date() != meeting.slot:
        return t("{time} (moved from {date}, not a working day)").format(
            time=text, date=meeting.slot.isoformat())
    return text


def attendance_text(t: Translate, roster: Sequence[RosterEntry]) -> str:
    """Who said they attend, who cannot (and why), who has not answered."""
    coming = [e.name for e in roster if e.answer == "attend"]
    absent = [e for e in roster if e.answer == "absent"]
    silent = [e.name for e in roster if e.answer is None]
    lines = [t("✅ Will attend ({count}): {names}").format(
        count=len(coming), names=", ".join(coming) or "—")]
    lines.append(t("❌ Cannot attend ({count}):").format(count=len(absent))
                 + ("" if absent else " —"))
    lines += [t("  • {name}: {reason}").format(name=e.name, reason=e.reason or "—")
              for e in absent]
    lines.append(t("⏳ No answer yet ({count}): {names}").format(
        count=len(silent), names=", ".join(silent) or "—"))
    return "\n".join(lines)


def presence_text(t: Translate, roster: Sequence[RosterEntry]) -> str:
    """Who was there, as recorded."""
    present = [e.name for e in roster if e.attended]
    away = [e.name for e in roster if e.attended is False]
    return "\n".join([
        t("Attended ({count}): {names}").format(count=len(present),
                                                names=", ".join(present) or "—"),
        t("Absent ({count}): {names}").format(count=len(away), names=", ".join(away) or "—"),
    ])


def _answer_buttons(meeting_id: int) -> notify.RenderButtons:
    return lambda t: [[(t("✅ I will attend"), f"mtg:{meeting_id}:yes"),
                       (t("❌ I cannot attend"), f"mtg:{meeting_id}:no")]]


# ----------------------------------------------------------------------------- alarms

async def _applies(conn: aiosqlite.Connection, meeting: Meeting | None, alarm: Alarm,
                   now: datetime) -> bool:
    if meeting is None or meeting.status != "scheduled" or meeting.starts_at != alarm.due:
        return False
    if alarm.kind == "reminder":
        return now < meeting.starts_at and not await repo.later_reminder_due(
            conn, meeting.id, alarm.fire_at, now)
    if alarm.kind == "summary":
        return now < meeting.starts_at
    if alarm.kind == "record":
        return True
    return alarm.kind == "missing" and meeting.missing_reported_at is None


async def fire_alarm(runtime: Runtime, alarm: Alarm) -> bool:
    """Do what a meeting's alarm stands for, once; False if it no longer applies."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        meeting = await repo.get(conn, alarm.subject_id)
        applies = await _applies(conn, meeting, alarm, now)
        if not await alarm_repo.claim(conn, alarm.id, now, "fired" if applies else "skipped"):
            return False
        if not applies:
            return False
        assert meeting is not None
        if alarm.kind == "reminder":
            await _remind(conn, runtime, meeting)
        elif alarm.kind == "summary":
            await _summary(conn, runtime, meeting)
        elif alarm.kind == "record":
            await _record_prompt(conn, runtime, meeting)
        else:
            await _report_missing(conn, runtime, meeting, now)
        return True


async def _remind(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting) -> None:
    answers = {a.person_id: a.answer for a in await repo.attendance(conn, meeting.id)}
    for member in await _supervisors(conn, runtime, meeting, reachable=True):
        given = answers.get(member.person_id)

        def render(t: Translate, language: str, given: str | None = given) -> str:
            text = t("📅 Reminder: the {title} is on {when} at {place}. Will you attend?").format(
                title=meeting_title(runtime, meeting, t, language),
                when=meeting_when(runtime, meeting, t), place=meeting.place)
            if given == "attend":
                text += "\n" + t("Your answer so far: you will attend.")
            elif given == "absent":
                text += "\n" + t("Your answer so far: you cannot attend.")
            return text

        recipient = notify.Recipient(member.telegram_id, notify.staff_language(runtime, member))
        await notify.send(conn, runtime, [recipient], render,
                          buttons=_answer_buttons(meeting.id))


async def _summary(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting) -> None:
    roster = await _roster(conn, runtime, meeting)
    await notify.send(conn, runtime, await _organizers(conn, runtime, meeting),
                      lambda t, language: t(
                          "📋 Coming up: the {title}, {when}, at {place}.\n\n{attendance}\n\n"
                          "After the meeting, record it (who attended, the minutes, issues "
                          "raised) with /meetings."
                      ).format(title=meeting_title(runtime, meeting, t, language),
                               when=meeting_when(runtime, meeting, t), place=meeting.place,
                               attendance=attendance_text(t, roster)))


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


async def _record_prompt(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting
                         ) -> None:
    days = _record_days(runtime, meeting)
    await notify.send(
        conn, runtime, await _organizers(conn, runtime, meeting),
        lambda t, language: plural_translator(language)(*RECORD_PROMPT, days).format(
            title=meeting_title(runtime, meeting, t, language),
            when=meeting_when(runtime, meeting, t), days=days),
        buttons=lambda t: [[(t("📝 Record the meeting"), f"mtg:{meeting.id}:rec")]])


async def _report_missing(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting,
                          now: datetime) -> None:
    if not await repo.mark_missing(conn, meeting.id, now):
        return
    days = _record_days(runtime, meeting)
    named: str | None = None
    if meeting.organizer.isdigit():
        person = await people.find_person(conn, int(meeting.organizer))
        named = person_name(person.display_name if person else None, int(meeting.organizer))

    def render(t: Translate, language: str) -> str:
        organizer = named or t("the head of {unit}").format(unit=notify.unit_name(
            runtime, meeting.organizer.removeprefix("head:"), language))
        return plural_translator(language)(*NOT_RECORDED, days).format(
            title=meeting_title(runtime, meeting, t, language),
            when=meeting_when(runtime, meeting, t), place=meeting.place, days=days,
            organizer=organizer)

    await notify.send(conn, runtime, await notify.supervision_recipients(conn, runtime), render)


# ----------------------------------------------------------------------------- attendance

async def _checked_for_answer(conn: aiosqlite.Connection, runtime: Runtime, meeting_id: int,
                              telegram_id: int) -> Meeting:
    meeting = await repo.get(conn, meeting_id)
    if meeting is None or meeting.status == "cancelled":
        raise MeetingError("not_found")
    roles = await directory.memberships_of(conn, telegram_id)
    if not is_supervisor(roles, scope(runtime.config, meeting)):
        raise MeetingError("not_supervisor")
    if meeting.status != "scheduled" or runtime.clock.now() >= meeting.starts_at:
        raise MeetingError("past")
    return meeting


async def check_answer(runtime: Runtime, meeting_id: int, telegram_id: int) -> Meeting:
    """May this person answer for this meeting now? (``MeetingError`` if not)."""
    async with runtime.db.read() as conn:
        return await _checked_for_answer(conn, runtime, meeting_id, telegram_id)


async def answer(runtime: Runtime, meeting_id: int, person: Person, name: str, attend: bool,
                 reason: str | None = None) -> Meeting:
    """A supervisor answers; the organizer gets the attendance list as it stands now."""
    now = runtime.clock.now()
    if not attend and not (reason or "").strip():
        raise MeetingError("invalid")
    async with runtime.db.transaction() as conn:
        meeting = await _checked_for_answer(conn, runtime, meeting_id, person.telegram_id)
        name = " ".join(name.split())[:NAME_MAX_CHARS]
        if name and name != person.display_name:
            await people.set_display_name(conn, person.id, name)
        given = ("attend", None) if attend else ("absent", (reason or "").strip())
        before = next(((a.answer, a.reason) for a in await repo.attendance(conn, meeting.id)
                       if a.person_id == person.id), None)
        if before == given:
            return meeting  # pressed again: the organizer knows already
        await repo.set_answer(conn, meeting.id, person.id, given[0], given[1], now)
        roster = await _roster(conn, runtime, meeting)
        who = person_name(name or person.display_name, person.telegram_id)

        def render(t: Translate, language: str) -> str:
            said = t("will attend") if attend else t("cannot attend ({reason})").format(
                reason=(reason or "").strip())
            return t("🗳 {name} {answer}: the {title}, {when}.\n\n{attendance}").format(
                name=who, answer=said, title=meeting_title(runtime, meeting, t, language),
                when=meeting_when(runtime, meeting, t), attendance=attendance_text(t, roster))

        await notify.send(conn, runtime, await _organizers(conn, runtime, meeting), render)
        return meeting


# ----------------------------------------------------------------------------- the record

async def _checked_organizer(conn: aiosqlite.Connection, runtime: Runtime, meeting_id: int,
                             telegram_id: int) -> Meeting:
    meeting = await repo.get(conn, meeting_id)
    if meeting is None or meeting.status == "cancelled":
        raise MeetingError("not_found")
    if not await _is_organizer(conn, meeting, telegram_id):
        raise MeetingError("not_organizer")
    return meeting


async def start_record(runtime: Runtime, meeting_id: int, telegram_id: int
                       ) -> tuple[Meeting, list[RosterEntry]]:
    """The meeting and its list, if this person may record it now."""
    async with runtime.db.read() as conn:
        meeting = await _checked_organizer(conn, runtime, meeting_id, telegram_id)
        if meeting.status == "held":
            raise MeetingError("recorded")
        if runtime.clock.now() < meeting.starts_at:
            raise MeetingError("not_yet")
        return meeting, await _roster(conn, runtime, meeting)


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
    async with runtime.db.transaction() as conn:
        meeting = await _checked_organizer(conn, runtime, meeting_id, organizer.telegram_id)
        if meeting.status == "held":
            raise MeetingError("recorded")
        if now < meeting.starts_at:
            raise MeetingError("not_yet")
        roster = await _roster(conn, runtime, meeting)
        presence = [(e.person_id, e.person_id in wanted) for e in roster]
        if not await repo.record(conn, meeting.id, organizer.id, now,
                                 (minutes or "")[:MINUTES_MAX_CHARS] or None, file, presence):
            raise MeetingError("recorded")
        held = await repo.get(conn, meeting.id)
        assert held is not None
        return held, await _roster(conn, runtime, held)


async def check_issue(runtime: Runtime, meeting_id: int, telegram_id: int
                      ) -> tuple[Meeting, list[RosterEntry]]:
    """The held meeting and its list, if this person may file its issues."""
    async with runtime.db.read() as conn:
        meeting = await _checked_organizer(conn, runtime, meeting_id, telegram_id)
        if meeting.status != "held":
            raise MeetingError("not_held")
        return meeting, await _roster(conn, runtime, meeting)


def _check_text(runtime: Runtime, text: str) -> str:
    limits = runtime.config.limits
    text = text.strip()
    if not limits.text_min_chars <= len(text) <= limits.text_max_chars:
        raise MeetingError("invalid")
    return text


async def _file(conn: aiosqlite.Connection, runtime: Runtime, *, channel: str,
                category_id: str, text: str, reporter: Person, reporter_name: str,
                language: str, key: str, actor: Person, actor_role: str) -> tuple[Case, bool]:
    """A signed suggestion routed by its category, carded to its unit, with its alarms."""
    config = runtime.config
    try:
        unit_id = config.category(category_id).unit
    except KeyError as exc:
        raise MeetingError("invalid") from exc
    now = runtime.clock.now()
    accept_due, answer_due = due_times(config, runtime.calendar, "suggestion", category_id, now)
    new = NewCase(
        kind="suggestion", category_id=category_id, unit_id=unit_id, channel=channel,
        anonymous=False, reporter_person_id=reporter.id,
        delivery_chat_id=reporter.telegram_id, reporter_name=reporter_name, reporter_phone=None,
        language=language, text=text, created_at=now, accept_due=accept_due,
        answer_due=answer_due, idempotency_key=key,
    )
    year = now.astimezone(config.general.tz).year
    case, created = await case_repo.create_case(conn, new, year=year, actor_role=actor_role,
                                                actor_person_id=actor.id)
    if created:
        await notify.send_cards(conn, runtime, case, ())
        await alarms.replan_case(conn, runtime, case.id)
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
    async with runtime.db.transaction() as conn:
        meeting = await _checked_organizer(conn, runtime, meeting_id, organizer.telegram_id)
        if meeting.status != "held":
            raise MeetingError("not_held")
        entry = next((e for e in await _roster(conn, runtime, meeting)
                      if e.person_id == person_id), None)
        reporter = await people.get_person(conn, person_id) if entry else None
        if entry is None or reporter is None:
            raise MeetingError("invalid")
        language = resolve_language(reporter.language, reporter.telegram_language,
                                    runtime.config.general.default_language)
        case, created = await _file(
            conn, runtime, channel=CHANNEL_MEETING, category_id=category_id, text=text,
            reporter=reporter, reporter_name=entry.name, language=language, key=key,
            actor=organizer, actor_role="organizer")
        if created:
            await repo.add_issue(conn, meeting.id, case.id, person_id, runtime.clock.now())
            number = case.number
            await notify.send(conn, runtime, [notify.Recipient(organizer.telegram_id, language)],
                              lambda t, lang: t(
                                  "✅ Filed as {number} for {unit}, with {name} as the reporter "
                                  "(they hear back). Another issue?").format(
                                  number=number, unit=notify.unit_name(runtime, case.unit_id,
                                                                       lang),
                                  name=entry.name),
                              buttons=issue_buttons(meeting.id), case_id=case.id)
            await notify.to_reporter(conn, runtime, case, lambda t, lang: t(
                "📨 The issue you raised at the {title} of {when} was filed as {number} for "
                "{unit}. You will hear back here; see it with /my."
            ).format(title=meeting_title(runtime, meeting, t, lang),
                     when=meeting_when(runtime, meeting, t), number=number,
                     unit=notify.unit_name(runtime, case.unit_id, lang)))
        return case


async def file_finding(runtime: Runtime, person: Person, name: str, category_id: str,
                       text: str, key: str, language: str) -> Case:
    """A supervisor's finding from chat: a signed suggestion, channel ``supervisor``; its
    receipt is owed in the same transaction."""
    text = _check_text(runtime, text)
    async with runtime.db.transaction() as conn:
        if not is_supervisor(await directory.memberships_of(conn, person.telegram_id)):
            raise MeetingError("not_supervisor")
        name = " ".join(name.split())[:NAME_MAX_CHARS] or person_name(
            person.display_name, person.telegram_id)
        if name != person.display_name:
            await people.set_display_name(conn, person.id, name)
        case, created = await _file(
            conn, runtime, channel=CHANNEL_FINDING, category_id=category_id, text=text,
            reporter=person, reporter_name=name, language=language, key=key, actor=person,
            actor_role="reporter")
        if created:
            number = case.number
            await notify.to_reporter(conn, runtime, case, lambda t, lang: t(
                "✅ Filed as {number} for {unit}: a signed finding from a supervisor. You will "
                "hear back here; see it with /my.").format(
                number=number, unit=notify.unit_name(runtime, case.unit_id, lang)))
        return case


async def is_supervisor_now(runtime: Runtime, telegram_id: int) -> bool:
    async with runtime.db.read() as conn:
        return is_supervisor(await directory.memberships_of(conn, telegram_id))


# ----------------------------------------------------------------------------- listings

@dataclass(frozen=True)
class _Visibility:
    """Whose meetings a person sees: every meeting of ``units``, and the symposiums of
    ``symposiums`` (the units above a supervisor's organization)."""

    units: frozenset[str]
    symposiums: frozenset[str]

    def all_units(self) -> list[str]:
        return sorted(self.units | self.symposiums)

    def sees(self, meeting: Meeting) -> bool:
        return meeting.unit_id in self.units or (
            meeting.kind == "symposium" and meeting.unit_id in self.symposiums)


def _visibility(config: Config, roles: Sequence[Membership], telegram_id: int
                ) -> _Visibility | None:
    """What a person sees (``None``: everything, for administrators and the supervision
    group): a supervisor their organization's meetings and the symposiums above it, a head
    the meetings of their units and those below, an organizer the meetings they organize."""
    if any(m.role in ("admin", "supervision") for m in roles):
        return None
    units: set[str] = set()
    symposiums: set[str] = set()
    for m in roles:
        try:
            if m.role == "supervisor":
                units.add(m.unit_id)
                symposiums.update(config.unit_path(m.unit_id))
            elif m.role == "head":
                units.add(m.unit_id)
                units.update(u.id for u in config.descendants(m.unit_id))
        except KeyError:
            continue
    heads = {m.unit_id for m in roles if m.role == "head"}
    for schedule in config.meetings:
        if schedule.organizer_id == telegram_id or schedule.organizer_unit in heads:
            units.add(schedule.unit)
    return _Visibility(frozenset(units), frozenset(symposiums))


@dataclass(frozen=True)
class View:
    """A meeting as someone looks at it."""

    meeting: Meeting
    roster: list[RosterEntry]
    issues: list[Issue]
    mine: RosterEntry | None  # the viewer on the list (a supervisor), if they are
    organizer: bool  # the viewer may record it and file its issues
    may_answer: bool  # the viewer may answer for it now


async def _view(conn: aiosqlite.Connection, runtime: Runtime, meeting: Meeting,
                roles: Sequence[Membership], telegram_id: int) -> View:
    roster = await _roster(conn, runtime, meeting)
    mine = next((e for e in roster if e.telegram_id == telegram_id), None)
    may_answer = (meeting.status == "scheduled" and runtime.clock.now() < meeting.starts_at
                  and is_supervisor(roles, scope(runtime.config, meeting)))
    return View(meeting, roster, await repo.issues(conn, meeting.id), mine,
                await _is_organizer(conn, meeting, telegram_id), may_answer)


async def my_meetings(runtime: Runtime, telegram_id: int, limit: int = 5
                      ) -> tuple[list[View], list[View]] | None:
    """(upcoming, past) meetings of a person's organizations; ``None`` if they have none."""
    now = runtime.clock.now()
    async with runtime.db.read() as conn:
        roles = await directory.memberships_of(conn, telegram_id)
        seen = _visibility(runtime.config, roles, telegram_id)
        units = [u.id for u in runtime.config.units] if seen is None else seen.all_units()
        if not units:
            return None
        found: list[list[View]] = []
        for upcoming in (True, False):
            rows = await repo.of_units(conn, units, now, upcoming=upcoming, limit=limit * 4)
            mine = [m for m in rows if seen is None or seen.sees(m)][:limit]
            found.append([await _view(conn, runtime, m, roles, telegram_id) for m in mine])
        return found[0], found[1]


async def details(runtime: Runtime, meeting_id: int, telegram_id: int) -> View:
    """One meeting in full, for whoever may see it."""
    async with runtime.db.read() as conn:
        meeting = await repo.get(conn, meeting_id)
        if meeting is None or meeting.status == "cancelled":
            raise MeetingError("not_found")
        roles = await directory.memberships_of(conn, telegram_id)
        seen = _visibility(runtime.config, roles, telegram_id)
        if seen is not None and not seen.sees(meeting) and not await _is_organizer(
                conn, meeting, telegram_id):
            raise MeetingError("not_found")
        return await _view(conn, runtime, meeting, roles, telegram_id)


@dataclass(frozen=True)
class SupervisorLine:
    telegram_id: int
    name: str
    attended: int  # meetings recorded with them present
    recorded: int  # meetings recorded with them on the list


async def supervisor_lists(runtime: Runtime, telegram_id: int, unit_id: str | None
                           ) -> list[tuple[str, list[SupervisorLine]]]:
    """``/supervisors``: per unit, its supervisors with their attendance so far.

    Administrators see every unit, heads their own units and those below
    (``MeetingError('not_allowed')`` for anyone else, ``'not_yours'`` for a unit outside
    theirs, ``'unknown_unit'``). Without ``unit_id`` only units with supervisors are listed.
    """
    config = runtime.config
    if unit_id is not None:
        try:
            config.unit(unit_id)
        except KeyError as exc:
            raise MeetingError("unknown_unit") from exc
    async with runtime.db.read() as conn:
        roles = await directory.memberships_of(conn, telegram_id)
        if any(m.role == "admin" for m in roles):
            allowed = [u.id for u in config.units]
        else:
            allowed = []
            for head in (m.unit_id for m in roles if m.role == "head"):
                try:
                    allowed += [head, *(u.id for u in config.descendants(head))]
                except KeyError:
                    continue
            if not allowed:
                raise MeetingError("not_allowed")
        if unit_id is not None and unit_id not in allowed:
            raise MeetingError("not_yours")
        result: list[tuple[str, list[SupervisorLine]]] = []
        for unit in [unit_id] if unit_id else list(dict.fromkeys(allowed)):
            members = [m for m in await directory.all_staff(conn, unit) if m.role == "supervisor"]
            if not members and unit_id is None:
                continue
            stats = await repo.presence_of(conn, [m.person_id for m in members])
            result.append((unit, [SupervisorLine(
                m.telegram_id, person_name(m.display_name, m.telegram_id),
                *stats.get(m.person_id, (0, 0))) for m in members]))
        return result


# ----------------------------------------------------------------------------- assessment

async def meeting_figures(runtime: Runtime, unit_ids: Sequence[str], first_day: date,
                          last_day: date) -> dict[str, tuple[int, int, float | None]]:
    """Per unit: (meetings held, meetings scheduled, supervisor attendance rate) for the
    meetings that started from ``first_day`` to ``last_day`` (local dates, inclusive).

    *Scheduled* counts the meetings whose record is in or overdue (one still within its
    record window is not counted yet); *held* those recorded in time (a meeting reported
    as missing its record counts as not held, even if recorded later). The attendance rate
    is the share of supervisors recorded present at the meetings held (``None`` without
    any). Every unit asked for is in the result.
    """
    tz = runtime.config.general.tz
    start = datetime.combine(first_day, time(0), tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    async with runtime.db.read() as conn:
        found = await repo.figures(conn, list(unit_ids), start, end)
    result: dict[str, tuple[int, int, float | None]] = {}
    for unit_id in unit_ids:
        figures = found.get(unit_id)
        if figures is None:
            result[unit_id] = (0, 0, None)
        else:
            rate = figures.present / figures.expected if figures.expected else None
            result[unit_id] = (figures.held, figures.due, rate)
    return result
