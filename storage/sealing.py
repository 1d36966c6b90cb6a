"""What the seal needs of the database: the key's fingerprint, the sealed columns as opaque
bytes, and the plain delivery chats older versions left on anonymous cases."""

from __future__ import annotations

from storage.sql import Conn

FINGERPRINT = "seal_fingerprint"


def fingerprint(conn: Conn) -> str | None:
    """The fingerprint of the key that sealed this database, if any has yet."""
    rows = list(conn.execute_fetchall(
        "SELECT value FROM meta WHERE key = ?", (FINGERPRINT,)))
    return str(rows[0][0]) if rows else None


def set_fingerprint(conn: Conn, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (FINGERPRINT, value))


def plain_anonymous(conn: Conn) -> list[tuple[int, int]]:
    """(case id, chat id) of anonymous cases whose delivery chat is still in plain text."""
    rows = conn.execute_fetchall(
        "SELECT id, delivery_chat_id FROM cases "
        "WHERE anonymous = 1 AND delivery_chat_id IS NOT NULL ORDER BY id")
    return [(int(r[0]), int(r[1])) for r in rows]


def seal_delivery(conn: Conn, case_id: int, sealed: bytes) -> None:
    """An anonymous case's delivery chat, sealed; the plain column is emptied."""
    conn.execute(
        "UPDATE cases SET delivery_sealed = ?, delivery_chat_id = NULL WHERE id = ?",
        (sealed, case_id))


def forget_deliveries(conn: Conn, case_ids: list[int]) -> None:
    """The sealed delivery chats of these anonymous cases are erased: nothing more reaches
    their reporter."""
    conn.executemany(
        "UPDATE cases SET delivery_sealed = NULL WHERE id = ? AND anonymous = 1",
        [(case_id,) for case_id in case_ids])
