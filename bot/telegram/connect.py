"""Reaching Telegram at start-up: ``getMe`` until it answers, one line per failed try.

A county's network loses Telegram for minutes or hours (a proxy restarting, a line down);
the bot waits for it instead of ending in a traceback, and a service manager sees a
running process. A token Telegram refuses (401 or 404 on ``getMe``) will be refused
forever: that ends the start (``sunbox run`` exits with status 2, which the systemd unit
does not restart). The lines are in the operator's language (``--lang``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram.error import InvalidToken, NetworkError

from bot.i18n import N_, Translate

log = logging.getLogger(__name__)

#: The pause after the first failed try, doubled after each further one up to LAST_PAUSE.
FIRST_PAUSE = 1.0
LAST_PAUSE = 120.0

MSG_UNREACHABLE = N_("Telegram cannot be reached at {url} ({reason}); trying again in "
                     "{seconds:.0f} s (try {attempt}).")
MSG_UNREACHABLE_PROXY = N_("Telegram cannot be reached at {url} through the proxy {proxy} "
                           "({reason}); trying again in {seconds:.0f} s (try {attempt}).")
MSG_REACHED = N_("Telegram reached at {url} after {attempt} tries.")
MSG_REJECTED = N_("Telegram refused the bot token (401/404): check telegram.token or "
                  "SUNBOX_TOKEN (a new token from @BotFather replaces the old one); not "
                  "starting.")


def reason_of(error: BaseException) -> str:
    """What went wrong, on one line: the innermost cause's words (the OS's or the proxy's),
    which say more than PTB's wrapper ("connection refused", "name not known")."""
    cause: BaseException = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    text = str(cause) or type(cause).__name__
    return " ".join(text.split())[:300]


async def reach(bot: Any, url: str, t: Translate, stop: asyncio.Event, *,
                proxy: str | None = None, first_pause: float = FIRST_PAUSE,
                last_pause: float = LAST_PAUSE) -> bool:
    """Initialise ``bot`` (its transports and ``getMe``) once Telegram answers; False if
    ``stop`` was set first. :class:`InvalidToken` passes through (after the transports are
    closed: nothing is left open on the way out). ``proxy`` (without its password) is named
    in each line: "connection refused" may be the proxy's."""
    pause = first_pause
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            await bot.initialize()
        except InvalidToken:
            await bot.shutdown()
            raise
        except NetworkError as error:  # TimedOut too
            message = t(MSG_UNREACHABLE_PROXY if proxy else MSG_UNREACHABLE)
            log.warning(message.format(url=url, proxy=proxy, reason=reason_of(error),
                                       seconds=pause, attempt=attempt))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, last_pause)
            continue
        if attempt > 1:
            log.info(t(MSG_REACHED).format(url=url, attempt=attempt))
        return True
    await bot.shutdown()
    return False
