"""Grouped durability: commits reach the disk in one flush per group, and nothing is sent to
Telegram before the commits it rests on are on disk (``storage.db``,
``bot.telegram.durable_request``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from telegram.request import RequestData

from bot.emulator.transport import EmulatorRequest
from storage.db import Database
from storage.sql import Conn
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion


async def test_commits_waiting_together_share_one_flush(database: str) -> None:
    db = await Database.open(database)
    try:
        def work2(conn: Conn) -> None:
            conn.execute("CREATE TABLE t (x INTEGER)")
        await db.write(work2)
        for x in range(20):
            await db.write(Conn.execute, "INSERT INTO t VALUES (?)", (x,))
        start = db.flushes
        await asyncio.gather(*(db.durable() for _ in range(20)))
        assert db.flushes - start == 1  # FULL made each of the 21 commits wait for the disk
        assert db.flushed == db.commits == 21
        await db.durable()  # nothing new committed: no flush
        assert db.flushes - start == 1
    finally:
        await db.close()
    if db.engine == "sqlite":
        assert not Path(f"{database}-wal").exists()  # checkpointed at close


async def test_a_commit_made_during_a_flush_waits_for_the_next(database: str) -> None:
    db = await Database.open(database)
    try:
        def work2(conn: Conn) -> None:
            conn.execute("CREATE TABLE t (x INTEGER)")
        await db.write(work2)

        async def write(x: int) -> None:
            def work(conn: Conn) -> None:
                conn.execute("INSERT INTO t VALUES (?)", (x,))
            await db.write(work)
            committed = db.commits
            await db.durable()
            assert db.flushed >= committed  # this writer's commit is on disk

        await asyncio.gather(*(write(x) for x in range(20)))
        assert db.flushed == db.commits == 21
        assert 1 <= db.flushes <= 21
    finally:
        await db.close()


async def test_a_database_in_memory_needs_no_flush() -> None:
    db = await Database.open(":memory:")
    try:
        def work(conn: Conn) -> None:
            conn.execute("CREATE TABLE t (x INTEGER)")
        await db.write(work)
        await db.durable()
        assert db.flushed == db.commits == 1 and db.flushes == 0
    finally:
        await db.close()


@pytest.mark.postgresql_only
async def test_postgresql_commits_do_not_wait_for_the_disk_and_the_flush_does(
        database: str) -> None:
    """The bot's connection commits with ``synchronous_commit = off``; :meth:`durable`
    flushes from a connection of its own, whose setting is the server's (``on``)."""
    db = await Database.open(database)
    try:
        def setting(conn: Conn) -> str:
            with conn.execute("SHOW synchronous_commit") as cur:
                row = cur.fetchone()
            assert row is not None
            return str(row[0])

        assert await db.read(setting) == "off"
        await db.write(Conn.execute, "CREATE TABLE t (x INTEGER)")
        assert db.flushed < db.commits
        await db.durable()
        assert db.flushed == db.commits and db.flushes == 1
        flusher = db._flush_conn  # type: ignore[attr-defined]  # noqa: SLF001
        assert flusher is not None and setting(flusher) == "on"
    finally:
        await db.close()


async def test_every_call_to_telegram_leaves_after_the_commits_before_it_are_on_disk(
        bench: Bench) -> None:
    seen: list[tuple[str, int, int]] = []  # (method, commits, of which on disk)

    class Watching(EmulatorRequest):
        async def do_request(self, url: str, method: str,
                             request_data: RequestData | None = None,
                             *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            # None until the database opens (getMe comes first), where Runtime.db raises.
            db = bench.app.bot_data.runtime._db if bench.app else None  # noqa: SLF001
            if db is not None:
                seen.append((url.rsplit("/", 1)[-1], db.commits, db.flushed))
            return await super().do_request(url, method, request_data, *args, **kwargs)

    bench.transport = Watching
    await bench.restart()
    resident = bench.user(2001, "王秀兰")
    number = await file_suggestion(bench, resident)
    assert number
    prompts = [entry for entry in seen if entry[0] in ("sendMessage", "editMessageText")]
    assert len(prompts) >= 5, seen
    late = [entry for entry in seen if entry[2] < entry[1]]
    assert not late, f"sent before their commits were on disk: {late}"
    assert bench.runtime.db.flushes > 0
