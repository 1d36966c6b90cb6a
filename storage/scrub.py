"""Attachments of anonymous cases waiting to be scrubbed (``scrub_pending``; the design is in
``bot.services.scrub``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.models import NewAttachment, to_db_time
from storage.sql import Conn, Row


@dataclass(frozen=True)
class PendingFile:
    """One file of an anonymous case: the original, and its scrubbed upload once it exists."""

    id: int
    case_id: int
    seq: int
    kind: str
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    new_kind: str | None
    new_file_id: str | None
    new_unique_id: str | None
    new_name: str | None
    uploaded_to: int | None
    attempts: int

    @property
    def uploaded(self) -> bool:
        return self.new_file_id is not None

    @property
    def done(self) -> bool:
        """Uploaded, or dropped (it could not be scrubbed)."""
        return self.new_kind is not None

    def original(self) -> NewAttachment:
        """The file as the reporter sent it."""
        return NewAttachment(self.kind, self.file_id, self.file_unique_id, self.file_name,
                             self.mime_type)

    def scrubbed(self) -> NewAttachment:
        """The upload as an attachment of the case (only once ``uploaded``)."""
        assert self.new_kind and self.new_file_id and self.new_unique_id
        return NewAttachment(self.new_kind, self.new_file_id, self.new_unique_id,
                             self.new_name, "image/jpeg" if self.new_kind == "photo" else None)


def _pending(row: Row) -> PendingFile:
    return PendingFile(
        id=row["id"], case_id=row["case_id"], seq=row["seq"], kind=row["kind"],
        file_id=row["file_id"], file_unique_id=row["file_unique_id"],
        file_name=row["file_name"], mime_type=row["mime_type"], new_kind=row["new_kind"],
        new_file_id=row["new_file_id"], new_unique_id=row["new_unique_id"],
        new_name=row["new_name"], uploaded_to=row["uploaded_to"], attempts=row["attempts"])


def hold(conn: Conn, case_id: int,
         attachments: Iterable[NewAttachment]) -> int:
    """Keep a case's files until they are scrubbed (inside the filing's transaction)."""
    rows = [(case_id, seq, a.kind, a.file_id, a.file_unique_id, a.file_name, a.mime_type)
            for seq, a in enumerate(attachments, start=1)]
    conn.executemany(
        "INSERT INTO scrub_pending (case_id, seq, kind, file_id, file_unique_id, file_name, "
        "mime_type) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def due_cases(conn: Conn, now: datetime, limit: int = 50) -> list[int]:
    """Cases with files to scrub now (none of them waiting for a retry time)."""
    rows = conn.execute_fetchall(
        "SELECT case_id FROM scrub_pending GROUP BY case_id "
        "HAVING max(coalesce(not_before, '')) <= ? ORDER BY case_id LIMIT ?",
        (to_db_time(now), limit))
    return [int(r["case_id"]) for r in rows]


def files_of(conn: Conn, case_id: int) -> list[PendingFile]:
    """A case's files waiting, in the order they came."""
    rows = conn.execute_fetchall(
        "SELECT * FROM scrub_pending WHERE case_id = ? ORDER BY seq", (case_id,))
    return [_pending(r) for r in rows]


def count_files(conn: Conn, case_id: int) -> int:
    """A case's files, stored or held."""
    rows = list(conn.execute_fetchall(
        "SELECT (SELECT COUNT(*) FROM attachments WHERE case_id = ?) "
        "+ (SELECT COUNT(*) FROM scrub_pending WHERE case_id = ?) AS n", (case_id, case_id)))
    return int(rows[0]["n"])


def record_upload(conn: Conn, pending_id: int, upload: NewAttachment,
                  chat_id: int | None) -> None:
    """The scrubbed copy exists: remember it (a crash must not upload it again) and forget
    the original's name."""
    conn.execute(
        "UPDATE scrub_pending SET new_kind = ?, new_file_id = ?, new_unique_id = ?, "
        "new_name = ?, uploaded_to = ?, file_name = NULL WHERE id = ?",
        (upload.kind, upload.file_id, upload.file_unique_id, upload.file_name, chat_id,
         pending_id))


def record_dropped(conn: Conn, pending_id: int) -> None:
    """The file cannot be scrubbed: it will not go on (and its name is forgotten)."""
    conn.execute(
        "UPDATE scrub_pending SET new_kind = 'dropped', file_name = NULL WHERE id = ?",
        (pending_id,))


def retry_later(conn: Conn, case_id: int, not_before: datetime, *,
                counted: bool = True) -> int:
    """The case's files wait until ``not_before`` (a failed try is ``counted``); returns the
    tries so far."""
    conn.execute(
        "UPDATE scrub_pending SET attempts = attempts + ?, not_before = ? WHERE case_id = ?",
        (int(counted), to_db_time(not_before), case_id))
    rows = list(conn.execute_fetchall(
        "SELECT max(attempts) AS attempts FROM scrub_pending WHERE case_id = ?", (case_id,)))
    return int(rows[0]["attempts"] or 0)


def finish(conn: Conn, case_id: int, at: datetime) -> list[NewAttachment]:
    """The scrubbed copies become the case's attachments (with its ``filed`` event) and the
    originals are forgotten; a file that could not be scrubbed is dropped, never kept.
    Returns the attachments, in the order the files came."""
    files = files_of(conn, case_id)
    kept = [f.scrubbed() for f in files if f.uploaded]
    rows = list(conn.execute_fetchall(
        "SELECT min(id) AS id FROM case_events WHERE case_id = ? AND type = 'filed'",
        (case_id,)))
    event_id = rows[0]["id"] if rows else None
    conn.executemany(
        "INSERT INTO attachments (case_id, event_id, kind, file_id, file_unique_id, file_name, "
        "mime_type, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(case_id, event_id, a.kind, a.file_id, a.file_unique_id, a.file_name, a.mime_type,
          to_db_time(at)) for a in kept])
    conn.execute("DELETE FROM scrub_pending WHERE case_id = ?", (case_id,))
    return kept


def drop_from_cards(conn: Conn, case_id: int, chat_id: int,
                    file_ids: Sequence[str]) -> None:
    """A chat that received the uploads already: its pending card of the case does not carry
    the same files again (the outbox sends a card's attachments before its text)."""
    if not file_ids:
        return
    rows = conn.execute_fetchall(
        "SELECT id, payload FROM outbox WHERE case_id = ? AND chat_id = ? AND kind = 'card' "
        "AND status = 'pending'", (case_id, chat_id))
    for row in rows:
        payload = json.loads(row["payload"])
        payload["attachments"] = [a for a in payload.get("attachments") or []
                                  if a.get("file_id") not in file_ids]
        conn.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                           (json.dumps(payload, ensure_ascii=False), row["id"]))
