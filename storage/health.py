"""What ``sunbox status``, ``/health`` and the HTTP server's ``/healthz`` and ``/metrics`` read
of the database, and what they need recorded in ``meta``: the last successful poll of
Telegram, the last backup, and in webhook mode the webhook's secret and which webhook was set
(``bot.telegram.webhook``).

Nothing here carries personal data: counts, moments, the schema version and file sizes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from storage.models import from_db_time, to_db_time
from storage.snapshot import SIDE_FILES
from storage.sql import Conn

LAST_POLL = "last_poll"
LAST_BACKUP = "last_backup"
#: The webhook's secret token when the configuration names none: made by the first instance
#: that needs it, used by all.
WEBHOOK_SECRET = "webhook_secret"
#: What was last set with setWebhook (its URL, then a digest of the rest), and the lease of
#: the instance setting it now (its holder, then when the lease ends).
WEBHOOK_SET = "webhook_set"
WEBHOOK_SET_BY = "webhook_set_by"

#: Failed rows that are no failure of delivery: a person who blocked the bot (recorded as
#: ``forbidden``, and the person marked) and a card withdrawn before it was sent.
NOT_DELIVERY_FAILURES = ("forbidden", "card withdrawn")


@dataclass(frozen=True)
class Facts:
    """The database's side of the health report."""

    last_poll: datetime | None
    last_update: datetime | None
    updates_waiting: int
    outbox_backlog: int
    oldest_pending: datetime | None
    failed_recently: int   # failed deliveries among the rows owed since ``since``
    blocked_recently: int  # rows to people who blocked the bot, owed since ``since``
    schema_version: int
    last_backup: datetime | None


def _one(conn: Conn, sql: str, *params: object) -> object:
    with conn.execute(sql, params) as cur:
        row = cur.fetchone()
    return None if row is None else row[0]


def _count(conn: Conn, sql: str, *params: object) -> int:
    value = _one(conn, sql, *params)
    return int(value) if isinstance(value, int) else 0


def _moment(conn: Conn, sql: str, *params: object) -> datetime | None:
    value = _one(conn, sql, *params)
    return from_db_time(str(value)) if value else None


def facts(conn: Conn, since: datetime) -> Facts:
    """Everything the report reads, each with a cheap indexed statement but the failed
    count, which reads only the failed rows.

    A failed row counts by the time it was owed (rows do not record when they failed):
    a row gives up within minutes of its first try, and one that waited longer was a
    pending row past its limit meanwhile.
    """
    excluded = ", ".join("?" for _ in NOT_DELIVERY_FAILURES)
    failed = _count(
        conn, f"SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND created_at >= ? "
              f"AND coalesce(error, '') NOT IN ({excluded})",
        to_db_time(since), *NOT_DELIVERY_FAILURES)
    blocked = _count(
        conn, "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND created_at >= ? "
              "AND error = 'forbidden'", to_db_time(since))
    return Facts(
        last_poll=meta_moment(conn, LAST_POLL),
        last_update=_moment(
            conn, "SELECT received_at FROM inbox_updates ORDER BY update_id DESC LIMIT 1"),
        updates_waiting=_count(
            conn, "SELECT COUNT(*) FROM inbox_updates WHERE handled_at IS NULL"),
        outbox_backlog=_count(
            conn, "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"),
        oldest_pending=_moment(
            conn, "SELECT MIN(created_at) FROM outbox WHERE status IN ('pending', 'sending')"),
        failed_recently=failed,
        blocked_recently=blocked,
        schema_version=_version(conn),
        last_backup=meta_moment(conn, LAST_BACKUP),
    )


def _version(conn: Conn) -> int:
    if conn.dialect.postgres:
        from storage.migrations.postgres import schema_version

        return schema_version(conn)
    return _count(conn, "PRAGMA user_version")


