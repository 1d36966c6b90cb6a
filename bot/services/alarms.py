"""Deadline alarms: reminders before a deadline, the breach, and the escalation after it.

The database is the only source of truth. Each case's alarms are derived from its
deadlines and re-derived whenever they move; one scheduler job wakes at the earliest
unfired alarm (so 100,000 open cases need one timer, not 100,000). An alarm is marked
fired in the same transaction that writes its messages and events, and is checked against
the case at that moment (a case accepted since is not reminded to accept), so nothing
fires twice — also after a restart, when every alarm that passed while the bot was down
fires once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from bot.durations import Duration
from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services import notify
from bot.workdays import WorkCalendar
from storage import alarms as alarm_repo
from storage import cases as case_repo
from storage.alarms import Alarm
from storage.models import Case

OPEN = ("new", "accepted", "info_requested", "reopened")
DEADLINE_NAMES = {"accept": N_("acceptance"), "answer": N_("answer")}


def shift(moment: datetime, duration: Duration, calendar: WorkCalendar, sign: int) -> datetime:
    """``moment`` moved by ``duration`` (back with sign -1); working days keep the time of day
    and land on working days only."""
    if duration.unit != "wd":
        return moment + sign * duration.as_timedelta()
    day, left = moment, duration.amount
    while left:
        day += timedelta(days=sign)
        if calendar.is_workday(day.date()):
            left -= 1
    return day


def plan(runtime: Runtime, case: Case) -> list[tuple[str, datetime, datetime]]:
    """(kind, deadline, fire_at) of every alarm a case should have now."""
    alerts = runtime.config.alerts
    calendar = runtime.calendar
    now = runtime.clock.now()
    result: list[tuple[str, datetime, datetime]] = []
    deadlines = []
    if case.state == "new":
        deadlines.append(("accept", case.accept_due))
    if case.state in OPEN and not (case.state == "info_requested" and alerts.pause_while_asking):
        deadlines.append(("answer", case.answer_due))
    for name, due in deadlines:
        local = due.astimezone(runtime.config.general.tz)
        for offset in alerts.reminders:
            fire = local if offset is None else shift(local, offset, calendar, -1)
            if fire >= now:  # a reminder for a moment already past is no reminder
                result.append((f"{name}_reminder", due, fire))
        result.append((f"{name}_breach", due, due))
        result.append((f"{name}_escalation", due,
                       shift(local, alerts.escalate_after, calendar, +1)))
    return result


async def replan_case(conn: aiosqlite.Connection, runtime: Runtime, case_id: int) -> None:
    """Re-derive a case's alarms from its present state and deadlines."""
    case = await case_repo.get_case(conn, case_id)
    if case is not None:
        await alarm_repo.replan(conn, "case", case.id, plan(runtime, case))


LATE_REMINDER = timedelta(minutes=1)


def _applies(runtime: Runtime, case: Case | None, alarm: Alarm) -> bool:
    if case is None:
        return False
    if alarm.kind.endswith("_reminder") and runtime.clock.now() > alarm.due + LATE_REMINDER:
        return False  # found late (the bot was down): the breach says it better
    deadline = alarm.kind.split("_")[0]
    if deadline == "accept":
        return case.state == "new" and case.accept_due == alarm.due
    paused = case.state == "info_requested" and runtime.config.alerts.pause_while_asking
    return case.state in OPEN and not paused and case.answer_due == alarm.due


async def fire_due(runtime: Runtime) -> int:
    """Fire every alarm whose moment has come; returns how many did something."""
    done = 0
    while True:
        async with runtime.db.read() as conn:
            batch = await alarm_repo.due_now(conn, runtime.clock.now())
        if not batch:
            return done
        for alarm in batch:
            if await _fire(runtime, alarm):
                done += 1


async def next_alarm(runtime: Runtime) -> datetime | None:
    """When the next alarm is due."""
    async with runtime.db.read() as conn:
        return await alarm_repo.next_fire_at(conn)


async def _fire(runtime: Runtime, alarm: Alarm) -> bool:
    if alarm.subject == "meeting":
        # Supervisors' meetings keep their alarms here too; they build on this module.
        from bot.services import meetings

        return await meetings.fire_alarm(runtime, alarm)
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        case = await case_repo.get_case(conn, alarm.subject_id)
        applies = alarm.subject == "case" and _applies(runtime, case, alarm)
        if not await alarm_repo.claim(conn, alarm.id, now, "fired" if applies else "skipped"):
            return False
        if not applies:
            return False
        assert case is not None
        deadline, what = alarm.kind.split("_", 1)
        await case_repo.append_event(
            conn, case.id, now, None, "system", what, case.state, case.state,
            {"deadline": deadline, "due": alarm.due.isoformat()})
        due = notify.local_time(runtime, alarm.due)
        number = case.number
        kind_name = DEADLINE_NAMES[deadline]

        def deadline_name(t: Translate) -> str:
            return t(kind_name)

        if what == "reminder":
            recipients = await notify.unit_recipients(conn, runtime, case.unit_id)
            await notify.send(conn, runtime, recipients, lambda t, lang: t(
                "⏰ Reminder: the {deadline} deadline of {number} is {due}."
            ).format(deadline=deadline_name(t), number=number, due=due), case_id=case.id)
        elif what == "breach":
            recipients = (await notify.heads_of(conn, runtime, case.unit_id)
                          or await notify.supervision_recipients(conn, runtime))
            await notify.send(conn, runtime, recipients, lambda t, lang: t(
                "⚠ {number} at {unit} is overdue: its {deadline} deadline was {due}."
            ).format(number=number, unit=notify.unit_name(runtime, case.unit_id, lang),
                     deadline=deadline_name(t), due=due), case_id=case.id)
        else:
            await notify.send(
                conn, runtime, await notify.supervision_recipients(conn, runtime),
                lambda t, lang: t(
                    "🚨 Escalated: {number} at {unit} has been overdue since {due} (the "
                    "{deadline} deadline)."
                ).format(number=number, unit=notify.unit_name(runtime, case.unit_id, lang),
                         deadline=deadline_name(t), due=due), case_id=case.id)
            await notify.to_reporter(conn, runtime, case, lambda t, lang: t(
                "Your case {number} is overdue: the {deadline} deadline was {due}. The "
                "supervision group has been told and will follow it up."
            ).format(number=number, deadline=deadline_name(t), due=due))
        return True


async def overdue_digest(runtime: Runtime) -> int:
    """The daily list of overdue cases for the supervision group; returns how many."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        overdue, total = await case_repo.overdue_cases(conn, now)
        if not overdue:
            return 0

        def render(t: Translate, language: str) -> str:
            lines = [t("📋 Overdue cases today: {count}").format(count=total)]
            for case in overdue:
                due = case.accept_due if case.state == "new" else case.answer_due
                lines.append(t("{number} · {unit} · {state} · due {due}").format(
                    number=case.number, unit=notify.unit_name(runtime, case.unit_id, language),
                    state=t(notify.STATE_NAMES[case.state]),
                    due=notify.local_time(runtime, due)))
            if total > len(overdue):
                lines.append(t("… and {count} more: see /inbox").format(
                    count=total - len(overdue)))
            return "\n".join(lines)

        await notify.send(conn, runtime, await notify.supervision_recipients(conn, runtime),
                          render)
        return total
