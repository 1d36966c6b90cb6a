"""People: Telegram accounts known to Sunbox, keyed by numeric user id."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import Person, from_db_time, to_db_time


def _person(row: aiosqlite.Row) -> Person:
    blocked = row["blocked_at"]
    return Person(row["id"], row["telegram_id"], row["language"],
                  from_db_time(blocked) if blocked else None)


async def ensure_person(conn: aiosqlite.Connection, telegram_id: int, now: datetime) -> Person:
    """The person for a Telegram user id, created on first sight."""
    await conn.execute(
        "INSERT INTO people (telegram_id, created_at) VALUES (?, ?) "
        "ON CONFLICT (telegram_id) DO NOTHING",
        (telegram_id, to_db_time(now)),
    )
    person = await find_person(conn, telegram_id)
    assert person is not None
    return person


async def find_person(conn: aiosqlite.Connection, telegram_id: int) -> Person | None:
    """The person for a Telegram user id, if known."""
    async with conn.execute("SELECT * FROM people WHERE telegram_id = ?", (telegram_id,)) as cur:
        row = await cur.fetchone()
    return _person(row) if row else None


async def get_person(conn: aiosqlite.Connection, person_id: int) -> Person | None:
    """A person by internal id."""
    async with conn.execute("SELECT * FROM people WHERE id = ?", (person_id,)) as cur:
        row = await cur.fetchone()
    return _person(row) if row else None


async def set_language(conn: aiosqlite.Connection, person_id: int, language: str) -> None:
    """Remember a person's chosen language."""
    await conn.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))
