"""``storage.db.Database``: a write is one hop to the writer's thread between BEGIN IMMEDIATE
and COMMIT, rolled back on any exception and counted once committed; reads go to the
read-only connection and see what was committed; each connection is used on its own thread
only; checkpoint and close."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database
from storage.sql import Conn, IntegrityError


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "t.db")
    await database.write(Conn.execute, "CREATE TABLE t (x INTEGER)")
    yield database
    await database.close()


def count(conn: Conn) -> int:
    with conn.execute("SELECT COUNT(*) FROM t") as cur:
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def insert(conn: Conn, *values: int) -> None:
    conn.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])


def hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Whatever is sent to a thread from now on (``storage.db`` and ``asyncio.to_thread``
    alike hand work to a ``ThreadPoolExecutor``)."""
    sent: list[Any] = []
    submit = ThreadPoolExecutor.submit

    def counted(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any,
                **kwargs: Any) -> Any:
        sent.append(fn)
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    return sent


async def test_a_write_of_many_statements_is_one_hop(db: Database,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    await db.trace(statements.append)
    sent = hops(monkeypatch)

    def work(conn: Conn) -> str:
        for x in range(5):
            conn.execute("INSERT INTO t VALUES (?)", (x,))
        return threading.current_thread().name

    thread = await db.write(work)
    assert len(sent) == 1
    assert thread.startswith("sunbox-db-write") and thread != threading.current_thread().name
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
    assert len(statements) == 7


async def test_writers_sent_at_once_commit_whole_one_after_another(db: Database) -> None:
    statements: list[str] = []
    await db.trace(statements.append)

    def work(conn: Conn, x: int) -> None:
        for _ in range(3):
            conn.execute("INSERT INTO t VALUES (?)", (x,))

    await asyncio.gather(*(db.write(work, x) for x in range(10)))
    begun = [i for i, s in enumerate(statements) if s == "BEGIN IMMEDIATE"]
    assert len(begun) == 10
    for start in begun:  # nothing of another transaction between one's BEGIN and COMMIT
        assert statements[start + 4] == "COMMIT"
        assert len(set(statements[start + 1:start + 4])) == 1


async def test_any_exception_rolls_the_write_back_and_is_raised(db: Database) -> None:
    before = db.commits

    def fails(conn: Conn) -> None:
        insert(conn, 1, 2)
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await db.write(fails)
    assert db.commits == before  # nothing committed, nothing counted
    assert await db.read(count) == 0
    await db.write(insert, 3)  # no transaction was left open
    assert await db.read(count) == 1


async def test_a_failed_commit_is_rolled_back(db: Database) -> None:
    await db.write(Conn.execute, "CREATE TABLE p (id INTEGER PRIMARY KEY)")
    await db.write(Conn.execute, "CREATE TABLE c (p INTEGER REFERENCES p(id) "
                                 "DEFERRABLE INITIALLY DEFERRED)")

    def orphan(conn: Conn) -> None:
        conn.execute("INSERT INTO c VALUES (7)")  # checked at COMMIT, which fails

    with pytest.raises(sqlite3.IntegrityError):
        await db.write(orphan)
    await db.write(Conn.execute, "INSERT INTO p VALUES (1)")  # BEGIN works again
    assert await db.read(lambda conn: conn.execute_fetchall("SELECT * FROM c")) == []


async def test_commits_are_counted_before_the_writer_resumes(db: Database) -> None:
    before = db.commits
    await db.write(insert, 1)
    assert db.commits == before + 1
    await asyncio.gather(*(db.write(insert, x) for x in range(5)))
    assert db.commits == before + 6
    await db.read(count)  # reads are not commits
    assert db.commits == before + 6
    assert db.written_since_checkpoint


async def test_reads_and_writes_share_the_one_thread(db: Database) -> None:
    await db.write(insert, 1, 2, 3)
    thread = await db.read(lambda conn: threading.current_thread().name)
    assert thread.startswith("sunbox-db-write")
    assert await db.read(count) == 3


async def test_a_read_sees_one_moment(db: Database) -> None:
    """A write sent while a read runs waits for the read: nothing interleaves."""
    read, sent = threading.Event(), threading.Event()

    def twice(conn: Conn) -> tuple[int, int]:
        first = count(conn)
        read.set()
        assert sent.wait(5)  # a write is sent meanwhile
        return first, count(conn)

    async def write() -> None:
        assert await asyncio.to_thread(read.wait, 5)
        writing = asyncio.ensure_future(db.write(insert, 1))
        await asyncio.sleep(0)  # the write is handed to the database's thread
        sent.set()
        await writing

    (first, second), _ = await asyncio.gather(db.read(twice), write())
    assert first == second == 0
    assert await db.read(count) == 1


async def test_a_connection_works_on_its_own_thread_only(db: Database) -> None:
    kept: list[Conn] = []
    await db.write(kept.append)
    await db.read(kept.append)
    for conn in kept:
        with pytest.raises(sqlite3.ProgrammingError, match="thread"):
            count(conn)


async def test_without_the_log_reads_go_to_the_writer(tmp_path: Path) -> None:
    db = await Database.open(":memory:")
    try:
        await db.write(Conn.execute, "CREATE TABLE t (x INTEGER)")
        await db.write(insert, 1)
        assert await db.read(count) == 1
        thread = await db.read(lambda conn: threading.current_thread().name)
        assert thread.startswith("sunbox-db-write")
        assert await db.checkpoint()  # nothing to empty
    finally:
        await db.close()


async def test_a_checkpoint_empties_the_log_on_the_writer_thread(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await db.write(insert, *range(100))
    log = Path(f"{db.path}-wal")
    assert log.stat().st_size > 0
    sent = hops(monkeypatch)
    assert await db.checkpoint()
    assert len(sent) == 1 and log.stat().st_size == 0
    assert (db.checkpoints, db.written_since_checkpoint) == (1, False)


async def test_close_finishes_what_was_sent_and_takes_no_more(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = await Database.open(path)
    await db.write(Conn.execute, "CREATE TABLE t (x INTEGER)")
    writing = asyncio.ensure_future(db.write(insert, 1))
    await asyncio.sleep(0)
    await db.close()
    await writing
    assert db.flushed == db.commits == 2
    with pytest.raises(RuntimeError):
        await db.write(insert, 2)
    assert not Path(f"{path}-wal").exists()  # checkpointed and truncated at close
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT x FROM t").fetchall() == [(1,)]


async def test_statements_sent_later_keep_their_order_and_their_errors(database: str) -> None:
    """``Conn.later``: run at once on SQLite, sent with the next statement or the commit on
    PostgreSQL; either way in order, counted, and an error fails the whole write."""
    db = await Database.open(database)
    try:
        await db.write(Conn.execute, "CREATE TABLE later_t (k INTEGER PRIMARY KEY, v TEXT)")

        def work(conn: Conn) -> int:
            conn.later("INSERT INTO later_t VALUES (?, ?)", (1, "a"))
            conn.later("UPDATE later_t SET v = ? WHERE k = ?", ("b", 1))
            with conn.execute("UPDATE later_t SET v = v || ? WHERE k = ?", ("c", 1)) as cur:
                changed = cur.rowcount
            conn.later("INSERT INTO later_t VALUES (?, ?)", (2, "z"))
            return changed

        assert await db.write(work) == 1

        def rows(conn: Conn) -> list[tuple[int, str]]:
            with conn.execute("SELECT k, v FROM later_t ORDER BY k") as cur:
                return [(int(r[0]), str(r[1])) for r in cur.fetchall()]

        assert await db.read(rows) == [(1, "bc"), (2, "z")]

        def clash(conn: Conn) -> None:
            conn.later("INSERT INTO later_t VALUES (?, ?)", (3, "new"))
            conn.later("INSERT INTO later_t VALUES (?, ?)", (1, "duplicate"))

        with pytest.raises(IntegrityError):
            await db.write(clash)
        assert await db.read(rows) == [(1, "bc"), (2, "z")]  # the whole write undone
        await db.write(Conn.later, "INSERT INTO later_t VALUES (?, ?)", (3, "after"))
        assert (await db.read(rows))[-1] == (3, "after")  # the connection goes on
    finally:
        await db.close()
