"""Which instance does the work that must be done once: the leader.

Several ``sunbox run`` processes may share one PostgreSQL database (webhook mode). Each of
them handles the updates it receives, but some work must be done by one of them only:

- the outbox sender's rounds, so that Telegram's 30 messages a second hold for the bot as
  a whole (``bot.telegram.outbox``);
- the alarm job, so that alarms are fired by one scheduler (the database also makes each
  fire once: an alarm is marked fired in the transaction that writes its messages);
- every job that runs once per deployment (``handlers.jobs``).

:class:`Leadership` is the single instance's: SQLite, or PostgreSQL polling (one poller per
token, held by the instance lock). It always leads and needs no lease.

:class:`LeaseLeadership` is a cluster member's. It holds the lease ``leader`` in the
database (``storage.leases``). Every instance claims it every third of ``lease_timeout``
(the leader renews it, the others try to take it), and a claim holds for two thirds: an
instance that dies (SIGKILL) renews no more, its claim runs out at most two thirds of
``lease_timeout`` after its death, and another instance takes the lease at its next claim,
a third later at most. So the others take over within ``lease_timeout``. On taking it, the
new leader runs the callbacks given to :meth:`Leadership.on_gain` before it counts as
leader: the outbox's ``recover`` (rows the dead leader left ``sending`` go once more, or
are given up, exactly as after a crash) and a fresh look for the next alarm. An instance
that stops releases the lease, so another takes over at its next claim instead of waiting
for the lease to run out.

Every claim also renews the instance's membership lease (``storage.leases.MEMBER``): it
says the instance is alive. An outbox row marked ``sending`` records who marked it, so the
leader's ``recover`` (on taking the lead, and after each renewal) sends again only the rows
of instances whose membership ran out, never one a live instance has in hand for a direct
reply (``OutboxSender.after_update``).

A leader counts as one (:attr:`Leadership.is_leader`) only while the lease it last claimed
holds by its own clock, less a sixth of ``lease_timeout``: a message it begins to send
after that might still be under way when another instance takes over. The instances'
clocks must agree to well within that (NTP does). A leader that cannot reach the database
stops leading when its lease runs out, as the others see it; one failed renewal costs it
nothing but that pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from storage import leases
from storage.db import Database

log = logging.getLogger(__name__)

#: The lease of the leader.
LEADER = "leader"
#: Seconds within which a dead leader is replaced, by default (``[cluster] lease_timeout``).
LEASE_TIMEOUT = 15.0

Callback = Callable[[], Awaitable[None]]


def default_holder() -> str:
    """This process among all of the deployment's: ``host:pid:random`` (the random part
    tells apart two processes that got the same pid on the same host, one after the other)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Leadership:
    """A single instance: it always leads. :meth:`start` runs the callbacks given to
    :meth:`on_gain` once; the others are never called."""

    holder = "sole"

    def __init__(self) -> None:
        self._gained: list[Callback] = []
        self._lost: list[Callback] = []
        self._renewed: list[Callback] = []

    @property
    def is_leader(self) -> bool:
        return True

    def on_gain(self, callback: Callback) -> None:
        """Run ``callback`` on becoming leader, before counting as one (in order)."""
        self._gained.append(callback)

    def on_loss(self, callback: Callback) -> None:
        """Run ``callback`` on ceasing to be leader (another took over, or the lease ran
        out)."""
        self._lost.append(callback)

    def on_renew(self, callback: Callback) -> None:
        """Run ``callback`` after each renewal while leading: for what the other instances
        may have written since (an alarm, a message owed)."""
        self._renewed.append(callback)

    async def confirm(self) -> bool:
        """Whether this instance leads, before work that only the leader does."""
        return True

    async def start(self) -> None:
        """Lead: the gain callbacks run now; an error in one is the caller's (as at
        start-up)."""
        for callback in self._gained:
            await callback()

    async def stop(self, *, release: bool = True) -> None:
        """Nothing to give up."""


