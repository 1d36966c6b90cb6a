"""The update processor: each person's updates in order, different people's side by side, and
a busy person never holding more than one of the slots (bot/telegram/update_processor.py)."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ConversationHandler,
    DictPersistence,
    MessageHandler,
    PersistenceInput,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.emulator.core import Emulator
from bot.emulator.transport import EmulatorRequest
from bot.telegram.update_processor import PersonByPerson, person_key, person_of
from handlers.conversation import build_dialog
from tests.conftest import Bench


def _text(update_id: int, user_id: int, chat_id: int | None = None) -> Update:
    chat = chat_id if chat_id is not None else user_id
    return Update.de_json({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "text": "hi",
                    "from": {"id": user_id, "is_bot": False, "first_name": "x"},
                    "chat": {"id": chat, "type": "private" if chat == user_id else "group"}}},
        None)


def _press(update_id: int, user_id: int, chat_id: int) -> Update:
    return Update.de_json({
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id), "chat_instance": "c", "data": "case:1:accept",
            "from": {"id": user_id, "is_bot": False, "first_name": "x"},
            "message": {"message_id": 1, "date": 0, "text": "card",
                        "chat": {"id": chat_id, "type": "group"}}}},
        None)


def _collect_errors(app: Any) -> list[BaseException]:
    """What the application's handlers raised (PTB would only log it)."""
    errors: list[BaseException] = []

    async def collect(_update: object, context: Any) -> None:
        errors.append(context.error)

    app.add_error_handler(collect)
    return errors


