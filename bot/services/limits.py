"""Per-person limits: updates per minute, cases filed per day, /status look-ups per hour.

Counted in memory only, so that they leave no timeline of a person: each person has a
bucket (how much is left and when it was last topped up, forgotten once it is full again)
and a count of today's filings (one day for everyone, no times). A restart forgets it all.
Whoever holds a role is exempt; the roles are read from the database only when a limit is
reached. Refusals to people who hold no role are counted here too, instead of being stored
as case events (a stranger's forged presses must not fill the database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.limiter import Bucket, Limiter
from storage import directory
from storage.sql import Conn

if TYPE_CHECKING:
    from bot.runtime import Runtime

__all__ = ["Limiter", "admit_filing", "admit_status", "admit_update", "count_refusal",
           "filed", "holds_a_role"]

async def holds_a_role(runtime: Runtime, telegram_id: int) -> bool:
    """Whether the person holds any role now (staff are exempt from the limits)."""
    def work(conn: Conn) -> bool:
        return bool(directory.memberships_of(conn, telegram_id))
    return await runtime.db.read(work)


async def _over(runtime: Runtime, bucket: Bucket | None, telegram_id: int) -> str:
    if bucket is None:
        return "ok"
    if bucket.exempt is None:
        bucket.exempt = await holds_a_role(runtime, telegram_id)
    if bucket.exempt:
        return "ok"
    if bucket.told:
        return "drop"
    bucket.told = True
    return "tell"


async def admit_update(runtime: Runtime, telegram_id: int) -> str:
    """One more update from this person: ``ok``, or ``tell`` (the first one over the
    limit: say so) or ``drop`` (over the limit and told already: ignore it)."""
    now = runtime.clock.now().timestamp()
    allowance = runtime.config.limits.updates_per_minute
    return await _over(runtime, runtime.limiter.updates.take(telegram_id, allowance, now),
                       telegram_id)


async def admit_status(runtime: Runtime, telegram_id: int) -> bool:
    """One more /status look-up from this person: whether it is allowed."""
    now = runtime.clock.now().timestamp()
    allowance = runtime.config.limits.status_per_hour
    bucket = runtime.limiter.status.take(telegram_id, allowance, now)
    if bucket is None:
        return True
    if bucket.exempt is None:
        bucket.exempt = await holds_a_role(runtime, telegram_id)
    return bucket.exempt


def _today(runtime: Runtime) -> dict[int, int]:
    limiter = runtime.limiter
    today = runtime.clock.now().astimezone(runtime.config.general.tz).date()
    if limiter.day != today:
        limiter.day = today
        limiter.filings.clear()
    return limiter.filings


async def admit_filing(runtime: Runtime, telegram_id: int) -> bool:
    """Whether this person may file (or start filing) one more case today."""
    if _today(runtime).get(telegram_id, 0) < runtime.config.limits.cases_per_day:
        return True
    return await holds_a_role(runtime, telegram_id)


def filed(runtime: Runtime, telegram_id: int) -> None:
    """Count a case this person filed today."""
    filings = _today(runtime)
    filings[telegram_id] = filings.get(telegram_id, 0) + 1


def count_refusal(runtime: Runtime, reason: str) -> None:
    """Count a refusal to someone who holds no role (nothing is stored)."""
    runtime.limiter.refusals[reason] += 1
