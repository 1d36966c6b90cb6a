"""Telegram's flood limits, as the emulator enforces them when asked to.

Token buckets: about 30 messages a second overall, 1 a second per private chat with a
short burst, 20 a minute per group. A message over a limit is answered 429 with
``retry_after``, as Telegram does; ``throttled`` counts them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float) -> float:
        """Take a token; 0.0 if there was one, else the seconds until there is."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class FloodLimits:
    """Limits per second ``scale``d (tests run Telegram's limits ten times faster)."""

    overall_per_second: float = 30.0
    chat_per_second: float = 1.0
    chat_burst: float = 3.0
    group_per_minute: float = 20.0
    scale: float = 1.0
    clock: Callable[[], float] = time.monotonic
    throttled: int = 0
    _overall: Bucket | None = None
    _chats: dict[int, Bucket] = field(default_factory=dict)

    def check(self, chat_id: int, is_group: bool) -> int | None:
        """None if a message to ``chat_id`` may go now, else the retry_after in seconds."""
        now = self.clock()
        if self._overall is None:
            self._overall = Bucket(self.overall_per_second * self.scale,
                                   self.overall_per_second * self.scale)
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = (Bucket(self.group_per_minute, self.group_per_minute / 60 * self.scale)
                      if is_group else
                      Bucket(self.chat_burst, self.chat_per_second * self.scale))
            self._chats[chat_id] = bucket
        wait = max(bucket.take(now), self._overall.take(now))
        if wait <= 0:
            return None
        self.throttled += 1
        return max(1, math.ceil(wait))
