"""Telegram updates already handled, so a duplicate delivery never acts twice."""

from __future__ import annotations

from datetime import datetime

from storage.models import to_db_time
from storage.sql import Conn


def mark_processed(conn: Conn, update_id: int, now: datetime) -> None:
    """Record that this update id has been handled, and forget the update itself.

    The stored copy (``storage.inbox``) holds the sender's id and names, the text, a shared
    phone number: it is emptied here, in the transaction that records the update handled,
    so it is gone exactly when it can no longer be needed. The id is what stays.
    """
    at = to_db_time(now)
    conn.later(
        "INSERT INTO processed_updates (update_id, at) VALUES (?, ?) "
        "ON CONFLICT (update_id) DO NOTHING",
        (update_id, at),
    )
    conn.later(
        "UPDATE inbox_updates SET payload = '', person_key = NULL, "
        "handled_at = coalesce(handled_at, ?) WHERE update_id = ?", (at, update_id))
