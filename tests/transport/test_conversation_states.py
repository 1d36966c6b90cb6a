"""The one private use of ``ConversationHandler`` (its ``_conversations``) and the view of
``Application.user_data``, pinned against the installed python-telegram-bot
(bot/telegram/conversation_states.py): a state put there routes the person's next update, an
ended one no longer does, neither is written back as a change, and a person's data is
replaced in place."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.telegram.conversation_states import persistent_dialogs, put_state, put_user_data
from bot.telegram.persistence import SqlitePersistence
from tests.conftest import Bench
from tests.handlers.flows import to_text_step

RESIDENT = 5301


def _text(bench: Bench, text: str) -> Update:
    assert bench.app is not None
    return Update.de_json({"update_id": 1, "message": {
        "message_id": 99, "date": 0, "text": text,
        "from": {"id": RESIDENT, "is_bot": False, "first_name": "x"},
        "chat": {"id": RESIDENT, "type": "private"}}}, bench.app.bot)


async def test_a_state_put_back_routes_the_next_update_untracked(bench: Bench) -> None:
    assert bench.app is not None
    dialogs = persistent_dialogs(bench.app)
    assert list(dialogs) == ["dialog"]
    dialog = dialogs["dialog"]
    await to_text_step(bench, bench.user(RESIDENT, "王秀兰"))
    [(state,)] = await bench.rows(
        "SELECT state FROM conversations WHERE name = 'dialog' AND key = ?", f"[{RESIDENT}]")
    description = _text(bench, "村里的账目没有公开。")
    assert dialog.check_update(description)  # the text step takes it

    put_state(dialog, (RESIDENT,), None)
    assert not dialog.check_update(description)  # no dialog: plain text is no step's
    put_state(dialog, (RESIDENT,), "filing.text")
    assert dialog.check_update(description)
    assert state == '"filing.text"'

    await bench.app.update_persistence()
    persistence = bench.app.persistence
    assert isinstance(persistence, SqlitePersistence)
    assert persistence.take_pending(RESIDENT).conversations == []  # not written back


async def test_user_data_is_replaced_in_place(bench: Bench) -> None:
    assert bench.app is not None
    mine: dict[str, Any] = bench.app.user_data[RESIDENT]
    mine["old"] = 1
    put_user_data(bench.app, RESIDENT, {"draft": {"key": "k"}})
    assert bench.app.user_data[RESIDENT] is mine
    assert mine == {"draft": {"key": "k"}}
    put_user_data(bench.app, RESIDENT + 1, {"new": True})  # someone not seen before
    assert bench.app.user_data[RESIDENT + 1] == {"new": True}
