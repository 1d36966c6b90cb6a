"""Several instances on one PostgreSQL database, a load balancer sending each webhook
delivery to the next: each person's updates are handled one at a time, in order, with the
state their last update left, whichever instance received them (bot/telegram/turns.py)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.emulator.core import Emulator, EmuUser
from bot.runtime import Runtime
from handlers import drafts, filing
from storage import inbox, turns
from tests.conftest import START
from tests.handlers.flows import file_suggestion, to_text_step
from tests.support.cluster import Balancer
from tests.support.engines import outside
from tests.transport.test_webhook import HookBench, free_port, in_webhook_mode

pytestmark = pytest.mark.postgresql_only


class Pair(HookBench):
    """Two Sunbox instances on one database behind a round-robin balancer; this bench is
    the first, ``other`` the second. Delivering waits for both."""

    other: HookBench
    balancer: Balancer

    async def deliver(self) -> None:
        await self.emu.webhook_idle()
        for bench in (self, self.other):
            assert bench.receiver is not None
            await bench.receiver.settle()
        for bench in (self, self.other):
            assert bench.app is not None
            await bench.app.bot_data.sender.drain()


def _behind(config: Config, port: int, url: str) -> Config:
    """``config`` in webhook mode on ``port``, Telegram posting to the balancer's ``url``."""
    config = in_webhook_mode(config, port)
    return dataclasses.replace(config, telegram=dataclasses.replace(
        config.telegram, webhook_url=url))


@pytest.fixture
async def pair(config: Config) -> AsyncIterator[Pair]:
    clock = ManualClock(START)
    emulator = Emulator(clock=lambda: clock.now().timestamp())
    ports = [free_port(), free_port()]
    balancer = Balancer([f"http://127.0.0.1:{port}" for port in ports])
    url = await balancer.start()
    database = config.general.database
    first = Pair(_behind(config, ports[0], url), database, emulator, clock)
    second = HookBench(_behind(config, ports[1], url), database, emulator, clock)
    first.other, first.balancer = second, balancer
    try:
        for bench in (first, second):
            await bench.start()
            await bench.listen()
        yield first
    finally:
        for bench in (second, first):
            await bench.unlisten()
        await emulator.stop_delivery()
        for bench in (second, first):
            await bench.stop()
        await balancer.stop()
    assert not first.errors and not second.errors, (first.errors, second.errors)


async def test_residents_file_cases_with_deliveries_alternating_between_two_instances(
        pair: Pair) -> None:
    """Each step of a filing lands on the other instance than the step before: the case is
    filed once, with every step in order, only if each instance takes up the dialog's state
    and draft the other left."""
    # An odd number: the residents step together, so with an even one each of them would
    # land on the same instance at every step.
    residents = [pair.emu.user(7000 + i, f"R{i}", language_code="en") for i in range(7)]
    numbers = await asyncio.gather(*(file_suggestion(pair, resident, photo=False)
                                     for resident in residents))
    assert len(set(numbers)) == len(residents)
    cases = await pair.rows("SELECT number FROM cases ORDER BY id")
    assert len(cases) == len(residents)
    for resident in residents:
        receipts = [m for m in pair.emu.sent(resident.id) if "case number is" in (m.text or "")]
        assert len(receipts) == 1, [m.text for m in pair.emu.sent(resident.id)]
    [(waiting,)] = await pair.rows(
        "SELECT count(*) FROM inbox_updates WHERE handled_at IS NULL")
    assert waiting == 0
    assert len(pair.balancer.forwarded) == 2, "both instances received deliveries"


def _start_update(update_id: int, user: EmuUser) -> dict[str, Any]:
    """/start from ``user``, as Telegram would post it."""
    sender = {"id": user.id, "is_bot": False, "first_name": user.first_name,
              "language_code": "en"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(START.timestamp()), "text": "/start",
        "from": sender, "chat": {"id": user.id, "type": "private",
                                 "first_name": user.first_name},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


async def _replied(pair: Pair, user: EmuUser, timeout: float = 15.0) -> bool:
    """Wait (real time: the sweep's pace) until the bot sent ``user`` something."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pair.emu.sent(user.id):
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_updates_an_instance_stored_and_left_are_handled_by_the_sweep(pair: Pair) -> None:
    """An instance killed after storing an update (its 200 sent) wakes no one: the other
    instance's sweep finds it once it has waited a sweep's length, and handles it."""
    user = pair.emu.user(7100, "Left", language_code="en")
    runtime: Runtime = pair.runtime
    await runtime.db.write(inbox.store, updates=[_start_update(900_001, user)],
                           now=pair.clock.now(), person_of=lambda update: user.id)
    await asyncio.sleep(1.5)
    assert not pair.emu.sent(user.id), "not before it waited a sweep's length"
    pair.clock.advance(timedelta(seconds=2))
    assert await _replied(pair, user)


async def test_a_person_whose_turn_another_holds_waits_for_it(pair: Pair) -> None:
    """While another instance holds a person's turn, neither of these handles their update;
    once it is given back, the update is handled (the sweep, here: its holder looks again
    before giving it back, and this one was not that holder)."""
    user = pair.emu.user(7200, "Held", language_code="en")
    with outside(pair.db_path) as holder:
        assert turns.take(holder, user.id)
        pair.emu.send_text(user, "/start")
        await pair.deliver()
        assert not pair.emu.sent(user.id)
        [(waiting,)] = await pair.rows(
            "SELECT count(*) FROM inbox_updates WHERE person_key = ? AND handled_at IS NULL",
            user.id)
        assert waiting == 1
        turns.give_back(holder, user.id)
    pair.clock.advance(timedelta(seconds=2))
    assert await _replied(pair, user)


async def test_a_draft_another_instance_ended_is_not_expired_from_old_memory(pair: Pair) -> None:
    """The draft job (the leader's) runs on what the database holds: a draft the resident
    cancelled on the other instance, still in this one's memory, is neither expired nor
    announced as expired."""
    user = pair.emu.user(7300, "Cancelled", language_code="en")
    await to_text_step(pair, user)
    await pair.say(user, "/cancel")
    [(stored,)] = await pair.rows("SELECT count(*) FROM user_data WHERE user_id = ? "
                                  "AND data LIKE '%\"key\"%'", user.id)
    assert stored == 0, "the draft is gone from the database"
    stale = [bench for bench in (pair, pair.other)
             if bench.app is not None and "key" in bench.app.user_data[user.id].get("draft", {})]
    assert stale, "one instance still remembers the draft"
    pair.clock.advance(timedelta(days=9))
    assert stale[0].app is not None
    assert await drafts.expire(stale[0].app, filing.FILING_STEPS) == 0
    [(marked,)] = await pair.rows("SELECT count(*) FROM user_data WHERE user_id = ?", user.id)
    assert marked == 0
