"""When things happen to a meeting: the meetings the configured schedules name, laid out
ahead, and their alarms.

The schedules live in the configuration (``[[meetings]]``: a cron expression in the
county's time zone, place, organizer). :func:`sync` materialises them as rows for the
coming :data:`HORIZON` (idempotent: one row per schedule and scheduled date; a daily job
extends it and start-up runs it too). A meeting on a day off moves to the next working day
unless the schedule says ``shift = "none"``.

Each meeting gets alarms in the shared ``alarms`` table (subject ``meeting``); the alarm
job fires them through :func:`fire_alarm` (``handlers.jobs`` hands it to
``bot.services.alarms.fire_due``), so each fires once, also across restarts:

- ``reminder`` — to every supervisor of the organization, with Attend / Cannot attend
  buttons (a reminder found late, while the meeting is still ahead, goes out once at
  start-up; one overtaken by a later reminder that is also due is skipped);
- ``summary`` — the attendance list to the organizer, the day before;
- ``record`` — the organizer is asked to record the meeting after it;
- ``missing`` — no record in time: the supervision group is told, once, and the meeting
  is marked (it counts as not held in ``meeting_figures``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from bot.config import MeetingConfig, MeetingOffset
from bot.runtime import Runtime
from bot.services.meetings.attendance import remind, send_summary
from bot.services.meetings.records import ask_for_record, report_missing
from bot.workdays import WorkCalendar, end_of_day
from storage import alarms as alarm_repo
from storage import meetings as repo
from storage.alarms import Alarm
from storage.meetings import Meeting, PlannedMeeting
from storage.sql import Conn

#: How far ahead meetings are materialised (a daily job keeps it so).
HORIZON = timedelta(days=60)
#: Scheduled dates this far back are looked at again: their meeting may have moved ahead.
LOOKBACK = timedelta(days=31)
#: When the organizer is asked to record the meeting.
RECORD_PROMPT_AFTER = timedelta(hours=2)
#: Most days a meeting may move forward to reach a working day.
MAX_SHIFT_DAYS = 60


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


def plan(runtime: Runtime, schedule: MeetingConfig, meeting: Meeting, now: datetime
         ) -> list[tuple[str, datetime, datetime]]:
    """(kind, meeting start, fire_at) of the alarms a meeting should have from ``now`` on."""
    tz = runtime.config.general.tz
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

    def work(conn: Conn) -> int:
        touched = 0
        wanted: set[int] = set()
        for schedule in config.meetings:
            for slot, starts in occurrences(schedule, runtime.calendar, tz, now - LOOKBACK,
                                            now + HORIZON):
                if starts <= now:
                    continue
                planned = PlannedMeeting(schedule.id, slot, schedule.unit, schedule.kind,
                                         starts, schedule.place, schedule.organizer)
                meeting, what = repo.upsert(conn, planned, now)
                wanted.add(meeting.id)
                if what != "same":
                    touched += 1
                    alarm_repo.replan(conn, "meeting", meeting.id,
                                      plan(runtime, schedule, meeting, now))
        for meeting in repo.upcoming_scheduled(conn, now):
            if meeting.id not in wanted:
                repo.cancel(conn, meeting.id)
                alarm_repo.replan(conn, "meeting", meeting.id, [])
                touched += 1
        return touched
    return await runtime.db.write(work)


# ----------------------------------------------------------------------------- alarms

def _applies(conn: Conn, meeting: Meeting | None, alarm: Alarm,
             now: datetime) -> bool:
    if meeting is None or meeting.status != "scheduled" or meeting.starts_at != alarm.due:
        return False
    if alarm.kind == "reminder":
        return now < meeting.starts_at and not repo.later_reminder_due(
            conn, meeting.id, alarm.fire_at, now)
    if alarm.kind == "summary":
        return now < meeting.starts_at
    if alarm.kind == "record":
        return True
    return alarm.kind == "missing" and meeting.missing_reported_at is None


async def fire_alarm(runtime: Runtime, alarm: Alarm) -> bool:
    """Do what a meeting's alarm stands for, once; False if it no longer applies."""
    now = runtime.clock.now()

    def work(conn: Conn) -> bool:
        meeting = repo.get(conn, alarm.subject_id)
        applies = _applies(conn, meeting, alarm, now)
        if not alarm_repo.claim(conn, alarm.id, now, "fired" if applies else "skipped"):
            return False
        if not applies:
            return False
        assert meeting is not None
        if alarm.kind == "reminder":
            remind(conn, runtime, meeting, now=now)
        elif alarm.kind == "summary":
            send_summary(conn, runtime, meeting, now=now)
        elif alarm.kind == "record":
            ask_for_record(conn, runtime, meeting, now=now)
        else:
            report_missing(conn, runtime, meeting, now)
        return True
    return await runtime.db.write(work)
