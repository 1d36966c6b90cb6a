"""Alarms: the moments a reminder, breach or escalation is due, fired exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from storage.models import from_db_time, to_db_time
from storage.sql import Conn, Row


@dataclass(frozen=True)
class Alarm:
    id: int
    subject: str
    subject_id: int
    kind: str
    due: datetime
    fire_at: datetime


def _alarm(row: Row) -> Alarm:
    return Alarm(row["id"], row["subject"], row["subject_id"], row["kind"],
                 from_db_time(row["due"]), from_db_time(row["fire_at"]))


def replan(
    conn: Conn, subject: str, subject_id: int,
    plan: Iterable[tuple[str, datetime, datetime]],
) -> datetime | None:
    """Replace a subject's unfired alarms by ``plan`` ((kind, due, fire_at) triples);
    returns the earliest ``fire_at`` planned (None for an empty plan), for the scheduler.

    An alarm that already fired for the same kind, deadline and moment is not planned again.
    """
    rows = [(subject, subject_id, kind, to_db_time(due), to_db_time(fire_at))
            for kind, due, fire_at in plan]
    conn.execute(
        "DELETE FROM alarms WHERE subject = ? AND subject_id = ? AND fired_at IS NULL",
        (subject, subject_id),
    )
    conn.executemany(
        "INSERT INTO alarms (subject, subject_id, kind, due, fire_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows,
    )
    return min((from_db_time(row[4]) for row in rows), default=None)


def due_now(conn: Conn, now: datetime, limit: int = 200) -> list[Alarm]:
    """Unfired alarms whose moment has come, oldest first (at most ``limit``)."""
    rows = conn.execute_fetchall(
        "SELECT * FROM alarms WHERE fired_at IS NULL AND fire_at <= ? ORDER BY fire_at, id "
        "LIMIT ?", (to_db_time(now), limit),
    )
    return [_alarm(r) for r in rows]


_CLAIM = "UPDATE alarms SET fired_at = ?, outcome = ? WHERE id = ? AND fired_at IS NULL"


def claim(conn: Conn, alarm_id: int, now: datetime, outcome: str) -> bool:
    """Mark an alarm fired; False if it already was (another run got there first)."""
    cur = conn.execute(_CLAIM, (to_db_time(now), outcome, alarm_id))
    return cur.rowcount == 1


def claim_many(conn: Conn, claims: Iterable[tuple[int, str]],
               now: datetime) -> int:
    """Mark alarms fired, each with its outcome (``(alarm id, outcome)`` pairs), as
    :func:`claim` does one; returns how many were not fired yet."""
    moment = to_db_time(now)
    rows = [(moment, outcome, alarm_id) for alarm_id, outcome in claims]
    if not rows:
        return 0
    cur = conn.executemany(_CLAIM, rows)
    return cur.rowcount


def next_fire_at(conn: Conn) -> datetime | None:
    """The earliest unfired alarm's moment."""
    with conn.execute(
        "SELECT MIN(fire_at) FROM alarms WHERE fired_at IS NULL"
    ) as cur:
        row = cur.fetchone()
    return from_db_time(row[0]) if row and row[0] else None


def fired(conn: Conn, subject: str, subject_id: int
                ) -> list[tuple[str, str]]:
    """(kind, outcome) of a subject's fired alarms, in firing order (for tests and audits)."""
    with conn.execute(
        "SELECT kind, outcome FROM alarms WHERE subject = ? AND subject_id = ? "
        "AND fired_at IS NOT NULL ORDER BY fired_at, id", (subject, subject_id),
    ) as cur:
        return [(r[0], r[1]) for r in cur.fetchall()]
