"""Scheduled work (PTB JobQueue, i.e. APScheduler): each job calls a service, then wakes
the outbox sender. Deadline alarms use one job, re-armed for the earliest unfired alarm."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.services import alarms, handling, meetings, scheduled_reports
from handlers.context import SunboxContext

CLOSE_UNRATED = "close-unrated"
ALARMS = "alarms"
DIGEST = "overdue-digest"
REPORTS = "assessment-reports"
MEETINGS = "meetings"


async def close_unrated(context: SunboxContext) -> None:
    """Close answered cases the reporter did not rate in time."""
    if await handling.close_unrated(context.runtime):
        context.sender.kick()


async def fire_alarms(context: SunboxContext) -> None:
    """Fire what is due, then sleep until the next alarm.

    One run at a time: a one-shot job is no longer listed once it runs, so without the flag
    every update arriving meanwhile would start another run over the same alarms.
    """
    bot_data = context.application.bot_data
    if bot_data.alarms_running:
        return
    bot_data.alarms_running = True
    try:
        if await alarms.fire_due(context.runtime):
            context.sender.kick()
    finally:
        bot_data.alarms_running = False
    await arm(context.application, force=True)


async def assessment_reports(context: SunboxContext) -> None:
    """The half-year (and year) assessment to the supervision group, once per period."""
    runtime = context.runtime
    folder = Path(runtime.database_path).resolve().parent / "reports"
    if await scheduled_reports.send_due(runtime, folder):
        context.sender.kick()


async def meetings_ahead(context: SunboxContext) -> None:
    """Keep the supervisors' meetings of the coming weeks materialised, with their alarms."""
    if await meetings.sync(context.runtime):
        await arm(context.application, force=True)


async def overdue_digest(context: SunboxContext) -> None:
    """The supervision group's daily list of overdue cases."""
    if await alarms.overdue_digest(context.runtime):
        context.sender.kick()


async def arm(application: Application[Any, Any, Any, Any, Any, Any], *,
              force: bool = False) -> datetime | None:
    """(Re)schedule the alarm job for the earliest unfired alarm (database first)."""
    job_queue = application.job_queue
    assert job_queue is not None
    if application.bot_data.alarms_running:
        return None  # the running job re-arms itself when it is done
    when = await alarms.next_alarm(application.bot_data.runtime)
    armed = application.bot_data.alarm_at
    if not force and when == armed and job_queue.get_jobs_by_name(ALARMS):
        return when
    for job in job_queue.get_jobs_by_name(ALARMS):
        job.schedule_removal()
    application.bot_data.alarm_at = when
    if when is not None:
        # A delay from the runtime's clock: an alarm already due runs at once (APScheduler
        # would drop a run date in the past as missed).
        now = application.bot_data.runtime.clock.now()
        job_queue.run_once(fire_alarms, when=max(0.0, (when - now).total_seconds()),
                           name=ALARMS)
    return when


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Schedule the recurring jobs (they run once the application has started)."""
    assert application.job_queue is not None
    runtime = application.bot_data.runtime
    application.job_queue.run_repeating(close_unrated, interval=3600, first=60,
                                        name=CLOSE_UNRATED)
    application.job_queue.run_daily(
        overdue_digest, time=runtime.config.alerts.digest_time.replace(
            tzinfo=runtime.config.general.tz), name=DIGEST)
    application.job_queue.run_repeating(assessment_reports, interval=6 * 3600, first=120,
                                        name=REPORTS)
    application.job_queue.run_daily(
        meetings_ahead, time=time(0, 5, tzinfo=runtime.config.general.tz), name=MEETINGS)