def schema_size(conn: Conn) -> int:
    """Bytes the tables of the PostgreSQL schema take, with their indexes and TOAST."""
    return _count(conn, "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) "
                        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = current_schema() AND c.relkind = 'r'")


def meta_moment(conn: Conn, key: str) -> datetime | None:
    """A moment kept in ``meta`` under ``key``."""
    return _moment(conn, "SELECT value FROM meta WHERE key = ?", key)


def set_meta_moment(conn: Conn, key: str, moment: datetime) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, to_db_time(moment)))


def meta_value(conn: Conn, key: str) -> str | None:
    """The text kept in ``meta`` under ``key``."""
    value = _one(conn, "SELECT value FROM meta WHERE key = ?", key)
    return None if value is None else str(value)


def keep_meta_value(conn: Conn, key: str, value: str) -> str:
    """``value`` kept under ``key`` unless a value is there already; the kept one either way
    (instances starting together all read the first one written)."""
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                 (key, value))
    kept = meta_value(conn, key)
    return value if kept is None else kept


def claim_webhook(conn: Conn, *, wanted: str, telegram_has_url: bool, holder: str,
                  now: datetime, until: datetime) -> str:
    """Whether this instance is to call setWebhook for ``wanted`` (what ``WEBHOOK_SET``
    records): ``"done"`` when that was set last and Telegram still has the URL; ``"busy"``
    while another instance's lease runs; else ``"mine"``, with the lease taken until
    ``until``. On PostgreSQL under the migration lock, as instances starting together
    migrate one at a time; SQLite's writes follow one another anyway."""
    if conn.dialect.postgres:
        from storage.migrations.postgres import LOCK_MIGRATE, XACT_LOCK

        with conn.execute(XACT_LOCK.format(kind=LOCK_MIGRATE)):
            pass
    if telegram_has_url and meta_value(conn, WEBHOOK_SET) == wanted:
        return "done"
    lease = meta_value(conn, WEBHOOK_SET_BY)
    if lease is not None:
        other, _, ends = lease.rpartition(" ")
        if other != holder and ends and from_db_time(ends) > now:
            return "busy"
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (WEBHOOK_SET_BY, f"{holder} {to_db_time(until)}"))
    return "mine"


def webhook_done(conn: Conn, *, holder: str, wanted: str | None) -> None:
    """End ``holder``'s lease, recording ``wanted`` as set (None: setting it failed)."""
    if wanted is not None:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (WEBHOOK_SET, wanted))
    lease = meta_value(conn, WEBHOOK_SET_BY)
    if lease is not None and lease.rpartition(" ")[0] == holder:
        conn.execute("DELETE FROM meta WHERE key = ?", (WEBHOOK_SET_BY,))


@dataclass(frozen=True)
class AlarmFacts:
    """The alarms' side of ``/metrics``."""

    pending: int                     # planned and not fired
    oldest_due: datetime | None      # the earliest moment of those due by now


def alarm_facts(conn: Conn, now: datetime) -> AlarmFacts:
    """Alarms not fired yet, and how late the oldest due one is (two indexed reads)."""
    return AlarmFacts(
        pending=_count(conn, "SELECT COUNT(*) FROM alarms WHERE fired_at IS NULL"),
        oldest_due=_moment(conn, "SELECT MIN(fire_at) FROM alarms "
                                 "WHERE fired_at IS NULL AND fire_at <= ?", to_db_time(now)))


def note_backup(database: str | Path, at: datetime) -> bool:
    """Record in the database that a backup of it was written at ``at`` (from the command
    that wrote it, beside a running bot). False if it could not be recorded (a database
    too old to have ``meta``, or locked for longer than the busy timeout): the backup
    stands, and ``sunbox status`` goes on reporting the one before."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(Path(database).resolve()))}?mode=rw",
                               uri=True, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (LAST_BACKUP, to_db_time(at)))
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return True


def database_size(database: str | Path) -> int | None:
    """Bytes the database takes on disk, with its log; None for one that is not a file."""
    path = Path(database)
    if str(database) == ":memory:" or str(database).startswith("file:") or not path.is_file():
        return None
    total = path.stat().st_size
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.is_file():
            total += side.stat().st_size
    return total
