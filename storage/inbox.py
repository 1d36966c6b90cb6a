"""Updates from Telegram kept before Telegram is told they arrived.

An update is kept whole only until it is handled: then only its id and times remain (its
payload, with the sender's id, names, text and phone, is emptied in the transaction that
records it handled, and whose it was, ``person_key``, forgotten with it). The newest id
tells the next ``getUpdates`` where to go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from storage.models import to_db_time
from storage.sql import Conn


def store(
    conn: Conn, updates: Iterable[dict[str, Any]], now: datetime,
    person_of: Callable[[dict[str, Any]], int] = lambda update: 0,
) -> None:
    """Keep updates (a redelivered one is kept once), each with whose it is (``person_of``:
    its sender's or chat's id, 0 for neither; ``bot.telegram.update_processor.person_key``)."""
    conn.executemany(
        "INSERT INTO inbox_updates (update_id, payload, received_at, person_key) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(u["update_id"], json.dumps(u, ensure_ascii=False), to_db_time(now), person_of(u))
         for u in updates],
    )


def unhandled(conn: Conn, limit: int = 100) -> list[dict[str, Any]]:
    """Stored updates not yet handled, in Telegram's order."""
    with conn.execute(
        "SELECT payload FROM inbox_updates WHERE handled_at IS NULL AND payload != '' "
        "ORDER BY update_id LIMIT ?",
        (limit,),
    ) as cur:
        return [json.loads(r[0]) for r in cur.fetchall()]


def waiting_of(conn: Conn, person: int, limit: int = 100) -> list[dict[str, Any]]:
    """One person's stored updates not yet handled, in Telegram's order."""
    with conn.execute(
        "SELECT payload FROM inbox_updates WHERE person_key = ? AND handled_at IS NULL "
        "AND payload != '' ORDER BY update_id LIMIT ?",
        (person, limit),
    ) as cur:
        return [json.loads(r[0]) for r in cur.fetchall()]


def waiting_people(conn: Conn, received_before: datetime | None = None,
                   limit: int = 1000) -> list[int]:
    """The people with stored updates not yet handled (received before
    ``received_before``, if given), the longest waiting first."""
    before = "9999" if received_before is None else to_db_time(received_before)
    with conn.execute(
        "SELECT person_key FROM inbox_updates WHERE handled_at IS NULL AND payload != '' "
        "AND received_at < ? GROUP BY person_key ORDER BY MIN(update_id) LIMIT ?",
        (before, limit),
    ) as cur:
        return [int(r[0] or 0) for r in cur.fetchall()]


def mark_handled(conn: Conn, update_ids: list[int], now: datetime) -> None:
    """Mark updates handled (they are not handed over again at the next start), keeping
    only their ids: what a person sent is not kept once it has been acted on.

    An update the gatekeeper records as handled (``storage.updates.mark_processed``) is
    emptied there already, with its effects; this covers the ones no handler records
    (a duplicate, one that could not be read).
    """
    at = to_db_time(now)
    conn.executemany(
        "UPDATE inbox_updates SET payload = '', person_key = NULL, "
        "handled_at = coalesce(handled_at, ?) "
        "WHERE update_id = ? AND (handled_at IS NULL OR payload != '')",
        [(at, update_id) for update_id in update_ids])


def last_update_id(conn: Conn) -> int | None:
    """The newest update id kept (Telegram is asked for the ones after it)."""
    with conn.execute("SELECT MAX(update_id) FROM inbox_updates") as cur:
        row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None
