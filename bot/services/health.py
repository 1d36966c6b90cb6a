"""The health of a running Sunbox, for ``sunbox status`` and the administrators' ``/health``.

What is shown: the last successful poll of Telegram and the updates waiting; the outbox's
backlog, its failed rows of the last 24 hours and its oldest waiting row; overdue cases, the
next alarm, the schema version, the database's size, the last backup; whether the
working-day calendar covers the years in use.

What is a problem (``sunbox status`` then exits with 1), and nothing else is:

- no successful poll and no update received for 5 minutes;
- a message that failed in the last 24 hours (one to a person who blocked the bot is no
  failure of Sunbox's, and is shown apart);
- a message waiting for more than 10 minutes;
- no backup in 7 days;
- a year in use that the calendar does not cover.

Overdue cases are shown, never a problem: a live county always has some.

The poller records its last successful poll (``PollBeat``) at most once a minute: a cheap
write, no personal data. In webhook mode the check of the webhook (getWebhookInfo, once a
minute) records it instead.

The HTTP server's ``/healthz`` (``serving``) asks less: that the database answers and that
the outbox is moving (no message waiting past its 10 minutes). A message that failed is for
the operator to read about (``sunbox status``, ``/metrics``), not a reason for a load
balancer to take the instance out: it was in the past, and taking every instance out for a
day would stop the webhook too. The backup and the calendar are the county's, not the
instance's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.i18n import Translate
from bot.runtime import Runtime
from bot.services import deadlines
from storage import alarms as alarm_repo
from storage import cases as case_repo
from storage import health as health_repo
from storage.migrations import MIGRATIONS
from storage.sql import Conn, DatabaseError

log = logging.getLogger(__name__)

Plural = Callable[[str, str, int], str]

POLL_LIMIT = timedelta(minutes=5)
FAILED_WINDOW = timedelta(hours=24)
PENDING_LIMIT = timedelta(minutes=10)
BACKUP_LIMIT = timedelta(days=7)
#: How often the poller records a successful poll (well inside ``POLL_LIMIT``).
BEAT_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Health:
    """What the report shows, as of ``now``."""

    now: datetime
    zone: tzinfo  # the county's, for the moments shown
    facts: health_repo.Facts
    overdue: int
    next_alarm: datetime | None
    database_size: int | None
    uncovered_years: tuple[int, ...]

    @property
    def last_activity(self) -> datetime | None:
        """The later of the last successful poll and the last update received."""
        moments = [m for m in (self.facts.last_poll, self.facts.last_update) if m is not None]
        return max(moments, default=None)

    @property
    def poll_stale(self) -> bool:
        activity = self.last_activity
        return activity is None or self.now - activity > POLL_LIMIT

    @property
    def pending_stale(self) -> bool:
        return outbox_stuck(self.facts, self.now)

    @property
    def backup_stale(self) -> bool:
        last = self.facts.last_backup
        return last is None or self.now - last > BACKUP_LIMIT

    @property
    def healthy(self) -> bool:
        return not (self.poll_stale or self.facts.failed_recently or self.pending_stale
                    or self.backup_stale or self.uncovered_years)


async def check(runtime: Runtime) -> Health:
    """Read the health of the database ``runtime`` has open, as of its clock's now."""
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[health_repo.Facts, datetime | None, int, int | None]:
        facts = health_repo.facts(conn, now - FAILED_WINDOW)
        _, overdue = case_repo.overdue_cases(conn, now, limit=0)
        next_alarm = alarm_repo.next_fire_at(conn)
        size = health_repo.schema_size(conn) if conn.dialect.postgres else None
        return facts, next_alarm, overdue, size
    facts, next_alarm, overdue, size = await runtime.db.read(work)
    if size is None:
        size = health_repo.database_size(runtime.database_path)
    return Health(now, runtime.config.general.tz, facts, overdue, next_alarm, size,
                  tuple(await deadlines.uncovered_years(runtime)))


def outbox_stuck(facts: health_repo.Facts, now: datetime) -> bool:
    """Whether a message has been waiting for longer than ``PENDING_LIMIT``."""
    oldest = facts.oldest_pending
    return oldest is not None and now - oldest > PENDING_LIMIT


@dataclass(frozen=True)
class Serving:
    """``/healthz``'s verdict: ``healthy``, and a short reason for the body (English, for
    machines and operators); ``facts`` when the database answered."""

    healthy: bool
    reason: str
    facts: health_repo.Facts | None = None


async def serving(runtime: Runtime) -> Serving:
    """Whether this instance can serve: the database answers and the outbox is moving."""
    now = runtime.clock.now()
    try:
        facts = await runtime.db.read(health_repo.facts, now - FAILED_WINDOW)
    except Exception as error:  # noqa: BLE001 - closed, unreachable, locked: not serving
        return Serving(False, f"database unavailable ({type(error).__name__})")
    if outbox_stuck(facts, now):
        return Serving(False, "outbox stuck: a message has waited more than "
                              f"{int(PENDING_LIMIT.total_seconds() // 60)} minutes", facts)
    return Serving(True, "ok", facts)


class PollBeat:
    """Records the poller's successful polls in the database, at most once a minute."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._recorded: datetime | None = None

    async def polled(self) -> None:
        """A poll of Telegram succeeded: recorded if a minute has passed since the last
        record (one short write). A database that cannot take it now only delays the record
        (the next poll tries again); polling goes on either way."""
        now = self.runtime.clock.now()
        if self._recorded is not None and now - self._recorded < BEAT_EVERY:
            return
        try:
            await self.runtime.db.write(
                health_repo.set_meta_moment, health_repo.LAST_POLL, now)
        except DatabaseError as error:
            log.warning("recording the last poll failed (%s)", type(error).__name__)
            return
        self._recorded = now


# ------------------------------------------------------------------------------ rendering


def _span(tn: Plural, span: timedelta) -> str:
    """A length of time, rounded down to its largest sensible unit."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 120:
        return tn("{count} second", "{count} seconds", seconds).format(count=seconds)
    minutes = seconds // 60
    if minutes < 120:
        return tn("{count} minute", "{count} minutes", minutes).format(count=minutes)
    hours = minutes // 60
    if hours < 48:
        return tn("{count} hour", "{count} hours", hours).format(count=hours)
    days = hours // 24
    return tn("{count} day", "{count} days", days).format(count=days)


