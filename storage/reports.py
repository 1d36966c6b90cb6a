"""Which scheduled assessment reports have gone out."""

from __future__ import annotations

from datetime import datetime

from storage.models import to_db_time
from storage.sql import Conn


def claim(conn: Conn, period: str, now: datetime) -> bool:
    """Record a period's scheduled report; False if it was sent before."""
    cur = conn.execute(
        "INSERT INTO scheduled_reports (period, created_at) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING",
        (period, to_db_time(now)))
    return cur.rowcount == 1


def sent(conn: Conn, period: str) -> bool:
    with conn.execute("SELECT 1 FROM scheduled_reports WHERE period = ?",
                            (period,)) as cur:
        return cur.fetchone() is not None
