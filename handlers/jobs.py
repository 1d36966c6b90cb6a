"""Scheduled work (PTB JobQueue, i.e. APScheduler): each job calls a service, then wakes
the outbox sender. Deadline alarms use one job, re-armed for the earliest unfired alarm.

Every job here is work to be done once per deployment: when several instances share the
database, only the leader does it (:func:`leader_only`; ``bot.services.leadership``), and
:func:`start_leadership` ties the leader's changes to the outbox and the alarm job.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.services import alarms, deadlines, handling, lifecycle, meetings, scheduled_reports
from bot.services.disclosures import duties
from bot.services.leadership import Leadership, LeaseLeadership
from handlers import drafts, filing
from handlers.context import SunboxContext

CLOSE_UNRATED = "close-unrated"
ALARMS = "alarms"
DIGEST = "overdue-digest"
REPORTS = "assessment-reports"
MEETINGS = "meetings"
OBLIGATIONS = "disclosure-obligations"
DRAFTS = "expire-drafts"
CHECKPOINT = "checkpoint"
#: How often unfinished drafts are looked at (they are stamped with a day, not a moment).
DRAFTS_EVERY = 3600
RETENTION = "retention"
SCRUB = "scrub-attachments"
KEEP_FILES = "keep-files"
#: Seconds between looks for attachments not yet kept in the local file store.
KEEP_FILES_EVERY = 30
#: After an alarm run failed, the next try (a fault that persists must not spin).
ALARM_RETRY = timedelta(seconds=30)
#: How the alarm job fires the alarms that are not a case's, by subject.
ALARM_SUBJECTS: Mapping[str, alarms.FireAlarm] = {"meeting": meetings.fire_alarm,
                                                   "obligation": duties.fire_alarm}

Job = Callable[[SunboxContext], Coroutine[Any, Any, None]]
App = Application[Any, Any, Any, Any, Any, Any]


def leader_only(job: Job) -> Job:
    """The job, which returns at once on an instance that does not lead: every instance
    schedules every job, and the one leading at the moment a job comes due runs it."""
    @functools.wraps(job)
    async def run(context: SunboxContext) -> None:
        if await context.runtime.leadership.confirm():
            await job(context)
    return run


@leader_only
async def close_unrated(context: SunboxContext) -> None:
    """Close answered cases the reporter did not rate in time."""
    if await handling.close_unrated(context.runtime):
        context.sender.kick()


@leader_only
async def fire_alarms(context: SunboxContext) -> None:
    """Fire what is due, then sleep until the next alarm.

    One run at a time: a one-shot job is no longer listed once it runs, so without the flag
    every update arriving meanwhile would start another run over the same alarms. A run
    that fails is tried again after :data:`ALARM_RETRY` (the error goes to the error
    handler).
    """
    application = context.application
    bot_data = application.bot_data
    if bot_data.alarms_running:
        return
    bot_data.alarms_running = True
    try:
        if await alarms.fire_due(context.runtime, ALARM_SUBJECTS):
            context.sender.kick()
    except Exception:
        bot_data.alarms_running = False
        _schedule(application, context.runtime.clock.now() + ALARM_RETRY)
        raise
    bot_data.alarms_running = False
    await arm(application, force=True)


@leader_only
async def assessment_reports(context: SunboxContext) -> None:
    """The half-year (and year) assessment to the supervision group, once per period."""
    runtime = context.runtime
    # Beside the database file; on PostgreSQL, beside the file store every instance shares.
    database = runtime.database_path
    base = (runtime.config.storage.files_dir(database) if runtime.db.engine == "postgresql"
            else Path(database).resolve())
    folder = base.parent / "reports"
    if await scheduled_reports.send_due(runtime, folder):
        context.sender.kick()


@leader_only
async def scrub_attachments(context: SunboxContext) -> None:
    """Files of anonymous cases that a crash or an error left unscrubbed (their cards wait
    for them; bot/services/scrub.py)."""
    await context.scrubber.sweep()


@leader_only
async def keep_files(context: SunboxContext) -> None:
    """Download the attachments and minutes committed since, into the local file store
    (bot/telegram/filestore.py); what failed is tried again with backoff."""
    await context.bot_data.files.sweep()


@leader_only
async def meetings_ahead(context: SunboxContext) -> None:
    """Keep the supervisors' meetings of the coming weeks materialised, with their alarms."""
    if await meetings.sync(context.runtime):
        await arm(context.application, force=True)


@leader_only
async def obligations_ahead(context: SunboxContext) -> None:
    """Record the register's regular obligations of periods ending near now, with their
    alarms (``bot.services.disclosures.duties``)."""
    if await duties.sync(context.runtime):
        await arm(context.application, force=True)


@leader_only
async def expire_drafts(context: SunboxContext) -> None:
    """Delete residents' drafts left unfinished for ``[limits] draft_ttl``."""
    await drafts.expire(context.application, filing.FILING_STEPS)


@leader_only
async def checkpoint(context: SunboxContext) -> None:
    """Empty the database's log into its file, if anything was written since it last was
    (``[storage] checkpoint_every``); a reader in the way makes it wait for the next turn."""
    db = context.runtime.db
    if db.written_since_checkpoint:
        await db.checkpoint()


@leader_only
async def overdue_digest(context: SunboxContext) -> None:
    """The supervision group's daily list of overdue cases, the register's overdue and
    incomplete disclosures, and once a day the years the working-day calendar does not
    cover."""
    if await alarms.overdue_digest(context.runtime):
        context.sender.kick()
    if await deadlines.calendar_digest(context.runtime):
        context.sender.kick()
    if await duties.digest(context.runtime):
        context.sender.kick()


