"""The one private PTB call (``Bot._post`` for getUpdates, bot/telegram/telegram_updates.py), pinned
against the installed python-telegram-bot: the updates come back exactly as Telegram sent
them, a batch with an update PTB cannot read comes back whole, and Telegram's refusals raise
the errors the durable poller handles."""

from __future__ import annotations

import inspect

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError

from bot.telegram.telegram_updates import raw_updates
from tests.conftest import Bench

RESIDENT = 5101


def test_the_private_method_has_the_shape_it_is_called_with() -> None:
    parameters = inspect.signature(Bot._post).parameters  # noqa: SLF001 - the pinned call
    assert list(parameters)[:3] == ["self", "endpoint", "data"]
    assert parameters["read_timeout"].kind is inspect.Parameter.KEYWORD_ONLY


async def test_updates_come_back_as_sent_and_unreadable_ones_do_not_fail_the_batch(
        bench: Bench) -> None:
    assert bench.app is not None
    resident = bench.user(RESIDENT, "王秀兰")
    # No date (PTB cannot read it) and a field PTB does not know; then an ordinary message.
    broken = bench.emu.send_raw({"message": {
        "message_id": 1, "from": {"id": RESIDENT, "is_bot": False, "first_name": "x"},
        "chat": {"id": RESIDENT, "type": "private"}, "text": "hi", "future_field": [1]}})
    bench.emu.send_text(resident, "/start")
    result = await raw_updates(bench.app.bot, None, 0)
    assert isinstance(result, list) and len(result) == 2
    assert result[0] == broken  # as sent, the unknown field kept
    with pytest.raises(Exception):  # noqa: B017 - whatever PTB raises: it cannot read it
        Update.de_json(result[0], bench.app.bot)
    assert Update.de_json(result[1], bench.app.bot).effective_user.id == RESIDENT
    # The offset confirms them, as Telegram's does.
    assert await raw_updates(bench.app.bot, result[1]["update_id"] + 1, 0) == []


@pytest.mark.parametrize(("status", "error"), [
    (409, Conflict), (401, InvalidToken), (502, NetworkError)])
async def test_refusals_raise_what_the_poller_handles(
        bench: Bench, status: int, error: type[Exception]) -> None:
    assert bench.app is not None
    bench.emu.fail_next("getUpdates", status)
    with pytest.raises(error) as raised:
        await raw_updates(bench.app.bot, None, 0)
    assert not isinstance(raised.value, BadRequest)  # a 5xx is not a refused call
