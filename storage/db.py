"""The embedded SQLite database: one connection, on a thread of its own.

Every access is a unit of work, a plain function over a :class:`storage.sql.Conn` (and its
own arguments), sent to the database's thread in one hop: :meth:`Database.write` runs it
between ``BEGIN IMMEDIATE`` and ``COMMIT`` (``ROLLBACK`` on any exception),
:meth:`Database.read` as it is. The connection is made and used on a single-thread executor
(``concurrent.futures.ThreadPoolExecutor(max_workers=1)``) and nowhere else (the driver
checks it): that thread runs one unit of work after another, so writers need no lock, a
transaction cannot interleave with another, and a read's statements all see one state of the
database. A unit of work may use only its
connection and its own arguments (times are computed on the event loop and passed in); it
cannot await anything, Telegram least of all.

A transaction is one hop: aiosqlite sent each statement to its thread and back, and the
caller's next statement waited for its turn on the event loop, so at 50 users a transaction
of five statements held the writer for five turns of a busy loop (a turn being a few
milliseconds) and every other writer queued behind it.

Durability is grouped. A commit writes its pages to the write-ahead log without waiting for
the disk (``synchronous = NORMAL``: it survives the process being killed, not a power cut);
:meth:`Database.durable` then flushes the log once for every commit made so far, and callers
await it before anything leaves the process (``bot.telegram.durable_request``). One flush serves all
the commits of the residents being served at that moment, where ``synchronous = FULL`` made
each commit wait for the disk while holding the one writer, which then became what
throughput waited on (the figures are in ``bench/README.md``).

Reads share the writer's thread. A second, read-only connection on a thread of its own was
measured and removed: its gain was indistinguishable from none (``bench/README.md``, "Why
each mechanism is there").
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from storage.migrations import FUNCTIONS, migrate
from storage.sql import Conn, Row, connect

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger(__name__)


class Database:
    """The database of one Sunbox instance (:meth:`open` it): SQLite, embedded; or, for a
    ``postgresql://`` URL, ``storage.db_postgres.PostgresDatabase``, which keeps the same
    discipline."""

    engine = "sqlite"

    def __init__(self, path: str, writer: ThreadPoolExecutor, conn: Conn, *,
                 grouped: bool = False) -> None:
        self.path = path
        self._writer = writer  # the one thread that uses ``_conn``
        self._conn = conn
        # With ``grouped``, commits reach the disk when :meth:`durable` flushes the log.
        self._log = f"{path}-wal" if grouped else None
        self.commits = 0   # write transactions committed (counted on the writer's thread)
        self.flushed = 0   # of those, how many are known to be on disk
        self.flushes = 0   # flushes of the log made
        self._flushing: asyncio.Task[None] | None = None
        self.checkpoints = 0  # times the log was emptied into the database file
        self.checkpointed = 0  # the commits counted when it last was

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) and migrate the database at ``path`` (a file, or a
        PostgreSQL URL)."""
        path = str(path)
        if path.startswith(("postgresql://", "postgres://")):
            from storage.db_postgres import PostgresDatabase

            return await PostgresDatabase.open_url(path)
        if path != ":memory:" and not path.startswith("file:"):
            _create_private(path)
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sunbox-db-write")
        try:
            conn, grouped = await _on(writer, _open_writer, path)
        except BaseException:
            writer.shutdown(wait=False)
            raise
        db = cls(path, writer, conn, grouped=grouped)
        try:
            await _on(writer, migrate, db._conn)
        except BaseException:
            await db._shut()
            raise
        return db

    async def close(self) -> None:
        """Close the connections (after the transactions already sent), every commit on disk
        and the log emptied into the database file."""
        await _on(self._writer, _nothing)  # what was sent before is committed (or not)
        await self.durable()
        await self.checkpoint()
        await self._shut()
        log.info("database closed: %d commits, %d flushes of the log", self.commits,
                 self.flushes)

    async def _shut(self) -> None:
        await _on(self._writer, self._conn.close)
        self._writer.shutdown(wait=True)

    async def write(self, fn: Callable[Concatenate[Conn, P], T], /, *args: P.args,
                    **kwargs: P.kwargs) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in a write transaction, in one hop to the
        writer's thread: committed on success, rolled back on any exception."""
        return await _on(self._writer, self._transact, partial(_call, fn, args, kwargs))

    def _transact(self, work: Callable[[Conn], T]) -> T:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            # A failed COMMIT leaves the transaction open (every later BEGIN would fail);
            # after an I/O error SQLite may have rolled back already.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._count_commit()
        return result

    def _count_commit(self) -> None:
        """A commit is counted on the database's thread as soon as it is made: a read sent
        meanwhile may see it before the writer's caller resumes, and what that read sends on
        must wait for a flush that covers it (``durable``). Only that thread counts."""
        self.commits += 1

    async def read(self, fn: Callable[Concatenate[Conn, P], T], /, *args: P.args,
                   **kwargs: P.kwargs) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in one hop, outside any transaction: nothing
        runs on the connection between its statements, so they all see one state of the
        database. It must not write (``write`` does, in a transaction)."""
        return await _on(self._writer, self._read, partial(_call, fn, args, kwargs))

    def _read(self, work: Callable[[Conn], T]) -> T:
        return work(self._conn)

    async def trace(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with every statement the connection runs from now on,
        transactions' own included (None: stop), on its thread; for tests and benchmarks."""
        await _on(self._writer, self._conn.trace, callback)

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
        done = await _on(self._writer, _checkpoint, self._conn, int(wait * 1000))
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


