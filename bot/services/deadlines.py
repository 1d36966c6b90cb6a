"""A case's deadlines: their due times, from the configured deadlines and the working-day
calendar; the alarms they set (reminders, the breach, the escalation), re-derived whenever
they move (:func:`replan_case`); and deadlines counted through years the calendar does not
know.

``bot.services.alarms`` fires the alarms planned here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from bot.config import Config
from bot.durations import Duration, add_duration
from bot.i18n import Translate, plural_translator
from bot.runtime import Runtime
from bot.services import case_states
from bot.services.alarm_changes import AlarmChanges
from bot.workdays import WorkCalendar
from storage import alarms as alarm_repo
from storage import calendar as calendar_repo
from storage import cases as case_repo
from storage import directory
from storage.models import Case
from storage.sql import Conn

log = logging.getLogger(__name__)
Render = Callable[[Translate, str], str]
_END_OF_DAY = time(23, 59, 59)
_ONE_DAY = timedelta(days=1)

#: Acceptance deadlines already worked out, by (rule, local date): see ``acceptance_due``.
AcceptanceMemo = dict[tuple[int, date], datetime]


def due_times(
    config: Config, calendar: WorkCalendar, kind: str, category_id: str, filed_at: datetime
) -> tuple[datetime, datetime]:
    """(acceptance due, answer due) for a case filed at ``filed_at``.

    Working-day arithmetic happens in the county's time zone.
    """
    rule = config.deadlines.rule(kind, category_id)
    local = filed_at.astimezone(config.general.tz)
    return add_duration(local, rule.accept, calendar), add_duration(local, rule.answer, calendar)


def acceptance_due(config: Config, calendar: WorkCalendar, kind: str, category_id: str,
                   arrived_at: datetime, memo: AcceptanceMemo | None = None) -> datetime:
    """The acceptance deadline of ``due_times`` alone, for an arrival at ``arrived_at``.

    A deadline in working days ends a working day, so it depends only on the local date;
    with ``memo`` (for many arrivals at once) each is worked out once per rule and date.
    """
    rule = config.deadlines.rule(kind, category_id).accept
    local = arrived_at.astimezone(config.general.tz)
    if memo is None or not rule.working_days:
        return add_duration(local, rule, calendar)
    key = (rule.amount, local.date())
    due = memo.get(key)
    if due is None:
        due = memo[key] = add_duration(local, rule, calendar)
    return due


# --- the alarms a case's deadlines set ---------------------------------------------------

#: States in which a case's answer deadline runs (and is alarmed): the state machine's
#: ``LIVE`` (``bot.services.case_states``).
OPEN = case_states.LIVE


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


def plan(runtime: Runtime, case: Case, *, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """(kind, deadline, fire_at) of every alarm a case should have now."""
    alerts = runtime.config.alerts
    calendar = runtime.calendar
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


def changes(runtime: Runtime) -> AlarmChanges:
    """The runtime's :class:`AlarmChanges`: the alarms written since the job last looked."""
    return runtime.alarm_changes


def replan_case(conn: Conn, runtime: Runtime, case_id: int, *, now: datetime) -> None:
    """Re-derive a case's alarms from its present state and deadlines."""
    case = case_repo.get_case(conn, case_id)
    if case is not None:
        changes(runtime).note(
            alarm_repo.replan(conn, "case", case.id, plan(runtime, case, now=now)))
        # A deadline set through a year the calendar does not know is marked ("flag").
        note_guesses(conn, runtime, case, now=now)



# --- years the calendar does not know ----------------------------------------------------
#
# chinesecalendar carries the State Council's holiday arrangements up to the year of its
# release; [calendar] may complete later years (complete_years). Every other year is
# counted on Monday to Friday, and never silently: uncovered_years feeds the start-up log,
# `sunbox status` and the daily digest; with [calendar] unknown_years = "flag" each
# deadline so counted is marked for review and recomputed once its year is covered.