@leader_only
async def redact_expired(context: SunboxContext) -> None:
    """Redact the personal data of cases closed longer ago than ``[retention]``."""
    await lifecycle.redact_expired(context.runtime)


async def arm(application: App, *, force: bool = False, look: bool = False,
              taking_over: bool = False) -> datetime | None:
    """(Re)schedule the alarm job for the earliest unfired alarm; returns its moment.

    The database is asked only when an alarm written since it last looked may fall due
    before the armed one (``bot.services.alarms.changes``), when no job is armed though an
    alarm was, with ``look`` (the leader, after each renewal of its lease: other instances
    write alarms it was not told of) and with ``force`` (at start-up, on taking the lead,
    and after each run); any other call, e.g. after an update that wrote no alarm, costs
    nothing. An instance that does not lead arms nothing (the leader fires the alarms);
    ``taking_over``: it is about to (``lead``).
    """
    job_queue = application.job_queue
    assert job_queue is not None
    bot_data = application.bot_data
    if bot_data.alarms_running:
        return None  # the running job re-arms itself when it is done
    runtime = bot_data.runtime
    written = alarms.changes(runtime)
    if not (taking_over or await runtime.leadership.confirm()):
        written.clear()  # the leader looks at the database itself
        return None
    armed = bot_data.alarm_at
    listed = bool(job_queue.get_jobs_by_name(ALARMS))
    if (not force and not look and (listed or armed is None)
            and not written.earlier_than(armed)):
        return armed
    written.clear()  # before looking: an alarm written from now on is noted again
    when = await alarms.next_alarm(runtime)
    if bot_data.alarms_running:
        return None  # the job started meanwhile; it re-arms itself
    if not force and when == bot_data.alarm_at and job_queue.get_jobs_by_name(ALARMS):
        return when
    _schedule(application, when)
    return when


def _schedule(application: App, when: datetime | None) -> None:
    """The alarm job, alone, at ``when`` (none for None)."""
    job_queue = application.job_queue
    assert job_queue is not None
    for job in job_queue.get_jobs_by_name(ALARMS):
        job.schedule_removal()
    application.bot_data.alarm_at = when
    if when is not None:
        # A delay from the runtime's clock: an alarm already due runs at once (APScheduler
        # would drop a run date in the past as missed).
        now = application.bot_data.runtime.clock.now()
        job_queue.run_once(fire_alarms, when=max(0.0, (when - now).total_seconds()),
                           name=ALARMS)


def register(application: App) -> None:
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
    application.job_queue.run_repeating(scrub_attachments, interval=60, first=1, name=SCRUB)
    application.job_queue.run_repeating(keep_files, interval=KEEP_FILES_EVERY, first=5,
                                        name=KEEP_FILES)
    application.job_queue.run_daily(
        meetings_ahead, time=time(0, 5, tzinfo=runtime.config.general.tz), name=MEETINGS)
    application.job_queue.run_daily(
        obligations_ahead, time=time(0, 10, tzinfo=runtime.config.general.tz),
        name=OBLIGATIONS)
    application.job_queue.run_repeating(expire_drafts, interval=DRAFTS_EVERY, first=300,
                                        name=DRAFTS)
    every = runtime.config.storage.checkpoint_every.as_timedelta().total_seconds()
    application.job_queue.run_repeating(checkpoint, interval=every, first=every,
                                        name=CHECKPOINT)
    # The data lifecycle: personal data of long-closed cases, once a day.
    application.job_queue.run_daily(
        redact_expired, time=runtime.config.retention.run_at.replace(
            tzinfo=runtime.config.general.tz), name=RETENTION)


def lead(application: App, leadership: Leadership) -> None:
    """Make ``leadership`` the runtime's, with what follows its changes: on taking the
    lead, what the last leader left ``sending`` is recovered as after a crash, the sender
    is woken, and the alarm job is armed from the database; after each renewal, the alarms
    the other instances wrote are looked for, and the rows of an instance that died are
    recovered; on losing it, the alarm job goes (the jobs
    and the sender's rounds stop by themselves: they ask ``is_leader``)."""
    bot_data = application.bot_data
    bot_data.runtime.leadership = leadership

    async def recover() -> None:
        await bot_data.sender.recover()
        bot_data.sender.kick()

    async def rearm() -> None:
        await arm(application, force=True, taking_over=True)

    async def look() -> None:
        await arm(application, look=True)
        if await bot_data.sender.recover():  # rows of an instance that died meanwhile
            bot_data.sender.kick()

    async def disarm() -> None:
        _schedule(application, None)

    leadership.on_gain(recover)
    leadership.on_gain(rearm)
    leadership.on_renew(look)
    leadership.on_loss(disarm)


async def start_leadership(application: App) -> LeaseLeadership:
    """For a member of a cluster (webhook mode on PostgreSQL), in ``post_init`` once the
    database is open, in place of the sender's ``recover`` and the first
    ``arm(force=True)``: the instance holds the lease of the leader (``lease_timeout``:
    the runtime's), and does both when it takes it, now if the lease is free. Stop it
    with :func:`stop_leadership`. A single instance keeps the runtime's own leadership,
    which always leads."""
    runtime = application.bot_data.runtime
    leadership = LeaseLeadership(runtime.db, runtime.clock, runtime.lease_timeout)
    lead(application, leadership)
    await leadership.start()
    return leadership


async def stop_leadership(application: App) -> None:
    """In ``post_shutdown``, after the sender has stopped and before the database closes:
    the lease is given up, so another instance takes over at once."""
    await application.bot_data.runtime.leadership.stop()
