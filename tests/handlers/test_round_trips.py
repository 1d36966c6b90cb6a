"""Each update's trips to the database thread: every one costs CPU on the event loop (an
aiosqlite call is a queue hand-off and a wake-up), and under load the bot is CPU-bound
(bench/throughput.py). A resident's step reads who they are and whether the update was seen,
writes the step and its record in one transaction, and asks the outbox once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from storage.sql import Conn
from tests.conftest import Bench

# gate: 2 reads; finish: BEGIN, drafts, conversation, processed, COMMIT; outbox: 2 reads.
STEP_BUDGET = 9


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    calls = [0]
    # aiosqlite's hand-off to its thread, counted (goes with storage.db's use of it).
    original = Conn._execute  # noqa: SLF001

    async def counting(self: Conn, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await original(self, fn, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Conn, "_execute", counting)
        yield calls


async def test_a_filing_step_makes_few_database_round_trips(
        bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    resident = bench.user(2001, "王秀兰")
    await bench.say(resident, "/start")
    assert bench.app is not None
    sender = bench.app.bot_data.sender
    for step in ("/new", "new:kind:suggestion"):
        with counted(monkeypatch) as calls:
            if step.startswith("/"):
                bench.emu.send_text(resident, step)
            else:
                bench.emu.press(resident, bench.find_data_message(resident, step), step)
            await bench.handle()  # as Bench.deliver, without its drain
        assert 0 < calls[0] <= STEP_BUDGET, (step, calls[0])
    await sender.drain()
    assert bench.emu.sent(resident.id)[-1].buttons()  # the step was really taken
