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

What happens to an update once it is stored is ``Handoff``'s, shared with the webhook
(``bot.telegram.webhook``): whichever way an update came, it is read, handed to the update
processor, counted (``bot.metrics``) and marked handled the same way. A poller that starts
while a webhook is set (the bot ran in webhook mode before) deletes it first: Telegram
answers getUpdates with 409 as long as one is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.faults import crash_point, fault_point
from bot.i18n import N_, Translate
from bot.metrics import metrics_of
from bot.runtime import Runtime
from bot.services.health import PollBeat
from bot.telegram import retrying
from bot.telegram.connect import reason_of
from bot.telegram.persistence import storable_id
from bot.telegram.telegram_updates import raw_updates
from bot.telegram.update_processor import person_key, processor_of
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
#: The updates Telegram is asked for, by getUpdates (``bot.telegram.telegram_updates``) and by
#: setWebhook (``bot.telegram.webhook``) alike.
ALLOWED_UPDATES: list[str] = list(Update.ALL_TYPES)


class Handoff:
    """Stored updates to the Application: each read once into PTB's objects, handed to the
    update processor behind its person's earlier ones, counted, and marked handled."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.application = application
        self.runtime: Runtime = application.bot_data.runtime
        self.processor = processor_of(application)
        self.metrics = metrics_of(application)
        self._stop = asyncio.Event()
        self._done: list[int] = []
        self._marking: asyncio.Task[None] | None = None

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
            self.metrics.failed("update_unreadable")
            self._handled(data["update_id"])
            return
        await self.processor.process_update(update, self.handle(update))

    async def handle(self, update: Update) -> None:
        """Handle one update (when its person's turn has come), then have it marked."""
        crash_point("inbox:before_handle")
        started = time.perf_counter()
        await self.application.process_update(update)
        self.metrics.handled(time.perf_counter() - started)
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

    async def settle(self) -> None:
        """Return once every update handed over is handled and marked (or marking failed)."""
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
            await self.settle()
            handled += len(batch)

    async def _start_stored(self) -> bool:
        """Handle what was kept from before, trying again while the database cannot be
        read; False if stopped first."""
        backoff = FIRST_RETRY
        while True:
            try:
                kept = await self.handle_stored()
            except DATABASE_ERRORS as error:
                log.warning("database unavailable at start (%s); again in %.1fs",
                            type(error).__name__, backoff)
                if self._stop.is_set():
                    return False
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)
                continue
            if kept:
                log.info("%d update(s) kept from before the start handled", kept)
            return True

    async def _finish(self) -> None:
        """Let the updates taken in finish (up to 30 s); what is left is handled next start."""
        try:
            await asyncio.wait_for(self.settle(), 30)
        except TimeoutError:
            log.warning("updates still running at shutdown: they are handled next start")
            await self.processor.cancel()


class DurablePoller(Handoff):
    """Long-polls Telegram, keeping every update before confirming it."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], *,
                 timeout: int = 10, backlog: int = 1000,
                 t: Translate | None = None, conflict_retry: float = CONFLICT_RETRY) -> None:
        super().__init__(application)
        self.t: Translate = t or (lambda message: message)
        self.conflict_retry = conflict_retry
        self.timeout = timeout
        self.backlog = backlog
        self.beat = PollBeat(self.runtime)  # the last successful poll, for sunbox status

    async def run(self) -> None:
        """Poll until ``stop``; then let the updates taken in finish (up to 30 s)."""
        try:
            await self._poll()
        finally:
            await self._finish()

    async def _start(self) -> int | None:
        """Handle what was kept from before; the first offset to ask for (None: stopped
        first, or nothing kept yet)."""
        if not await self._start_stored():
            return None
        backoff = FIRST_RETRY
        while True:
            try:
                last = await self.runtime.db.read(inbox.last_update_id)
                return None if last is None else last + 1
            except DATABASE_ERRORS as error:
                log.warning("database unavailable at start (%s); again in %.1fs",
                            type(error).__name__, backoff)
                if self._stop.is_set():
                    return None
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)

    async def _leave_webhook(self) -> None:
        """Delete the webhook if one is set (the bot ran in webhook mode before): getUpdates
        answers 409 while one is. Asked again while Telegram cannot be reached."""
        backoff = FIRST_RETRY
        while not self._stop.is_set():
            try:
                info = await self.application.bot.get_webhook_info()
                if info.url:
                    log.info("a webhook is set: deleting it to poll")
                    await self.application.bot.delete_webhook()
                return
            except InvalidToken:
                raise
            except RetryAfter as error:
                await self._pause(retrying.retry_after_seconds(error))
            except NetworkError as error:
                log.warning("getWebhookInfo failed (%s); trying again in %.1fs",
                            reason_of(error), backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)

    async def _poll(self) -> None:
        await self._leave_webhook()
        offset = await self._start()
        if self._stop.is_set():
            return
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
                await self.runtime.db.write(inbox.store, updates=updates,
                                            now=self.runtime.clock.now(), person_of=person_key)
            except DATABASE_ERRORS as error:
                # Not confirmed: the next getUpdates from the same offset brings them again.
                self.metrics.failed("inbox_store")
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
