"""Alarms: the moments a reminder, breach or escalation is due, fired exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.models import from_db_time, to_db_time


@dataclass(frozen=True)
class Alarm:
    id: int
    subject: str
    subject_id: int
    kind: str
    due: datetime
    fire_at: datetime


def _alarm(row: aiosqlite.Row) -> Alarm:
    return Alarm(row["id"], row["subject"], row["subject_id"], row["kind"],
                 from_db_time(row["due"]), from_db_time(row["fire_at"]))


async def replan(
    conn: aiosqlite.Connection, subject: str, subject_id: int,
    plan: Iterable[tuple[str, datetime, datetime]],
) -> None:
    """Replace a subject's unfired alarms by ``plan`` ((kind, due, fire_at) triples).

    An alarm that already fired for the same kind, deadline and moment is not planned again.
    """
    await conn.execute(
        "DELETE FROM alarms WHERE subject = ? AND subject_id = ? AND fired_at IS NULL",
        (subject, subject_id),
    )
    await conn.executemany(
        "INSERT OR IGNORE INTO alarms (subject, subject_id, kind, due, fire_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(subject, subject_id, kind, to_db_time(due), to_db_time(fire_at))
         for kind, due, fire_at in plan],
    )


async def due_now(conn: aiosqlite.Connection, now: datetime, limit: int = 200) -> list[Alarm]:
    """Unfired alarms whose moment has come, oldest first."""
    async with conn.execute(
        "SELECT * FROM alarms WHERE fired_at IS NULL AND fire_at <= ? ORDER BY fire_at, id "
        "LIMIT ?", (to_db_time(now), limit),
    ) as cur:
        return [_alarm(r) for r in await cur.fetchall()]


async def claim(conn: aiosqlite.Connection, alarm_id: int, now: datetime, outcome: str) -> bool:
    """Mark an alarm fired; False if it already was (another run got there first)."""
    cur = await conn.execute(
        "UPDATE alarms SET fired_at = ?, outcome = ? WHERE id = ? AND fired_at IS NULL",
        (to_db_time(now), outcome, alarm_id),
    )
    return cur.rowcount == 1


async def next_fire_at(conn: aiosqlite.Connection) -> datetime | None:
    """The earliest unfired alarm's moment."""
    async with conn.execute(
        "SELECT MIN(fire_at) FROM alarms WHERE fired_at IS NULL"
    ) as cur:
        row = await cur.fetchone()
    return from_db_time(row[0]) if row and row[0] else None


async def fired(conn: aiosqlite.Connection, subject: str, subject_id: int
                ) -> list[tuple[str, str]]:
    """(kind, outcome) of a subject's fired alarms, in firing order (for tests and audits)."""
    async with conn.execute(
        "SELECT kind, outcome FROM alarms WHERE subject = ? AND subject_id = ? "
        "AND fired_at IS NOT NULL ORDER BY fired_at, id", (subject, subject_id),
    ) as cur:
        return [(r[0], r[1]) for r in await cur.fetchall()]
