"""What ``handlers.gate.finish`` relies on in python-telegram-bot, pinned against the installed
version.

``finish`` runs in the last handler group. It marks the sender's data, calls the public
``Application.update_persistence()`` and writes what the persistence was handed, with the
record that the update was handled, in one transaction. That works only because PTB:

1. records a conversation's new state as soon as the ConversationHandler's callback
   returns, before the later handler groups of the same update run (PTB's documentation
   does not promise this; its code does it), and
2. hands that state, and the marked person's data, to ``BasePersistence`` during
   ``update_persistence`` (documented).

With the update processor (each person's updates in order, people side by side) the state
the persistence holds when a person's update finishes is the state that update left, and it
is there before the person's next update starts. If a PTB upgrade changed either point,
this test fails before a crash could lose a step.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.ext import (
    ApplicationBuilder,
    CommandHandler,
    ConversationHandler,
    DictPersistence,
    MessageHandler,
    PersistenceInput,
    TypeHandler,
    filters,
)

from bot.emulator.core import Emulator
from bot.emulator.transport import EmulatorRequest
from bot.telegram.update_processor import PersonByPerson
from handlers.gate import FINISH_GROUP

STEPS = 10
PEOPLE = (7, 8, 9)


def _message(bot: Any, update_id: int, user_id: int, text: str) -> Update:
    return Update.de_json({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "text": text,
                    "entities": ([{"type": "bot_command", "offset": 0, "length": len(text)}]
                                 if text.startswith("/") else []),
                    "from": {"id": user_id, "is_bot": False, "first_name": "x"},
                    "chat": {"id": user_id, "type": "private"}}},
        bot)


async def test_a_steps_state_reaches_the_persistence_in_the_finishing_group() -> None:
    emu = Emulator()
    persistence = DictPersistence(store_data=PersistenceInput(
        bot_data=False, chat_data=False, user_data=True, callback_data=False))
    app = (ApplicationBuilder().token(emu.token).request(EmulatorRequest(emu))
           .get_updates_request(EmulatorRequest(emu)).updater(None).persistence(persistence)
           .concurrent_updates(PersonByPerson(4)).build())
    seen_at_start: list[tuple[int, object, object]] = []  # (person, state, step) as a step starts
    seen_at_finish: list[tuple[int, int, object, object]] = []  # (person, left, state, step)
    errors: list[BaseException] = []

    def stored(person: int) -> tuple[object, object]:
        state = (persistence.conversations or {}).get("dialog", {}).get((person,))
        return state, (persistence.user_data or {}).get(person, {}).get("step")

    async def begin(update: Update, context: Any) -> int:
        context.user_data["step"] = 1
        return 1

    async def advance(update: Update, context: Any) -> int:
        assert update.effective_user is not None
        seen_at_start.append((update.effective_user.id, *stored(update.effective_user.id)))
        await asyncio.sleep(0)  # let the other people's updates run meanwhile
        context.user_data["step"] += 1
        return int(context.user_data["step"])

    async def finish(update: Update, context: Any) -> None:
        """What handlers.gate.finish does with PTB, before writing the staged state."""
        user = update.effective_user
        assert user is not None
        context.application.mark_data_for_update_persistence(user_ids=user.id)
        await context.application.update_persistence()
        seen_at_finish.append((user.id, context.user_data["step"], *stored(user.id)))

    async def collect(_update: object, context: Any) -> None:
        errors.append(context.error)

    typed = filters.TEXT & ~filters.COMMAND
    app.add_handler(ConversationHandler(
        entry_points=[CommandHandler("go", begin)],
        states={step: [MessageHandler(typed, advance)] for step in range(1, STEPS + 2)},
        fallbacks=[], name="dialog", persistent=True, per_chat=False))
    app.add_handler(TypeHandler(Update, finish), group=FINISH_GROUP)
    app.add_error_handler(collect)
    update_id = 0
    async with app:
        processor = app.update_processor
        assert isinstance(processor, PersonByPerson)
        for index in range(STEPS + 1):
            for person in PEOPLE:  # the people's updates interleaved, as they arrive
                update_id += 1
                text = "/go" if index == 0 else f"step {index}"
                update = _message(app.bot, update_id, person, text)
                await processor.process_update(update, app.process_update(update))
        await processor.join()
    assert errors == []
    for person in PEOPLE:
        # Each update finished with its own new state and data in the persistence ...
        finished = [(left, state, step) for who, left, state, step in seen_at_finish
                    if who == person]
        assert finished == [(step, step, step) for step in range(1, STEPS + 2)]
        # ... and the person's next update found them there when it started.
        started = [(state, step) for who, state, step in seen_at_start if who == person]
        assert started == [(step, step) for step in range(1, STEPS + 1)]