async def _settle() -> None:
    """Let every task that can run, run (no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_the_person_is_the_sender_else_the_chat() -> None:
    assert person_of(_text(1, 42)) == 42
    assert person_of(_text(2, 42, chat_id=-100)) == 42  # in a group: still the person
    assert person_of(_press(3, 7, -200)) == 7
    post = Update.de_json({"update_id": 4, "channel_post": {
        "message_id": 1, "date": 0, "chat": {"id": -300, "type": "channel"}}}, None)
    assert person_of(post) == -300
    assert person_of(Update(update_id=5)) is None
    forged = Update.de_json({"update_id": 6, "message": {
        "message_id": 1, "date": 0, "from": {"id": "x", "is_bot": False, "first_name": "x"},
        "chat": {"id": True, "type": "private"}}}, None)
    assert person_of(forged) is None
    assert person_of("not an update") is None


async def test_one_person_in_order_and_people_side_by_side() -> None:
    release = asyncio.Event()
    log: list[tuple[str, int]] = []

    async def handle(update: Update) -> None:
        log.append(("start", update.update_id))
        if person_of(update) == 1:
            await release.wait()  # the first person's updates are slow
        log.append(("end", update.update_id))

    async with PersonByPerson(8) as processor:
        for update in (_text(1, 1), _text(2, 1), _text(3, 2), _text(4, 2)):
            await processor.process_update(update, handle(update))
        await _settle()
        # Person 2 is served while person 1 waits; person 1's second update has not started.
        assert ("end", 3) in log and ("end", 4) in log
        assert ("start", 2) not in log
        assert processor.pending == 2
        release.set()
        await processor.join()
        assert [entry for entry in log if entry[1] in (1, 2)] == [
            ("start", 1), ("end", 1), ("start", 2), ("end", 2)]
        assert processor.pending == 0


async def test_a_busy_person_holds_one_slot_and_delays_no_one() -> None:
    """A hundred updates of one person wait without a slot: the slots stay free for others,
    and another person's update is handled while the first person's first one still runs."""
    release = asyncio.Event()
    done: list[int] = []

    async def handle(update: Update) -> None:
        if update.update_id == 1:
            await release.wait()
        done.append(update.update_id)

    async with PersonByPerson(4) as processor:
        for update_id in range(1, 101):
            await processor.process_update(_text(update_id, 1), handle(_text(update_id, 1)))
        await _settle()
        assert processor.current_concurrent_updates == 1  # PTB's public count of the slots
        assert processor.pending == 100
        other = _text(101, 2)
        await processor.process_update(other, handle(other))
        await _settle()
        assert done == [101]  # served while person 1's first update is still running
        release.set()
        await processor.join()
    assert done == [101, *range(1, 101)]


async def test_at_most_the_limit_at_once_and_a_failure_does_not_stop_a_lane() -> None:
    running = 0
    peak = 0
    handled: list[int] = []

    async def handle(update: Update) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        running -= 1
        if update.update_id == 5:
            raise RuntimeError("boom")
        handled.append(update.update_id)

    async with PersonByPerson(3) as processor:
        for update_id in range(20):
            update = _text(update_id, update_id % 10 + 1)
            await processor.process_update(update, handle(update))
        await processor.join()
    assert peak == 3
    assert sorted(handled) == [u for u in range(20) if u != 5]
    assert [u for u in handled if u % 10 == 5] == [15]


async def test_cancel_drops_what_has_not_run() -> None:
    started: list[int] = []

    async def handle(update: Update) -> None:
        started.append(update.update_id)
        await asyncio.Event().wait()  # never ends

    processor = PersonByPerson(2)
    for update_id in range(1, 4):
        await processor.process_update(_text(update_id, 1), handle(_text(update_id, 1)))
    await _settle()
    await processor.cancel()
    # Cancelled while running the first; the others were never started (and never warn).
    assert started == [1]
    assert processor.pending == 0
    await processor.join()


async def test_ptbs_own_update_queue_goes_through_the_processor_in_order() -> None:
    """PTB's update_queue path (not used by ``sunbox run``, which has its own poller) hands
    updates to the same processor: each person's still in order, people side by side."""
    emu = Emulator()
    app = (ApplicationBuilder().token(emu.token).request(EmulatorRequest(emu))
           .get_updates_request(EmulatorRequest(emu)).updater(None)
           .concurrent_updates(PersonByPerson(4)).build())
    log: list[tuple[int, int, str]] = []

    async def record(update: Update, _context: Any) -> None:
        user = person_of(update)
        assert user is not None
        log.append((user, update.update_id, "start"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log.append((user, update.update_id, "end"))

    app.add_handler(MessageHandler(filters.ALL, record))
    errors = _collect_errors(app)
    async with app:
        await app.start()
        for update_id in range(30):
            await app.update_queue.put(_text(update_id, update_id % 3 + 1))
        await app.update_queue.join()
        await app.stop()  # PTB's own order: stop, then shutdown (which joins the processor)
    for user in (1, 2, 3):
        mine = [(update_id, what) for who, update_id, what in log if who == user]
        assert mine == [(u, what) for u in range(30) if u % 3 + 1 == user
                        for what in ("start", "end")]
    # People overlapped: someone started before the previous update had ended.
    assert any(log[i][2] == "start" and log[i - 1][2] == "start" for i in range(1, len(log)))
    assert errors == []


# --- the lane key is the conversation key ---------------------------------------------------


class _Keys(DictPersistence):
    """PTB's dict persistence, remembering the conversation keys it was handed."""

    def __init__(self) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False,
                                                     user_data=False, callback_data=False))
        self.keys: list[tuple[int | str, ...]] = []

    async def update_conversation(self, name: str, key: tuple[int | str, ...],
                                  new_state: object | None) -> None:
        self.keys.append(key)
        await super().update_conversation(name, key, new_state)


def _like_the_dialog(step: Callable[..., Any]) -> ConversationHandler:
    """A persistent conversation keyed as Sunbox's dialog is (its own settings, read from it)."""
    dialog = build_dialog()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)
        handlers = [MessageHandler(filters.ALL, step), CallbackQueryHandler(step)]
        return ConversationHandler(
            entry_points=handlers, states={1: handlers}, fallbacks=[], name="keys",
            persistent=True,
            per_chat=dialog.per_chat, per_user=dialog.per_user, per_message=dialog.per_message)


async def test_the_lane_key_is_the_dialogs_conversation_key() -> None:
    """PTB keys each conversation state the way the dialog is set up (per user, not per
    chat); the processor orders updates by person. Were they to differ (a dialog per chat,
    say), two updates of one conversation could run at once, and one person's step could be
    written with another update's state."""
    emu = Emulator()
    persistence = _Keys()
    app = (ApplicationBuilder().token(emu.token).request(EmulatorRequest(emu))
           .get_updates_request(EmulatorRequest(emu)).updater(None).persistence(persistence)
           .concurrent_updates(PersonByPerson(4)).build())

    async def step(update: Update, _context: Any) -> int:
        return 1

    app.add_handler(_like_the_dialog(step))
    errors = _collect_errors(app)
    updates = [_text(1, 7), _text(2, 8, chat_id=-100), _press(3, 9, -200),
               _press(4, 10, 10)]
    async with app:
        for update in updates:
            await app.update_processor.process_update(update, app.process_update(update))
        await app.update_processor.shutdown()  # the same wait as PersonByPerson.join
        await app.update_persistence()
    assert sorted(persistence.keys) == sorted((person_of(update),) for update in updates)
    assert errors == []


