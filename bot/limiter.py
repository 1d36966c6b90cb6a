"""The counters of one running bot's per-person limits (``bot.services.limits`` decides
with them): token buckets per person and today's filings, in memory only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

MINUTE = 60.0
HOUR = 3600.0


@dataclass
class Bucket:
    """What is left of a person's allowance, and when it was last topped up."""

    left: float
    at: float
    told: bool = False  # the person was told once since the allowance ran out
    exempt: bool | None = None  # read from the roles once the allowance ran out


@dataclass
class Rate:
    """Token buckets of one kind: ``allowance`` per ``period`` seconds, per person."""

    period: float
    buckets: dict[int, Bucket] = field(default_factory=dict)
    pruned_at: float = 0.0

    def take(self, telegram_id: int, allowance: int, now: float) -> Bucket | None:
        """Spend one unit; None if allowed, else the empty bucket (the caller decides)."""
        self._prune(allowance, now)
        bucket = self.buckets.get(telegram_id)
        if bucket is None:
            bucket = self.buckets[telegram_id] = Bucket(float(allowance), now)
        refill = max(0.0, now - bucket.at) * allowance / self.period
        bucket.left = min(float(allowance), bucket.left + refill)
        bucket.at = now
        if bucket.left >= 1:
            bucket.left -= 1
            bucket.told = False
            return None
        return bucket

    def _prune(self, allowance: int, now: float) -> None:
        """Forget the buckets that are full again (as good as never seen)."""
        if now - self.pruned_at < self.period and len(self.buckets) < 10_000:
            return
        self.pruned_at = now
        for telegram_id, bucket in list(self.buckets.items()):
            if bucket.left + max(0.0, now - bucket.at) * allowance / self.period >= allowance:
                del self.buckets[telegram_id]


@dataclass
class Limiter:
    """The counters of one running bot (kept on its :class:`~bot.runtime.Runtime`)."""

    updates: Rate = field(default_factory=lambda: Rate(MINUTE))
    status: Rate = field(default_factory=lambda: Rate(HOUR))
    day: date | None = None
    filings: dict[int, int] = field(default_factory=dict)
    #: Refusals to people who hold no role, by reason (not stored anywhere else).
    refusals: Counter[str] = field(default_factory=Counter)
