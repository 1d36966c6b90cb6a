"""One aiosqlite connection, one writer at a time.

Every access goes through :meth:`Database.transaction` (``BEGIN IMMEDIATE`` … ``COMMIT`` or
``ROLLBACK``) or :meth:`Database.read`, both guarded by one ``asyncio.Lock``: coroutines that
share a connection would otherwise interleave, and one's ``COMMIT`` would commit another's
half-done work. Never await anything but the database inside them (no Telegram calls).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import migrate

log = logging.getLogger(__name__)


class Database:
    """The embedded SQLite database of one Sunbox instance."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) and migrate the database at ``path``."""
        path = str(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL" if path == ":memory:" else
                           "PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA busy_timeout = 5000")
        db = cls(conn, path)
        try:
            async with db._lock:
                await migrate(conn)
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection (waits for a running transaction)."""
        async with self._lock:
            await self._conn.close()

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
