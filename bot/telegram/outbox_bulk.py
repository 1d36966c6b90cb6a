"""The outbox's broadcast lane: rows owed to many people at once (``storage.outbox``'s
``enqueue_many``, a party item sent privately to every party member of a unit, perhaps ten
thousand), sent behind the interactive rows.

- A broadcast goes at most ``Rates.bulk_per_second`` (27 of Telegram's 30 a second), and
  each of its calls takes its overall turn only when no interactive call waits for one
  (``bot.telegram.pacing``): the interactive messages keep at least 3 a second whatever a
  broadcast does, and all 30 when they need them, and none of them queues behind the
  broadcast's rows.
- The lane reads ``Rates.bulk_batch`` rows at a time (about half a second of the
  broadcast, one per chat: ``storage.outbox.pending_bulk``), sends them side by side and
  reads again, beside the sender's interactive rounds, not in them: an interactive round
  waiting an official's one message a second does not hold the broadcast, and a batch of
  the broadcast holds no interactive row.
- What answers a person's own action, sent at once (``after_update``, ``send_claimed``),
  never takes a broadcast row (``storage.outbox.due_for_chat`` leaves them); it is counted
  in the overall bucket, so the broadcast slows down for it.
- A row of a broadcast is claimed, sent, retried, recorded and recovered after a crash
  exactly as any other (``bot.telegram.outbox``): marked ``sending`` only once its turn has
  come, so a stop or a crash in the middle of a broadcast loses nothing and sends again at
  most the rows Telegram had without an answer recorded. Only the leader runs the lane (with
  several instances on one database), and it stops at the next row when it stops leading; a
  new leader recovers the rows its predecessor left ``sending`` (``recover_orphans``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bot.runtime import Runtime
from bot.telegram.pacing import Rates
from storage import outbox
from storage.outbox import OutboxItem

#: Sends one row in its lane's pace; False when the chat's later rows must wait.
SendOne = Callable[[OutboxItem], Awaitable[bool]]


class BroadcastLane:
    """The broadcast rows due now, batch after batch, beside the interactive rounds."""

    def __init__(self, runtime: Runtime, rates: Rates, send: SendOne) -> None:
        self.runtime = runtime
        self.rates = rates
        self._send = send

    async def run(self, interactive: Callable[[], Awaitable[int]], wake: asyncio.Event,
                  idle: float) -> int:
        """Send the broadcast rows due now in a task of their own; meanwhile run the
        sender's ``interactive`` rounds at each ``wake`` (or after ``idle`` seconds without
        one, and once more at the end). Returns how many rows went in all, 0 at once if no
        broadcast row is due; a cancellation stops the broadcast too (at its next turn)."""
        first = await self._batch()
        if not first:
            return 0
        lane = asyncio.create_task(self._lane(first), name="sunbox-outbox-broadcast")
        sent = 0
        try:
            while not lane.done():
                woken = asyncio.ensure_future(wake.wait())
                try:
                    await asyncio.wait((woken, lane), timeout=idle,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
                wake.clear()
                sent += await interactive()
        finally:
            if not lane.done():
                lane.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane
        return sent + lane.result()

    async def _batch(self) -> list[OutboxItem]:
        if not self.runtime.leadership.is_leader:
            return []
        return await self.runtime.db.read(
            outbox.pending_bulk, self.runtime.clock.now(), self.rates.bulk_batch)

    async def _lane(self, items: list[OutboxItem]) -> int:
        sent = 0
        while items:
            went = sum(await asyncio.gather(*(self._one(item) for item in items)))
            sent += went
            if not went:
                break  # everything left waits for a retry time (a later round takes it)
            items = await self._batch()
        return sent

    async def _one(self, item: OutboxItem) -> bool:
        return self.runtime.leadership.is_leader and await self._send(item)
