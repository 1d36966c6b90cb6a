"""Requests for more time on a case's deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.models import from_db_time, to_db_time
from storage.sql import Conn, IntegrityError, Row


@dataclass(frozen=True)
class Extension:
    id: int
    case_id: int
    deadline: str
    requested_by: int
    reason: str
    old_due: datetime
    new_due: datetime
    status: str


def _extension(row: Row) -> Extension:
    return Extension(row["id"], row["case_id"], row["deadline"], row["requested_by"],
                     row["reason"], from_db_time(row["old_due"]), from_db_time(row["new_due"]),
                     row["status"])


def request(
    conn: Conn, case_id: int, deadline: str, requested_by: int, reason: str,
    old_due: datetime, new_due: datetime, now: datetime,
) -> int | None:
    """Store a pending request; None if one is pending or was granted for this deadline."""
    try:
        with conn.attempt():
            return conn.insert(
                "INSERT INTO extensions (case_id, deadline, requested_by, reason, old_due, "
                "new_due, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                (case_id, deadline, requested_by, reason, to_db_time(old_due),
                 to_db_time(new_due), to_db_time(now)),
            )
    except IntegrityError:
        return None


def get(conn: Conn, extension_id: int) -> Extension | None:
    with conn.execute("SELECT * FROM extensions WHERE id = ?", (extension_id,)) as cur:
        row = cur.fetchone()
    return _extension(row) if row else None


def decide(
    conn: Conn, extension_id: int, granted: bool, by: int, now: datetime
) -> bool:
    """Grant or refuse a pending request; False if it was decided already."""
    cur = conn.execute(
        "UPDATE extensions SET status = ?, decided_by = ?, decided_at = ? "
        "WHERE id = ? AND status = 'pending'",
        ("granted" if granted else "refused", by, to_db_time(now), extension_id),
    )
    return cur.rowcount == 1


def taken(conn: Conn, case_id: int, deadline: str) -> bool:
    """Whether this deadline already has a pending or granted extension."""
    with conn.execute(
        "SELECT 1 FROM extensions WHERE case_id = ? AND deadline = ? "
        "AND status IN ('pending', 'granted')", (case_id, deadline),
    ) as cur:
        return cur.fetchone() is not None
