"""Issue 21: several instances. Two ``sunbox run`` processes in webhook mode share one fresh
PostgreSQL schema behind a round-robin load balancer, under the crash drill's load (residents
filing, one official per unit answering); the instance holding the lease ``leader`` is
SIGKILLed mid-load and started again after a pause, so two run again. Afterwards the crash
drill's checker (``tests/system/crash_drill.py``) looks at the database and at every message.

    .venv/bin/python -m bench.cluster [--kills 10] [--compare]

The emulator, the balancer and the simulated people run in this process; the instances,
their emulator fronts and the balancer are ``tests/support/cluster.py``'s. Each instance
calls the emulator through a front of its own, so the checker's "copies from different
processes" is exact (not a guess from the kill epochs). The balancer passes each webhook
POST to the next instance in turn, skipping one that refuses the connection (dead).

For each kill: the failover time, from the SIGKILL until the lease has another holder
(the leases table looked at every 20 ms), until the first Bot API send by a live instance,
and until the first message only a leader sends (to a member who never writes, as the
supervision member who gets every card: the outbox's rounds; whatever is owed to a person
who writes goes with the reply to their next update, from whichever instance handles it).
The checks are the crash drill's (nothing lost, nothing doubled, every
conversation finished), plus the alarms: none may fire twice.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.emulator.core import Emulator, EmuUser
from bot.services.leadership import LEADER
from storage import leases
from storage.sql import Conn
from tests.support.cluster import Balancer, Cluster, Send
from tests.support.engines import outside
from tests.support.processes import OFFICIAL_UNITS, seal_key_file
from tests.system.crash_drill import (
    ANSWERED_BY_ME,
    CONFIGURED_MEMBERS,
    RECEIPT,
    SENDS,
    Findings,
    Official,
    Person,
    PersonLog,
    Resident,
    Screen,
    Snapshot,
    check,
    delivered,
    drain,
    raise_failed,
    read_rows,
)

#: Replies that tell a person their step was not understood: an update handled out of
#: order, or by an instance that did not know where their conversation was.
HINTS = ("Please choose with the buttons above", "I did not understand", "This button",
         "Please write a text of", "Please write it as a text message")


def kind(send: Send) -> str:
    """What a message is to the drill: receipt | answered | owed | reply | edit. Owed: to
    a member who never writes (the supervision member gets every card and its edits), so
    only the leader's outbox rounds send it; whatever is owed to a person who writes goes
    out with the reply to their next update, from whichever instance handles it."""
    if send.chat in CONFIGURED_MEMBERS:
        return "owed"
    if send.edit:
        return "edit"
    if RECEIPT.search(send.text):
        return "receipt"
    if ANSWERED_BY_ME.search(send.text):
        return "answered"
    return "reply"


# ============================================================================ the people

@dataclass
class ClusterLoad:
    """What the people share (crash_drill's ``Load``)."""

    emu: Emulator
    bot: Cluster
    patience: float
    max_tries: int
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


class PacedResident(Resident):
    """The crash drill's resident, filing ``filings`` cases (None: until the load stops),
    pausing ``pause`` seconds between two; each Confirm press timed."""

    def __init__(self, load: ClusterLoad, user: EmuUser, category: str, rng: random.Random,
                 *, filings: int | None, pause: tuple[float, float]) -> None:
        super().__init__(load, user, category, rng)
        self.filings = filings
        self.pause = pause
        self.confirms: list[tuple[str, float]] = []   # (number received, Confirm pressed)
        self._pressed: float | None = None

    def act(self, screen: Screen) -> None:
        if screen.data == "new:confirm" and self._pressed is None:
            self._pressed = time.perf_counter()
        super().act(screen)

    async def file_one(self) -> None:
        self._pressed = None
        before = len(self.log.numbers)
        await super().file_one()
        if len(self.log.numbers) > before and self._pressed is not None:
            self.confirms.append((self.log.numbers[-1], self._pressed))

    async def run(self) -> None:
        while not self.loop.stopping.is_set() and (
                self.filings is None or self.log.episodes < self.filings):
            await self.file_one()
            await asyncio.sleep(self.rng.uniform(*self.pause))


# ============================================================================ the run

@dataclass(frozen=True)
class Plan:
    """One run's options."""

    residents: int = 45
    instances: int = 2
    sticky: bool = False             # the balancer: round robin, or by person (a baseline)
    kills: int = 0
    seed: int = 7
    filings: int | None = None       # per resident; None: until ``seconds`` after the kills
    seconds: float = 0.0             # of load after the last kill (or after the start)
    pause: tuple[float, float] = (1.5, 6.0)       # between a resident's filings
    kill_after: tuple[float, float] = (2.0, 4.0)  # of load before each kill
    restart_after: float = 1.0       # after the takeover, before the killed one starts again
    lease_timeout: float = 2.0
    patience: float = 15.0
    max_tries: int = 2
    drain_timeout: float = 180.0
    fail_fast: bool = False          # stop at the first conversation given up (tests)


@dataclass
class Failover:
    """One kill of the leader."""

    process: int                     # the killed process
    lease: float | None              # s from the SIGKILL until another held the lease
    first_send: float | None = None  # ... until a live instance sent anything
    first_owed: float | None = None  # ... until a live instance sent what only a leader does


@dataclass
class Result:
    plan: Plan
    seconds: float
    load_seconds: float
    drain_seconds: float
    drained: bool
    aborted: bool                    # stopped at the first conversation given up
    failovers: list[Failover]
    starts: list[float]
    exit_codes: dict[int, int | None]
    killed: list[int]
    findings: Findings
    roles: dict[str, dict[str, int]]  # conversations by role (crash_drill's PersonLog counts)
    filed: int                       # receipts sent during the load
    answered: int                    # answers confirmed to officials during the load
    latencies: list[float]           # Confirm pressed -> receipt sent, s
    alarms_fired: int
    alarms_twice: int
    hints: int
    alerts: int
    forwarded: dict[int, int]
    refused: int
    bad_gateway: int
    log_errors: int
    log_lines: list[tuple[str, int]]
    logs: str

    @property
    def per_minute(self) -> float:
        return (self.filed + self.answered) / self.load_seconds * 60 if self.load_seconds else 0


async def _takeover(watch: Conn, dead: str, began: float, timeout: float) -> float | None:
    """Seconds from ``began`` until the lease ``leader`` is another's (None: not in
    ``timeout``)."""
    while time.perf_counter() - began < timeout:
        lease = await asyncio.to_thread(leases.holder_of, watch, LEADER)
        if lease is not None and lease.holder != dead:
            return time.perf_counter() - began
        await asyncio.sleep(0.02)
    return None


def _first(sends: list[Send], after: float, dead: int, kinds: tuple[str, ...]) -> float | None:
    for send in sends:
        if send.at > after and send.process != dead and kind(send) in kinds:
            return send.at - after
    return None


class Drill:
    """One run: the cluster, the balancer, the people, the kills, the drain, the result."""

    def __init__(self, plan: Plan, database: str, logs: Path) -> None:
        self.plan = plan
        self.database = database
        self.logs = logs
        self.rng = random.Random(plan.seed)
        self.emu = emu = Emulator()
        self.cluster = Cluster(emu, logs, plan.instances, SENDS)
        self.balancer = Balancer([f"http://127.0.0.1:{i.port}" for i in self.cluster.instances],
                                 sticky=plan.sticky)
        self.load = load = ClusterLoad(emu, self.cluster, plan.patience, plan.max_tries)
        self.officials = [Official(load, emu.user(official, f"Official {official}",
                                                  language_code="en"))
                          for _category, _unit, official in OFFICIAL_UNITS]
        self.members = [PersonLog(emu.user(member, f"Member {member}", language_code="en").id,
                                  "member") for member in CONFIGURED_MEMBERS]
        self.residents = [
            PacedResident(load, emu.user(40_000 + i, f"R{i}", language_code="en"),
                          OFFICIAL_UNITS[i % len(OFFICIAL_UNITS)][0],
                          random.Random(self.rng.random()), filings=plan.filings,
                          pause=plan.pause) for i in range(plan.residents)]
        self.read = functools.partial(outside, database)
        self.failovers: list[Failover] = []
        self.kill_times: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []     # the residents' (the officials' apart)
        self.working: list[asyncio.Task[None]] = []
        self.drained = self.aborted = False
        self.load_began = self.load_ended = self.drain_ended = 0.0

    @property
    def people(self) -> list[Person]:
        return [*self.officials, *self.residents]

    async def run(self) -> Result:
        began = time.perf_counter()
        try:
            await self._start()
            self.load_began = time.perf_counter()
            self.working = [asyncio.create_task(p.run()) for p in self.officials]
            self.tasks = [asyncio.create_task(p.run()) for p in self.residents]
            with outside(self.database) as watch:
                flow = asyncio.create_task(self._kill_and_wait(watch))
                given_up = asyncio.create_task(self._given_up())
                await asyncio.wait({flow, given_up} if self.plan.fail_fast else {flow},
                                   return_when=asyncio.FIRST_COMPLETED)
                self.aborted = not flow.done()
                for task in (flow, given_up):
                    task.cancel()
                await asyncio.gather(flow, given_up, return_exceptions=True)
                if not self.aborted:
                    flow.result()  # its exception, if any
            self.load_ended = time.perf_counter()
            if not self.aborted:
                self.drained = await drain(self.officials, self.tasks, self.read,
                                           self.plan.drain_timeout)
            self.drain_ended = time.perf_counter()
        finally:
            for task in self.working + self.tasks:
                task.cancel()
            outcomes = await asyncio.gather(*self.working, *self.tasks,
                                            return_exceptions=True)
            await self.cluster.stop()
            await self.balancer.stop()
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        return self._result(time.perf_counter() - began)

    async def _start(self) -> None:
        """Every instance serving, the webhook set to the balancer."""
        cluster = self.cluster
        await cluster.open(self.database, await self.balancer.start(), self.plan.lease_timeout)
        for instance in cluster.instances:
            await cluster.start(instance)
        for instance in cluster.instances:
            await cluster.serving(instance)
        while self.emu.webhook_url != self.balancer.url:
            await asyncio.sleep(0.05)
        cluster.ready = True

    async def _kill_and_wait(self, watch: Conn) -> None:
        """The kills, each of the leader (as the database says), each followed by the
        takeover, a pause and the restart; then the rest of the load."""
        plan, cluster = self.plan, self.cluster
        for _ in range(plan.kills):
            await asyncio.sleep(self.rng.uniform(*plan.kill_after))
            raise_failed(self.working + self.tasks)
            lease = await asyncio.to_thread(leases.holder_of, watch, LEADER)
            victim = cluster.holding(lease)
            if lease is None or victim is None:
                raise RuntimeError(f"no live instance holds the leader lease ({lease})")
            number = victim.number
            at = await cluster.kill(victim)
            self.kill_times.append(at)
            self.failovers.append(Failover(number, await _takeover(
                watch, lease.holder, at, plan.lease_timeout * 5)))
            await asyncio.sleep(plan.restart_after)
            await cluster.start(victim)
            await cluster.serving(victim)
        if plan.filings is None:
            await asyncio.sleep(plan.seconds)
            self.load.stopping.set()
        else:
            while not all(task.done() for task in self.tasks):
                raise_failed(self.tasks)
                await asyncio.sleep(0.2)

    async def _given_up(self) -> None:
        """Return when someone gave a conversation up (``Plan.fail_fast``)."""
        while not any(person.log.stuck for person in self.people):
            await asyncio.sleep(0.5)

    def _result(self, seconds: float) -> Result:
        cluster, emu = self.cluster, self.emu
        for failover, at in zip(self.failovers, self.kill_times, strict=True):
            failover.first_send = _first(cluster.sends, at, failover.process,
                                         ("receipt", "answered", "owed", "reply", "edit"))
            failover.first_owed = _first(cluster.sends, at, failover.process, ("owed",))
        cases, outbox = read_rows(self.read, seal_key_file(self.logs))
        fired, twice = _alarms(self.database)
        snapshot = Snapshot(cases, outbox, delivered(emu, cluster.process_of),
                            [p.log for p in self.people] + self.members)
        receipts: dict[str, float] = {}
        for send in cluster.sends:
            receipt = None if send.edit else RECEIPT.search(send.text)
            if receipt:
                receipts.setdefault(receipt.group(1), send.at)
        text = cluster.log_text()
        in_load = [kind(s) for s in cluster.sends
                   if self.load_began <= s.at <= self.load_ended]
        roles: dict[str, Counter[str]] = {}
        for person in self.people:
            counts = roles.setdefault(person.log.role, Counter())
            for key in ("episodes", "finished", "interrupted", "resumed", "stuck", "retries"):
                counts[key] += getattr(person.log, key)
        return Result(
            plan=self.plan, seconds=seconds, load_seconds=self.load_ended - self.load_began,
            drain_seconds=self.drain_ended - self.load_ended, drained=self.drained,
            aborted=self.aborted, failovers=self.failovers, starts=cluster.starts,
            exit_codes=cluster.exit_codes, killed=[f.process for f in self.failovers],
            findings=check(snapshot), roles={r: dict(c) for r, c in roles.items()},
            filed=in_load.count("receipt"), answered=in_load.count("answered"),
            latencies=[receipts[number] - pressed for r in self.residents
                       for number, pressed in r.confirms if number in receipts],
            alarms_fired=fired, alarms_twice=twice,
            hints=sum(any(h in m.text for h in HINTS) for m in snapshot.delivered),
            alerts=sum(alert for _, _, alert in emu.callback_answers),
            forwarded=dict(self.balancer.forwarded), refused=self.balancer.refused,
            bad_gateway=self.balancer.bad_gateway, log_errors=text.count(" ERROR "),
            log_lines=_log_lines(text), logs=str(self.logs))


async def run(plan: Plan, database: str, logs: Path) -> Result:
    """The drill on ``database`` (a fresh PostgreSQL schema's URL); logs and configurations
    in ``logs``."""
    return await Drill(plan, database, logs).run()


def _alarms(database: str) -> tuple[int, int]:
    """(alarms fired, alarms fired twice for one subject, kind and deadline)."""
    with outside(database) as conn:
        fired = conn.execute("SELECT COUNT(*) FROM alarms WHERE fired_at IS NOT NULL"
                             ).fetchone()
        twice = conn.execute(
            "SELECT COUNT(*) FROM (SELECT subject, subject_id, kind, due FROM alarms "
            "WHERE fired_at IS NOT NULL GROUP BY subject, subject_id, kind, due "
            "HAVING COUNT(*) > 1) AS doubled").fetchone()
    assert fired is not None and twice is not None
    return int(fired[0]), int(twice[0])


def _log_lines(text: str, most: int = 15) -> list[tuple[str, int]]:
    """The bot's warnings and errors, counted by their wording (numbers and ids masked)."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if " WARNING " in line or " ERROR " in line:
            level = "ERROR" if " ERROR " in line else "WARNING"
            message = line.split(f" {level} ", 1)[1]
            counts[f"{level} " + re.sub(r"[0-9a-f]{6,}|\d+", "#", message)] += 1
    return counts.most_common(most)


def failures(result: Result, *, takeover_within: float | None = None) -> list[str]:
    """Every invariant that failed; ``takeover_within``: seconds a takeover may take."""
    problems = result.findings.problems()
    if result.aborted:
        problems.append("stopped at the first conversation given up (Plan.fail_fast)")
    elif not result.drained:
        problems.append("the load did not drain")
    if result.alarms_twice:
        problems.append(f"alarms fired twice: {result.alarms_twice}")
    unexpected = {n: c for n, c in result.exit_codes.items()
                  if c != (-9 if n in result.killed else 0)}
    if unexpected:
        problems.append(f"bot processes that ended otherwise than asked: {unexpected}")
    for failover in result.failovers:
        if failover.lease is None or (takeover_within is not None
                                      and failover.lease > takeover_within):
            problems.append(f"takeover after the kill of process {failover.process}: "
                            f"{failover.lease} s")
    return problems

