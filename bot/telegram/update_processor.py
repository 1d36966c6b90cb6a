"""Different people's updates at once, each person's in order: PTB's update processor.

A conversation cannot take two updates of one person at once (a second press could act on
the step the first is still leaving), and PTB's own concurrent processing runs any two
updates at once. ``PersonByPerson`` is the ``BaseUpdateProcessor`` that ``bot.app`` passes
to ``ApplicationBuilder.concurrent_updates``: each person's updates run one after another,
in the order they were handed over, and different people's side by side, at most
``max_concurrent_updates`` at a time. While one resident's case is being committed,
another's reply is already on its way.

A busy person must not take every slot. PTB's ``process_update`` (final) holds one slot
while ``do_process_update`` runs, so ``do_process_update`` only puts the update in its
person's queue and returns, and the slot is free again at once. Each person with queued
updates has one lane (a task) that hands them back to ``process_update`` one at a time,
marked as their turn; only then does the update run, in a slot. A person with a hundred
updates waiting holds one slot, and only while one of them runs.

For callers (the durable poller, the test bench):

- ``process_update(update, application.process_update(update))`` returns once the update
  is queued. ``join`` waits until every queued update has been handled; a caller that must
  know when one update is done hands over a coroutine that says so (``bot.telegram.poller`` marks
  it handled).
- One person's order is the order in which their updates reach the processor: hand them
  over one at a time (await each call), as the poller and the bench do. PTB's own
  ``update_queue`` path hands them over from one task per update; there the order is the
  order in which those tasks get a slot.
- The lane key (``person_of``) is the sender, the same as the dialog's conversation key
  (per user, not per chat: ``handlers.conversation``), so the state a step leaves is the
  state the person's next update finds and ``handlers.gate.finish`` writes.
  tests/transport/test_update_processor.py pins the two keys together.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Generator
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

log = logging.getLogger(__name__)

#: Updates handled at once under ``sunbox run`` (as many as the transport's connections).
PARALLEL = 64


def person_of(update: object) -> int | None:
    """Whose turn an update waits for: its sender's id, else its chat's (a channel post), else
    None (all such updates share one lane; the gatekeeper drops them)."""
    if not isinstance(update, Update):
        return None
    for who in (update.effective_user, update.effective_chat):
        if who is not None and isinstance(who.id, int) and not isinstance(who.id, bool):
            return who.id
    return None


def person_key(data: dict[str, Any]) -> int:
    """``person_of`` of an update as Telegram sent it (a dict, not yet read into PTB's
    objects), 0 for no one: whose it is, stored beside it (``storage.inbox``) so that the
    instances sharing a database take each person's turn (``bot.telegram.turns``)."""
    for key, value in data.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value.get("from"), value.get("user"), value.get("chat"),
                       (value.get("message") or {}).get("chat")):
            if isinstance(holder, dict):
                who = holder.get("id")
                if isinstance(who, int) and not isinstance(who, bool):
                    return who
    return 0


class _Turn:
    """An update's coroutine, handed back to ``process_update`` when its person's turn has
    come: ``do_process_update`` runs it instead of queuing it."""

    __slots__ = ("coroutine",)

    def __init__(self, coroutine: Awaitable[Any]) -> None:
        self.coroutine = coroutine

    def __await__(self) -> Generator[Any, None, Any]:
        return self.coroutine.__await__()


class PersonByPerson(BaseUpdateProcessor):
    """Runs each person's updates in order, different people's in parallel."""

    def __init__(self, max_concurrent_updates: int = PARALLEL) -> None:
        super().__init__(max_concurrent_updates)
        self._queues: dict[int | None, deque[tuple[object, Awaitable[Any]]]] = {}
        self._lanes: set[asyncio.Task[None]] = set()
        self.pending = 0  # queued and not yet handled

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Let the queued updates finish (PTB flushes persistence after this)."""
        await self.join()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Queue the update behind its person's earlier ones, or run it if its turn came."""
        if isinstance(coroutine, _Turn):
            await coroutine
            return
        person = person_of(update)
        self.pending += 1
        queue = self._queues.get(person)
        if queue is not None:
            queue.append((update, coroutine))
            return
        queue = self._queues[person] = deque([(update, coroutine)])
        lane = asyncio.create_task(self._lane(person, queue), name=f"sunbox-person-{person}")
        self._lanes.add(lane)
        lane.add_done_callback(self._lanes.discard)

    async def _lane(self, person: int | None,
                    queue: deque[tuple[object, Awaitable[Any]]]) -> None:
        try:
            while queue:
                update, coroutine = queue[0]
                try:
                    await self.process_update(update, _Turn(coroutine))
                except Exception:  # noqa: BLE001 - one update must not stop its person's lane
                    log.exception("an update could not be handled")
                queue.popleft()
                self.pending -= 1
        finally:
            del self._queues[person]
            # Cancelled (``cancel``): what was never started is dropped without a warning.
            self.pending -= len(queue)
            for _update, coroutine in queue:
                if inspect.iscoroutine(coroutine):
                    coroutine.close()

    async def join(self) -> None:
        """Wait until every queued update has been handled (also those queued meanwhile)."""
        while self._lanes:
            await asyncio.wait(set(self._lanes))

    async def cancel(self) -> None:
        """Stop every lane now; their updates are not handled (at shutdown, when waiting for
        them took too long: the poller hands them over again at the next start)."""
        for lane in list(self._lanes):
            lane.cancel()
        await asyncio.gather(*self._lanes, return_exceptions=True)


def processor_of(application: Application[Any, Any, Any, Any, Any, Any]) -> PersonByPerson:
    """The application's update processor (``bot.app`` installs ``PersonByPerson``)."""
    processor = application.update_processor
    if not isinstance(processor, PersonByPerson):
        raise TypeError(f"expected a PersonByPerson update processor, not {processor!r}")
    return processor
