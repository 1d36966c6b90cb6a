"""PTB's AIORateLimiter, plus quick retries of the Bot API calls that may safely be made twice.

A 5xx or a lost answer on a button's answer or on taking a message's buttons off made the
handler fail, and the person saw "something went wrong" for a step that had worked (the
throughput benchmark with 10 % faults: 111 such errors in 30 s). These calls change nothing
when repeated: a second edit gets "message is not modified" (``handlers.context`` takes that
as done), a second answer to a button press "query is too old". Sends are not retried here: a
message whose answer was lost may have arrived, and would arrive twice (what must arrive goes
through the outbox, which knows).

Every call passes here, so here too every text is made to fit one Telegram message
(``bot.fit``): a message too long goes in several parts (its buttons on the last), an edit
is shortened with a pointer to ``/case``, and a caption is shortened to 1024 characters.
The outbox sender applies the same rule to what it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

from bot import fit
from bot.i18n import DEFAULT_LANGUAGE, translator

#: Calls whose ``text`` must fit; of these only ``sendMessage`` may come in parts.
TEXT_CALLS = frozenset({"sendMessage", "editMessageText"})
#: Calls whose ``caption`` must fit.
CAPTION_CALLS = frozenset({"sendPhoto", "sendDocument", "editMessageCaption", "copyMessage",
                           "sendVideo", "sendAnimation", "sendAudio", "sendVoice"})
LanguageOf = Callable[[int], Awaitable[str]]

#: Calls that are harmless to repeat.
REPEATABLE = frozenset({
    "answerCallbackQuery", "editMessageReplyMarkup", "editMessageText", "deleteMessage",
    "getMe", "setMyCommands", "deleteWebhook", "getChat",
    # Menus and descriptions (handlers/menus.py): setting them twice changes nothing.
    "deleteMyCommands", "setMyDescription", "setMyShortDescription",
})
#: Tries in all, and the pause before the second (doubled for each further one).
ATTEMPTS = 3
FIRST_PAUSE = 0.05


class RetryingRateLimiter(AIORateLimiter):
    """:class:`AIORateLimiter` that also retries :data:`REPEATABLE` calls after a
    ``NetworkError`` (5xx, lost answer, timeout), at most :data:`ATTEMPTS` tries; never
    after a 400 (``BadRequest``), which Telegram would refuse again; and makes every text fit.

    ``language_of(chat_id)``: the language of a chat's reader, for the note that ends a
    shortened text (asked only then; the default language when not given).
    """

    def __init__(self, *args: Any, language_of: LanguageOf | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language_of = language_of

    async def _shorten(self, data: dict[str, Any], key: str, limit: int) -> None:
        text = data.get(key)
        if not isinstance(text, str) or fit.units(text) <= limit:
            return
        language = DEFAULT_LANGUAGE
        chat_id = data.get("chat_id")
        if self.language_of is not None and isinstance(chat_id, int):
            language = await self.language_of(chat_id)
        data[key] = fit.shorten(text, translator(language), limit)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if endpoint in CAPTION_CALLS:
            await self._shorten(data, "caption", fit.CAPTION_LIMIT)
        text = data.get("text")
        if endpoint not in TEXT_CALLS or not isinstance(text, str) or (
                fit.units(text) <= fit.TEXT_LIMIT):
            return await self._retrying(callback, args, kwargs, endpoint, data,
                                        rate_limit_args)
        if endpoint != "sendMessage":
            await self._shorten(data, "text", fit.TEXT_LIMIT)
            return await self._retrying(callback, args, kwargs, endpoint, data,
                                        rate_limit_args)
        # A long message: in parts, in order, its buttons on the last, which is the answer.
        result: Any = None
        pieces = fit.split(text)
        for number, piece in enumerate(pieces, 1):
            part = {**data, "text": piece}
            if number < len(pieces):
                part.pop("reply_markup", None)
            result = await self._retrying(callback, (args[0], part, *args[2:]), kwargs,
                                          endpoint, part, rate_limit_args)
        return result

    async def _retrying(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        tries = ATTEMPTS if endpoint in REPEATABLE else 1
        pause = FIRST_PAUSE
        for attempt in range(1, tries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data,
                                                     rate_limit_args)
            except BadRequest:
                raise  # PTB's BadRequest is a NetworkError; a refused call is not a fault
            except NetworkError:
                if attempt == tries:
                    raise
            await asyncio.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")
