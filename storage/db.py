"""One aiosqlite connection that writes, one writer at a time.

Every access goes through :meth:`Database.transaction` (``BEGIN IMMEDIATE`` … ``COMMIT`` or
``ROLLBACK``, a hop to the database thread a statement), :meth:`Database.run` (the same,
sent to the thread in one hop: for the transactions every update makes) or
:meth:`Database.read`. Transactions of many hops are guarded by one ``asyncio.Lock``:
coroutines that share a connection would otherwise interleave, and one's ``COMMIT`` would
commit another's half-done work. Never await anything but the database inside them (no
Telegram calls).

Durability is grouped. A commit writes its pages to the write-ahead log without waiting for
the disk (``synchronous = NORMAL``: it survives the process being killed, not a power cut);
:meth:`Database.durable` then flushes the log once for every commit made so far, and callers
await it before anything leaves the process (``bot.durable_request``). One flush serves all
the commits of the residents being served at that moment, where ``synchronous = FULL`` made
each commit wait for the disk while holding the one writer's lock: at 50 users that lock
was what throughput waited on (268 updates/s with FULL, 372 without the flush).

Reads of single statements (``read(snapshot=False)``: the gate's, the outbox's) go to a
second, read-only connection when the log is used, and take no lock: a reader in WAL mode
sees every commit made before its statement began and never waits for the writer. At 50
users, the one lock had become the queue every step waited in (30 ms a turn at the median,
3.7 turns an update, the reads among them), and the case number waited in it four times.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aiosqlite

from storage.in_thread import Body, commit, transact
from storage.migrations import migrate

T = TypeVar("T")

log = logging.getLogger(__name__)


class Database:
    """The embedded SQLite database of one Sunbox instance."""

    def __init__(self, conn: aiosqlite.Connection, path: str, *, grouped: bool = False,
                 reader: aiosqlite.Connection | None = None) -> None:
        self._conn = conn
        self._reader = reader  # read-only, for single statements (WAL only)
        self._lock = asyncio.Lock()
        self.path = path
        # With ``grouped``, commits reach the disk when :meth:`durable` flushes the log.
        self._log = f"{path}-wal" if grouped else None
        self.commits = 0   # write transactions committed (counted on either thread)
        self._counting = threading.Lock()
        self.flushed = 0   # of those, how many are known to be on disk
        self.flushes = 0   # flushes of the log made
        self._flushing: asyncio.Task[None] | None = None
        self.checkpoints = 0  # times the log was emptied into the database file
        self.checkpointed = 0  # the commits counted when it last was

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) and migrate the database at ``path``."""
        path = str(path)
        if path != ":memory:" and not path.startswith("file:"):
            _create_private(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        # What is deleted or overwritten is zeroed on its page, not left in free space.
        await conn.execute("PRAGMA secure_delete = ON")
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
            if grouped:
                db._reader = await _open_reader(path)
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection (waits for a running transaction), every commit on disk and
        the log emptied into the database file."""
        await self.durable()
        await self.checkpoint()
        async with self._lock:
            if self._reader is not None:
                await self._reader.close()
            await self._conn.close()
        log.info("database closed: %d commits, %d flushes of the log", self.commits,
                 self.flushes)

    async def checkpoint(self, *, wait: float = 0.2) -> bool:
        """Copy the write-ahead log into the database file and truncate it to nothing.

        Deleted and overwritten content (an update's payload, a redacted text, an expired
        draft) is zeroed in the database file (``secure_delete``), but its old pages stay in
        the log until the log is checkpointed and, with TRUNCATE, cut off: PASSIVE (SQLite's
        own, every 1000 pages) leaves the old frames in the file to be overwritten later.
        A reader in the middle of a read is waited for ``wait`` seconds at most (the writer
        waits too, meanwhile); returns False if the log could not be emptied (try later).
        """
        if self._log is None:
            return True
        async with self._lock:
            done: bool = await self._conn._execute(  # noqa: SLF001 - one hop, see _in_thread
                _checkpoint, self._conn._conn, int(wait * 1000))  # noqa: SLF001
        if done:
            self.checkpoints += 1
            self.checkpointed = self.commits
        return done

    @property
    def written_since_checkpoint(self) -> bool:
        """Whether anything was committed since the log was last emptied."""
        return self.commits != self.checkpointed

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
                # Counted on the thread as it commits, like ``run``'s (``_count_commit``).
                await self._conn._execute(  # noqa: SLF001
                    commit, self._conn._conn, self._count_commit)  # noqa: SLF001
            except BaseException:
                # A failed COMMIT leaves the transaction open (every later BEGIN would fail).
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    async def run(self, body: Body[T]) -> T:
        """A write transaction sent to the database thread in one hop (``storage.in_thread``):
        ``body`` gets a connection whose statements run at once, and may await nothing else.
        Committed on success, rolled back on any exception.

        It waits only while a transaction of many hops holds the lock, and does not hold it
        itself: the thread runs what it is sent in order, so a transaction sent whole cannot
        interleave with one that begins after it. Under load, holding the lock for the hop
        made every writer queue for it (30 ms at the median at 50 users), the thread idle
        between transactions while the loop came round to the next one.
        """
        if self._lock.locked():
            async with self._lock:
                pass  # the transaction that held it has ended; nothing suspends from here
        return await self._in_thread(body)

    async def _in_thread(self, body: Body[T]) -> T:
        # aiosqlite has no public call for running a function on its thread; these two
        # names have been its own since its first release (its version is pinned).
        result: T = await self._conn._execute(  # noqa: SLF001
            transact, self._conn._conn, body, self._count_commit)  # noqa: SLF001
        return result

    def _count_commit(self) -> None:
        """A commit is counted on the database thread as soon as it is made: a reader on the
        other connection may see it before the caller resumes, and what that reader sends on
        must wait for a flush that covers it (``durable``)."""
        with self._counting:
            self.commits += 1

    @asynccontextmanager
    async def read(self, *, snapshot: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """A consistent read (a deferred transaction that is always rolled back).

        ``snapshot=False``: no transaction, each statement reads on its own. For the reads
        every update makes, whose statements do not depend on one another: a round trip to
        the database thread costs about as much CPU as a statement, and BEGIN and ROLLBACK
        are two of them. They go to the read-only connection, without waiting for the lock
        (each statement sees every commit made before it began).
        """
        if not snapshot and self._reader is not None:
            yield self._reader
            return
        async with self._lock:
            if not snapshot:
                yield self._conn
                return
            await self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                await self._conn.execute("ROLLBACK")


async def _open_reader(path: str) -> aiosqlite.Connection:
    reader = await aiosqlite.connect(path, isolation_level=None)
    reader.row_factory = aiosqlite.Row
    try:
        await reader.execute("PRAGMA query_only = ON")
        await reader.execute("PRAGMA busy_timeout = 5000")
    except BaseException:
        await reader.close()
        raise
    return reader


def _create_private(path: str) -> None:
    """Create the database file readable and writable by its owner only (0600), before
    SQLite opens it: SQLite gives its log and shared-memory files (``-wal``, ``-shm``) the
    mode of the database file. An existing file keeps the mode it has."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # no such folder, no permission: SQLite says so in its own words
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask let through of 0600


def _checkpoint(conn: sqlite3.Connection, wait_ms: int) -> bool:
    """On the database thread: ``wal_checkpoint(TRUNCATE)`` waiting at most ``wait_ms`` for
    readers (the connection's own patience is restored after)."""
    (timeout,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute(f"PRAGMA busy_timeout = {int(wait_ms):d}")
    try:
        busy, _log, _copied = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout):d}")
    return int(busy) == 0


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
