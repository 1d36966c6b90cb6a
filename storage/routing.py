"""Which units can take a case now, and moving a unit's open cases elsewhere."""

from __future__ import annotations

from datetime import datetime

from storage.models import to_db_time
from storage.sql import Conn

#: Roles that can accept and answer a case (``supervision`` in the supervision unit).
HANDLING_ROLES = ("official", "head", "supervision")


def staffed_units(conn: Conn) -> set[str]:
    """Units with an active official, head (or supervision member) who has not blocked
    the bot."""
    marks = ", ".join("?" for _ in HANDLING_ROLES)
    with conn.execute(
        "SELECT DISTINCT m.unit_id FROM memberships m JOIN people p ON p.id = m.person_id "
        f"WHERE m.revoked_at IS NULL AND p.blocked_at IS NULL AND m.role IN ({marks})",
        HANDLING_ROLES,
    ) as cur:
        return {str(r[0]) for r in cur.fetchall()}


def open_case_ids(
    conn: Conn, unit_id: str, states: tuple[str, ...]
) -> list[int]:
    """A unit's cases in one of ``states``, oldest first."""
    marks = ", ".join("?" for _ in states)
    with conn.execute(
        f"SELECT id FROM cases WHERE unit_id = ? AND state IN ({marks}) ORDER BY id",
        (unit_id, *states),
    ) as cur:
        return [int(r[0]) for r in cur.fetchall()]


def move_unit(
    conn: Conn, case_id: int, unit_id: str, at: datetime
) -> None:
    """Give a case to another unit as it stands: state and deadlines are kept (the
    promise to the reporter does not change because a unit lost its staff)."""
    conn.execute(
        "UPDATE cases SET unit_id = ?, updated_at = ? WHERE id = ?",
        (unit_id, to_db_time(at), case_id),
    )


def handling_units_of(conn: Conn, telegram_id: int) -> list[str]:
    """The units where a person holds a role that takes cases (revoked roles left out)."""
    marks = ", ".join("?" for _ in HANDLING_ROLES)
    with conn.execute(
        "SELECT DISTINCT m.unit_id FROM memberships m JOIN people p ON p.id = m.person_id "
        f"WHERE p.telegram_id = ? AND m.revoked_at IS NULL AND m.role IN ({marks}) "
        "ORDER BY m.unit_id",
        (telegram_id, *HANDLING_ROLES),
    ) as cur:
        return [str(r[0]) for r in cur.fetchall()]


def units_holding(conn: Conn, states: tuple[str, ...]) -> list[str]:
    """Units that hold a case in one of ``states``."""
    marks = ", ".join("?" for _ in states)
    with conn.execute(
        f"SELECT DISTINCT unit_id FROM cases WHERE state IN ({marks}) ORDER BY unit_id", states,
    ) as cur:
        return [str(r[0]) for r in cur.fetchall()]


def cards_without_role(conn: Conn, roles: tuple[str, ...]) -> list[int]:
    """Private chats holding a case card of a unit where that person holds none of
    ``roles`` (a unit's group, whose id is negative, holds cards without a role)."""
    marks = ", ".join("?" for _ in roles)
    with conn.execute(
        "SELECT DISTINCT c.chat_id FROM card_messages c WHERE c.chat_id > 0 AND NOT EXISTS ("
        "SELECT 1 FROM memberships m JOIN people p ON p.id = m.person_id "
        "WHERE p.telegram_id = c.chat_id AND m.unit_id = c.unit_id "
        f"AND m.revoked_at IS NULL AND m.role IN ({marks})) ORDER BY c.chat_id", roles,
    ) as cur:
        return [int(r[0]) for r in cur.fetchall()]
