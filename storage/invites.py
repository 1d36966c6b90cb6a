"""One-time invites into a role.

Only a hash of an invite's code is kept (SHA-256, hex): whoever reads the database cannot
take up the roles its unused invites offer. The code itself exists only in the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.migrations import sha256_hex
from storage.models import from_db_time, to_db_time
from storage.sql import Conn, Row


@dataclass(frozen=True)
class Invite:
    id: int
    role: str
    unit_id: str
    created_at: datetime
    expires_at: datetime | None
    used_by: int | None
    cancelled_at: datetime | None = None
    #: The code itself: known only to whoever just created the invite (never stored).
    code: str | None = None


def code_hash(code: str) -> str:
    """What is stored of an invite's code."""
    digest = sha256_hex(code)
    assert digest is not None
    return digest


def _invite(row: Row) -> Invite:
    return Invite(row["id"], row["role"], row["unit_id"], from_db_time(row["created_at"]),
                  from_db_time(row["expires_at"]) if row["expires_at"] else None,
                  row["used_by"],
                  from_db_time(row["cancelled_at"]) if row["cancelled_at"] else None)


def create(
    conn: Conn, code: str, role: str, unit_id: str, created_by: int | None,
    now: datetime, expires_at: datetime | None,
) -> Invite:
    """Store an invite (its code's hash); returns it, with the code."""
    invite_id = conn.insert(
        "INSERT INTO invites (code_hash, role, unit_id, created_by, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (code_hash(code), role, unit_id, created_by, to_db_time(now),
         to_db_time(expires_at) if expires_at else None),
    )
    return Invite(invite_id, role, unit_id, now, expires_at, None, None, code)


def get(conn: Conn, code: str) -> Invite | None:
    """The invite a code opens, if any."""
    with conn.execute(
        "SELECT * FROM invites WHERE code_hash = ?", (code_hash(code),)
    ) as cur:
        row = cur.fetchone()
    return _invite(row) if row else None


def use(conn: Conn, invite_id: int, person_id: int, now: datetime
              ) -> bool:
    """Spend an invite; False if someone already did, or it was cancelled."""
    cur = conn.execute(
        "UPDATE invites SET used_by = ?, used_at = ? WHERE id = ? AND used_by IS NULL "
        "AND cancelled_at IS NULL",
        (person_id, to_db_time(now), invite_id),
    )
    return cur.rowcount == 1


def unused(conn: Conn, now: datetime) -> list[Invite]:
    """Invites nobody has used, cancelled or let expire yet, oldest first."""
    with conn.execute(
        "SELECT * FROM invites WHERE used_by IS NULL AND cancelled_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > ?) ORDER BY id", (to_db_time(now),)
    ) as cur:
        return [_invite(row) for row in cur.fetchall()]


def cancel(conn: Conn, invite_id: int, now: datetime) -> Invite | None:
    """Cancel an unused invite; returns it, or None if there is no such unused invite."""
    cur = conn.execute(
        "UPDATE invites SET cancelled_at = ? WHERE id = ? AND used_by IS NULL "
        "AND cancelled_at IS NULL", (to_db_time(now), invite_id))
    if cur.rowcount != 1:
        return None
    with conn.execute("SELECT * FROM invites WHERE id = ?", (invite_id,)) as c:
        row = c.fetchone()
    return _invite(row) if row else None
