"""The lock a running Sunbox holds beside its database: ``<database>.lock``.

``sunbox run`` takes it (``fcntl.flock``, exclusive) for the whole life of the process and
writes its pid, host and start time into the file; the kernel drops the lock when the
process ends, however it ends. ``sunbox restore`` takes the same lock, so it refuses while
an instance runs, and no instance starts while a restore is under way.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class Locked(Exception):
    """Another process holds the lock; ``holder`` is what it wrote (pid, host, since)."""

    def __init__(self, path: Path, holder: dict[str, object]) -> None:
        super().__init__(f"{path} is locked by pid {holder.get('pid', '?')}")
        self.path = path
        self.holder = holder

    @property
    def pid(self) -> str:
        return str(self.holder.get("pid", "?"))

    @property
    def host(self) -> str:
        return str(self.holder.get("host", "?"))

    @property
    def since(self) -> str:
        return str(self.holder.get("started_at", "?"))


def lock_path(database: str) -> Path | None:
    """The lock file of a database file (None for an in-memory, URI or PostgreSQL database:
    PostgreSQL's lock is the server's, :func:`acquire_postgres`)."""
    if database == ":memory:" or database.startswith(("file:", "postgresql:", "postgres:")):
        return None
    return Path(database).with_name(Path(database).name + ".lock")


class InstanceLock:
    """An exclusive lock on ``path``, held until :meth:`release` or the process ends."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path, purpose: str = "run") -> InstanceLock:
        """Take the lock without waiting; :class:`Locked` if another process holds it."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise Locked(path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
                  "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        """Drop the lock (the file stays: removing it would race with the next taker)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire_postgres(url: str, purpose: str = "run", *, shared: bool = False) -> Any:
    """The instance lock of a PostgreSQL database (``storage.pg_lock``): exclusive, or
    ``shared`` by instances that may run side by side (webhook mode). :class:`Locked` if it
    cannot be had now."""
    from storage.pg_lock import acquire
    from storage.sql_postgres import redact

    lock, holder = acquire(url, purpose, shared=shared)
    if lock is None:
        raise Locked(Path(redact(url)), dict(holder))
    return lock


def _read_holder(fd: int) -> dict[str, object]:
    try:
        data = os.pread(fd, 4096, 0)
        holder = json.loads(data.decode() or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}
