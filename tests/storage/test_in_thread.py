"""Transactions in one hop to the database thread (``Database.run``, ``storage.in_thread``)
and reads that do not wait for the writer (``Database.read(snapshot=False)``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from storage.db import Database
from storage.in_thread import NotInOneStep


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "sunbox.db")
    async with database.transaction() as conn:
        await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT UNIQUE)")
    try:
        yield database
    finally:
        await database.close()


async def _rows(db: Database) -> list[str]:
    async with db.read() as conn:
        return [row["x"] for row in await conn.execute_fetchall("SELECT x FROM t ORDER BY id")]


async def test_a_body_uses_the_connection_as_storage_functions_do(db: Database) -> None:
    async def body(conn: aiosqlite.Connection) -> dict[str, Any]:
        cur = await conn.execute("INSERT INTO t (x) VALUES (?)", ("a",))
        first = cur.lastrowid
        await conn.executemany("INSERT INTO t (x) VALUES (?)", [("b",), ("c",)])
        async with conn.execute("SELECT x FROM t WHERE id = ?", (first,)) as found:
            row = await found.fetchone()
        async with conn.execute("SELECT x FROM t ORDER BY id") as every:
            everything = [r["x"] for r in await every.fetchall()]
        changed = await conn.execute("UPDATE t SET x = x || '!' WHERE x != ?", ("a",))
        fetched = await conn.execute_fetchall("SELECT count(*) AS n FROM t")
        return {"first": first, "row": row["x"], "all": everything,
                "changed": changed.rowcount, "n": fetched[0]["n"]}

    commits = db.commits
    assert await db.run(body) == {"first": 1, "row": "a", "all": ["a", "b", "c"],
                                  "changed": 2, "n": 3}
    assert db.commits == commits + 1
    assert await _rows(db) == ["a", "b!", "c!"]


async def test_a_body_that_fails_leaves_nothing_behind(db: Database) -> None:
    async def body(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO t (x) VALUES ('kept?')")
        await conn.execute("INSERT INTO t (x) VALUES ('kept?')")  # UNIQUE: fails

    with pytest.raises(Exception, match="UNIQUE"):
        await db.run(body)
    assert await _rows(db) == []
    await db.run(lambda conn: _insert(conn, "after"))  # the connection is usable again
    assert await _rows(db) == ["after"]


async def _insert(conn: aiosqlite.Connection, x: str) -> None:
    await conn.execute("INSERT INTO t (x) VALUES (?)", (x,))


async def test_a_body_may_not_await_anything_but_the_database(db: Database) -> None:
    async def body(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO t (x) VALUES ('half')")
        await asyncio.sleep(0)  # say, a call to Telegram inside the transaction

    with pytest.raises(NotInOneStep):
        await db.run(body)
    assert await _rows(db) == []  # rolled back


async def test_a_transaction_of_many_statements_is_one_hop_to_the_thread(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = db._conn  # noqa: SLF001 - counting aiosqlite's hops, not replacing ours
    hops: list[str] = []
    real = conn._execute  # noqa: SLF001

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", "?"))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(conn, "_execute", counted)

    async def body(conn: aiosqlite.Connection) -> None:
        for x in "abcde":
            await _insert(conn, x)

    await db.run(body)
    assert hops == ["transact"]
    hops.clear()
    async with db.transaction() as same:  # the general form: a hop a statement
        for x in "fghij":
            await _insert(same, x)
    assert len(hops) == 7  # BEGIN, 5 inserts, COMMIT


@asynccontextmanager
async def _held_open(db: Database, x: str, *, then_fail: bool = False) -> AsyncIterator[None]:
    """A transaction of many hops that has inserted ``x``, held open for the block; then
    committed, or rolled back (``then_fail``). It ends whatever the block does (the
    teardown's close waits for it)."""
    opened, go_on = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await _insert(conn, x)
            opened.set()
            await go_on.wait()
            if then_fail:
                raise RuntimeError("rolled back on purpose")

    task = asyncio.create_task(writer())
    await opened.wait()
    try:
        yield
    finally:
        go_on.set()
        with contextlib.suppress(RuntimeError):
            await task


async def test_single_statement_reads_neither_wait_for_the_writer_nor_miss_its_commits(
        db: Database) -> None:
    assert db._reader is not None  # noqa: SLF001 - a file database in WAL mode has one
    async with _held_open(db, "slow"), db.read(snapshot=False) as conn:
        # The writer holds the lock meanwhile.
        seen = await asyncio.wait_for(conn.execute_fetchall("SELECT x FROM t"), 2.0)
    assert seen == []  # not committed yet
    async with db.read(snapshot=False) as conn:
        assert [r["x"] for r in await conn.execute_fetchall("SELECT x FROM t")] == ["slow"]


async def test_the_reader_cannot_write(db: Database) -> None:
    async with db.read(snapshot=False) as conn:
        with pytest.raises(Exception, match="readonly"):
            await conn.execute("INSERT INTO t (x) VALUES ('no')")
    assert await _rows(db) == []


async def test_a_transaction_sent_whole_never_lands_inside_one_of_many_hops(
        db: Database) -> None:
    """While a transaction of many hops is open, ``run`` waits for its end; it must not be
    run on the thread between that transaction's BEGIN and its COMMIT (or ROLLBACK)."""
    async with _held_open(db, "rolled back", then_fail=True):
        whole = asyncio.create_task(db.run(lambda conn: _insert(conn, "kept")))
        await asyncio.sleep(0.05)
        assert not whole.done()  # it waits for the open transaction
    await whole
    assert await _rows(db) == ["kept"]


async def test_a_failed_commit_leaves_the_connection_usable(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await conn.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) "
                           "DEFERRABLE INITIALLY DEFERRED)")

    async def orphan(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO child (parent_id) VALUES (42)")  # fails at COMMIT

    with pytest.raises(Exception, match="FOREIGN KEY"):
        await db.run(orphan)
    with pytest.raises(Exception, match="FOREIGN KEY"):
        async with db.transaction() as conn:
            await orphan(conn)
    await db.run(lambda conn: _insert(conn, "after"))  # no "transaction within a transaction"
    assert await _rows(db) == ["after"]
    async with db.read() as conn:
        assert list(await conn.execute_fetchall("SELECT * FROM child")) == []
