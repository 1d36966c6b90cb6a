"""Which units can take a case now, and moving a unit's open cases elsewhere."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import to_db_time

#: Roles that can accept and answer a case (``supervision`` in the supervision unit).
HANDLING_ROLES = ("official", "head", "supervision")


async def staffed_units(conn: aiosqlite.Connection) -> set[str]:
    """Units with an active official, head (or supervision member) who has not blocked
    the bot."""
    marks = ", ".join("?" for _ in HANDLING_ROLES)
    async with conn.execute(
        "SELECT DISTINCT m.unit_id FROM memberships m JOIN people p ON p.id = m.person_id "
        f"WHERE m.revoked_at IS NULL AND p.blocked_at IS NULL AND m.role IN ({marks})",
        HANDLING_ROLES,
    ) as cur:
        return {str(r[0]) for r in await cur.fetchall()}


async def open_case_ids(
    conn: aiosqlite.Connection, unit_id: str, states: tuple[str, ...]
) -> list[int]:
    """A unit's cases in one of ``states``, oldest first."""
    marks = ", ".join("?" for _ in states)
    async with conn.execute(
        f"SELECT id FROM cases WHERE unit_id = ? AND state IN ({marks}) ORDER BY id",
        (unit_id, *states),
    ) as cur:
        return [int(r[0]) for r in await cur.fetchall()]


async def move_unit(
    conn: aiosqlite.Connection, case_id: int, unit_id: str, at: datetime
) -> None:
    """Give a case to another unit as it stands: state and deadlines are kept (the
    promise to the reporter does not change because a unit lost its staff)."""
    await conn.execute(
        "UPDATE cases SET unit_id = ?, updated_at = ? WHERE id = ?",
        (unit_id, to_db_time(at), case_id),
    )


async def handling_units_of(conn: aiosqlite.Connection, telegram_id: int) -> list[str]:
    """The units where a person holds a role that takes cases (revoked roles left out)."""
    marks = ", ".join("?" for _ in HANDLING_ROLES)
    async with conn.execute(
        "SELECT DISTINCT m.unit_id FROM memberships m JOIN people p ON p.id = m.person_id "
        f"WHERE p.telegram_id = ? AND m.revoked_at IS NULL AND m.role IN ({marks}) "
        "ORDER BY m.unit_id",
        (telegram_id, *HANDLING_ROLES),
    ) as cur:
        return [str(r[0]) for r in await cur.fetchall()]


async def units_holding(conn: aiosqlite.Connection, states: tuple[str, ...]) -> list[str]:
    """Units that hold a case in one of ``states``."""
    marks = ", ".join("?" for _ in states)
    async with conn.execute(
        f"SELECT DISTINCT unit_id FROM cases WHERE state IN ({marks}) ORDER BY unit_id", states,
    ) as cur:
        return [str(r[0]) for r in await cur.fetchall()]


async def cards_without_role(conn: aiosqlite.Connection, roles: tuple[str, ...]) -> list[int]:
    """Private chats holding a case card of a unit where that person holds none of
    ``roles`` (a unit's group, whose id is negative, holds cards without a role)."""
    marks = ", ".join("?" for _ in roles)
    async with conn.execute(
        "SELECT DISTINCT c.chat_id FROM card_messages c WHERE c.chat_id > 0 AND NOT EXISTS ("
        "SELECT 1 FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE p.telegram_id = c.chat_id AND m.unit_id = c.unit_id "
        f"AND m.revoked_at IS NULL AND m.role IN ({marks})) ORDER BY c.chat_id", roles,
    ) as cur:
        return [int(r[0]) for r in await cur.fetchall()]
