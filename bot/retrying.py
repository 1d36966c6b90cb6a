"""PTB's AIORateLimiter, plus quick retries of the Bot API calls that may safely be made twice.

A 5xx or a lost answer on a button's answer or on taking a message's buttons off made the
handler fail, and the person saw "something went wrong" for a step that had worked (the
throughput benchmark with 10 % faults: 111 such errors in 30 s). These calls change nothing
when repeated: a second edit gets "message is not modified" (``handlers.context`` takes that
as done), a second answer to a button press "query is too old". Sends are not retried here: a
message whose answer was lost may have arrived, and would arrive twice (what must arrive goes
through the outbox, which knows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

#: Calls that are harmless to repeat.
REPEATABLE = frozenset({
    "answerCallbackQuery", "editMessageReplyMarkup", "editMessageText", "deleteMessage",
    "getMe", "setMyCommands", "deleteWebhook", "getChat",
})
#: Tries in all, and the pause before the second (doubled for each further one).
ATTEMPTS = 3
FIRST_PAUSE = 0.05


class RetryingRateLimiter(AIORateLimiter):
    """:class:`AIORateLimiter` that also retries :data:`REPEATABLE` calls after a
    ``NetworkError`` (5xx, lost answer, timeout), at most :data:`ATTEMPTS` tries; never
    after a 400 (``BadRequest``), which Telegram would refuse again."""

    async def process_request(
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
