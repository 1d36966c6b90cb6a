"""Lanes: one person's updates in order, different people's side by side."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.lanes import Lanes, lane_of


def _text(update_id: int, user_id: int) -> dict[str, Any]:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "from": {"id": user_id, "is_bot": False},
                        "chat": {"id": user_id, "type": "private"}, "text": "hi"}}


def test_lane_of_finds_the_sender_else_the_chat() -> None:
    assert lane_of(_text(1, 42)) == 42
    press = {"update_id": 2, "callback_query": {"id": "q", "from": {"id": 7},
                                                "message": {"chat": {"id": -100}}}}
    assert lane_of(press) == 7
    post = {"update_id": 3, "channel_post": {"chat": {"id": -200}}}
    assert lane_of(post) == -200
    assert lane_of({"update_id": 4, "unknown": "x"}) == 0
    assert lane_of({"update_id": 5, "message": {"from": {"id": "forged"}}}) == 0


async def test_one_lane_is_in_order_and_lanes_overlap() -> None:
    release = asyncio.Event()
    log: list[tuple[str, int]] = []

    async def handle(data: dict[str, Any]) -> None:
        user = data["message"]["from"]["id"]
        log.append(("start", data["update_id"]))
        if user == 1:
            await release.wait()  # the first person's updates are slow
        log.append(("end", data["update_id"]))

    lanes = Lanes(handle)
    lanes.put(_text(1, 1))
    lanes.put(_text(2, 1))
    lanes.put(_text(3, 2))
    lanes.put(_text(4, 2))
    for _ in range(5):
        await asyncio.sleep(0)
    # Person 2 is served while person 1 waits; person 1's second update has not started.
    assert ("end", 3) in log and ("end", 4) in log
    assert ("start", 2) not in log
    assert lanes.pending == 2
    release.set()
    await lanes.idle()
    ones = [entry for entry in log if entry[1] in (1, 2)]
    assert ones == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]
    assert lanes.pending == 0


async def test_at_most_limit_run_at_once_and_a_failure_does_not_stop_a_lane() -> None:
    running = 0
    peak = 0
    handled: list[int] = []

    async def handle(data: dict[str, Any]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        if data["update_id"] == 5:
            raise RuntimeError("boom")
        handled.append(data["update_id"])

    lanes = Lanes(handle, limit=3)
    for update_id in range(20):
        lanes.put(_text(update_id, update_id % 10))
    await asyncio.wait_for(lanes.idle(), 5)
    assert peak == 3
    assert sorted(handled) == [u for u in range(20) if u != 5]
    assert [u for u in handled if u % 10 == 5] == [15]
