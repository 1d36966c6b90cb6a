"""Telegram updates already handled, so a duplicate delivery never acts twice."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import to_db_time


async def mark_processed(conn: aiosqlite.Connection, update_id: int, now: datetime) -> None:
    """Record that this update id has been handled."""
    await conn.execute(
        "INSERT INTO processed_updates (update_id, at) VALUES (?, ?) "
        "ON CONFLICT (update_id) DO NOTHING",
        (update_id, to_db_time(now)),
    )
