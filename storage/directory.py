"""Units, categories and memberships: the configured organisation, mirrored in the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from storage.models import Membership, StaffMember, to_db_time
from storage.people import ensure_person
from storage.sql import Conn, Row


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
    @property
    def name(self) -> str | None: ...


def sync_units(conn: Conn, units: Iterable[UnitLike]) -> None:
    """Mirror the configured unit tree; units no longer configured become inactive."""
    units = list(units)
    conn.execute("UPDATE units SET active = 0")
    for unit in units:
        conn.execute(
            "INSERT INTO units (id, name_zh, name_en, parent_id, supervision, sign_off, "
            "group_chat_id, active) VALUES (?, ?, ?, NULL, ?, ?, ?, 1) "
            "ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, "
            "name_en = excluded.name_en, supervision = excluded.supervision, "
            "sign_off = excluded.sign_off, group_chat_id = excluded.group_chat_id, active = 1",
            (unit.id, unit.name_zh, unit.name_en, int(unit.supervision), int(unit.sign_off),
             _moved(conn, unit.group_chat_id)),
        )
    for unit in units:
        conn.execute("UPDATE units SET parent_id = ? WHERE id = ?", (unit.parent, unit.id))


def _moved(conn: Conn, chat_id: int | None) -> int | None:
    """Where a configured group chat is now (the supergroup it became, if it did)."""
    if chat_id is None:
        return None
    with conn.execute(
        "SELECT new_chat_id FROM chat_migrations WHERE old_chat_id = ?", (chat_id,)
    ) as cur:
        row = cur.fetchone()
    return chat_id if row is None else int(row[0])


def group_chat(conn: Conn, unit_id: str) -> int | None:
    """A unit's group chat as it is now (the configured one, or the supergroup it became)."""
    with conn.execute("SELECT group_chat_id FROM units WHERE id = ?", (unit_id,)) as cur:
        row = cur.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def migrate_group(
    conn: Conn, old_chat_id: int, new_chat_id: int, now: datetime
) -> list[str]:
    """A group became a supergroup: record the move and point its units at the new id.
    Returns the ids of the units that used the group."""
    conn.execute(
        "INSERT INTO chat_migrations (old_chat_id, new_chat_id, migrated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (old_chat_id) DO UPDATE SET new_chat_id = excluded.new_chat_id",
        (old_chat_id, new_chat_id, to_db_time(now)),
    )
    with conn.execute(
        "SELECT id FROM units WHERE group_chat_id = ? ORDER BY id", (old_chat_id,)
    ) as cur:
        units = [str(row[0]) for row in cur.fetchall()]
    conn.execute(
        "UPDATE units SET group_chat_id = ? WHERE group_chat_id = ?", (new_chat_id, old_chat_id))
    return units


def sync_categories(conn: Conn, categories: Iterable[CategoryLike]) -> None:
    """Mirror the configured categories; ones no longer configured become inactive."""
    conn.execute("UPDATE categories SET active = 0")
    for category in categories:
        conn.execute(
            "INSERT INTO categories (id, name_zh, name_en, unit_id, active) "
            "VALUES (?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET name_zh = excluded.name_zh, "
            "name_en = excluded.name_en, unit_id = excluded.unit_id, active = 1",
            (category.id, category.name_zh, category.name_en, category.unit),
        )


