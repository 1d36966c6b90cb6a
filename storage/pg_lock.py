"""The instance lock on PostgreSQL: a session-level advisory lock on a connection of its own.

What ``<database>.lock`` is for a file (bot/instance_lock.py): ``sunbox run`` in polling
mode holds it exclusively (one poller per token), an instance in webhook mode holds it
shared (several may run), and a command that must not run beside any instance (erase,
restore) takes it exclusively. The server drops it when the holding process's connection
ends, however the process ends. Who holds it is read from ``pg_stat_activity``: the
holder's connection is named ``sunbox:<purpose>:<pid>:<host>``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import psycopg

from storage.migrations.postgres import LOCK_INSTANCE

_KEY = f"{LOCK_INSTANCE:d}, hashtext(current_schema())"


class SessionLock:
    """A held lock; :meth:`release` (or the process's end) drops it."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn: psycopg.Connection[Any] | None = conn

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def __enter__(self) -> SessionLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(url: str, purpose: str, *, shared: bool
            ) -> tuple[SessionLock | None, dict[str, str]]:
    """Take the lock without waiting: ``(lock, {})``, or ``(None, holder)`` with the pid,
    host and start of one process holding it."""
    name = f"sunbox:{purpose}:{os.getpid()}:{socket.gethostname()}"[:63]
    conn = psycopg.connect(url, autocommit=True, application_name=name, connect_timeout=10)
    try:
        how = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        row = conn.execute(f"SELECT {how}({_KEY})").fetchone()
        if row and row[0]:
            return SessionLock(conn), {}
        holder = conn.execute(
            "SELECT a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            f"AND l.classid = {LOCK_INSTANCE:d} AND l.objid = hashtext(current_schema())::oid "
            "AND l.granted AND l.pid <> pg_backend_pid() LIMIT 1").fetchone()
    except BaseException:
        conn.close()
        raise
    conn.close()
    if holder is None:
        return None, {}
    parts = str(holder[0]).split(":")
    return None, {"pid": parts[2] if len(parts) > 2 else "?",
                  "host": parts[3] if len(parts) > 3 else "?",
                  "started_at": holder[1].isoformat(timespec="seconds")}
