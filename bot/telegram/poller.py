"""A durable replacement for PTB's long-polling Updater.

PTB's Updater confirms an update to Telegram (the next getUpdates offset) before the
handlers have run, so a crash loses it. Here each batch of updates is first stored in the
database; only then does the next getUpdates confirm them, and each stored update is handed
to the Application and marked handled. At start-up, stored updates not yet handled are
handled first. Updates are kept as Telegram sent them and read into PTB's objects once,
when handled (reading a batch on arrival and writing it back out for storage cost an eighth
of the bot's processor time under load); one that cannot be read is skipped, not retried.
Updates go through the Application's update processor (``bot.telegram.update_processor``), as PTB's
own ``update_queue`` path would hand them over: different people's side by side, each
person's in order. A duplicate never acts twice: storing ignores a known update id, and the
gatekeeper drops an update that was already handled.

A database that cannot take the batch for now (locked, full) stops nothing: the batch is
not confirmed, the poller backs off and asks again (Telegram sends the same updates), and
marking updates handled is tried again later. Errors are logged without the bot token
(``bot.redaction``; aiohttp's carry the URL).

A 409 Conflict means another program polls with the same token (a second Sunbox on another
machine, a test copy, a webhook set elsewhere): Telegram ends one long poll whenever the
other asks. It is one line in the operator's language and a pause that grows, never the end
of the bot: whichever copy should not run is for a person to stop. A token refused while
running (``InvalidToken``) does end the run: ``sunbox run`` says so and exits with status 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.faults import crash_point, fault_point
from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services.health import PollBeat
from bot.telegram import retrying
from bot.telegram.connect import reason_of
from bot.telegram.persistence import storable_id
from bot.telegram.telegram_updates import raw_updates
from bot.telegram.update_processor import processor_of
from storage import inbox

log = logging.getLogger(__name__)


# The pauses after failures come from the one retry policy (bot/telegram/retrying.py).
FIRST_RETRY = retrying.POLLING.first
LAST_RETRY = retrying.POLLING.most
CONFLICT_RETRY = retrying.CONFLICT.first
MSG_CONFLICT = N_("Telegram answered 409 Conflict to getUpdates ({reason}): another program "
                  "is receiving this bot's updates with the same token. Stop the other copy "
                  "or give this one its own bot; trying again in {seconds:.0f} s.")
DATABASE_ERRORS = retrying.DATABASE_TRANSIENT


class DurablePoller:
    """Long-polls Telegram, keeping every update before confirming it."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], *,
                 timeout: int = 10, backlog: int = 1000,
                 t: Translate | None = None, conflict_retry: float = CONFLICT_RETRY) -> None:
        self.application = application
        self.t: Translate = t or (lambda message: message)
        self.conflict_retry = conflict_retry
        self.runtime: Runtime = application.bot_data.runtime
        self.timeout = timeout
        self.backlog = backlog
        self.processor = processor_of(application)
        self._stop = asyncio.Event()
        self._done: list[int] = []
        self._marking: asyncio.Task[None] | None = None
        self.beat = PollBeat(self.runtime)  # the last successful poll, for sunbox status

    def stop(self) -> None:
        self._stop.set()

    async def _pause(self, seconds: float) -> None:
        """Wait before trying again, or until stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _take(self, data: dict[str, Any]) -> None:
        """Hand a stored update to the update processor, behind its person's earlier ones."""
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception:  # noqa: BLE001 - malformed: nothing in it can be acted on
            log.warning("update %s could not be read; skipped", data.get("update_id"))
            self._handled(data["update_id"])
            return
        await self.processor.process_update(update, self._handle(update))

    async def _handle(self, update: Update) -> None:
        """Handle one update (when its person's turn has come), then have it marked."""
        crash_point("inbox:before_handle")
        await self.application.process_update(update)
        crash_point("inbox:before_mark")
        self._handled(update.update_id)

    def _handled(self, update_id: int) -> None:
        self._done.append(update_id)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_done())

    async def _mark_done(self) -> None:
        """Mark handled updates, as many as have gathered, in one transaction.

        Only an optimisation for the next start: each update's own effects and its
        "processed" record were committed together, so one handled again is dropped.
        """
        backoff = FIRST_RETRY
        while self._done:
            done, self._done = self._done, []
            try:
                fault_point("poller:mark")
                await self.runtime.db.write(
                    inbox.mark_handled, update_ids=done, now=self.runtime.clock.now())
            except DATABASE_ERRORS as error:
                self._done[:0] = done
                log.warning("marking updates handled failed (%s); again in %.1fs",
                            type(error).__name__, backoff)
                if self._stop.is_set():
                    return  # handled again at the next start, where the gate drops them
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)

    async def _settle(self) -> None:
        await self.processor.join()
        if self._marking is not None:
            await self._marking
        await self._mark_done()

    async def handle_stored(self) -> int:
        """Hand every stored, unhandled update to the Application (each person's in order)."""
        handled = 0
        while True:
            batch = await self.runtime.db.read(inbox.unhandled)
            if not batch:
                return handled
            for data in batch:
                await self._take(data)
            await self._settle()
            handled += len(batch)

    async def run(self) -> None:
        """Poll until ``stop``; then let the updates taken in finish (up to 30 s)."""
        try:
            await self._poll()
        finally:
            try:
                await asyncio.wait_for(self._settle(), 30)
            except TimeoutError:
                log.warning("updates still running at shutdown: they are handled next start")
                await self.processor.cancel()

    async def _start(self) -> int | None:
        """Handle what was kept from before; the first offset to ask for."""
        kept = await self.handle_stored()
        if kept:
            log.info("%d update(s) kept from before the start handled", kept)
        last = await self.runtime.db.read(inbox.last_update_id)
        return None if last is None else last + 1

    async def _poll(self) -> None:
        await self.application.bot.delete_webhook()
        backoff = FIRST_RETRY
        while True:
            try:
                offset = await self._start()
                break
            except DATABASE_ERRORS as error:
                log.warning("database unavailable at start (%s); again in %.1fs",
                            type(error).__name__, backoff)
                if self._stop.is_set():
                    return
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)
        backoff = FIRST_RETRY
        conflict_pause = self.conflict_retry
        stopping = asyncio.create_task(self._stop.wait())
        while not self._stop.is_set():
            if self.processor.pending >= self.backlog:
                await self.processor.join()
            poll = asyncio.create_task(self._get_updates(offset))
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not poll.done():
                poll.cancel()
                break
            try:
                updates = poll.result()
            except InvalidToken:
                raise
            except Conflict as error:
                log.warning(self.t(MSG_CONFLICT).format(reason=error.message,
                                                        seconds=conflict_pause))
                await self._pause(conflict_pause)
                conflict_pause = min(conflict_pause * 2, retrying.CONFLICT.most)
                continue
            except RetryAfter as error:
                await self._pause(retrying.retry_after_seconds(error))
                continue
            except NetworkError as error:
                log.warning("getUpdates failed (%s); trying again in %.1fs",
                            reason_of(error), backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)
                continue
            conflict_pause = self.conflict_retry
            if not updates:
                backoff = FIRST_RETRY
                continue
            try:
                fault_point("poller:store")
                await self.runtime.db.write(
                    inbox.store, updates=updates, now=self.runtime.clock.now())
            except DATABASE_ERRORS as error:
                # Not confirmed: the next getUpdates from the same offset brings them again.
                log.warning("storing %d update(s) failed (%s: %s); again in %.1fs",
                            len(updates), type(error).__name__, error, backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)
                continue
            backoff = FIRST_RETRY
            crash_point("inbox:after_store")
            offset = max(u["update_id"] for u in updates) + 1
            for data in updates:
                await self._take(data)

    async def _get_updates(self, offset: int | None) -> list[dict[str, Any]]:
        """The next updates, as Telegram sent them (each with an update id)."""
        result = await raw_updates(self.application.bot, offset, self.timeout)
        await self.beat.polled()
        if not isinstance(result, list):
            return []
        return [u for u in result if isinstance(u, dict) and storable_id(u.get("update_id"))]
