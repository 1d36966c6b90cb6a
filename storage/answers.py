"""Answers to cases, their sign-off and the reporter's rating."""

from __future__ import annotations

from datetime import datetime

from storage.models import Answer, NewAttachment, from_db_time, to_db_time
from storage.sql import Conn, Row


def _answer(row: Row, attachments: tuple[NewAttachment, ...]) -> Answer:
    return Answer(
        id=row["id"], case_id=row["case_id"], unit_id=row["unit_id"],
        author_id=row["author_id"], outcome=row["outcome"], text=row["text"],
        redirect=row["redirect"], status=row["status"],
        created_at=from_db_time(row["created_at"]), comment=row["comment"],
        rating=row["rating"], attachments=attachments,
    )


def add_answer(
    conn: Conn, case_id: int, unit_id: str, author_id: int, outcome: str,
    text: str, redirect: str | None, status: str, attachments: tuple[NewAttachment, ...],
    at: datetime,
) -> int:
    """Store an answer (pending sign-off, or already sent)."""
    answer_id = conn.insert(
        "INSERT INTO answers (case_id, unit_id, author_id, outcome, text, redirect, status, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (case_id, unit_id, author_id, outcome, text, redirect, status, to_db_time(at)),
    )
    conn.executemany(
        "INSERT INTO answer_attachments (answer_id, kind, file_id, file_unique_id, file_name, "
        "mime_type) VALUES (?, ?, ?, ?, ?, ?)",
        [(answer_id, a.kind, a.file_id, a.file_unique_id, a.file_name, a.mime_type)
         for a in attachments],
    )
    return answer_id


def get_answer(conn: Conn, answer_id: int) -> Answer | None:
    with conn.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)) as cur:
        row = cur.fetchone()
    if row is None:
        return None
    with conn.execute(
        "SELECT * FROM answer_attachments WHERE answer_id = ? ORDER BY id", (answer_id,)
    ) as cur:
        files = tuple(NewAttachment(r["kind"], r["file_id"], r["file_unique_id"], r["file_name"],
                                    r["mime_type"]) for r in cur.fetchall())
    return _answer(row, files)


def pending_answer(conn: Conn, case_id: int) -> Answer | None:
    """The answer of a case waiting for the head's sign-off, if any."""
    with conn.execute(
        "SELECT id FROM answers WHERE case_id = ? AND status = 'pending' ORDER BY id DESC",
        (case_id,),
    ) as cur:
        row = cur.fetchone()
    return get_answer(conn, row[0]) if row else None


def decide(
    conn: Conn, answer_id: int, status: str, by: int, comment: str | None,
    at: datetime,
) -> bool:
    """Approve (→ sent) or return a pending answer; False if it is no longer pending."""
    cur = conn.execute(
        "UPDATE answers SET status = ?, decided_by = ?, decided_at = ?, comment = ? "
        "WHERE id = ? AND status = 'pending'",
        (status, by, to_db_time(at), comment, answer_id),
    )
    return cur.rowcount == 1


def rate(
    conn: Conn, answer_id: int, rating: str, at: datetime
) -> bool:
    """Record the reporter's rating of a sent answer, once."""
    cur = conn.execute(
        "UPDATE answers SET rating = ?, rated_at = ? WHERE id = ? AND status = 'sent' "
        "AND rating IS NULL", (rating, to_db_time(at), answer_id),
    )
    return cur.rowcount == 1


def latest_rated(conn: Conn, case_id: int) -> Answer | None:
    """The newest answer the reporter rated."""
    with conn.execute(
        "SELECT id FROM answers WHERE case_id = ? AND rating IS NOT NULL ORDER BY id DESC",
        (case_id,),
    ) as cur:
        row = cur.fetchone()
    return get_answer(conn, row[0]) if row else None
