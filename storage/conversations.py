"""Conversation states and per-user draft data, so a conversation survives a restart."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite


async def load_conversations(conn: aiosqlite.Connection, name: str) -> dict[str, Any]:
    """Every stored state of one conversation handler, keyed by the JSON of its key."""
    async with conn.execute(
        "SELECT key, state FROM conversations WHERE name = ?", (name,)
    ) as cur:
        rows = await cur.fetchall()
    return {row["key"]: json.loads(row["state"]) for row in rows}


async def save_conversation(
    conn: aiosqlite.Connection, name: str, key: str, state: Any
) -> None:
    """Store (or, for ``None``, forget) one conversation's state."""
    if state is None:
        await conn.execute("DELETE FROM conversations WHERE name = ? AND key = ?", (name, key))
        return
    await conn.execute(
        "INSERT INTO conversations (name, key, state) VALUES (?, ?, ?) "
        "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
        (name, key, json.dumps(state)),
    )


async def load_user_data(conn: aiosqlite.Connection) -> dict[int, dict[str, Any]]:
    """Every user's stored draft data."""
    async with conn.execute("SELECT user_id, data FROM user_data") as cur:
        rows = await cur.fetchall()
    return {row["user_id"]: json.loads(row["data"]) for row in rows}


async def save_user_data(conn: aiosqlite.Connection, user_id: int, data: dict[str, Any]) -> None:
    """Store (or, when empty, forget) one user's draft data."""
    if not data:
        await conn.execute("DELETE FROM user_data WHERE user_id = ?", (user_id,))
        return
    await conn.execute(
        "INSERT INTO user_data (user_id, data) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
        (user_id, json.dumps(data, ensure_ascii=False)),
    )


async def forget_drafts(
    conn: aiosqlite.Connection, name: str, users: list[tuple[int, dict[str, Any]]],
    states: tuple[str, ...],
) -> None:
    """Expired drafts: write each user's data as it is now (their draft gone) and end their
    conversation ``name`` if it is in one of ``states`` (the steps that held the draft)."""
    marks = ", ".join("?" for _ in states) or "NULL"
    for user_id, data in users:
        await save_user_data(conn, user_id, data)
        await conn.execute(
            f"DELETE FROM conversations WHERE name = ? AND key = ? AND state IN ({marks})",
            (name, json.dumps([user_id]), *(json.dumps(state) for state in states)))
