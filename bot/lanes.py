"""Different people's updates at once, each person's in order.

PTB's own ``concurrent_updates`` runs any two updates at once, also two of the same person,
which a conversation cannot take (a second press could act on the step the first is still
leaving). Here every update goes to the lane of its sender (or its chat when there is no
sender): a lane handles its updates one after another, in Telegram's order, and different
lanes run side by side, at most ``limit`` updates at a time. While one resident's case is
being committed, another's reply is already on its way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


def lane_of(data: dict[str, Any]) -> int:
    """The lane of a raw update: its sender's id, else its chat's, else 0."""
    for value in data.values():
        if not isinstance(value, dict):
            continue
        sender = value.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
        chat = value.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        message = value.get("message")  # a callback query's message
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat_id = message["chat"].get("id")
            if isinstance(chat_id, int):
                return chat_id
    return 0


class Lanes:
    """Runs ``handle(update)`` per lane in order, lanes in parallel, ``limit`` at a time."""

    def __init__(self, handle: Callable[[dict[str, Any]], Awaitable[None]], *,
                 limit: int = 64) -> None:
        self._handle = handle
        self._queues: dict[int, deque[dict[str, Any]]] = {}
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.pending = 0  # taken in and not yet handled

    def put(self, data: dict[str, Any]) -> None:
        """Queue an update behind the earlier ones of its lane."""
        lane = lane_of(data)
        self.pending += 1
        self._idle.clear()
        queue = self._queues.get(lane)
        if queue is not None:
            queue.append(data)
            return
        self._queues[lane] = deque([data])
        task = asyncio.create_task(self._run(lane), name=f"sunbox-lane-{lane}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, lane: int) -> None:
        queue = self._queues[lane]
        try:
            while queue:
                data = queue[0]
                async with self._slots:
                    try:
                        await self._handle(data)
                    except Exception:  # noqa: BLE001 - one update must not stop its lane
                        log.exception("update %s could not be handled", data.get("update_id"))
                queue.popleft()
                self.pending -= 1
        finally:
            del self._queues[lane]
            if not self._queues:
                self._idle.set()

    async def idle(self) -> None:
        """Wait until every update taken in has been handled."""
        await self._idle.wait()

    async def cancel(self) -> None:
        """Stop all lanes now (at shutdown; unhandled updates stay stored for next time)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
