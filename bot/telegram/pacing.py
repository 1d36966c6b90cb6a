"""The outbox sender's pace: its rates, a little under Telegram's limits, and the turns of
one row's calls to its chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Rates:
    """The sender's own pace, a little under Telegram's limits."""

    overall_per_second: float = 28.0
    chat_per_second: float = 1.0
    group_per_minute: float = 19.0
    parallel_chats: int = 32
    scale: float = 1.0  # tests and benchmarks run the same logic faster



class Pace:
    """The pace of one row's calls. The first call's turn is taken before the row is marked
    ``sending``; the others wait for theirs as they come."""

    def __init__(self, turn: Callable[[int], Awaitable[None]], chat_id: int,
                 paced: bool = True) -> None:
        self._turn = turn  # the sender's: wait until one more call may go to a chat
        self._chat_id = chat_id
        self._reserved = False
        self._paced = paced

    async def reserve(self) -> None:
        if self._paced:
            await self._turn(self._chat_id)
            self._reserved = True

    async def __call__(self, call: Callable[[], Awaitable[T]]) -> T:
        if self._reserved:
            self._reserved = False
        elif self._paced:
            await self._turn(self._chat_id)
        return await call()