def sync_config_members(
    conn: Conn, members: Iterable[MemberLike], now: datetime
) -> None:
    """Grant the configured roles; revoke configured roles no longer in the file.

    Roles granted by invite are left alone.
    """
    wanted: set[tuple[int, str, str]] = set()
    for member in members:
        person = ensure_person(conn, member.telegram_id, now)
        wanted.add((person.id, member.unit, member.role))
        if member.name:
            # Lists name the person before they first write; Telegram's name wins after.
            conn.execute("UPDATE people SET display_name = ? WHERE id = ? "
                         "AND display_name IS NULL", (member.name, person.id))
        conn.execute(
            "INSERT INTO memberships (person_id, unit_id, role, source, granted_at) "
            "VALUES (?, ?, ?, 'config', ?) "
            "ON CONFLICT (person_id, unit_id, role) WHERE revoked_at IS NULL DO NOTHING",
            (person.id, member.unit, member.role, to_db_time(now)),
        )
    with conn.execute(
        "SELECT id, person_id, unit_id, role FROM memberships "
        "WHERE source = 'config' AND revoked_at IS NULL"
    ) as cur:
        rows = cur.fetchall()
    for row in rows:
        if (row["person_id"], row["unit_id"], row["role"]) not in wanted:
            conn.execute(
                "UPDATE memberships SET revoked_at = ? WHERE id = ?", (to_db_time(now), row["id"])
            )


def memberships_of(conn: Conn, telegram_id: int) -> list[Membership]:
    """A person's active roles."""
    with conn.execute(
        "SELECT m.person_id, p.telegram_id, m.unit_id, m.role, m.source FROM memberships m "
        "JOIN people p ON p.id = m.person_id WHERE p.telegram_id = ? AND m.revoked_at IS NULL "
        "ORDER BY m.unit_id, m.role",
        (telegram_id,),
    ) as cur:
        rows = cur.fetchall()
    return [Membership(r["person_id"], r["telegram_id"], r["unit_id"], r["role"], r["source"])
            for r in rows]


def _staff(row: Row) -> StaffMember:
    return StaffMember(row["person_id"], row["telegram_id"], row["role"], row["unit_id"],
                       row["language"], row["telegram_language"], row["display_name"])


_STAFF_SELECT = (
    "SELECT m.person_id, p.telegram_id, m.role, m.unit_id, p.language, p.telegram_language, "
    "p.display_name FROM memberships m JOIN people p ON p.id = m.person_id "
    "WHERE m.revoked_at IS NULL"
)


def unit_staff(
    conn: Conn, unit_id: str, roles: tuple[str, ...]
) -> list[StaffMember]:
    """Active members of a unit holding one of ``roles`` who have not blocked the bot."""
    marks = ", ".join("?" for _ in roles)
    with conn.execute(
        f"{_STAFF_SELECT} AND m.unit_id = ? AND m.role IN ({marks}) AND p.blocked_at IS NULL "
        "ORDER BY p.telegram_id, m.role", (unit_id, *roles),
    ) as cur:
        return [_staff(r) for r in cur.fetchall()]


def all_staff(conn: Conn, unit_id: str | None = None) -> list[StaffMember]:
    """Every active role (of one unit, or all), for listings."""
    params: tuple[str, ...] = ()
    if unit_id is None:
        query = f"{_STAFF_SELECT} ORDER BY m.unit_id, m.role, p.telegram_id"
    else:
        query = f"{_STAFF_SELECT} AND m.unit_id = ? ORDER BY m.role, p.telegram_id"
        params = (unit_id,)
    with conn.execute(query, params) as cur:
        return [_staff(r) for r in cur.fetchall()]


def grant(
    conn: Conn, person_id: int, unit_id: str, role: str, source: str,
    now: datetime,
) -> bool:
    """Grant a role; False if the person already holds it."""
    cur = conn.execute(
        "INSERT INTO memberships (person_id, unit_id, role, source, granted_at) "
        "VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (person_id, unit_id, role) WHERE revoked_at IS NULL DO NOTHING",
        (person_id, unit_id, role, source, to_db_time(now)),
    )
    return cur.rowcount == 1


def revoke(
    conn: Conn, telegram_id: int, unit_id: str, role: str, now: datetime
) -> bool:
    """Revoke an active role; False if there was none."""
    cur = conn.execute(
        "UPDATE memberships SET revoked_at = ? WHERE revoked_at IS NULL AND unit_id = ? "
        "AND role = ? AND person_id = (SELECT id FROM people WHERE telegram_id = ?)",
        (to_db_time(now), unit_id, role, telegram_id),
    )
    return cur.rowcount == 1
