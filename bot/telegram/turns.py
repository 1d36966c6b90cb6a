"""Several instances, one person at a time: each person's stored updates are handled by one
instance at a time, in ``update_id`` order, whichever instance received them.

Behind a load balancer, a person's updates may reach any instance (Telegram posts the next
one once the last got its 200, so they are stored in order; ``storage.inbox`` keeps whose
each is). An instance that stores an update does not hand it over as a single instance does
(``Handoff._take``); it wakes that person's turn:

1. take the person's turn (``storage.turns.take``: an advisory lock, never waited for). If
   another instance has it, that instance handles this update too (it looks again before
   and after giving the turn back), and this one goes on;
2. read the person's waiting updates in ``update_id`` order; for each, put back in memory
   what the database holds of the person (the dialog's state and drafts, written with their
   last update by whichever instance handled it: ``bot.telegram.conversation_states``),
   then hand it to the update processor and wait until it is handled;
3. read again until nothing waits, give the turn back, and look once more (an update stored
   by an instance that found the turn taken just before it was given back).

Gaps are not waited for: updates are handled in the order of those stored. An update that
Telegram could not deliver yet (its instance refused it, the network lost the answer) and
that arrives later is handled after the person's later ones stored before it; Telegram
itself only posts a person's next update once the last was answered, so this needs a
delivery that failed and was retried.

A sweep once a second (and at start) wakes the turns of people whose updates wait longer
than that: those of an instance that was killed (its turns were freed with its connection;
what it had begun is redone as after a crash), and any whose waking was missed (the
database was unreachable for a moment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import Update

from bot.telegram import retrying
from bot.telegram.conversation_states import persistent_dialogs, put_state, put_user_data
from storage import conversations, inbox, turns

if TYPE_CHECKING:
    from bot.telegram.poller import Handoff

log = logging.getLogger(__name__)

#: How often waiting updates are looked for, and how long one waits before it is swept.
SWEEP_EVERY = 1.0
DATABASE_ERRORS = retrying.DATABASE_TRANSIENT


class Turns:
    """Takes each person's turn to handle their stored updates (see the module's docs)."""

    def __init__(self, handoff: Handoff, *, sweep_every: float = SWEEP_EVERY) -> None:
        self.handoff = handoff
        self.runtime = handoff.runtime
        self.application = handoff.application
        self.dialogs = persistent_dialogs(handoff.application)
        self.sweep_every = sweep_every
        self._again: dict[int, bool] = {}  # people whose turn this instance is taking
        self._drains: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def wake(self, person: int) -> None:
        """An update of ``person`` was stored: have their waiting updates handled."""
        if person in self._again:
            self._again[person] = True  # the drain under way reads again
            return
        self._again[person] = False
        drain = asyncio.create_task(self._drain(person), name=f"sunbox-turn-{person}")
        self._drains.add(drain)
        drain.add_done_callback(self._drains.discard)

    async def sweep(self, *, waited: timedelta | None = None) -> int:
        """Wake the turn of everyone with updates waiting (longer than ``waited``)."""
        before = None if waited is None else self.runtime.clock.now() - waited
        people = await self.runtime.db.read(inbox.waiting_people, received_before=before)
        for person in people:
            if person not in self._again:
                self.wake(person)
        return len(people)

    def start_sweeping(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="sunbox-turn-sweeper")

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                await self.sweep(waited=timedelta(seconds=self.sweep_every))
            except DATABASE_ERRORS as error:
                log.warning("looking for waiting updates failed (%s)", type(error).__name__)

    async def settle(self) -> None:
        """Return once no turn is being taken (what waits meanwhile is taken too)."""
        while self._drains:
            await asyncio.gather(*self._drains, return_exceptions=True)

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop sweeping; let the turns under way finish (up to ``timeout``), else cancel
        them (their updates are handled again, as after a crash)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        try:
            await asyncio.wait_for(self.settle(), timeout)
        except TimeoutError:
            for drain in list(self._drains):
                drain.cancel()
            await asyncio.gather(*self._drains, return_exceptions=True)

    async def _drain(self, person: int) -> None:
        db = self.runtime.db
        try:
            while True:
                self._again[person] = False
                if not await db.read(turns.take, person):
                    return  # the holder handles what waits, before and after giving it back
                try:
                    await self._run(person)
                finally:
                    await db.read(turns.give_back, person)
                if not self._again[person] and not await db.read(inbox.waiting_of, person, 1):
                    return
        except DATABASE_ERRORS as error:
            log.warning("a person's updates could not be taken now (%s); the sweep comes "
                        "back to them", type(error).__name__)
        finally:
            del self._again[person]

    async def _run(self, person: int) -> None:
        """Handle the person's waiting updates, in order, until none waits."""
        db = self.runtime.db
        seen: set[int] = set()
        while True:
            batch = await db.read(inbox.waiting_of, person)
            done = [data["update_id"] for data in batch if data["update_id"] in seen]
            fresh = [data for data in batch if data["update_id"] not in seen]
            if done:  # handled, and no handler recorded it (a duplicate, one unreadable)
                await db.write(inbox.mark_handled, update_ids=done,
                               now=self.runtime.clock.now())
            if not fresh:
                if not done:
                    return
                continue
            for data in fresh:
                seen.add(data["update_id"])
                await self._one(person, data)

    async def _one(self, person: int, data: dict[str, Any]) -> None:
        handoff = self.handoff
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception:  # noqa: BLE001 - malformed: nothing in it can be acted on
            log.warning("update %s could not be read; skipped", data.get("update_id"))
            handoff.metrics.failed("update_unreadable")
            return
        if person:
            stored, states = await self.runtime.db.read(
                conversations.person_state, person, list(self.dialogs))
            put_user_data(self.application, person, stored)
            for name, handler in self.dialogs.items():
                put_state(handler, (person,), states[name])
        handled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def handle() -> None:
            try:
                await handoff.handle(update)
            finally:
                if not handled.done():
                    handled.set_result(None)

        await handoff.processor.process_update(update, handle())
        await handled
