"""The PostgreSQL engine behind :class:`storage.db.Database`: the same units of work, on one
psycopg connection on a thread of its own.

- A write runs between ``BEGIN`` and ``COMMIT`` (each sent with the statement next to it:
  ``PgConn.begin``, ``PgConn.commit``) holding a transaction-level advisory lock
  (``storage.migrations.postgres.LOCK_WRITE``), so write transactions follow one another as
  SQLite's ``BEGIN IMMEDIATE`` makes them, whichever instance sends them: a read-then-write
  (a case number, a claim on an outbox row, an alarm's firing) cannot interleave with
  another instance's. The lock is per schema and lasts one short transaction.
- A read runs its statements as they come, each in a moment of its own (autocommit): within
  one instance they cannot interleave with a write (one connection, one unit of work after
  another), as on SQLite; another instance's commit may fall between two statements of one
  read. A ``REPEATABLE READ`` transaction around every read cost two more round trips and
  a visible share of the bot's CPU per update; a read that must see one moment across
  instances takes a snapshot of its own, as the assessment's shares do.
- A commit is on disk when ``COMMIT`` returns (``synchronous_commit`` as the server has it,
  ``on`` by default), so :meth:`durable` has nothing to wait for.
- :meth:`checkpoint` vacuums the tables whose rows are deleted or emptied as a matter of
  course (payloads of the inbox and outbox, drafts, conversations, redacted texts), so their
  space is reused; the server's autovacuum does the rest.
- A connection the server dropped is made again before the next unit of work; the unit that
  met the loss fails, as a statement does on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from storage.db import Database, _on
from storage.migrations.postgres import LOCK_WRITE, XACT_LOCK, migrate
from storage.sql import Conn
from storage.sql_postgres import PgConn, connect, redact

T = TypeVar("T")

#: Vacuumed by :meth:`PostgresDatabase.checkpoint`.
VACUUMED = ("inbox_updates", "outbox", "user_data", "conversations", "processed_updates",
            "case_event_texts")

_WRITE_LOCK = XACT_LOCK.format(kind=LOCK_WRITE)


class PostgresDatabase(Database):
    """A PostgreSQL database (``postgresql://`` URL) of one or several Sunbox instances."""

    engine = "postgresql"

    def __init__(self, url: str, writer: ThreadPoolExecutor, conn: PgConn) -> None:
        super().__init__(url, writer, conn)
        self._pg = conn
        self._tracing: Callable[[str], object] | None = None

    @property
    def shown(self) -> str:
        """The URL without its password."""
        return redact(self.path)

    @classmethod
    async def open_url(cls, url: str) -> PostgresDatabase:
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sunbox-db-write")
        try:
            conn = await _on(writer, connect, url)
        except BaseException:
            writer.shutdown(wait=False)
            raise
        db = cls(url, writer, conn)
        try:
            await _on(writer, migrate, conn)
        except BaseException:
            await db._shut()
            raise
        return db

    def _connection(self) -> PgConn:
        """On the database's thread: the connection, made again if the server dropped it."""
        if self._pg.broken:
            self._pg.close()
            self._pg = connect(self.path)
            self._pg.trace(self._tracing)
            self._conn = self._pg
        return self._pg

    def _transact(self, work: Callable[[Conn], T]) -> T:
        conn = self._connection()
        conn.begin(_WRITE_LOCK)  # sent with the first statement that needs an answer
        try:
            result = work(conn)
            conn.commit()
        except BaseException:
            conn.discard()
            if conn.in_transaction and not conn.broken:
                conn.script("ROLLBACK")
            raise
        self._count_commit()
        return result

    def _read(self, work: Callable[[Conn], T]) -> T:
        return work(self._connection())

    async def trace(self, callback: Callable[[str], object] | None) -> None:
        self._tracing = callback
        await _on(self._writer, self._pg.trace, callback)

    async def durable(self) -> None:
        """Every commit is on disk already (``COMMIT`` waited for it)."""
        self.flushed = self.commits

    async def checkpoint(self, *, wait: float = 0.2) -> bool:
        """Vacuum the tables whose rows are routinely deleted (see the module)."""
        await _on(self._writer, self._vacuum)
        self.checkpoints += 1
        self.checkpointed = self.commits
        return True

    def _vacuum(self) -> None:
        conn = self._connection()
        for table in VACUUMED:
            conn.script(f"VACUUM {table}")

    async def close(self) -> None:
        """Close the connection after the units of work already sent."""
        await _on(self._writer, _nothing)
        self.flushed = self.commits
        await self._shut()


def _nothing() -> None:
    return None
