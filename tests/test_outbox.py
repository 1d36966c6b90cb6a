"""The durable outbox: Telegram's limits kept, faults retried, crashes survived."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram.error import Conflict

from bot.emulator.limits import FloodLimits
from bot.i18n import Translate
from bot.outbox import Rates
from bot.services import notify
from storage import outbox
from tests.conftest import Bench


def _hello(t: Translate, language: str) -> str:
    return t("Cancelled. Nothing was stored.")


async def owe(bench: Bench, chat_ids: list[int]) -> None:
    """Owe each chat one message, as a state change would."""
    async with bench.runtime.db.transaction() as conn:
        await notify.send(conn, bench.runtime,
                          [notify.Recipient(c, "en") for c in chat_ids], _hello)


async def owe_and_claim(bench: Bench, chat_id: int, count: int) -> list[outbox.OutboxItem]:
    """Owe a chat ``count`` numbered messages and claim them in the same transaction, as
    filing a case claims its receipt."""
    async with bench.runtime.db.transaction() as conn:
        for i in range(count):
            await notify.send(conn, bench.runtime, [notify.Recipient(chat_id, "en")],
                              lambda t, lang, i=i: f"message {i}")
        return await outbox.claim_for_chat(conn, chat_id, bench.clock.now())


async def statuses(bench: Bench) -> dict[str, int]:
    async with bench.runtime.db.read() as conn:
        return await outbox.counts(conn)


@pytest.fixture
async def plain(bench: Bench) -> Bench:
    """The bench without PTB's own rate limiter, so the sender meets every error itself."""
    bench.options = {"outbox_rates": Rates(scale=1000), "rate_limiter": False}
    await bench.restart()
    return bench


async def test_a_flood_of_300_stays_within_telegrams_limits(bench: Bench) -> None:
    """300 notifications to 100 people and a group, at ten times Telegram's pace: no 429."""
    bench.options = {"outbox_rates": Rates(scale=10), "rate_limiter": False}
    await bench.restart()
    bench.emu.flood_limits = FloodLimits(scale=10)
    people = [bench.user(7000 + i, f"p{i}").id for i in range(100)]
    group = bench.emu.group(-1009999, "工作群").id
    await owe(bench, people * 2 + [group] * 25 + people[:75])
    sent = await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    assert sent == 300
    assert bench.emu.flood_limits.throttled == 0
    assert await statuses(bench) == {"sent": 300}
    assert len(bench.emu.sent(group)) == 25


async def test_429_and_5xx_are_retried_after_the_wait(plain: Bench) -> None:
    bench = plain
    users = [bench.user(7100 + i, f"p{i}").id for i in range(3)]
    bench.emu.fail_next("sendMessage", 429, retry_after=30)
    bench.emu.fail_next("sendMessage", 502, times=2)
    await owe(bench, users)
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    await sender.drain()
    counts = await statuses(bench)
    assert counts.get("pending", 0) >= 1, "something waits for its retry time"
    for _ in range(5):
        bench.clock.advance(timedelta(seconds=60))
        await sender.drain()
    assert await statuses(bench) == {"sent": 3}
    assert sorted(m.chat_id for m in bench.emu.all_sent()) == users


async def test_a_lost_answer_is_sent_at_most_once_more(plain: Bench) -> None:
    bench = plain
    user = bench.user(7200, "p").id
    bench.emu.lose_answer_next("sendMessage", times=2)
    await owe(bench, [user])
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    for _ in range(3):
        await sender.drain()
        bench.clock.advance(timedelta(seconds=5))
    assert len(bench.emu.sent(user)) == 2, "Telegram got it twice: once more, not forever"
    assert await statuses(bench) == {"failed": 1}


async def test_a_user_who_blocked_the_bot_is_marked_not_retried(plain: Bench) -> None:
    bench = plain
    user = bench.user(7300, "p")
    await bench.say(user, "/start")
    bench.emu.block(user)
    await owe(bench, [user.id, user.id])
    await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    assert await statuses(bench) == {"failed": 2}
    assert await bench.rows("SELECT blocked_at IS NOT NULL FROM people WHERE telegram_id = ?",
                            user.id) == [(1,)]
    # Writing again unblocks them.
    bench.emu.unblock(user)
    await bench.say(user, "/start")
    assert await bench.rows("SELECT blocked_at FROM people WHERE telegram_id = ?",
                            user.id) == [(None,)]


async def test_each_chat_reads_its_messages_in_order_even_with_retries(plain: Bench) -> None:
    bench = plain
    user = bench.user(7400, "p").id
    async with bench.runtime.db.transaction() as conn:
        for i in range(5):
            await notify.send(conn, bench.runtime, [notify.Recipient(user, "en")],
                              lambda t, lang, i=i: f"message {i}")
    bench.emu.fail_next("sendMessage", 502)
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    await sender.drain()
    assert bench.emu.sent(user) == [], "the first waits, and the rest wait behind it"
    bench.clock.advance(timedelta(seconds=10))
    await sender.drain()
    assert [m.text for m in bench.emu.sent(user)] == [f"message {i}" for i in range(5)]


async def test_after_a_crash_unanswered_messages_go_once_more(plain: Bench) -> None:
    """Rows left 'sending' by a crash (no answer recorded) are sent once more at start-up;
    ones that were already retried that way are given up, never sent a third time."""
    bench = plain
    user = bench.user(7500, "p").id
    await owe(bench, [user, user])
    async with bench.runtime.db.transaction() as conn:
        await conn.execute("UPDATE outbox SET status = 'sending'")
        await conn.execute("UPDATE outbox SET resent = 1 WHERE id = 2")
    await bench.restart(crash=True)  # post_init recovers
    await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    assert await bench.rows("SELECT id, status, resent FROM outbox ORDER BY id") == [
        (1, "sent", 1), (2, "failed", 1)]
    assert len(bench.emu.sent(user)) == 1


async def test_claimed_messages_that_must_wait_go_back_behind_the_first(plain: Bench) -> None:
    """Rows claimed in the transaction that owed them (a receipt) are sent at once; when the
    first must wait for a retry, the others return to the queue instead of staying claimed
    (a round of the sender never takes a claimed row: they would never go)."""
    bench = plain
    user = bench.user(7600, "p").id
    claimed = await owe_and_claim(bench, user, 3)
    assert [item.id for item in claimed] == [1, 2, 3]
    bench.emu.fail_next("sendMessage", 502)
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    await sender.send_claimed(claimed)
    assert bench.emu.sent(user) == []
    assert await statuses(bench) == {"pending": 3}
    bench.clock.advance(timedelta(seconds=10))
    await sender.drain()
    assert [m.text for m in bench.emu.sent(user)] == [f"message {i}" for i in range(3)]
    assert await bench.rows("SELECT attempts FROM outbox ORDER BY id") == [(2,), (1,), (1,)]


async def test_claimed_messages_go_back_when_sending_stops_on_an_error(plain: Bench) -> None:
    """An answer the sender does not expect (a 409: PTB's ``Conflict``) must not leave
    claimed rows blocking the chat until a restart."""
    bench = plain
    user = bench.user(7700, "p").id
    claimed = await owe_and_claim(bench, user, 2)
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    bench.emu.fail_next("sendMessage", 409)
    with pytest.raises(Conflict):
        await sender.send_claimed(claimed)
    assert await statuses(bench) == {"pending": 2}
    await sender.drain()
    assert [m.text for m in bench.emu.sent(user)] == ["message 0", "message 1"]
