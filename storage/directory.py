"""Units, categories and memberships: the configured organisation, mirrored in the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

import aiosqlite

from storage.models import Membership, to_db_time
from storage.people import ensure_person


class UnitLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def supervision(self) -> bool: ...
    @property
    def sign_off(self) -> bool: ...
    @property
    def group_chat_id(self) -> int | None: ...


class CategoryLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def unit(self) -> str: ...


class MemberLike(Protocol):
    @property
    def telegram_id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def unit(self) -> str: ...


async def sync_units(conn: aiosqlite.Connection, units: Iterable[UnitLike]) -> None:
    """Mirror the configured unit tree; units no longer configured become inactive."""
    units = list(units)
    await conn.execute("UPDATE units SET active = 0")
    for unit in units:
        await conn.execute(
            "INSERT INTO units (id, name_zh, name_en, parent_id, supervision, sign_off, "
            "group_chat_id, active) VALUES (?, ?, ?, NULL, ?, ?, ?, 1) "
            "ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, "
            "name_en = excluded.name_en, supervision = excluded.supervision, "
            "sign_off = excluded.sign_off, group_chat_id = excluded.group_chat_id, active = 1",
            (unit.id, unit.name_zh, unit.name_en, int(unit.supervision), int(unit.sign_off),
             unit.group_chat_id),
        )
    for unit in units:
        await conn.execute("UPDATE units SET parent_id = ? WHERE id = ?", (unit.parent, unit.id))


async def sync_categories(conn: aiosqlite.Connection, categories: Iterable[CategoryLike]) -> None:
    """Mirror the configured categories; ones no longer configured become inactive."""
    await conn.execute("UPDATE categories SET active = 0")
    for category in categories:
        await conn.execute(
            "INSERT INTO categories (id, name_zh, name_en, unit_id, active) "
            "VALUES (?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, "
            "name_en = excluded.name_en, unit_id = excluded.unit_id, active = 1",
            (category.id, category.name_zh, category.name_en, category.unit),
        )


async def sync_config_members(
    conn: aiosqlite.Connection, members: Iterable[MemberLike], now: datetime
) -> None:
    """Grant the configured roles; revoke configured roles no longer in the file.

    Roles granted by invite are left alone.
    """
    wanted: set[tuple[int, str, str]] = set()
    for member in members:
        person = await ensure_person(conn, member.telegram_id, now)
        wanted.add((person.id, member.unit, member.role))
        await conn.execute(
            "INSERT INTO memberships (person_id, unit_id, role, source, granted_at) "
            "VALUES (?, ?, ?, 'config', ?) "
            "ON CONFLICT (person_id, unit_id, role) WHERE revoked_at IS NULL DO NOTHING",
            (person.id, member.unit, member.role, to_db_time(now)),
        )
    async with conn.execute(
        "SELECT id, person_id, unit_id, role FROM memberships "
        "WHERE source = 'config' AND revoked_at IS NULL"
    ) as cur:
        rows = await cur.fetchall()
    for row in rows:
        if (row["person_id"], row["unit_id"], row["role"]) not in wanted:
            await conn.execute(
                "UPDATE memberships SET revoked_at = ? WHERE id = ?", (to_db_time(now), row["id"])
            )


async def memberships_of(conn: aiosqlite.Connection, telegram_id: int) -> list[Membership]:
    """A person's active roles."""
    async with conn.execute(
        "SELECT m.person_id, p.telegram_id, m.unit_id, m.role, m.source FROM memberships m "
        "JOIN people p ON p.id = m.person_id WHERE p.telegram_id = ? AND m.revoked_at IS NULL "
        "ORDER BY m.unit_id, m.role",
        (telegram_id,),
    ) as cur:
        rows = await cur.fetchall()
    return [Membership(r["person_id"], r["telegram_id"], r["unit_id"], r["role"], r["source"])
            for r in rows]
