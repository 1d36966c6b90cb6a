"""Each update's trips to a database thread: every one costs CPU on the event loop (a hand-off
to the thread and a wake-up when it is done), and under load the bot is CPU-bound
(bench/throughput.py). A resident's step reads who they are and whether the update was seen,
writes the step and its record in one unit of work, and asks the outbox once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import Bench

# gate: 1 read; finish: 1 write (the step, its drafts, conversation and record); outbox: 1
# read; the flush of the log before the reply leaves.
STEP_BUDGET = 4


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """What is handed to a thread meanwhile (``storage.db`` and ``asyncio.to_thread`` alike
    hand work to a ``ThreadPoolExecutor``)."""
    sent: list[Any] = []
    submit = ThreadPoolExecutor.submit

    def counting(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any,
                 **kwargs: Any) -> Any:
        sent.append(fn)
        return submit(self, fn, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(ThreadPoolExecutor, "submit", counting)
        yield sent


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
        assert 0 < len(calls) <= STEP_BUDGET, (step, calls)
    await sender.drain()
    assert bench.emu.sent(resident.id)[-1].buttons()  # the step was really taken
