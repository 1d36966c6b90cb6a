"""Updates from Telegram kept before Telegram is told they arrived.

An update is kept whole only until it is handled: then only its id and times remain (its
payload, with the sender's id, names, text and phone, is emptied in the transaction that
records it handled). The newest id tells the next ``getUpdates`` where to go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from storage.models import to_db_time
from storage.sql import Conn


def store(
    conn: Conn, updates: Iterable[dict[str, Any]], now: datetime
) -> None:
    """Keep updates (a redelivered one is kept once)."""
    conn.executemany(
        "INSERT INTO inbox_updates (update_id, payload, received_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(u["update_id"], json.dumps(u, ensure_ascii=False), to_db_time(now)) for u in updates],
    )


def unhandled(conn: Conn, limit: int = 100) -> list[dict[str, Any]]:
    """Stored updates not yet handled, in Telegram's order."""
    with conn.execute(
        "SELECT payload FROM inbox_updates WHERE handled_at IS NULL AND payload != '' "
        "ORDER BY update_id LIMIT ?",
        (limit,),
    ) as cur:
        return [json.loads(r[0]) for r in cur.fetchall()]


def mark_handled(conn: Conn, update_ids: list[int], now: datetime) -> None:
    """Mark updates handled (they are not handed over again at the next start), keeping
    only their ids: what a person sent is not kept once it has been acted on.

    An update the gatekeeper records as handled (``storage.updates.mark_processed``) is
    emptied there already, with its effects; this covers the ones no handler records
    (a duplicate, one that could not be read).
    """
    at = to_db_time(now)
    conn.executemany(
        "UPDATE inbox_updates SET payload = '', handled_at = coalesce(handled_at, ?) "
        "WHERE update_id = ? AND (handled_at IS NULL OR payload != '')",
        [(at, update_id) for update_id in update_ids])


def last_update_id(conn: Conn) -> int | None:
    """The newest update id kept (Telegram is asked for the ones after it)."""
    with conn.execute("SELECT MAX(update_id) FROM inbox_updates") as cur:
        row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None
