"""The durable poller: every update stored as Telegram sent it, then handled and marked; one
that python-telegram-bot cannot read is skipped without holding up the rest of its batch."""

from __future__ import annotations

import asyncio
import json
from functools import partial

from bot.poller import DurablePoller
from storage import inbox
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


async def test_an_update_is_kept_as_sent_until_it_is_handled(bench: Bench) -> None:
    update = {"update_id": 7, "message": {"text": "hi", "future_field": [1]}}
    await bench.runtime.db.run(partial(inbox.store, updates=[update],
                                       now=bench.clock.now()))
    async with bench.runtime.db.read() as conn:
        kept = await inbox.unhandled(conn)
    # Stored as sent: nothing PTB does not know is dropped.
    assert kept == [update]
    assert json.loads((await bench.rows(
        "SELECT payload FROM inbox_updates"))[0][0])["message"]["future_field"] == [1]