async def uncovered_years(runtime: Runtime) -> list[int]:
    """Years a live deadline, alarm or meeting falls in (or today's year) that neither the
    official data nor ``[calendar] complete_years`` covers, in order."""
    tz = runtime.config.general.tz
    first = runtime.clock.now().astimezone(tz).year
    latest = await runtime.db.read(calendar_repo.latest_live)
    last = max(first, latest.astimezone(tz).year if latest is not None else first)
    return [year for year in range(first, last + 1) if not runtime.calendar.covers(year)]


def guessed_year(runtime: Runtime, start: datetime, due: datetime) -> int | None:
    """The first uncovered year a working-day deadline set at ``start`` counted through
    (``None``: none, or the deadline is not in working days)."""
    tz = runtime.config.general.tz
    local = due.astimezone(tz)
    if local.time() != _END_OF_DAY:
        return None  # not a working-day deadline: the calendar played no part
    for year in range(start.astimezone(tz).year, local.year + 1):
        if not runtime.calendar.covers(year):
            return year
    return None


def live_deadlines(case: Case) -> dict[str, datetime]:
    """The deadlines of a case that still run, by name."""
    live: dict[str, datetime] = {}
    if case.state == "new":
        live["accept"] = case.accept_due
    if case.state in calendar_repo.LIVE_STATES:
        live["answer"] = case.answer_due
    return live


def note_guesses(conn: Conn, runtime: Runtime, case: Case, *, now: datetime) -> None:
    """With ``unknown_years = "flag"``: mark the case's live deadlines that were counted
    through an uncovered year, and unmark the others (called whenever its alarms are
    re-derived, i.e. whenever a deadline is set). A mark whose deadline did not move keeps
    the moment it was set."""
    if not runtime.config.calendar.flag:
        return
    marked = {flag.deadline: flag for flag in calendar_repo.flags_of_case(conn, case.id)}
    live = live_deadlines(case)
    for name in ("accept", "answer"):
        due = live.get(name)
        old = marked.get(name)
        start = old.set_at if old is not None and old.due == due else now
        year = None if due is None else guessed_year(runtime, start, due)
        if year is None:
            if old is not None:
                calendar_repo.clear_flag(conn, case.id, name)
        elif old is None or old.due != due or old.year != year:
            assert due is not None
            days = (old.days if old is not None and old.due == due
                    else _working_days(runtime, start, due))
            calendar_repo.set_flag(
                conn, calendar_repo.CalendarFlag(case.id, name, due, start, days, year))


def _working_days(runtime: Runtime, start: datetime, due: datetime) -> int:
    """How many working days after ``start``'s date ``due``'s date is, on today's
    calendar."""
    tz = runtime.config.general.tz
    day, end, count = start.astimezone(tz).date(), due.astimezone(tz).date(), 0
    while day < end:
        day += _ONE_DAY
        count += runtime.calendar.is_workday(day)
    return count


def recomputed(runtime: Runtime, flag: calendar_repo.CalendarFlag) -> datetime:
    """A marked deadline counted again: as many working days after the moment it was set
    as were counted then, now on the calendar that covers its year(s)."""
    start = flag.set_at.astimezone(runtime.config.general.tz)
    return runtime.calendar.add_working_days(start, flag.days)


async def recompute_covered(runtime: Runtime) -> int:
    """Count again every marked deadline whose year is covered now (at start-up: the
    configuration or the package is what changes it); returns how many moved."""
    from bot.services import notify

    now = runtime.clock.now()

    def work(conn: Conn) -> int:
        moved = 0
        for flag in calendar_repo.all_flags(conn):
            if not runtime.calendar.covers(flag.year):
                continue
            case = case_repo.get_case(conn, flag.case_id)
            calendar_repo.clear_flag(conn, flag.case_id, flag.deadline)
            if case is None or live_deadlines(case).get(flag.deadline) != flag.due:
                continue
            due = recomputed(runtime, flag)
            if due != flag.due:
                case_repo.set_due(conn, case.id, flag.deadline, due, now)
                case_repo.append_event(
                    conn, case.id, now, None, "system", "deadline_recomputed", case.state,
                    case.state, {"deadline": flag.deadline, "old_due": flag.due.isoformat(),
                                 "new_due": due.isoformat(), "year": flag.year})
                moved += 1
            replan_case(conn, runtime, case.id, now=now)
            if due != flag.due:
                updated = case_repo.get_case(conn, case.id)
                assert updated is not None
                notify.refresh_cards(
                    conn, runtime, updated, None,
                    len(case_repo.attachments_of(conn, case.id)), now=now)
        return moved
    return await runtime.db.write(work)


