"""The durable outbox: Telegram's limits kept, faults retried, crashes survived."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest

from bot import faults
from bot.emulator.limits import FloodLimits
from bot.i18n import Translate
from bot.services import notify
from bot.telegram.outbox import MAX_RECORD_TRIES
from bot.telegram.pacing import Rates
from storage import outbox
from storage.sql import Conn
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import ADMIN, staffed
from tests.support import engines


def _hello(t: Translate, language: str) -> str:
    return t("Cancelled. Nothing was stored.")


async def owe(bench: Bench, chat_ids: list[int]) -> None:
    """Owe each chat one message, as a state change would."""
    await bench.runtime.db.write(
        notify.send, bench.runtime, [notify.Recipient(c, "en") for c in chat_ids], _hello,
        now=bench.clock.now())


async def owe_and_claim(bench: Bench, chat_id: int, count: int) -> list[outbox.OutboxItem]:
    """Owe a chat ``count`` numbered messages and claim them in the same transaction, as
    filing a case claims its receipt."""
    def work(conn: Conn):
        for i in range(count):
            notify.send(conn, bench.runtime, [notify.Recipient(chat_id, "en")],
                        lambda t, lang, i=i: f"message {i}", now=bench.clock.now())
        return outbox.claim_for_chat(conn, chat_id, bench.clock.now())
    return await bench.runtime.db.write(work)


async def statuses(bench: Bench) -> dict[str, int]:
    return await bench.runtime.db.read(outbox.counts)


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

    def work(conn: Conn) -> None:
        for i in range(5):
            notify.send(conn, bench.runtime, [notify.Recipient(user, "en")],
                        lambda t, lang, i=i: f"message {i}", now=bench.clock.now())
    await bench.runtime.db.write(work)
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

    def work(conn: Conn) -> None:
        conn.execute("UPDATE outbox SET status = 'sending'")
        conn.execute("UPDATE outbox SET resent = 1 WHERE id = 2")
    await bench.runtime.db.write(work)
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
    claimed rows blocking the chat until a restart: the first waits for a retry, the rest
    go back behind it."""
    bench = plain
    user = bench.user(7700, "p").id
    claimed = await owe_and_claim(bench, user, 2)
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    bench.emu.fail_next("sendMessage", 409)
    await sender.send_claimed(claimed)
    assert await statuses(bench) == {"pending": 2}
    bench.clock.advance(timedelta(seconds=10))
    await sender.drain()
    assert [m.text for m in bench.emu.sent(user)] == ["message 0", "message 1"]


# --- every error ends with a row to retry or a failed row -----------------------------------

OLD_GROUP, NEW_GROUP = -4001234, -1004001234


