"""What an update owes its own sender goes at once; notifications to others keep the pace."""

from __future__ import annotations

import pytest

from bot.config import Config
from bot.telegram.pacing import Rates
from tests.conftest import Bench
from tests.handlers.flows import TEXT, to_text_step
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, staffed


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


async def test_the_case_number_does_not_wait_for_the_outbox_round(bench: Bench) -> None:
    bench.options = {"outbox_rates": Rates()}  # Telegram's real pace
    await bench.restart()
    for telegram_id in (CIVIL_OFFICIAL, CIVIL_HEAD):
        bench.user(telegram_id, "民政")
    resident = bench.user(7101, "刘洋")
    await to_text_step(bench, resident)
    await bench.say(resident, TEXT)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    # Confirm, handled as `sunbox run` handles it, with no outbox round afterwards.
    bench.emu.press(resident, bench.find_data_message(resident, "new:confirm"), "new:confirm")
    assert bench.app is not None
    await bench.handle()
    number = bench.number_in(bench.emu.sent(resident.id)[-2:])
    rows = await bench.rows("SELECT chat_id, kind, status FROM outbox ORDER BY id")
    receipts = [r for r in rows if r[0] in (resident.id, None)]
    others = [r for r in rows if r[0] not in (resident.id, None)]
    # Sent, and (an anonymous case's receipt) it forgot the chat (tests/services/test_seal.py).
    assert receipts == [(None, "message", "sent")]
    # The unit's cards are owed and wait for the paced round (none went yet).
    assert others and all(kind == "card" and status == "pending" for _, kind, status in others)
    await bench.app.bot_data.sender.drain()
    [(status,)] = await bench.rows("SELECT DISTINCT status FROM outbox")
    assert status == "sent"
    assert [m.text for m in bench.emu.sent(resident.id)].count(
        bench.emu.sent(resident.id)[-1].text) == 1
    assert number.startswith("S-")
