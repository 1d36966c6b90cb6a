"""Copies of the database file as a whole: what ``sunbox backup`` and ``restore`` ask of it.

Plain :mod:`sqlite3` on its own connection, beside a running bot's: these run in a command
of their own, never on the bot's database thread.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

#: Files SQLite keeps beside a database: the write-ahead log, its index, a rollback journal.
SIDE_FILES = ("-wal", "-shm", "-journal")


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    """A connection that never creates the file (``mode`` ro or rw)."""
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode={mode}", uri=True,
                           isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def copy_consistent(source: Path, target: Path) -> None:
    """Write a consistent copy of the database at ``source`` to ``target`` (a new file,
    mode 0600), while a running bot goes on writing.

    ``VACUUM INTO`` reads in one transaction (in WAL mode it does not hold up the writer) and
    writes a compacted copy: the pages freed by deletions and redactions, which may still hold
    what was removed, are not copied.
    """
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)  # VACUUM INTO writes into an empty file, which keeps its mode
    conn = _connect(source, "ro")
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
    finally:
        conn.close()


def check_integrity(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` of a database file: ``["ok"]`` when it is sound."""
    conn = _connect(path, "ro")
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def file_schema_version(path: Path) -> int:
    """The schema version (``PRAGMA user_version``) of a database file."""
    conn = _connect(path, "ro")
    try:
        row = conn.execute("PRAGMA user_version").fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()
