"""A durable replacement for PTB's long-polling Updater.

PTB's Updater confirms an update to Telegram (the next getUpdates offset) before the
handlers have run, so a crash loses it. Here each batch of updates is first stored in the
database; only then does the next getUpdates confirm them, and each stored update is handed
to the Application and marked handled. At start-up, stored updates not yet handled are
handled first. A duplicate never acts twice: storing ignores a known update id, and the
gatekeeper drops an update that was already handled.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.faults import crash_point
from bot.runtime import Runtime
from storage import inbox

log = logging.getLogger(__name__)


class DurablePoller:
    """Long-polls Telegram, keeping every update before confirming it."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], *,
                 timeout: int = 10) -> None:
        self.application = application
        self.runtime: Runtime = application.bot_data.runtime
        self.timeout = timeout
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def handle_stored(self) -> int:
        """Hand every stored, unhandled update to the Application, in order."""
        handled = 0
        while True:
            async with self.runtime.db.read() as conn:
                batch = await inbox.unhandled(conn)
            if not batch:
                return handled
            for data in batch:
                crash_point("inbox:before_handle")
                await self.application.process_update(
                    Update.de_json(data, self.application.bot))
                crash_point("inbox:before_mark")
                async with self.runtime.db.transaction() as conn:
                    await inbox.mark_handled(conn, data["update_id"], self.runtime.clock.now())
                handled += 1

    async def run(self) -> None:
        """Poll until ``stop``."""
        await self.application.bot.delete_webhook()
        await self.handle_stored()
        async with self.runtime.db.read() as conn:
            last = await inbox.last_update_id(conn)
        offset = None if last is None else last + 1
        backoff = 1.0
        stopping = asyncio.create_task(self._stop.wait())
        while not self._stop.is_set():
            poll = asyncio.create_task(self.application.bot.get_updates(
                offset=offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES,
                read_timeout=self.timeout + 5))
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not poll.done():
                poll.cancel()
                break
            try:
                updates = poll.result()
            except (InvalidToken, Conflict):
                raise
            except RetryAfter as error:
                wait = error.retry_after
                await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta)
                                    else float(wait))
                continue
            except NetworkError:
                log.warning("getUpdates failed; trying again in %.0fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            if not updates:
                continue
            async with self.runtime.db.transaction() as conn:
                await inbox.store(conn, [u.to_dict() for u in updates], self.runtime.clock.now())
            crash_point("inbox:after_store")
            offset = updates[-1].update_id + 1
            await self.handle_stored()
