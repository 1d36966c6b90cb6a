"""One-time invites into a role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.models import from_db_time, to_db_time


@dataclass(frozen=True)
class Invite:
    code: str
    role: str
    unit_id: str
    created_at: datetime
    expires_at: datetime | None
    used_by: int | None


async def create(
    conn: aiosqlite.Connection, code: str, role: str, unit_id: str, created_by: int | None,
    now: datetime, expires_at: datetime | None,
) -> None:
    await conn.execute(
        "INSERT INTO invites (code, role, unit_id, created_by, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (code, role, unit_id, created_by, to_db_time(now),
         to_db_time(expires_at) if expires_at else None),
    )


async def get(conn: aiosqlite.Connection, code: str) -> Invite | None:
    async with conn.execute("SELECT * FROM invites WHERE code = ?", (code,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return Invite(row["code"], row["role"], row["unit_id"], from_db_time(row["created_at"]),
                  from_db_time(row["expires_at"]) if row["expires_at"] else None,
                  row["used_by"])


async def use(conn: aiosqlite.Connection, code: str, person_id: int, now: datetime) -> bool:
    """Spend an invite; False if someone already did."""
    cur = await conn.execute(
        "UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL",
        (person_id, to_db_time(now), code),
    )
    return cur.rowcount == 1
