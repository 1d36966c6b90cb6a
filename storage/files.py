"""The local file store: attachments kept on disk under the SHA-256 of their bytes.

``[storage] files`` (default ``files/`` beside a SQLite database) holds one file per distinct
content, at ``<root>/ab/abcdef...`` (the digest's first two characters name the folder);
files are mode 0600 and folders 0700. ``stored_files`` maps each Telegram
``file_unique_id`` (the same for every bot token, and it never expires) to the digest of its
bytes. A file is deleted once no attachment, answer attachment or minutes refers to it
(:func:`unreferenced`), so retention and erase leave nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from storage.models import to_db_time
from storage.sql import Conn

#: Tries of a download before the file is given up (Telegram refused it, it is too big).
MAX_ATTEMPTS = 8

# Every file_unique_id some row still refers to (an anonymous case's scrubbed upload is
# referred to from scrub_pending until it joins attachments).
_REFERENCED = """
    SELECT file_unique_id FROM attachments
    UNION SELECT file_unique_id FROM answer_attachments
    UNION SELECT new_unique_id FROM scrub_pending WHERE new_unique_id IS NOT NULL
    UNION SELECT minutes_file_unique_id FROM meetings WHERE minutes_file_unique_id IS NOT NULL
    UNION SELECT file_unique_id FROM disclosure_files WHERE file_unique_id IS NOT NULL