async def test_the_dialog_state_is_stored_under_the_persons_lane(bench: Bench) -> None:
    """End to end: the state Sunbox's own dialog stores after a step is keyed by the lane of
    the update that took it, and is in the database before the person's next update."""
    resident = bench.user(7301, "王秀兰")
    await bench.say(resident, "/start")
    bench.emu.send_text(resident, "/new")
    [pending] = bench.emu.pending_updates()
    lane = person_of(Update.de_json(pending, None))
    await bench.deliver()
    rows = await bench.rows("SELECT key, state FROM conversations WHERE name = 'dialog'")
    assert [(json.loads(key), state is not None) for key, state in rows] == [([lane], True)]


async def test_a_hundred_updates_of_one_person_do_not_delay_anothers_reply(
        bench: Bench) -> None:
    """Through the real Application on the emulator, as ``sunbox run`` and every test
    deliver: one resident's hundred updates wait behind each other, and another resident
    sent after them all is answered among the first replies. Each person's replies keep the
    order of their updates."""
    busy = bench.user(7401, "Busy", language="en")
    other = bench.user(7402, "Other", language="en")
    for index in range(100):
        bench.emu.send_text(busy, "/start" if index % 2 == 0 else "/help")
    bench.emu.send_text(other, "/help")
    await bench.deliver()
    order = [m.chat_id for m in bench.emu.all_sent() if m.chat_id in (busy.id, other.id)]
    assert order.count(busy.id) == 100 and order.count(other.id) == 1
    # Sent last, answered long before the busy resident's tenth reply (a processor that
    # made queued updates wait in a slot would answer after their 37th, 100 minus 64 slots).
    assert order.index(other.id) < 10, order.index(other.id)
    welcome, help_text = bench.texts(busy)[0], bench.texts(busy)[1]
    assert welcome != help_text
    assert bench.texts(busy) == [welcome, help_text] * 50
    assert bench.texts(other) == [help_text]



_SENDER = {"id": 61, "is_bot": False, "first_name": "x"}
_CHAT = {"id": -62, "type": "supergroup", "title": "t"}
_MESSAGE = {"message_id": 1, "date": 0, "chat": _CHAT, "from": _SENDER, "text": "hi"}


@pytest.mark.parametrize("payload", [
    {"message": _MESSAGE},
    {"edited_message": dict(_MESSAGE, edit_date=1)},
    {"message": {"message_id": 1, "date": 0, "chat": _CHAT, "text": "no sender"}},
    {"channel_post": {"message_id": 1, "date": 0, "text": "post",
                      "chat": {"id": -63, "type": "channel", "title": "c"}}},
    {"callback_query": {"id": "q", "from": _SENDER, "chat_instance": "i", "data": "d",
                        "message": _MESSAGE}},
    {"inline_query": {"id": "q", "from": _SENDER, "query": "", "offset": ""}},
    {"my_chat_member": {"chat": _CHAT, "from": _SENDER, "date": 0,
                        "old_chat_member": {"status": "left", "user": _SENDER},
                        "new_chat_member": {"status": "member", "user": _SENDER}}},
    {"poll_answer": {"poll_id": "p", "user": _SENDER, "option_ids": [0],
                     "option_persistent_ids": ["a"]}},
    {},
], ids=lambda payload: next(iter(payload), "nothing"))
def test_the_stored_person_key_is_the_lane_of_the_update(payload: dict[str, Any]) -> None:
    """Whose a stored update is (read from Telegram's JSON, bot/telegram/turns.py) is whose
    lane it runs in (read from PTB's objects), 0 for no one's."""
    data = {"update_id": 5, **payload}
    assert person_key(data) == (person_of(Update.de_json(data, None)) or 0)
