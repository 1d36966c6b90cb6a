"""The outbox's broadcast lane: a party item sent privately to every party member of a
unit goes to each once, under Telegram's limits, behind the interactive messages, and a
restart in the middle loses and doubles nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.emulator.core import SentMessage
from bot.emulator.limits import FloodLimits
from bot.telegram.outbox import OutboxSender
from bot.telegram.pacing import Rates
from storage import outbox
from storage.sql import Conn
from tests.conftest import Bench

SCALE = 10  # Telegram's limits ten times faster, in the sender and in the emulator alike
BROADCAST = "📣 Party item: the branch meets on Friday at 19:00."
FIRST = 50_000


def sender_of(bench: Bench) -> OutboxSender:
    assert bench.app is not None
    sender: OutboxSender = bench.app.bot_data.sender
    return sender


async def at_pace(bench: Bench, scale: float) -> Bench:
    """The sender at ``scale`` times Telegram's pace against an emulator that enforces
    ``scale`` times Telegram's limits, PTB's own rate limiter off (a 429 would reach the
    sender)."""
    bench.options = {"outbox_rates": Rates(scale=scale), "rate_limiter": False}
    await bench.restart()
    bench.emu.flood_limits = FloodLimits(scale=scale)
    return bench


@pytest.fixture
async def fast(bench: Bench) -> Bench:
    return await at_pace(bench, SCALE)


def members(bench: Bench, count: int) -> list[int]:
    return [bench.user(FIRST + i, f"m{i}", language="en").id for i in range(count)]


async def broadcast(bench: Bench, chat_ids: list[int], text: str = BROADCAST) -> int:
    return int(await bench.runtime.db.write(
        outbox.enqueue_many, bench.clock.now(), chat_ids, "message", {"text": text}))


async def owe(bench: Bench, chat_id: int, text: str) -> None:
    """An interactive message, as a state change owes it."""
    await bench.runtime.db.write(outbox.enqueue, bench.clock.now(), chat_id, "message",
                                 {"text": text})


def is_broadcast(message: SentMessage) -> bool:
    return message.text == BROADCAST


async def until(condition: Callable[[], bool]) -> None:
    """Wait for the sender (running in a task) to get there; a sender that never does fails
    the test instead of hanging it."""
    for _ in range(60_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the broadcast never got there")


def received(bench: Bench, chat_ids: list[int]) -> dict[int, int]:
    """How many copies of the broadcast each chat got."""
    return {chat: sum(1 for m in bench.emu.sent(chat) if is_broadcast(m)) for chat in chat_ids}


# --- storage: the two lanes -----------------------------------------------------------------

async def test_a_broadcast_is_owed_once_to_each_chat_in_its_own_lane(bench: Bench) -> None:
    ids = members(bench, 3)
    await owe(bench, ids[2], "your case number is S-1")
    assert await broadcast(bench, ids + ids[:1]) == 3, "a chat named twice is owed it once"
    assert await broadcast(bench, []) == 0
    await owe(bench, ids[1], "your case number is S-2")
    item = f'{{"text": "{BROADCAST}"}}'
    assert await bench.rows("SELECT id, chat_id, bulk, payload FROM outbox ORDER BY id") == [
        (1, ids[2], 0, '{"text": "your case number is S-1"}'), (2, ids[0], 1, item),
        (3, ids[1], 1, item), (4, ids[2], 1, item),
        (5, ids[1], 0, '{"text": "your case number is S-2"}')]

    def lanes(conn: Conn) -> tuple[list[int], list[int], list[int]]:
        now = bench.clock.now()
        return ([i.id for i in outbox.pending(conn, now, 100)],
                [i.id for i in outbox.pending_bulk(conn, now, 100)],
                [i.id for i in outbox.due_for_chat(conn, ids[1], now)])
    # A receipt does not wait for the broadcast's row of its chat, and the immediate path
    # after an update never sends a broadcast's row; a broadcast's row waits for an
    # interactive row owed before it.
    assert await bench.runtime.db.read(lanes) == ([1, 5], [2, 3], [5])
    assert [i.bulk for i in await bench.runtime.db.read(
        outbox.pending_bulk, bench.clock.now(), 1)] == [True]


async def test_a_large_broadcast_is_owed_in_one_transaction_and_read_a_batch_at_a_time(
        bench: Bench) -> None:
    """Thousands of rows at once (PostgreSQL refreshes its statistics inside the
    transaction); the broadcast lane reads a batch, the interactive one none of them."""
    ids = list(range(700_000, 700_000 + outbox.ANALYZE_AFTER + 5))

    def owe_all(conn: Conn) -> int:
        return outbox.enqueue_many(conn, bench.clock.now(), ids, "message", {"text": "x"})
    assert await bench.runtime.db.write(owe_all) == len(ids)

    def lanes(conn: Conn) -> tuple[int, int]:
        now = bench.clock.now()
        return len(outbox.pending(conn, now, 100)), len(outbox.pending_bulk(conn, now, 14))
    assert await bench.runtime.db.read(lanes) == (0, 14)


async def test_a_broadcast_row_left_sending_by_a_dead_leader_goes_once_more(
        bench: Bench) -> None:
    """Several instances: what a leader that died left ``sending`` of a broadcast is the next
    leader's to send once more (``recover_orphans``), like any row; and a broadcast row a
    second crash leaves sending is given up, never sent a third time."""
    ids = members(bench, 2)
    await broadcast(bench, ids)
    for item_id in (1, 2):
        assert await bench.runtime.db.write(outbox.mark_sending, item_id, "gone-instance")
    await bench.runtime.db.write(lambda conn: conn.execute(
        "UPDATE outbox SET resent = 1 WHERE id = 2"))
    assert await bench.runtime.db.write(
        outbox.recover_orphans, now=bench.clock.now()) == (1, 1)
    assert [(i.id, i.resent) for i in await bench.runtime.db.read(
        outbox.pending_bulk, bench.clock.now(), 10)] == [(1, True)]


# --- the sender ------------------------------------------------------------------------------

async def test_every_member_gets_the_broadcast_once_without_a_429(fast: Bench) -> None:
    bench = fast
    ids = members(bench, 300)
    await broadcast(bench, ids)
    assert await sender_of(bench).drain() == 300
    assert set(received(bench, ids).values()) == {1}
    assert await bench.rows("SELECT status, count(*) FROM outbox GROUP BY status") == [
        ("sent", 300)]
    assert bench.emu.flood_limits is not None and bench.emu.flood_limits.throttled == 0


async def test_an_interactive_message_goes_before_the_rest_of_a_broadcast(fast: Bench) -> None:
    """Owed while a broadcast of 500 goes, a receipt to a member still waiting for their
    copy and a card to an official who gets none are sent within a batch of the broadcast,
    not after it; the member still gets their copy, once."""
    bench = fast
    ids = members(bench, 500)
    official = bench.user(1101, "official", language="en").id
    late = ids[-1]
    await broadcast(bench, ids)
    sender = sender_of(bench)
    draining = asyncio.create_task(sender.drain())
    await until(lambda: sum(map(is_broadcast, bench.emu.all_sent())) >= 50)
    before = sum(map(is_broadcast, bench.emu.all_sent()))
    await owe(bench, late, "your case number is S-2")
    await owe(bench, official, "📨 a new case card")
    sender.kick()
    assert await draining == 502
    log = bench.emu.all_sent()
    position = {m.text: n for n, m in enumerate(log)}
    batch = Rates().bulk_batch
    for text in ("your case number is S-2", "📨 a new case card"):
        ahead = sum(map(is_broadcast, log[:position[text]]))
        assert ahead - before <= 2 * batch, f"{text!r} waited behind the broadcast"
        assert sum(map(is_broadcast, log[position[text]:])) >= 200
    assert [m.text for m in bench.emu.sent(late)] == ["your case number is S-2", BROADCAST]
    assert set(received(bench, ids).values()) == {1}
    assert bench.emu.flood_limits is not None and bench.emu.flood_limits.throttled == 0


async def test_replies_sent_at_once_slow_the_broadcast_down_instead_of_a_429(
        bench: Bench) -> None:
    """Replies to people's own actions go at once, without waiting a turn, 15 a second on
    top of a broadcast's 27 (twice as fast both, which both engines keep up with here):
    the broadcast gives way to them, and Telegram's 30 a second overall is kept, with no
    429 (without counting the replies in, dozens of the broadcast's calls were)."""
    scale = 2
    await at_pace(bench, scale)
    ids = members(bench, 200)
    residents = [bench.user(60_000 + i, f"r{i}", language="en").id for i in range(40)]
    await broadcast(bench, ids)
    sender = sender_of(bench)
    draining = asyncio.create_task(sender.drain())
    await until(lambda: any(map(is_broadcast, bench.emu.all_sent())))
    loop = asyncio.get_running_loop()
    started, replies, tick = loop.time(), 0, 5
    while not draining.done():
        # Five people's updates at a time, each answered at once (``after_update``).
        chats = [residents[(replies + k) % len(residents)] for k in range(tick)]

        def work(conn: Conn, chats: list[int] = chats, first: int = replies) -> None:
            for k, chat in enumerate(chats):
                outbox.enqueue(conn, bench.clock.now(), chat, "message",
                               {"text": f"reply {first + k}"})
        await bench.runtime.db.write(work)
        await asyncio.gather(*(sender.after_update(chat) for chat in chats))
        replies += tick
        await asyncio.sleep(max(0.0, started + replies / (15 * scale) - loop.time()))
    await draining
    assert set(received(bench, ids).values()) == {1}
    assert sum(len(bench.emu.sent(chat)) for chat in residents) == replies
    assert bench.emu.flood_limits is not None and bench.emu.flood_limits.throttled == 0


@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "crashed"])
async def test_a_restart_in_the_middle_of_a_broadcast_loses_and_doubles_nothing(
        fast: Bench, crash: bool) -> None:
    """The sender stops (or the process is dropped without any shutdown step) while a
    broadcast goes: after the restart every member has the item once. A row is marked
    ``sending`` only once its turn came, so the rows waiting in a batch went back to the
    queue untouched; what was being sent is recorded, or sent once more at start-up if
    Telegram never had it."""
    bench = fast
    ids = members(bench, 300)
    await broadcast(bench, ids)
    draining = asyncio.create_task(sender_of(bench).drain())
    await until(lambda: sum(map(is_broadcast, bench.emu.all_sent())) >= 100)
    draining.cancel()  # as the sender's loop is cancelled when the bot stops
    with pytest.raises(asyncio.CancelledError):
        await draining
    [(done,)] = await bench.rows("SELECT count(*) FROM outbox WHERE status = 'sent'")
    assert 100 <= done < 300
    await bench.restart(crash=crash)
    bench.emu.flood_limits = FloodLimits(scale=SCALE)
    await sender_of(bench).drain()
    assert set(received(bench, ids).values()) == {1}
    assert await bench.rows("SELECT status, count(*) FROM outbox GROUP BY status") == [
        ("sent", 300)]