def _ago(t: Translate, tn: Plural, span: timedelta) -> str:
    return t("{span} ago").format(span=_span(tn, span))


def _size(t: Translate, size: int | None) -> str:
    if size is None:
        return t("not a file")
    if size < 1 << 20:
        return t("{size} KB").format(size=f"{size / 1024:.1f}")
    if size < 1 << 30:
        return t("{size} MB").format(size=f"{size / (1 << 20):.1f}")
    return t("{size} GB").format(size=f"{size / (1 << 30):.2f}")


def _local(health: Health, moment: datetime) -> str:
    return moment.astimezone(health.zone).strftime("%Y-%m-%d %H:%M")


def render(health: Health, t: Translate, tn: Plural) -> list[str]:
    """The report, one fact a line, then the problems (or that there are none)."""
    def when(moment: datetime) -> str:
        return t("{time} ({ago})").format(time=_local(health, moment),
                                          ago=_ago(t, tn, health.now - moment))

    facts = health.facts
    never = t("never")
    lines = [
        t("Sunbox status at {time} ({zone})").format(time=_local(health, health.now),
                                                     zone=str(health.zone)),
        t("Last successful poll of Telegram: {when}").format(
            when=when(facts.last_poll) if facts.last_poll else never),
        t("Last update received: {when}").format(
            when=when(facts.last_update) if facts.last_update else never),
        tn("{count} update waiting to be handled", "{count} updates waiting to be handled",
           facts.updates_waiting).format(count=facts.updates_waiting),
        tn("Outbox: {count} message waiting", "Outbox: {count} messages waiting",
           facts.outbox_backlog).format(count=facts.outbox_backlog),
    ]
    if facts.oldest_pending is not None:
        lines.append(t("Oldest waiting message: owed since {when}").format(
            when=when(facts.oldest_pending)))
    lines.append(tn("Failed in the last 24 hours: {count} message",
                    "Failed in the last 24 hours: {count} messages",
                    facts.failed_recently).format(count=facts.failed_recently))
    if facts.blocked_recently:
        lines.append(tn("Not delivered because the person blocked the bot: {count} message "
                        "(not a problem)",
                        "Not delivered because the person blocked the bot: {count} messages "
                        "(not a problem)", facts.blocked_recently).format(
            count=facts.blocked_recently))
    lines += [
        tn("Overdue cases: {count} (shown, not a problem)",
           "Overdue cases: {count} (shown, not a problem)", health.overdue).format(
            count=health.overdue),
        t("Next alarm: {time}").format(
            time=_local(health, health.next_alarm) if health.next_alarm else t("none planned")),
        t("Schema version: {version} (this Sunbox knows up to {known})").format(
            version=facts.schema_version, known=len(MIGRATIONS)),
        t("Database size: {size}").format(size=_size(t, health.database_size)),
        t("Last backup: {when}").format(
            when=when(facts.last_backup) if facts.last_backup else never),
        t("Calendar: every year in use is covered") if not health.uncovered_years else
        t("Calendar: not covered: {years}").format(
            years=", ".join(str(year) for year in health.uncovered_years)),
        "",
    ]
    found = problems(health, t, tn)
    if not found:
        lines.append(t("✅ No problems."))
    else:
        lines.append(tn("❌ {count} problem:", "❌ {count} problems:", len(found)).format(
            count=len(found)))
        lines += [f"• {problem}" for problem in found]
    return lines


def problems(health: Health, t: Translate, tn: Plural) -> list[str]:
    """Each threshold crossed, in the reader's language."""
    facts = health.facts
    found: list[str] = []
    activity = health.last_activity
    if activity is None:
        found.append(t("Telegram has never been polled: is sunbox run running?"))
    elif health.poll_stale:
        found.append(t("No poll of Telegram and no update for {span} (the limit is 5 "
                       "minutes): is sunbox run running, and can it reach Telegram?").format(
            span=_span(tn, health.now - activity)))
    if facts.failed_recently:
        found.append(tn("{count} message failed in the last 24 hours: its reason is in the "
                        "log and in the outbox.",
                        "{count} messages failed in the last 24 hours: their reasons are in "
                        "the log and in the outbox.", facts.failed_recently).format(
            count=facts.failed_recently))
    if health.pending_stale and facts.oldest_pending is not None:
        found.append(t("A message has been waiting for {span}, since {time} (the limit is 10 "
                       "minutes): is the bot sending?").format(
            time=_local(health, facts.oldest_pending),
            span=_span(tn, health.now - facts.oldest_pending)))
    if facts.last_backup is None:
        found.append(t("No backup recorded: run sunbox backup, and schedule it."))
    elif health.backup_stale:
        found.append(t("The last backup was {ago}; one is needed at least every 7 days: "
                       "run sunbox backup.").format(
            ago=_ago(t, tn, health.now - facts.last_backup)))
    if health.uncovered_years:
        found.append(t("The working-day calendar does not cover {years}: fill [calendar] "
                       "holidays and workdays from the State Council's notice, or upgrade "
                       "chinesecalendar.").format(
            years=", ".join(str(year) for year in health.uncovered_years)))
    return found