async def _on(executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the executor's thread. What is sent runs even if the caller stops
    waiting (as a statement sent to a database does). The result comes back by one
    ``call_soon_threadsafe``: ``run_in_executor`` chains two futures for it, 15 % more CPU a
    hop (54 against 47 µs on the benchmark machine, 4 hops an update)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    executor.submit(_run, loop, done, fn, args)
    return await done


def _run(loop: asyncio.AbstractEventLoop, done: asyncio.Future[T], fn: Callable[..., T],
         args: tuple[Any, ...]) -> None:
    """On the executor's thread: run, and hand the outcome to the loop."""
    try:
        result = fn(*args)
    except BaseException as error:  # noqa: BLE001 - raised where the caller awaits it
        loop.call_soon_threadsafe(_fail, done, error)
    else:
        loop.call_soon_threadsafe(_succeed, done, result)


def _succeed(done: asyncio.Future[T], result: T) -> None:
    if not done.cancelled():
        done.set_result(result)


def _fail(done: asyncio.Future[Any], error: BaseException) -> None:
    if not done.cancelled():
        done.set_exception(error)


def _nothing() -> None:
    return None


def _call(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any],
          conn: Conn) -> T:
    return fn(conn, *args, **kwargs)


def _open_writer(path: str) -> tuple[Conn, bool]:
    """On the writer's thread: the connection, and whether its commits are grouped (WAL)."""
    raw = connect(path, functions=FUNCTIONS)
    try:
        raw.execute("PRAGMA foreign_keys = ON")
        # What is deleted or overwritten is zeroed on its page, not left in free space.
        raw.execute("PRAGMA secure_delete = ON")
        grouped = False
        if path != ":memory:":
            row = _one(raw, "PRAGMA journal_mode = WAL")
            # Where the log cannot be used, every commit waits for the disk itself.
            grouped = row is not None and str(row[0]).lower() == "wal"
        raw.execute("PRAGMA synchronous = NORMAL" if grouped or path == ":memory:"
                    else "PRAGMA synchronous = FULL")
        raw.execute("PRAGMA busy_timeout = 5000")
    except BaseException:
        raw.close()
        raise
    return raw, grouped


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


def _checkpoint(conn: Conn, wait_ms: int) -> bool:
    """On the writer's thread: ``wal_checkpoint(TRUNCATE)`` waiting at most ``wait_ms`` for
    readers (the connection's own patience is restored after)."""
    (timeout,) = _one(conn, "PRAGMA busy_timeout")
    conn.execute(f"PRAGMA busy_timeout = {int(wait_ms):d}")
    try:
        busy, _log, _copied = _one(conn, "PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout):d}")
    return int(busy) == 0


def _one(conn: Conn, sql: str) -> Row:
    with conn.execute(sql) as cur:
        row = cur.fetchone()
    assert row is not None
    return row


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
