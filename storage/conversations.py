"""Conversation states and per-user draft data, so a conversation survives a restart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from storage.sql import Conn


def load_conversations(conn: Conn, name: str) -> dict[str, Any]:
    """Every stored state of one conversation handler, keyed by the JSON of its key."""
    with conn.execute(
        "SELECT key, state FROM conversations WHERE name = ?", (name,)
    ) as cur:
        rows = cur.fetchall()
    return {row["key"]: json.loads(row["state"]) for row in rows}


def save_conversation(
    conn: Conn, name: str, key: str, state: Any
) -> None:
    """Store (or, for ``None``, forget) one conversation's state."""
    if state is None:
        conn.later("DELETE FROM conversations WHERE name = ? AND key = ?", (name, key))
        return
    conn.later(
        "INSERT INTO conversations (name, key, state) VALUES (?, ?, ?) "
        "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
        (name, key, json.dumps(state)),
    )


def load_user_data(conn: Conn) -> dict[int, dict[str, Any]]:
    """Every user's stored draft data."""
    with conn.execute("SELECT user_id, data FROM user_data") as cur:
        rows = cur.fetchall()
    return {row["user_id"]: json.loads(row["data"]) for row in rows}


def user_data_text(conn: Conn, user_id: int) -> str | None:
    """One user's stored draft data as stored (None: none)."""
    with conn.execute("SELECT data FROM user_data WHERE user_id = ?", (user_id,)) as cur:
        row = cur.fetchone()
    return str(row[0]) if row else None


def load_user_data_texts(conn: Conn) -> dict[int, str]:
    """Every user's stored draft data, as stored."""
    with conn.execute("SELECT user_id, data FROM user_data") as cur:
        return {int(row[0]): str(row[1]) for row in cur.fetchall()}


def save_user_data(conn: Conn, user_id: int, data: dict[str, Any]) -> None:
    """Store (or, when empty, forget) one user's draft data."""
    if not data:
        conn.later("DELETE FROM user_data WHERE user_id = ?", (user_id,))
        return
    conn.later(
        "INSERT INTO user_data (user_id, data) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
        (user_id, json.dumps(data, ensure_ascii=False)),
    )


def forget_drafts(
    conn: Conn, name: str, users: list[tuple[int, dict[str, Any]]],
    states: tuple[str, ...], expected: dict[int, str] | None = None,
) -> None:
    """Expired drafts: write each user's data as it is now (their draft gone) and end their
    conversation ``name`` if it is in one of ``states`` (the steps that held the draft).
    A user whose stored data is no longer ``expected[user_id]`` (when given: another
    instance handled them since it was read) is left as they are."""
    marks = ", ".join("?" for _ in states) or "NULL"
    for user_id, data in users:
        if expected is not None and user_data_text(conn, user_id) != expected.get(user_id):
            continue
        save_user_data(conn, user_id, data)
        conn.execute(
            f"DELETE FROM conversations WHERE name = ? AND key = ? AND state IN ({marks})",
            (name, json.dumps([user_id]), *(json.dumps(state) for state in states)))


def person_state(conn: Conn, user_id: int, names: Sequence[str]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """One person's stored draft data, and the state of each conversation ``names`` keyed
    by them alone (None: not in it)."""
    with conn.execute("SELECT data FROM user_data WHERE user_id = ?", (user_id,)) as cur:
        row = cur.fetchone()
    data = json.loads(row[0]) if row else {}
    states: dict[str, Any] = {}
    for name in names:
        with conn.execute("SELECT state FROM conversations WHERE name = ? AND key = ?",
                          (name, json.dumps([user_id]))) as cur:
            found = cur.fetchone()
        states[name] = json.loads(found[0]) if found else None
    return data, states
