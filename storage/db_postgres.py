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
- Commits reach the disk in groups, as SQLite's do (``storage.db``): the connection commits
  with ``synchronous_commit = off`` (a commit returns once in the server's log buffers; a
  crash of the bot loses nothing, a crash of the server the last fraction of a second), and
  :meth:`durable` flushes the server's log once for every commit made so far, from a second
  connection on a thread of its own (a commit of ``synchronous_commit = on``, which flushes
  the log up to it, everyone's commits before it included), so the writes never wait for
  it. Callers await it before anything leaves the process (``bot.telegram.durable_request``,
  the webhook's 200), exactly as on SQLite. Each commit waiting for the disk held the one
  connection for the time of a flush, and throughput waited on it (``bench/README.md``).
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
        # The flushes of the server's log (:meth:`durable`): a connection and a thread.
        self._flusher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sunbox-db-flush")
        self._flush_conn: PgConn | None = None

    @property
    def shown(self) -> str:
        """The URL without its password."""
        return redact(self.path)

    @classmethod
    async def open_url(cls, url: str) -> PostgresDatabase:
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sunbox-db-write")
        try:
            conn = await _on(writer, _connect_grouped, url)
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
            self._pg = _connect_grouped(self.path)
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

    async def _flush(self) -> None:
        """Flush the server's log up to now, on the flusher's thread (see the module)."""
        upto = self.commits
        try:
            await _on(self._flusher, self._flush_log)
            self.flushes += 1
            self.flushed = max(self.flushed, upto)
        finally:
            self._flushing = None

    def _flush_log(self) -> None:
        """On the flusher's thread: a transaction of its own, committed synchronously (its
        id makes it a commit the server writes), which flushes the log up to it."""
        if self._flush_conn is None or self._flush_conn.broken:
            if self._flush_conn is not None:
                self._flush_conn.close()
            self._flush_conn = connect(self.path, application="sunbox-flush")
        with self._flush_conn.execute("SELECT pg_current_xact_id()") as cur:
            cur.fetchone()

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
        """Close the connections after the units of work already sent, every commit on
        disk."""
        await _on(self._writer, _nothing)
        await self.durable()
        await self._shut()

    async def _shut(self) -> None:
        await _on(self._flusher, self._close_flusher)
        self._flusher.shutdown(wait=True)
        await super()._shut()

    def _close_flusher(self) -> None:
        if self._flush_conn is not None:
            self._flush_conn.close()
            self._flush_conn = None


def _nothing() -> None:
    return None


def _connect_grouped(url: str) -> PgConn:
    """The instance's connection, its commits not waiting for the disk (see the module)."""
    conn = connect(url)
    try:
        conn.script("SET synchronous_commit = off")
    except BaseException:
        conn.close()
        raise
    return conn
