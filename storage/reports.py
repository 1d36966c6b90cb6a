"""Which scheduled assessment reports have gone out."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import to_db_time


async def claim(conn: aiosqlite.Connection, period: str, now: datetime) -> bool:
    """Record a period's scheduled report; False if it was sent before."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO scheduled_reports (period, created_at) VALUES (?, ?)",
        (period, to_db_time(now)))
    return cur.rowcount == 1


async def sent(conn: aiosqlite.Connection, period: str) -> bool:
    async with conn.execute("SELECT 1 FROM scheduled_reports WHERE period = ?",
                            (period,)) as cur:
        return await cur.fetchone() is not None
