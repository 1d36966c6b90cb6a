"""The durable poller: every update stored as Telegram sent it, then handled and marked; one
that python-telegram-bot cannot read is skipped without holding up the rest of its batch."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.telegram.poller import DurablePoller
from storage import inbox
from storage.sql import Conn
from tests.conftest import Bench

RESIDENT = 5001


async def _until(condition: object, seconds: float = 10.0) -> None:
    """Wait (yielding to the bot) until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "the poller did not get there"
        await asyncio.sleep(0.01)


async def test_an_unreadable_update_is_kept_and_skipped_and_its_batch_is_served(
        bench: Bench) -> None:
    assert bench.app is not None
    resident = bench.user(RESIDENT, "王秀兰")
    # A message without a date (PTB refuses it) with an unknown field, then a real one.
    broken = bench.emu.send_raw({"message": {
        "message_id": 1, "from": {"id": RESIDENT, "is_bot": False, "first_name": "x"},
        "chat": {"id": RESIDENT, "type": "private"}, "text": "hi", "future_field": [1]}})
    bench.emu.send_text(resident, "/start")
    poller = DurablePoller(bench.app, timeout=1)
    polling = asyncio.create_task(poller.run())
    try:
        await _until(lambda: bench.emu.sent(RESIDENT))
        await _until(lambda: not poller._done and (  # noqa: SLF001 - all marked
            poller._marking is None or poller._marking.done()))  # noqa: SLF001
    finally:
        poller.stop()
        await polling
    rows = await bench.rows(
        "SELECT update_id, payload, handled_at IS NOT NULL FROM inbox_updates ORDER BY update_id")
    # Handled (read or not), each keeps its id only: what the person sent is gone.
    assert rows == [(broken["update_id"], "", 1), (broken["update_id"] + 1, "", 1)]
    assert "阳光信箱" in bench.last_text(resident)


@pytest.mark.sqlite_only  # a full disk made real by capping SQLite's pages
async def test_a_full_database_backs_off_and_polling_goes_on(
        bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    """Storing a batch fails (the database is full: SQLite's own error, made real by capping
    the file's pages): the poller does not stop; the batch is not confirmed, and once there
    is room it is stored and handled."""
    assert bench.app is not None
    resident = bench.user(RESIDENT, "王秀兰")

    def work2(conn: Conn) -> None:
        [(pages,)] = conn.execute_fetchall("PRAGMA page_count")
        conn.execute(f"PRAGMA max_page_count = {pages}")
    await bench.runtime.db.write(work2)
    # Far more than the free room of the file's last pages.
    bench.emu.send_text(resident, "/start " + "x" * 60 + " 低保" * 3000)
    poller = DurablePoller(bench.app, timeout=1)
    polling = asyncio.create_task(poller.run())
    try:
        await _until(lambda: "full" in caplog.text or polling.done())
        assert not polling.done(), "the poller stopped on a database error"
        assert bench.emu.sent(RESIDENT) == []

        def work(conn: Conn) -> None:
            conn.execute("PRAGMA max_page_count = 1073741823")
        await bench.runtime.db.write(work)
        await _until(lambda: bench.emu.sent(RESIDENT) or polling.done())
        assert not polling.done()
    finally:
        poller.stop()
        await polling
    assert await bench.rows("SELECT count(*) FROM inbox_updates") == [(1,)]


async def test_an_update_is_kept_as_sent_until_it_is_handled(bench: Bench) -> None:
    update = {"update_id": 7, "message": {"text": "hi", "future_field": [1]}}
    await bench.runtime.db.write(inbox.store, updates=[update], now=bench.clock.now())
    kept = await bench.runtime.db.read(inbox.unhandled)
    # Stored as sent: nothing PTB does not know is dropped.
    assert kept == [update]
    assert json.loads((await bench.rows(
        "SELECT payload FROM inbox_updates"))[0][0])["message"]["future_field"] == [1]
