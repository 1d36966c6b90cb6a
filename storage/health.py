"""What ``sunbox status`` and ``/health`` read of the database, and the two moments they need
recorded in ``meta``: the last successful poll of Telegram and the last backup.

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