class LeaseLeadership(Leadership):
    """A member of a cluster: leads while it holds the lease :data:`LEADER`."""

    def __init__(self, database: Database, clock: Clock, lease_timeout: float = LEASE_TIMEOUT,
                 *, holder: str | None = None, name: str = LEADER) -> None:
        super().__init__()
        if lease_timeout <= 0:
            raise ValueError("lease_timeout must be positive")
        self.database = database
        self.clock = clock
        self.lease_timeout = lease_timeout
        self.holder = holder or default_holder()
        self.name = name
        #: Seconds between claims (renewals, or tries to take the lease).
        self.interval = lease_timeout / 3
        self._length = timedelta(seconds=lease_timeout * 2 / 3)  # of a claim
        self._margin = timedelta(seconds=lease_timeout / 6)
        self._until: datetime | None = None  # of the last claim that succeeded
        self._leading = False  # the gain callbacks ran since the lease was taken
        self._owed: list[Callback] = []  # gain callbacks not yet done
        self._task: asyncio.Task[None] | None = None
        self._ticking = asyncio.Lock()

    @property
    def is_leader(self) -> bool:
        return self._leading and self._in_time()

    def _in_time(self) -> bool:
        return self._until is not None and self.clock.now() < self._until - self._margin

    async def confirm(self) -> bool:
        """Whether this instance leads; one that led until its lease ran out by its clock
        without a renewal since (an event loop held up, a clock moved by hand) renews it
        first, keeping the lead if nobody else took it meanwhile. The jobs, the alarms and
        the outbox's rounds ask this before they work. While a renewal is under way (a
        callback of it may be the one asking), the answer is the one at hand."""
        if self.is_leader or not self._leading or self._ticking.locked():
            return self.is_leader
        return await self.tick()

    async def tick(self) -> bool:
        """One renewal (or a try to take the lease), with the callbacks it calls for;
        whether this instance leads after it. The background task calls it every
        :attr:`interval` seconds; tests call it after moving the clock."""
        async with self._ticking:
            return await self._tick()

    async def _tick(self) -> bool:
        now = self.clock.now()
        until = now + self._length
        try:
            held = await self.database.write(leases.claim_as_member, self.name, self.holder,
                                             now, until)
        except Exception as error:  # noqa: BLE001 - the lease holds until it runs out
            log.warning("lease %s: renewal failed (%s)", self.name, type(error).__name__)
            if self._leading and not self._in_time():
                await self._lose("its lease ran out")
            return self.is_leader
        if not held:
            self._until = None
            self._owed = []
            if self._leading:
                await self._lose("another instance holds the lease")
            return False
        self._until = until
        if self._leading:
            await self._call(self._renewed, "renewal")
            return self.is_leader
        if not self._owed:
            log.info("lease %s taken by %s", self.name, self.holder)
            self._owed = list(self._gained)
        while self._owed:
            try:
                await self._owed[0]()
            except Exception:  # noqa: BLE001 - tried again at the next renewal
                log.exception("lease %s: taking over failed; tried again at the next renewal",
                              self.name)
                return False
            self._owed.pop(0)
        self._leading = True
        return self.is_leader

    async def _lose(self, why: str) -> None:
        log.warning("lease %s lost by %s: %s", self.name, self.holder, why)
        self._leading = False
        self._owed = []
        await self._call(self._lost, "loss")

    async def _call(self, callbacks: list[Callback], what: str) -> None:
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # noqa: BLE001 - one callback must not stop the others
                log.exception("lease %s: a callback after its %s failed", self.name, what)

    async def start(self) -> None:
        """Try to take the lease now (a lone instance leads at once), then renew it every
        :attr:`interval` seconds in the background."""
        await self.tick()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sunbox-lease")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:  # the renewals must survive anything
                log.exception("lease %s: renewal failed", self.name)

    async def stop(self, *, release: bool = True) -> None:
        """Stop renewing and give the lease up, so another instance takes over at once
        (``release=False``: keep it until it runs out, as a killed process would). Call it
        after the outbox sender has stopped: what it was sending is then recovered by the
        next leader as after a crash, and nothing is sent by both."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not release:
            return
        async with self._ticking:
            self._leading = False
            self._until = None
            try:
                await self.database.write(leases.release_as_member, self.name, self.holder)
            except Exception as error:  # noqa: BLE001 - it runs out by itself
                log.warning("lease %s: release failed (%s); it runs out by itself",
                            self.name, type(error).__name__)
