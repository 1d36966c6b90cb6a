"""getUpdates as Telegram sent it: the one call of a private PTB method (``Bot._post``).

The durable poller (``bot.telegram.poller``) stores each update exactly as Telegram sent it
and reads it into PTB's objects once, when it is handled. PTB's public ways to call
getUpdates do not fit that:

- ``Bot.get_updates`` reads the whole batch into ``Update`` objects, which would only be
  written back out to be stored (that cost an eighth of the bot's processor time under
  load), and one update it cannot read fails the whole batch, which then comes again and
  again;
- ``Bot.do_api_request("getUpdates", ...)`` warns on every call that ``get_updates``
  exists, and turns a refused token (``InvalidToken``) into ``EndPointNotFound``.

``Bot._post`` is what ``get_updates`` calls underneath: the same request (through
``ExtBot``'s rate limiter and the get-updates transport), the same errors (``Conflict``,
``InvalidToken``, ``RetryAfter``, ``NetworkError``), the answer's ``result`` as plain JSON.
tests/transport/test_telegram_updates.py pins that contract against the installed PTB.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update


async def raw_updates(bot: Bot, offset: int | None, timeout: int) -> object:
    """getUpdates' ``result`` as sent (normally a list of dicts; the caller checks), waiting
    up to ``timeout`` seconds for one; raises what ``Bot.get_updates`` would raise."""
    parameters: dict[str, Any] = {
        "offset": offset, "timeout": timeout, "allowed_updates": Update.ALL_TYPES}
    return await bot._post(  # noqa: SLF001 - the one private call; see the module's docs
        "getUpdates", parameters, read_timeout=timeout + 5)
