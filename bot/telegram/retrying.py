"""Sunbox's retry policy, in one place: how often a Bot API call is tried, how long to wait
between tries, and which errors are worth another try. Every caller takes its rules from here:
PTB's rate limiter below, a conversation's next question (``handlers.context.send_prompt``),
the outbox sender (``bot.telegram.outbox``), the poller's backoff, and the 429 retries given to
PTB's ``AIORateLimiter`` (``bot.app``).

Quick retries of the Bot API calls that may safely be made twice: a 5xx or a lost answer on
a button's answer or on taking a message's buttons off made the handler fail, and the person
saw "something went wrong" for a step that had worked, which under faults was common
(bench/README.md). These calls change nothing when repeated: a second edit
gets "message is not modified" (``handlers.context`` takes that as done), a second answer to
a button press "query is too old". Sends are not retried here: a message whose answer was
lost may have arrived, and would arrive twice (what must arrive goes through the outbox,
which knows; a conversation's next question is the exception, as a question shown twice is
answered from either copy).

Every call passes the rate limiter, so there too every text is made to fit one Telegram
message (``bot.fit``): a message too long goes in several parts (its buttons on the last), an
edit is shortened with a pointer to ``/case``, and a caption is shortened to 1024 characters.
The outbox sender applies the same rule to what it sends.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

from bot import fit
from bot.i18n import DEFAULT_LANGUAGE, translator
from storage.sql import OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Pauses that start at ``first`` seconds and double after each further failure, up to
    ``most``."""

    first: float
    most: float = math.inf

    def pause(self, failures: int) -> float:
        """The pause after ``failures`` failures in a row (1: after the first)."""
        return min(self.first * 2.0 ** (failures - 1), self.most)


@dataclass(frozen=True)
class Policy:
    """At most ``attempts`` tries in all, ``backoff`` between them."""

    attempts: int
    backoff: Backoff

    def gives_up(self, failures: int) -> bool:
        """Whether ``failures`` failed tries are all there may be."""
        return failures >= self.attempts


#: A Bot API call harmless to repeat (:data:`REPEATABLE`) and a conversation's next
#: question: tried again at once, three tries in all (pauses 0.05 s, 0.1 s).
QUICK = Policy(attempts=3, backoff=Backoff(first=0.05))
#: A row of the outbox: tried again at its own time, 1 s, 2 s, 4 s ... at most 5 minutes
#: apart, eight tries in all, then failed (``Forbidden`` and refusals fail at once).
OUTBOX = Policy(attempts=8, backoff=Backoff(first=1.0, most=300.0))
#: The outbox after a call that got no answer at all (``TimedOut``: it may have arrived):
#: sent once more, this long after, and never again.
OUTBOX_RESEND_PAUSE = 1.0
#: The outbox after ``InvalidToken`` (the token was revoked or replaced): nothing can go until
#: the bot is restarted with a good one, so rows wait this long without using up a try.
INVALID_TOKEN_PAUSE = 60.0
#: Long polling, after a failed ``getUpdates`` (a 5xx, a lost answer) or a database that
#: cannot take a batch for now: the first retry comes soon, since one failure among many is
#: the common case and every person waits while nothing is polled (bench/README.md);
#: repeated failures back off to a minute.
POLLING = Backoff(first=0.1, most=60.0)
#: Long polling after a 409 Conflict (another program polls with the same token): it will
#: likely still be there in a moment.
CONFLICT = Backoff(first=5.0, most=60.0)
#: 429s (``RetryAfter``) that PTB's ``AIORateLimiter`` waits out and retries on its own
#: (``max_retries``), each after the time Telegram names.
RATE_LIMIT_RETRIES = 3
#: Errors of a database that cannot take a write for now (locked, disk full, I/O): another
#: try may succeed. Anything else (a constraint, a bug) fails the same way every time.
DATABASE_TRANSIENT: tuple[type[Exception], ...] = OperationalError


def transient(error: BaseException) -> bool:
    """A Bot API error another try may cure: a 5xx, a lost answer, a timeout
    (``NetworkError``); never a refusal (``BadRequest``, which PTB counts as a
    ``NetworkError`` too), which Telegram would give again."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait a 429 names, in seconds (a ``timedelta`` in the process ``bot.startup``
    prepared, a number in one it did not)."""
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


async def again_if_transient(call: Callable[[], Awaitable[T]], policy: Policy = QUICK, *,
                             note: str | None = None) -> T:
    """``call()``, tried again after a :func:`transient` error as ``policy`` allows; the last
    error, or any other, is raised. ``note`` is logged at each retry."""
    failures = 0
    while True:
        try:
            return await call()
        except Exception as error:
            failures += 1
            if not transient(error) or policy.gives_up(failures):
                raise
        if note is not None:
            log.info(note)
        await asyncio.sleep(policy.backoff.pause(failures))


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


class RetryingRateLimiter(AIORateLimiter):
    """:class:`AIORateLimiter` that also retries :data:`REPEATABLE` calls after a
    :func:`transient` error as :data:`QUICK` allows (never after a 400, which Telegram would
    refuse again), and makes every text fit.

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
        call = partial(super().process_request, callback, args, kwargs, endpoint, data,
                       rate_limit_args)
        if endpoint not in REPEATABLE:
            return await call()
        return await again_if_transient(call, QUICK)