async def test_a_group_upgraded_to_a_supergroup_moves_and_the_administrators_are_told(
        bench: Bench) -> None:
    """Telegram answers the old group's id with ``migrate_to_chat_id``: the card goes to the
    supergroup, the unit keeps the new id (also after a restart that syncs the unchanged
    configuration), and the administrator is told to edit the configuration."""
    bench.config = staffed(bench.config, civil_affairs={"group_chat_id": OLD_GROUP})
    await bench.restart()
    admin = bench.user(ADMIN, "admin")
    bench.emu.group(OLD_GROUP, "民政工作群")
    bench.emu.migrate_group(OLD_GROUP, NEW_GROUP)
    resident = bench.user(7800, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    cards = [m for m in bench.emu.sent(NEW_GROUP) if (m.text or "").startswith("📨")]
    assert len(cards) == 1, "the card reached the supergroup"
    assert await statuses(bench) == {"sent": await count_rows(bench)}
    assert await bench.rows("SELECT group_chat_id FROM units WHERE id = 'civil_affairs'") == [
        (NEW_GROUP,)]
    told = bench.last_text(admin)
    assert str(NEW_GROUP) in told and "县民政局" in told and "group_chat_id" in told
    # The configuration still names the old id; a restart does not put it back.
    await bench.restart()
    await file_suggestion(bench, resident, photo=False)
    assert len([m for m in bench.emu.sent(NEW_GROUP) if (m.text or "").startswith("📨")]) == 2
    assert not any(m.chat_id == OLD_GROUP for m in bench.emu.all_sent())


async def count_rows(bench: Bench) -> int:
    [(count,)] = await bench.rows("SELECT count(*) FROM outbox")
    return int(count)


async def test_a_rejected_token_leaves_the_row_to_retry(plain: Bench) -> None:
    """401 (PTB's ``InvalidToken``) stopped nothing but left the row ``sending``: the chat
    was blocked until a restart. Now the row waits and goes once the token works."""
    bench = plain
    user = bench.user(7810, "p").id
    bench.emu.fail_next("sendMessage", 401)
    await owe(bench, [user, user])
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    await sender.drain()
    assert await statuses(bench) == {"pending": 2}
    bench.clock.advance(timedelta(seconds=120))
    await sender.drain()
    assert await statuses(bench) == {"sent": 2}
    assert len(bench.emu.sent(user)) == 2


async def test_a_missing_report_file_fails_its_row_and_the_chat_goes_on(plain: Bench) -> None:
    bench = plain
    user = bench.user(7820, "p").id
    await bench.runtime.db.write(
        outbox.enqueue, bench.clock.now(), user, "file", {
            "path": "/nonexistent/sunbox/gone.png", "kind": "photo",
            "caption": "chart"})
    await owe(bench, [user])
    await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    assert await bench.rows("SELECT status, error LIKE 'FileNotFoundError%' FROM outbox "
                            "ORDER BY id") == [("failed", 1), ("sent", None)]
    assert len(bench.emu.sent(user)) == 1


async def test_a_full_disk_while_recording_is_recorded_later_not_left_sending(
        plain: Bench) -> None:
    """The message went, but the database could not record it: the outcome is kept and
    recorded on the next round, and the chat's next message follows (not a restart)."""
    bench = plain
    user = bench.user(7830, "p").id
    faults.inject("outbox:record", sqlite3.OperationalError("database or disk is full"))
    try:
        await owe(bench, [user, user])
        sender = bench.app.bot_data.sender  # type: ignore[union-attr]
        await sender.drain()
        assert len(bench.emu.sent(user)) == 1
        assert await bench.rows("SELECT status FROM outbox ORDER BY id") == [
            ("sending",), ("pending",)]
        await sender.drain()
    finally:
        faults.clear()
    assert await statuses(bench) == {"sent": 2}
    assert len(bench.emu.sent(user)) == 2, "sent once each"


async def test_no_stored_error_or_log_line_carries_the_token(
        plain: Bench, caplog: pytest.LogCaptureFixture) -> None:
    """aiohttp errors carry the request's URL, and the URL carries the token."""
    bench = plain
    token = bench.emu.token
    user = bench.user(7840, "p").id
    bench.emu.fail_next("sendMessage", 400, description=(
        f"Bad Request: see https://api.telegram.org/bot{token}/sendMessage"))
    bench.emu.fail_next("sendMessage", 502, description=f"Bad Gateway at /bot{token}/x")
    await owe(bench, [user, user])
    with caplog.at_level(logging.INFO):
        await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
        logging.getLogger("bot.test").warning("failed: %s", f"/bot{token}/getUpdates")
    rows = await bench.rows("SELECT coalesce(error, '') FROM outbox")
    # PTB capitalises a description, which lowers the rest of it: look in any case.
    assert rows and all(token.lower() not in error.lower() for (error,) in rows)
    assert any("<token>" in error for (error,) in rows)
    assert caplog.records
    assert all(token.lower() not in r.getMessage().lower() for r in caplog.records)


async def test_an_outcome_that_can_never_be_recorded_gives_its_row_up_not_the_outbox(
        plain: Bench, caplog: pytest.LogCaptureFixture) -> None:
    """A write that always fails (here a constraint on marking one row sent) was kept and
    tried again at the start of every round, which then raised before reading the queue:
    nothing went to any chat again. Now that row is marked failed and the rest goes on."""
    bench = plain
    first, second = bench.user(7850, "p").id, bench.user(7851, "q").id
    await owe(bench, [first])

    def work(conn: Conn) -> None:
        engines.refusing_trigger(conn, "refuse_sent", "BEFORE UPDATE OF status ON outbox",
                                 "NEW.status = 'sent' AND NEW.id = 1",
                                 "refused by a constraint")
    await bench.runtime.db.write(work)
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    with caplog.at_level(logging.INFO):
        await sender.drain()
        await owe(bench, [second, first])
        await sender.drain()
    assert await bench.rows("SELECT id, status, error FROM outbox ORDER BY id") == [
        (1, "failed", "outcome not recorded: IntegrityError"),
        (2, "sent", None), (3, "sent", None)]
    assert len(bench.emu.sent(first)) == 2 and len(bench.emu.sent(second)) == 1
    assert any("given up" in r.getMessage() for r in caplog.records)


async def test_a_database_error_that_lasts_gives_the_kept_outcome_up_after_a_few_rounds(
        plain: Bench) -> None:
    """A locked database while recording is worth a few more tries, not one each round
    forever with the round raising: after the last the row is failed and its chat goes on."""
    bench = plain
    user = bench.user(7860, "p").id
    faults.inject("outbox:record", sqlite3.OperationalError("database is locked"),
                  times=1 + MAX_RECORD_TRIES)
    try:
        await owe(bench, [user, user])
        sender = bench.app.bot_data.sender  # type: ignore[union-attr]
        for _ in range(MAX_RECORD_TRIES):
            await sender.drain()  # does not raise: the kept outcome waits for the next
            assert await bench.rows("SELECT status FROM outbox ORDER BY id") == [
                ("sending",), ("pending",)]
        await sender.drain()
    finally:
        faults.clear()
    assert await bench.rows("SELECT status, error FROM outbox ORDER BY id") == [
        ("failed", "outcome not recorded: OperationalError"), ("sent", None)]
    assert len(bench.emu.sent(user)) == 2, "sent once each"


async def test_a_429_waits_as_long_as_telegram_says(bench: Bench) -> None:
    """A 429 reaches the sender as ``RetryAfter`` (PTB's durations as timedelta: no warning
    in its way, bot.startup) and the row waits the time Telegram named."""
    bench.options = {"outbox_rates": Rates(), "rate_limiter": False}
    await bench.restart()
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    user = bench.user(7150, "p").id
    bench.emu.fail_next("sendMessage", 429, retry_after=30)
    await owe(bench, [user])
    await sender.drain()
    assert await bench.rows("SELECT status, error, attempts FROM outbox") == [
        ("pending", "retry_after", 1)]
    bench.clock.advance(timedelta(seconds=29))
    assert await sender.drain() == 0
    bench.clock.advance(timedelta(seconds=2))
    assert await sender.drain() == 1
