"""People: Telegram accounts known to Sunbox, keyed by numeric user id.

A person's dates are kept to the day (``to_db_day``): no moment on this table may match a
case's. Their anonymous cases are listed only in ``sealed_cases``, opaque bytes sealed by
``bot.seal``.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from storage.models import Person, from_db_day, to_db_day
from storage.sql import Conn, Row


def _person(row: Row) -> Person:
    blocked = row["blocked_at"]
    return Person(row["id"], row["telegram_id"], row["language"],
                  from_db_day(blocked) if blocked else None, row["display_name"],
                  row["telegram_language"])


def ensure_person(conn: Conn, telegram_id: int, now: datetime) -> Person:
    """The person for a Telegram user id, created on first sight."""
    conn.execute(
        "INSERT INTO people (telegram_id, created_at) VALUES (?, ?) "
        "ON CONFLICT (telegram_id) DO NOTHING",
        (telegram_id, to_db_day(now)),
    )
    person = find_person(conn, telegram_id)
    assert person is not None
    return person


def find_person(conn: Conn, telegram_id: int) -> Person | None:
    """The person for a Telegram user id, if known."""
    # One round trip to the database thread (execute, fetch and close would be three): every
    # update asks this.
    rows = list(conn.execute_fetchall(
        "SELECT * FROM people WHERE telegram_id = ?", (telegram_id,)))
    return _person(rows[0]) if rows else None


def find_sender(
    conn: Conn, update_id: int, telegram_id: int | None
) -> tuple[bool, Person | None, tuple[str | None, list[str]]]:
    """Whether an update was handled before, the person who sent it if known, and the menu
    last set for their chat with their active roles (as ``menu_and_roles``): the reads
    every update makes, in one statement."""
    rows = list(conn.execute_fetchall(
        "SELECT EXISTS (SELECT 1 FROM processed_updates WHERE update_id = ?) AS seen, p.*, "
        "(SELECT group_concat(m.role, ' ') FROM memberships m WHERE m.person_id = p.id "
        "AND m.revoked_at IS NULL) AS held_roles "
        "FROM (SELECT 1) AS one LEFT JOIN people p ON p.telegram_id = ?", (update_id, telegram_id)))
    row = rows[0]
    if row["id"] is None:
        return bool(row["seen"]), None, (None, [])
    held = sorted(set((row["held_roles"] or "").split()))
    return bool(row["seen"]), _person(row), (row["menu"], held)


def get_person(conn: Conn, person_id: int) -> Person | None:
    """A person by internal id."""
    with conn.execute("SELECT * FROM people WHERE id = ?", (person_id,)) as cur:
        row = cur.fetchone()
    return _person(row) if row else None


def set_language(conn: Conn, person_id: int, language: str) -> None:
    """Remember a person's chosen language."""
    conn.execute("UPDATE people SET language = ? WHERE id = ?", (language, person_id))


def note_telegram(
    conn: Conn, person_id: int, telegram_language: str | None
) -> None:
    """Keep Telegram's language code, used when others write to this person."""
    conn.execute(
        "UPDATE people SET telegram_language = ? WHERE id = ? "
        "AND telegram_language IS DISTINCT FROM ?",
        (telegram_language, person_id, telegram_language),
    )


def set_display_name(conn: Conn, person_id: int, name: str) -> None:
    """Keep an official's name, shown to colleagues on cards ("accepted by …")."""
    conn.execute("UPDATE people SET display_name = ? WHERE id = ?", (name, person_id))


def mark_blocked(conn: Conn, telegram_id: int, now: datetime) -> bool:
    """The person blocked the bot: nothing more is sent to them. True if they were not
    marked so already."""
    cur = conn.execute(
        "UPDATE people SET blocked_at = ? WHERE telegram_id = ? AND blocked_at IS NULL",
        (to_db_day(now), telegram_id),
    )
    return cur.rowcount > 0


def clear_blocked(conn: Conn, person_id: int) -> None:
    """The person wrote again, so they can be reached again."""
    conn.execute("UPDATE people SET blocked_at = NULL WHERE id = ?", (person_id,))


def sealed_cases(conn: Conn, person_id: int) -> bytes | None:
    """The sealed list of a person's anonymous cases, as stored (None if they have none)."""
    rows = list(conn.execute_fetchall(
        "SELECT sealed_cases FROM people WHERE id = ?", (person_id,)))
    return bytes(rows[0][0]) if rows and rows[0][0] is not None else None


def set_sealed_cases(
    conn: Conn, person_id: int, sealed: bytes | None
) -> None:
    """Replace a person's sealed list (None: they have no anonymous case any more)."""
    conn.execute("UPDATE people SET sealed_cases = ? WHERE id = ?", (sealed, person_id))


def random_others(conn: Conn, person_id: int, count: int) -> list[int]:
    """Up to ``count`` ids of other people with a Telegram id, picked at random (each a
    random point of the id range, then the next row at or after it: no sort of the table)."""
    rows = list(conn.execute_fetchall("SELECT max(id) FROM people"))
    top = rows[0][0] if rows else None
    if not top:
        return []
    chosen: set[int] = set()
    for _ in range(count):
        found = list(conn.execute_fetchall(
            "SELECT id FROM people WHERE id >= ? AND id != ? AND telegram_id > 0 "
            "ORDER BY id LIMIT 1", (secrets.randbelow(int(top)) + 1, person_id)))
        if found:
            chosen.add(int(found[0][0]))
    return sorted(chosen)


def menu_and_roles(conn: Conn, telegram_id: int
                         ) -> tuple[str | None, list[str]]:
    """The command menu last set for a person's chat (None: none) and their active roles,
    in one statement (asked on every update)."""
    rows = list(conn.execute_fetchall(
        "SELECT p.menu, m.role FROM people p LEFT JOIN memberships m "
        "ON m.person_id = p.id AND m.revoked_at IS NULL WHERE p.telegram_id = ?",
        (telegram_id,)))
    if not rows:
        return None, []
    return rows[0]["menu"], sorted({row["role"] for row in rows if row["role"] is not None})


def set_menu(conn: Conn, telegram_id: int, menu: str | None) -> None:
    """Record the command menu now set for a person's chat (None: deleted)."""
    conn.execute("UPDATE people SET menu = ? WHERE telegram_id = ?", (menu, telegram_id))
