"""One aiosqlite connection, one writer at a time.

Every access goes through :meth:`Database.transaction` (``BEGIN IMMEDIATE`` … ``COMMIT`` or
``ROLLBACK``) or :meth:`Database.read`, both guarded by one ``asyncio.Lock``: coroutines that
share a connection would otherwise interleave, and one's ``COMMIT`` would commit another's
half-done work. Never await anything but the database inside them (no Telegram calls).

Durability is grouped. A commit writes its pages to the write-ahead log without waiting for
the disk (``synchronous = NORMAL``: it survives the process being killed, not a power cut);
:meth:`Database.durable` then flushes the log once for every commit made so far, and callers
await it before anything leaves the process (``bot.durable_request``). One flush serves all
the commits of the residents being served at that moment, where ``synchronous = FULL`` made
each commit wait for the disk while holding the one writer's lock: at 50 users that lock
was what throughput waited on (268 updates/s with FULL, 372 without the flush).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import migrate

log = logging.getLogger(__name__)


class Database:
    """The embedded SQLite database of one Sunbox instance."""

    def __init__(self, conn: aiosqlite.Connection, path: str, *, grouped: bool = False) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        # With ``grouped``, commits reach the disk when :meth:`durable` flushes the log.
        self._log = f"{path}-wal" if grouped else None
        self.commits = 0   # write transactions committed
        self.flushed = 0   # of those, how many are known to be on disk
        self.flushes = 0   # flushes of the log made
        self._flushing: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) and migrate the database at ``path``."""
        path = str(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        grouped = False
        if path != ":memory:":
            async with conn.execute("PRAGMA journal_mode = WAL") as cur:
                row = await cur.fetchone()
            # Where the log cannot be used, every commit waits for the disk itself.
            grouped = row is not None and str(row[0]).lower() == "wal"
        await conn.execute("PRAGMA synchronous = NORMAL" if grouped or path == ":memory:"
                           else "PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA busy_timeout = 5000")
        db = cls(conn, path, grouped=grouped)
        try:
            async with db._lock:
                await migrate(conn)
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection (waits for a running transaction), every commit on disk."""
        await self.durable()
        async with self._lock:
            await self._conn.close()
        log.info("database closed: %d commits, %d flushes of the log", self.commits,
                 self.flushes)

    async def durable(self) -> None:
        """Return once every transaction committed before this call is on disk.

        Callers that arrive while the log is being flushed wait for the next flush, which
        covers them all: one flush per group, not per commit.
        """
        target = self.commits
        while self.flushed < target:
            if self._flushing is None:
                self._flushing = asyncio.create_task(self._flush())
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        upto = self.commits
        try:
            if self._log is not None:
                await asyncio.to_thread(_flush_file, self._log)
                self.flushes += 1
            self.flushed = max(self.flushed, upto)
        finally:
            self._flushing = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
            self.commits += 1

    @asynccontextmanager
    async def read(self, *, snapshot: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """A consistent read (a deferred transaction that is always rolled back).

        ``snapshot=False``: no transaction, each statement reads on its own. For the reads
        every update makes, whose statements do not depend on one another: a round trip to
        the database thread costs about as much CPU as a statement, and BEGIN and ROLLBACK
        are two of them.
        """
        async with self._lock:
            if not snapshot:
                yield self._conn
                return
            await self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                await self._conn.execute("ROLLBACK")


def _flush_file(path: str) -> None:
    """fsync a file: the disk then holds everything written to it by any connection."""
    try:
        fd = os.open(path, os.O_RDWR)  # no lock of SQLite's is on the log file
    except FileNotFoundError:
        return  # no log: SQLite checkpointed it into the database file and synced that
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
