"""The outbox sender's pace: its rates, a little under Telegram's limits, the turns of each
lane (:class:`Turns`), and the turns of one row's calls to its chat (:class:`Pace`).

Telegram allows about 30 messages a second overall and one a second to a private chat (20
a minute to a group). The sender keeps 30 a second overall, and a broadcast (the bulk
lane, ``bot.telegram.outbox_bulk``) at most ``bulk_per_second`` of them, 27: at least 3 a
second stay for the interactive messages (receipts, case cards) whatever a broadcast does.
A turn of the overall bucket goes to an interactive row before any broadcast row waiting
for one, so an interactive row never queues behind a broadcast; a reply sent at once
(unpaced, as a direct answer) takes no turn but is counted in the bucket, so the
broadcast gives way to it instead of the two together passing Telegram's 30. What the
handlers send themselves (a conversation's prompts and edits) does not pass the sender and
is not counted yet: beyond 3 such calls a second beside a broadcast, Telegram answers 429
(``bench/README_broadcast.md``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiolimiter import AsyncLimiter

from storage.outbox import OutboxItem

T = TypeVar("T")
#: The calls the overall bucket lets go at once after a pause, in seconds of its rate.
#: Telegram's own bucket takes a second's worth: a third leaves two thirds of a second of
#: slack for calls that take longer to arrive than those sent after them.
BURST_SECONDS = 1 / 3
#: The same for a broadcast's own bucket: a pause of up to a second (a slow disk, a busy
#: machine) is made up for afterwards, within the overall rate, so that a broadcast keeps
#: its 27 a second on average.
BULK_BURST_SECONDS = 1.0
#: Turns a call that is not urgent leaves in a bucket for urgent ones: a filing's receipt
#: and its cards, owed at once, go at once beside a broadcast.
KEPT_FOR_URGENT = 3.0


@dataclass(frozen=True)
class Rates:
    """The sender's own pace, at or a little under Telegram's limits."""

    overall_per_second: float = 30.0
    #: A broadcast's share of the overall rate (the rest is kept for interactive messages).
    bulk_per_second: float = 27.0
    #: Broadcast rows read and sent at a time: about half a second of the broadcast.
    bulk_batch: int = 14
    chat_per_second: float = 1.0
    group_per_minute: float = 19.0
    parallel_chats: int = 32
    scale: float = 1.0  # tests and benchmarks run the same logic faster


class Bucket:
    """A token bucket on the event loop's clock: ``rate`` turns a second, up to ``burst`` at
    once after a pause, in the order asked; an urgent turn goes before every other waiting,
    and the others leave :data:`KEPT_FOR_URGENT` turns in the bucket (a broadcast taking
    every turn as it comes made each interactive call wait for the next, 17 ms on average,
    while its average rate is the same either way). ``charge`` counts a call that went
    without a turn (the bucket may owe turns then)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._floor = 1.0 + min(KEPT_FOR_URGENT, self.burst - 1.0)  # a turn not urgent
        self._stamp: float | None = None
        self._urgent = 0  # urgent turns asked and not yet given
        self._urgent_line = asyncio.Lock()  # FIFO: the turns in the order asked
        self._other_line = asyncio.Lock()

    def _fill(self) -> float:
        now = asyncio.get_running_loop().time()
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return self._tokens

    def charge(self) -> None:
        self._fill()
        self._tokens -= 1.0

    def refund(self) -> None:
        """A turn taken (or charged) for a call that was not made after all."""
        self._tokens = min(self.burst, self._fill() + 1.0)

    async def take(self, *, urgent: bool = True) -> None:
        """Wait for a turn: an urgent one as soon as the rate allows, another only when no
        urgent turn is waiting too."""
        if not urgent:
            async with self._other_line:
                while True:
                    tokens = self._fill()
                    if not self._urgent and tokens >= self._floor:
                        break
                    await asyncio.sleep(max(self._floor - tokens, 1.0) / self.rate)
                self._tokens -= 1.0
            return
        self._urgent += 1
        try:
            async with self._urgent_line:
                while (tokens := self._fill()) < 1.0:
                    await asyncio.sleep((1.0 - tokens) / self.rate)
                self._tokens -= 1.0
        finally:
            self._urgent -= 1


class Turns:
    """One sender's limiters: the overall bucket, the broadcasts' own, one per chat."""

    def __init__(self, rates: Rates) -> None:
        self.rates = rates
        scale = rates.scale
        overall, bulk = rates.overall_per_second * scale, rates.bulk_per_second * scale
        self.overall = Bucket(overall, overall * BURST_SECONDS)
        self.bulk = Bucket(bulk, bulk * BULK_BURST_SECONDS)
        self._chats: dict[int, AsyncLimiter] = {}

    def chat(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            scale = self.rates.scale
            limiter = (AsyncLimiter(self.rates.chat_per_second * scale, 1) if chat_id > 0
                       else AsyncLimiter(self.rates.group_per_minute, 60 / scale))
            self._chats[chat_id] = limiter
        return limiter

    def of(self, item: OutboxItem, *, paced: bool = True) -> Callable[[int], Awaitable[None]]:
        """A row's turn: a broadcast's, an interactive row's, or none (not ``paced``)."""
        return self.at_once if not paced else self.broadcast if item.bulk else self.interactive

    def unused(self, item: OutboxItem, *, paced: bool = True) -> None:
        """The turn :meth:`of` a row another round or instance sent after all goes back
        (its chat's stays spent)."""
        self.overall.refund()
        if paced and item.bulk:
            self.bulk.refund()

    async def interactive(self, chat_id: int) -> None:
        """Wait until one more interactive call may go, overall and to this chat."""
        await self.overall.take()
        await self.chat(chat_id).acquire()

    async def broadcast(self, chat_id: int) -> None:
        """Wait until one more call of a broadcast may go: within the broadcasts' rate, to
        this chat, and overall when no interactive call waits for its turn."""
        await self.bulk.take()
        await self.chat(chat_id).acquire()
        await self.overall.take(urgent=False)

    async def at_once(self, chat_id: int) -> None:
        """A call that does not wait (a reply to a person's own action): counted only."""
        self.overall.charge()


class Pace:
    """The pace of one row's calls. The first call's turn is taken before the row is marked
    ``sending``; the others wait for theirs as they come."""

    def __init__(self, turn: Callable[[int], Awaitable[None]], chat_id: int) -> None:
        self._turn = turn  # one of the sender's Turns: wait until one more call may go
        self._chat_id = chat_id
        self._reserved = False

    async def reserve(self) -> None:
        await self._turn(self._chat_id)
        self._reserved = True

    async def __call__(self, call: Callable[[], Awaitable[T]]) -> T:
        if self._reserved:
            self._reserved = False
        else:
            await self._turn(self._chat_id)
        return await call()