"""


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileStore:
    """The folder of files named by their digest."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("not a SHA-256 digest")
        return self.root / digest[:2] / digest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, data: bytes) -> str:
        """Keep ``data`` (written whole, then renamed into place); returns its digest."""
        digest = digest_of(data)
        target = self.path(digest)
        if target.is_file():
            return digest
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        partial = target.with_name(f".{digest}.{os.getpid()}.part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return digest

    def read(self, digest: str) -> bytes | None:
        try:
            return self.path(digest).read_bytes()
        except (OSError, ValueError):
            return None

    def delete(self, digest: str) -> None:
        try:
            self.path(digest).unlink(missing_ok=True)
        except ValueError:
            pass


@dataclass(frozen=True)
class Wanted:
    """A file to download: an attachment's, or a meeting's minutes (``meeting_id``)."""

    file_id: str
    file_unique_id: str | None
    meeting_id: int | None = None


def wanted(conn: Conn, now: datetime, limit: int = 20) -> list[Wanted]:
    """Files referred to but not stored yet, whose next try is due."""
    sql = """
        WITH refs(file_id, file_unique_id) AS (
            SELECT file_id, file_unique_id FROM attachments
            UNION ALL SELECT file_id, file_unique_id FROM answer_attachments
            UNION ALL SELECT file_id, file_unique_id FROM disclosure_files
                      WHERE file_unique_id IS NOT NULL)
        SELECT MIN(r.file_id) AS file_id, r.file_unique_id
        FROM refs r LEFT JOIN stored_files s ON s.file_unique_id = r.file_unique_id
        WHERE s.file_unique_id IS NULL
           OR (s.sha256 IS NULL AND s.attempts < ? AND (s.not_before IS NULL
                                                        OR s.not_before <= ?))
        GROUP BY r.file_unique_id LIMIT ?"""
    with conn.execute(sql, (MAX_ATTEMPTS, to_db_time(now), limit)) as cur:
        out = [Wanted(r["file_id"], r["file_unique_id"]) for r in cur.fetchall()]
    with conn.execute(
            "SELECT id, minutes_file_id FROM meetings WHERE minutes_file_id IS NOT NULL "
            "AND minutes_file_unique_id IS NULL LIMIT ?", (limit,)) as cur:
        out += [Wanted(r["minutes_file_id"], None, r["id"]) for r in cur.fetchall()]
    return out


def set_minutes_unique_id(conn: Conn, meeting_id: int,
                          file_unique_id: str) -> None:
    conn.execute("UPDATE meetings SET minutes_file_unique_id = ? WHERE id = ?",
                       (file_unique_id, meeting_id))


def record_stored(conn: Conn, file_unique_id: str, digest: str,
                  size: int, at: datetime) -> None:
    conn.execute(
        "INSERT INTO stored_files (file_unique_id, sha256, size, stored_at) VALUES (?,?,?,?) "
        "ON CONFLICT (file_unique_id) DO UPDATE SET sha256 = excluded.sha256, "
        "size = excluded.size, stored_at = excluded.stored_at, not_before = NULL",
        (file_unique_id, digest, size, to_db_time(at)))


def record_failed(conn: Conn, file_unique_id: str,
                  not_before: datetime) -> None:
    conn.execute(
        "INSERT INTO stored_files (file_unique_id, attempts, not_before) VALUES (?, 1, ?) "
        "ON CONFLICT (file_unique_id) DO UPDATE SET "
        "attempts = stored_files.attempts + 1, not_before = excluded.not_before "
        "WHERE stored_files.sha256 IS NULL",
        (file_unique_id, to_db_time(not_before)))


def local_copy_of(conn: Conn, file_id: str
                        ) -> tuple[str, str | None] | None:
    """The digest (and file name) of the stored bytes an attachment's ``file_id`` stands
    for; None when it is not kept."""
    with conn.execute(
            "SELECT s.sha256, r.file_name FROM (SELECT file_unique_id, file_name FROM attachments "
            "WHERE file_id = ? UNION ALL SELECT file_unique_id, file_name "
            "FROM answer_attachments WHERE file_id = ? UNION ALL SELECT "
            "minutes_file_unique_id, minutes_file_name FROM meetings WHERE minutes_file_id = ?) r "
            "JOIN stored_files s ON s.file_unique_id = r.file_unique_id "
            "WHERE s.sha256 IS NOT NULL LIMIT 1",
            (file_id, file_id, file_id)) as cur:
        row = cur.fetchone()
    return None if row is None else (row["sha256"], row["file_name"])


def replace_file_id(conn: Conn, old: str, new: str) -> None:
    """A file sent again from the store has a new id (``file_unique_id`` stays the key of its
    bytes): later cards and copies use it."""
    for table in ("attachments", "answer_attachments"):
        conn.execute(f"UPDATE {table} SET file_id = ? WHERE file_id = ?", (new, old))
    conn.execute("UPDATE meetings SET minutes_file_id = ? WHERE minutes_file_id = ?",
                       (new, old))


def attempts_of(conn: Conn, file_unique_id: str) -> int:
    with conn.execute("SELECT attempts FROM stored_files WHERE file_unique_id = ?",
                            (file_unique_id,)) as cur:
        row = cur.fetchone()
    return 0 if row is None else int(row["attempts"])


def digest_for(conn: Conn, file_unique_id: str) -> str | None:
    with conn.execute("SELECT sha256 FROM stored_files WHERE file_unique_id = ?",
                            (file_unique_id,)) as cur:
        row = cur.fetchone()
    return None if row is None else row["sha256"]


def forget_unreferenced(conn: Conn) -> list[str]:
    """Delete the rows of files nothing refers to any more; returns the digests no row
    keeps (their files are to be deleted from the store, after the commit)."""
    with conn.execute(
            f"SELECT file_unique_id, sha256 FROM stored_files "
            f"WHERE file_unique_id NOT IN ({_REFERENCED})") as cur:
        rows = list(cur.fetchall())
    if not rows:
        return []
    conn.executemany("DELETE FROM stored_files WHERE file_unique_id = ?",
                           [(r["file_unique_id"],) for r in rows])
    gone = []
    for digest in {r["sha256"] for r in rows if r["sha256"] is not None}:
        with conn.execute("SELECT 1 FROM stored_files WHERE sha256 = ? LIMIT 1",
                                (digest,)) as cur:
            if cur.fetchone() is None:
                gone.append(digest)
    return gone


def all_digests(conn: Conn) -> set[str]:
    with conn.execute(
            "SELECT DISTINCT sha256 FROM stored_files WHERE sha256 IS NOT NULL") as cur:
        return {r["sha256"] for r in cur.fetchall()}


def digests_in(database: Path) -> set[str]:
    """The digests a database file (a backup's copy) refers to; plain sqlite3, read-only.
    An older schema without the store has none."""
    conn = sqlite3.connect(f"file:{quote(str(database.resolve()))}?mode=ro", uri=True)
    try:
        return {str(row[0]) for row in conn.execute(
            "SELECT DISTINCT sha256 FROM stored_files WHERE sha256 IS NOT NULL")}
    except sqlite3.OperationalError:
        return set()
    finally:
        conn.close()