def calendar_warning(runtime: Runtime, years: list[int], flagged: int) -> Render:
    """The one message about uncovered years (not one per case)."""
    listed = ", ".join(str(year) for year in years)

    def render(t: Translate, language: str) -> str:
        lines = [t(
            "🗓 The official working-day calendar does not cover {years}: deadlines, "
            "alarms and meetings in it are counted on Monday–Friday, without its holidays "
            "and swapped working weekends. An administrator should copy the State "
            "Council's notice on that year's holidays into [calendar] holidays and "
            "workdays and add the year to [calendar] complete_years, or upgrade the "
            "chinesecalendar package."
        ).format(years=listed)]
        if flagged:
            tn = plural_translator(language)
            lines.append(tn(
                "{count} deadline counted this way is marked for review in /inbox.",
                "{count} deadlines counted this way are marked for review in /inbox.",
                flagged).format(count=flagged))
        return "\n".join(lines)
    return render


async def calendar_digest(runtime: Runtime) -> list[int]:
    """Once a day (with the overdue digest): tell the supervision group and the
    administrators, in one message each, of the years not covered; returns them."""
    from bot.services import notify

    years = await uncovered_years(runtime)
    if not years:
        return years
    now = runtime.clock.now()

    def work(conn: Conn) -> None:
        flagged = calendar_repo.live_flags_count(conn)
        recipients = notify.supervision_recipients(conn, runtime)
        seen = {recipient.chat_id for recipient in recipients}
        for unit in runtime.config.units:
            for admin in directory.unit_staff(conn, unit.id, ("admin",)):
                if admin.telegram_id not in seen:
                    seen.add(admin.telegram_id)
                    recipients.append(notify.Recipient(
                        admin.telegram_id, notify.staff_language(runtime, admin)))
        notify.send(conn, runtime, recipients, calendar_warning(runtime, years, flagged), now=now)
    await runtime.db.write(work)
    return years


async def mark_unmarked(runtime: Runtime, year: int) -> None:
    """Mark the open cases whose deadline falls in or after ``year`` and that no mark
    names yet (``unknown_years`` set to "flag" after they were filed): counted from now,
    their remaining working days."""
    start = datetime(year, 1, 1, tzinfo=runtime.config.general.tz)
    now = runtime.clock.now()

    def work(conn: Conn) -> None:
        for case_id in calendar_repo.unmarked_open_cases(conn, start):
            case = case_repo.get_case(conn, case_id)
            if case is not None:
                note_guesses(conn, runtime, case, now=now)
    await runtime.db.write(work)


async def calendar_start(runtime: Runtime) -> list[int]:
    """At start-up: recompute what became covered, then log the years still uncovered."""
    moved = await recompute_covered(runtime)
    if moved:
        log.info("calendar: %d deadlines recomputed on the official calendar", moved)
    years = await uncovered_years(runtime)
    if years and runtime.config.calendar.flag:
        await mark_unmarked(runtime, years[0])
    if years:
        log.warning(
            "calendar: %s not covered by the official data nor [calendar] complete_years; "
            "deadlines there are counted on Monday-Friday. Fill [calendar] holidays, workdays "
            "and complete_years from the State Council's notice, or upgrade chinesecalendar.",
            ", ".join(str(year) for year in years))
    return years
