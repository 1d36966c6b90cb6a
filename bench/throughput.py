"""Issue 7: throughput, latency and a profile of Sunbox under load, beside an echo bot.

    .venv/bin/python -m bench.throughput [--users 50] [--seconds 60] [--no-profile] [--pairs 5]
    .venv/bin/python -m bench.throughput --ablate uvloop,aiohttp,gc [--pairs 5]

Every run starts a fresh emulator (HTTP on loopback, in this process) and a fresh bot in a
child process that long-polls it: ``bench.echo_bot`` for the baseline, ``sunbox run`` for
Sunbox; the bot is pinned to one core and this process to the others (``separate_cores``).
Simulated people act like people: each waits for the bot's reply before acting again, and
wakes only for what arrives in its own chat. Residents file complete cases (/new → kind →
category → unit → text → Done → anonymous → Confirm); one official per unit (units without
sign-off) accepts and answers each card (accept → answer → outcome → text → Done → Send).
The echo users send texts and press buttons in the same mix (3 texts in 14 actions).
There are two echo baselines: PTB's defaults (httpx, asyncio's loop, one update at a time)
and Sunbox's own stack (aiohttp, uvloop, the settled collector, 64 updates at once), the
highest echo this stack allows; Sunbox's ratio is given to each.
Figures go to stdout and to ``bench/results/throughput.json``.

``--ablate`` measures instead what each named mechanism buys on its own: per mechanism,
``--pairs`` on/off pairs of Sunbox runs (the second run of each pair with that mechanism off
through ``SUNBOX_ABLATE``, bot/ablation.py; the order alternates from pair to pair), each
``--seconds`` long, after one run of each echo baseline. The report is
``bench.ablation_report``'s; the figures go to ``bench/results/ablation.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.ablation import MECHANISMS
from bot.emulator.core import Emulator, EmuUser, SentMessage

from . import ablation_report
from ._harness import (
    OFFICIAL_UNITS,
    BotProcess,
    Clocked,
    Faults,
    Figure,
    cpu_seconds,
    echo_argv,
    gather_for,
    latency_figures,
    print_table,
    rss_mb,
    separate_cores,
    start_emulator,
    sunbox_argv,
    sunbox_config,
    until_ready,
    wait_until,
    write_results,
)

WARMUP = 3.0
BOT_CORE: int | None = None  # the core the bot under test runs on (``separate_cores``)
ECHO_PATTERN = "TPPPTPPPPPTPPP"  # the Sunbox mix: 3 texts and 11 presses per case
_CARD = re.compile(r"case:(\d+):accept")


class Stalled(Exception):
    """A person got no reply in time."""


@dataclass
class Load:
    """What the simulated people achieved."""

    emu: Emulator
    clocked: Clocked
    step_timeout: float = 10.0
    done: list[float] = field(default_factory=list)      # completion times of actions
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds)
    confirms: list[tuple[float, float]] = field(default_factory=list)
    stalls: int = 0
    filed: int = 0
    answered: int = 0

    def in_window(self, start: float, end: float, series: list[tuple[float, float]]
                  ) -> list[float]:
        return [value for when, value in series if start <= when <= end]

    # --- acting -------------------------------------------------------------------------

    async def say(self, user: EmuUser, text: str, expect: str | None = None) -> float:
        """Send text, wait for a new bot message (containing ``expect``); the round trip."""
        emu = self.emu
        before = len(emu.sent(user.id))
        started = time.perf_counter()
        emu.send_text(user, text)
        predicate: Callable[[SentMessage], bool] | None = None
        if expect is not None:
            predicate = lambda m: expect in (m.text or "")  # noqa: E731 - only when expected
        try:
            await emu.wait_for(user.id, predicate, count=None if predicate else 1,
                               after=before, timeout=self.step_timeout)
        except TimeoutError as error:
            raise Stalled(f"{user.id}: {text!r}") from error
        return self._finish(started, self.clocked.last_send.get(user.id, started))

    async def press(self, user: EmuUser, message: SentMessage | int, data: str,
                    expect: str | None = None) -> float:
        """Press a button; wait for the answer to the press (and a message with ``expect``:
        a new one, or the pressed one edited into it)."""
        emu = self.emu
        before = (emu.position(message) if isinstance(message, SentMessage)
                  else len(emu.sent(user.id)))
        started = time.perf_counter()
        update = emu.press(user, message, data)
        query_id = str(update["callback_query"]["id"])
        if expect is None:
            ok = await wait_until(emu, lambda: query_id in self.clocked.answers,
                                  self.step_timeout, chat=user.id)
            if not ok:
                raise Stalled(f"{user.id}: {data} not answered")
            return self._finish(started, self.clocked.answers[query_id])
        try:
            await emu.wait_for(user.id, lambda m: expect in (m.text or ""), after=before,
                               timeout=self.step_timeout)
        except TimeoutError as error:
            raise Stalled(f"{user.id}: {data} -> {expect!r}") from error
        return self._finish(started, self.clocked.last_send.get(user.id, started))

    async def press_button(self, user: EmuUser, data: str, expect: str | None = None) -> float:
        """Press the newest button carrying ``data`` in the user's chat."""
        for message in reversed(self.emu.sent(user.id)):
            if any(d == data for row in message.buttons() for _, d in row):
                return await self.press(user, message, data, expect)
        raise Stalled(f"{user.id}: no button {data}")

    def _finish(self, started: float, arrived: float) -> float:
        now = time.perf_counter()
        self.done.append(now)
        latency = max(0.0, arrived - started)
        self.latencies.append((now, latency))
        return latency


# ----------------------------------------------------------------------------- people

async def echo_person(load: Load, user: EmuUser) -> None:
    step = 0
    while True:
        action = ECHO_PATTERN[step % len(ECHO_PATTERN)]
        step += 1
        if action == "T":
            await load.say(user, f"hello {step}")
        else:
            await load.press(user, 1, f"b:{step}")


async def resident(load: Load, user: EmuUser, category: str) -> None:
    while True:
        try:
            await load.say(user, "/new", "What would you like to file?")
            await load.press_button(user, "new:kind:suggestion", "Which area")
            await load.press_button(user, f"new:cat:{category}", "It will go to")
            await load.press_button(user, "new:unit:ok", "Describe it")
            await load.say(user, "The village accounts have not been published.", "photos")
            await load.press_button(user, "new:att:done", "How do you want")
            await load.press_button(user, "new:id:anonymous", "Please check your case")
            started = time.perf_counter()
            await load.press_button(user, "new:confirm", "Your case number is")
            arrived = load.clocked.receipts.get(user.id, started)
            load.confirms.append((time.perf_counter(), max(0.0, arrived - started)))
            load.filed += 1
        except Stalled:
            load.stalls += 1
            load.emu.send_text(user, "/cancel")
            await asyncio.sleep(1.0)


def _cards(emu: Emulator, user: EmuUser, handled: set[int]) -> list[tuple[int, SentMessage]]:
    found = []
    for message in emu.sent(user.id):
        for row in message.buttons():
            for _, data in row:
                match = _CARD.fullmatch(data or "")
                if match and int(match.group(1)) not in handled:
                    found.append((int(match.group(1)), message))
    return found


async def official(load: Load, user: EmuUser) -> None:
    handled: set[int] = set()
    emu = load.emu
    while True:
        if not await wait_until(emu, lambda: bool(_cards(emu, user, handled)), 5.0,
                                chat=user.id):
            continue
        case_id, card = _cards(emu, user, handled)[0]
        handled.add(case_id)
        try:
            await load.press(user, card, f"case:{case_id}:accept")
            await load.press(user, card, f"case:{case_id}:answer", "what is the outcome?")
            await load.press_button(user, "ans:out:resolved", "Write the answer")
            await load.say(user, "The accounts are now posted at the village office.",
                           "Add photos")
            await load.press_button(user, "ans:files:done", "Preview of the answer")
            await load.press_button(user, "ans:send", "has gone to the reporter")
            load.answered += 1
        except Stalled:
            load.stalls += 1
            emu.send_text(user, "/cancel")
            await asyncio.sleep(1.0)


# ----------------------------------------------------------------------------- runs

@dataclass
class Run:
    name: str
    users: int
    updates_per_s: float
    calls_per_s: float
    latency: dict[str, Any]
    confirm: dict[str, Any]
    bot_cpu_ms_per_update: float | None
    driver_cpu_ms_per_update: float | None
    bot_rss_mb: float | None
    stalls: int
    filed: int
    answered: int
    extra: dict[str, Any] = field(default_factory=dict)


async def _measure(name: str, users: int, seconds: float, load: Load, proc: BotProcess,
                   people: list[Any]) -> Run:
    start = time.perf_counter() + WARMUP
    end = start + seconds
    cpu_box: dict[str, float] = {}

    async def mark() -> None:
        await asyncio.sleep(WARMUP)
        cpu_box["bot0"], cpu_box["me0"] = cpu_seconds(proc.pid), time.process_time()
        cpu_box["calls0"] = load.clocked.calls
        await asyncio.sleep(seconds)
        cpu_box["bot1"], cpu_box["me1"] = cpu_seconds(proc.pid), time.process_time()
        cpu_box["calls1"] = load.clocked.calls
        cpu_box["rss"] = rss_mb(proc.pid)

    # The marks are not cancelled with the people: on a busy loop the last one may come a
    # little after the people stop, and a run without it has no figures.
    marking = asyncio.ensure_future(mark())
    await gather_for(WARMUP + seconds + 0.05, people)
    await marking
    handled = sum(1 for t in load.done if start <= t <= end)

    def per_update(key: str) -> float | None:
        return (cpu_box[key + "1"] - cpu_box[key + "0"]) * 1000 / handled if handled else None

    return Run(
        name=name, users=users, updates_per_s=handled / seconds,
        calls_per_s=(cpu_box["calls1"] - cpu_box["calls0"]) / seconds,
        latency=latency_figures(load.in_window(start, end, load.latencies)),
        confirm=latency_figures(load.in_window(start, end, load.confirms)),
        bot_cpu_ms_per_update=per_update("bot"), driver_cpu_ms_per_update=per_update("me"),
        bot_rss_mb=cpu_box.get("rss"), stalls=load.stalls, filed=load.filed,
        answered=load.answered)


async def run_echo(users: int, seconds: float, logs: Path, stack: str = "ptb") -> Run:
    """The echo bot on PTB's defaults (``stack="ptb"``) or on Sunbox's stack (``"sunbox"``)."""
    emu, server = await start_emulator()
    clocked = Clocked(emu)
    name = "echo" if stack == "ptb" else "echo-sunbox-stack"
    proc = BotProcess(echo_argv(server, emu.token, stack), logs / f"{name}-{users}.log",
                      core=BOT_CORE)
    await proc.start()
    try:
        await until_ready(emu)
        load = Load(emu, clocked)
        people = [echo_person(load, emu.user(20_000 + i, f"U{i}", language_code="en"))
                  for i in range(users)]
        return await _measure(f"{name} x{users}", users, seconds, load, proc, people)
    finally:
        await proc.stop()
        await server.stop()


def _sunbox_people(load: Load, emu: Emulator, users: int) -> list[Any]:
    people: list[Any] = []
    officials = len(OFFICIAL_UNITS) if users > 1 else 0
    for _category, _unit, official_id in OFFICIAL_UNITS[:officials]:
        people.append(official(load, emu.user(official_id, "Official", language_code="en")))
    for i in range(users - officials):
        category = OFFICIAL_UNITS[i % len(OFFICIAL_UNITS)][0]
        people.append(resident(load, emu.user(30_000 + i, f"R{i}", language_code="en"),
                               category))
    return people


async def _drained(db: Path, timeout: float) -> dict[str, int]:
    """Wait until no outbox row is pending or sending; the counts by status."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            counts = dict(conn.execute(
                "SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
        if (not counts.get("pending") and not counts.get("sending")) or \
                time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.5)


def _loss_check(db: Path, emu: Emulator, outbox: dict[str, int]) -> dict[str, Any]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        numbers = [row[0] for row in conn.execute("SELECT number FROM cases")]
    receipts: dict[str, int] = {}
    for message in emu.all_sent():
        found = re.search(r"case number is ([SR]-\d{4}-\d{5,6}-[A-Z0-9]{3})",
                          message.text or "")
        if found:
            receipts[found.group(1)] = receipts.get(found.group(1), 0) + 1
    missing = [n for n in numbers if n not in receipts]
    return {
        "cases_in_db": len(numbers),
        "numbers_delivered": sum(1 for n in numbers if n in receipts),
        "numbers_missing": missing[:20], "numbers_missing_count": len(missing),
        "numbers_delivered_twice": sum(1 for n in numbers if receipts.get(n, 0) > 1),
        "outbox": outbox,
        "outbox_unfinished": outbox.get("pending", 0) + outbox.get("sending", 0),
    }


@contextlib.contextmanager
def _database(engine: str) -> Iterator[str | None]:
    """None for SQLite (a file in the run's folder); a fresh PostgreSQL schema's URL
    (``SUNBOX_TEST_DSN``'s server), dropped after the run."""
    if engine == "sqlite":
        yield None
        return
    from tests.support.engines import fresh_schema

    with fresh_schema() as url:
        yield url


async def run_sunbox(users: int, seconds: float, logs: Path, *, faults: bool = False,
                     profile: Path | None = None, mode: str = "cpu",
                     rate_limiter: bool = True, ablate: frozenset[str] = frozenset(),
                     tag: str = "", engine: str = "sqlite") -> Run:
    """Sunbox under the load; ``ablate`` names mechanisms switched off (bot/ablation.py),
    ``tag`` tells this run's log from others of the same kind."""
    emu, server = await start_emulator()
    clocked = Clocked(emu)
    injector = Faults(emu) if faults else None
    label = (f"sunbox x{users}" + (" faults" if faults else "")
             + (f" profiled-{mode}" if profile else "")
             + ("" if rate_limiter else " no-AIORateLimiter")
             + "".join(f" no-{name}" for name in sorted(ablate))
             + (f" {engine}" if engine != "sqlite" else ""))
    log = logs / (f"{label}{tag}".replace(" ", "-") + ".log")
    with tempfile.TemporaryDirectory(prefix="sunbox-bench-") as tmp, \
            _database(engine) as database:
        config = sunbox_config(emu, server, Path(tmp), database)
        proc = BotProcess(sunbox_argv(config, profile=profile, mode=mode,
                                      rate_limiter=rate_limiter),
                          log, core=BOT_CORE,
                          env={"SUNBOX_ABLATE": ",".join(sorted(ablate))} if ablate else None)
        await proc.start()
        try:
            await until_ready(emu)
            load = Load(emu, clocked, step_timeout=30.0 if faults else 10.0)
            if injector is not None:
                injector.active = True
            run = await _measure(label, users, seconds, load, proc,
                                 _sunbox_people(load, emu, users))
            if injector is not None:
                # The faults go on while the outbox drains: officials' chats hold a queue
                # of cards at Telegram's 1 message a second per chat.
                started = time.monotonic()
                # The queue grows with the throughput (one card per case, at most one
                # message a second to an official's chat): 600 s had become too short.
                outbox = await _drained(Path(tmp) / "sunbox.db", 1200.0)
                run.extra["drain_s"] = time.monotonic() - started
                injector.active = False
                run.extra["faults_injected"] = dict(injector.counts)
                run.extra["loss"] = _loss_check(Path(tmp) / "sunbox.db", emu, outbox)
        finally:
            code = await proc.stop()
            await server.stop()
        errors = log.read_text(errors="replace")
        run.extra["exit_code"] = code
        run.extra["log_errors"] = errors.count(" ERROR ")
        run.extra["log_tracebacks"] = errors.count("Traceback")
    return run


def _show(run: Run) -> None:
    lat, conf = run.latency, run.confirm
    print(f"  {run.name:28} {run.updates_per_s:7.1f} updates/s  {run.calls_per_s:7.1f} calls/s"
          f"  round trip p50 {lat['p50_ms'] or 0:.1f} p99 {lat['p99_ms'] or 0:.1f} ms"
          + (f"  confirm p50 {conf['p50_ms']:.1f} p99 {conf['p99_ms']:.1f} ms (n={conf['n']})"
             if conf["n"] else "")
          + f"  bot CPU {run.bot_cpu_ms_per_update or 0:.2f} ms/update"
          f"  stalls {run.stalls}", flush=True)
    loss = run.extra.get("loss")
    if loss:
        print(f"    cases {loss['cases_in_db']}, numbers missing {loss['numbers_missing_count']}"
              f", twice {loss['numbers_delivered_twice']}; outbox {loss['outbox']}; drained in"
              f" {run.extra['drain_s']:.0f} s; faults {run.extra['faults_injected']}; handler"
              f" errors {run.extra['log_errors']}", flush=True)


def _median(values: list[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _pair(echo: Run, stack_echo: Run, sunbox: Run) -> dict[str, float | None]:
    """One run of each echo baseline and the Sunbox run right after them: their ratios."""
    echo_p99, confirm_p99 = echo.latency["p99_ms"], sunbox.confirm["p99_ms"]
    return {
        "echo_updates_per_s": echo.updates_per_s, "sunbox_updates_per_s": sunbox.updates_per_s,
        "throughput_ratio": sunbox.updates_per_s / echo.updates_per_s
        if echo.updates_per_s else None,
        "echo_p99_ms": echo_p99, "confirm_p99_ms": confirm_p99,
        "p99_ratio": confirm_p99 / echo_p99 if confirm_p99 and echo_p99 else None,
        "stack_echo_updates_per_s": stack_echo.updates_per_s,
        "stack_throughput_ratio": sunbox.updates_per_s / stack_echo.updates_per_s
        if stack_echo.updates_per_s else None,
    }


async def main(users: int, seconds: float, profile: bool, only: set[str] | None = None,
               pairs: int = 1) -> None:
    global BOT_CORE
    BOT_CORE = separate_cores()
    logs = Path(tempfile.mkdtemp(prefix="sunbox-bench-logs-"))
    print(f"logs in {logs}; bot on core {BOT_CORE}, emulator and people on the others",
          flush=True)
    runs: dict[str, Run] = {}
    short = min(seconds, 20.0)
    plan: list[tuple[str, Any]] = [
        ("echo1", lambda: run_echo(1, short / 2, logs)),
        ("echoN", lambda: run_echo(users, short, logs)),
        ("echoS", lambda: run_echo(users, short, logs, stack="sunbox")),
        ("sunbox1", lambda: run_sunbox(1, seconds / 2, logs)),
        ("sunboxN", lambda: run_sunbox(users, seconds, logs)),
        ("sunboxPG", lambda: run_sunbox(users, seconds, logs, engine="postgresql")),
        ("faults", lambda: run_sunbox(users, seconds, logs, faults=True)),
        # What-if: the same load without PTB's AIORateLimiter (not production).
        ("whatif", lambda: run_sunbox(users, seconds / 2, logs, rate_limiter=False)),
        ("whatif1", lambda: run_sunbox(1, seconds / 4, logs, rate_limiter=False)),
    ]
    profile_path = logs / "profile"
    if profile:
        plan.append(("profiled", lambda: run_sunbox(users, seconds / 2, logs,
                                                     profile=profile_path, mode="cpu")))
        plan.append(("profiled_wall", lambda: run_sunbox(users, seconds / 2, logs,
                                                          profile=profile_path, mode="wall")))
    for key, start in plan:
        if only and key not in only:
            continue
        runs[key] = await start()
        _show(runs[key])
    if only:
        return  # a partial run while tuning: no table, no results file
    e1, en, es, s1, sn, fa = (runs[k] for k in ("echo1", "echoN", "echoS", "sunbox1",
                                                 "sunboxN", "faults"))
    # This machine's speed drifts from minute to minute (the echo bot alone: 390-590
    # updates/s in one hour, the same code), so one echo run beside one Sunbox run some
    # minutes later gives a ratio off by a quarter either way. More pairs, each echo run
    # straight before its Sunbox run, and the median of their ratios.
    paired = [_pair(en, es, sn)]
    for index in range(2, pairs + 1):
        echo = await run_echo(users, short, logs)
        _show(echo)
        stack_echo = await run_echo(users, short, logs, stack="sunbox")
        _show(stack_echo)
        sunbox = await run_sunbox(users, short, logs)
        _show(sunbox)
        paired.append(_pair(echo, stack_echo, sunbox))
        runs[f"pair{index}_echo"], runs[f"pair{index}_sunbox"] = echo, sunbox
        runs[f"pair{index}_stack_echo"] = stack_echo
    throughput_ratios = [p["throughput_ratio"] for p in paired if p["throughput_ratio"]]
    stack_ratios = [p["stack_throughput_ratio"] for p in paired if p["stack_throughput_ratio"]]
    p99_ratios = [p["p99_ratio"] for p in paired if p["p99_ratio"]]
    median_throughput, median_p99 = _median(throughput_ratios), _median(p99_ratios)
    loss = fa.extra.get("loss", {})
    unloaded_p99 = s1.confirm["p99_ms"]
    figures = [
        Figure(f"throughput, {users} users", sn.updates_per_s, "updates/s", en.updates_per_s,
               "pair 1 of the median"),
        Figure("confirm->number p50, 1 user", s1.confirm["p50_ms"], "ms",
               e1.latency["p50_ms"]),
        Figure("confirm->number p99, 1 user", unloaded_p99, "ms", e1.latency["p99_ms"],
               "< 15 ms", unloaded_p99 is not None and unloaded_p99 < 15),
        Figure(f"confirm->number p50, {users} users", sn.confirm["p50_ms"], "ms",
               en.latency["p50_ms"]),
        Figure(f"confirm->number p99, {users} users", sn.confirm["p99_ms"], "ms",
               en.latency["p99_ms"], "pair 1 of the median"),
        Figure(f"throughput ratio, median of {len(paired)} pairs", median_throughput,
               "x echo", None, ">= 0.8",
               median_throughput is not None and median_throughput >= 0.8),
        Figure(f"throughput, {users} users, vs echo on Sunbox's stack", sn.updates_per_s,
               "updates/s", es.updates_per_s, "pair 1 of the median"),
        Figure(f"ratio to the stack's echo, median of {len(paired)}", _median(stack_ratios),
               "x echo", None, "reported"),
        Figure(f"confirm p99 ratio, median of {len(paired)} pairs", median_p99, "x echo",
               None, "<= 1.5", median_p99 is not None and median_p99 <= 1.5),
        Figure(f"throughput, {users} users, 10% faults", fa.updates_per_s, "updates/s",
               sn.updates_per_s, "reported"),
        Figure("faults: case numbers not delivered", loss.get("numbers_missing_count"),
               "cases", None, "0", loss.get("numbers_missing_count") == 0),
        Figure("faults: outbox rows left unsent", loss.get("outbox_unfinished"), "rows",
               None, "0", loss.get("outbox_unfinished") == 0),
        Figure("faults: numbers sent twice (answer lost)", loss.get("numbers_delivered_twice"),
               "cases", None, "reported"),
        Figure("faults: outbox drained after the load", fa.extra.get("drain_s"), "s"),
        Figure("bot CPU per update", sn.bot_cpu_ms_per_update, "ms",
               en.bot_cpu_ms_per_update),
        Figure(f"what-if no AIORateLimiter: throughput, {users}", runs["whatif"].updates_per_s,
               "updates/s", en.updates_per_s, "ratio >= 0.8",
               runs["whatif"].updates_per_s >= 0.8 * en.updates_per_s),
        Figure(f"what-if no AIORateLimiter: confirm p99, {users}",
               runs["whatif"].confirm["p99_ms"], "ms", en.latency["p99_ms"], "ratio <= 1.5"),
        Figure("what-if no AIORateLimiter: confirm p99, 1", runs["whatif1"].confirm["p99_ms"],
               "ms", e1.latency["p99_ms"], "< 15 ms"),
    ]
    print()
    print_table(figures)
    details: dict[str, Any] = {key: run.__dict__ for key, run in runs.items()}
    details["bot_core"] = BOT_CORE
    details["pairs"] = paired
    print("\npairs (echo run, echo on Sunbox's stack, then Sunbox run):")
    for index, p in enumerate(paired, 1):
        print(f"  {index}: {p['sunbox_updates_per_s']:.0f} / {p['echo_updates_per_s']:.0f}"
              f" updates/s = {p['throughput_ratio'] or 0:.2f};"
              f" / {p['stack_echo_updates_per_s'] or 0:.0f} (stack's echo)"
              f" = {p['stack_throughput_ratio'] or 0:.2f}; confirm p99"
              f" {p['confirm_p99_ms'] or 0:.0f} / {p['echo_p99_ms'] or 0:.0f} ms"
              f" = {p['p99_ratio'] or 0:.2f}")
    if profile:
        details["profile_files"] = sorted(str(p) for p in logs.glob("profile.*"))
        print("\nprofiles (pyinstrument):", *details["profile_files"], sep="\n  ")
    path = write_results("throughput", figures, details)
    print(f"results: {path}")


async def ablate(mechanisms: list[str], users: int, seconds: float, pairs: int) -> None:
    """Each mechanism's gain on its own: on/off pairs of Sunbox runs, beside both echoes."""
    global BOT_CORE
    BOT_CORE = separate_cores()
    logs = Path(tempfile.mkdtemp(prefix="sunbox-bench-logs-"))
    print(f"logs in {logs}; bot on core {BOT_CORE}", flush=True)
    available = [m for m in mechanisms if ablation_report.wired(m)]
    unavailable = [m for m in mechanisms if m not in available]
    for mechanism in unavailable:
        print(f"{mechanism}: not available (nothing consults SUNBOX_ABLATE for it yet)")
    echoes = {stack: await run_echo(users, seconds, logs, stack) for stack in ("ptb", "sunbox")}
    for run in echoes.values():
        _show(run)
    results: dict[str, list[ablation_report.Pair]] = {}
    details: dict[str, Any] = {"echo": {k: r.__dict__ for k, r in echoes.items()}}
    for mechanism in available:
        for index in range(pairs):
            sides: dict[bool, Run] = {}
            # Alternate which run goes first, so a machine drifting one way shows in the
            # range rather than as a gain.
            for off in ((False, True) if index % 2 == 0 else (True, False)):
                sides[off] = await run_sunbox(
                    users, seconds, logs, ablate=frozenset({mechanism}) if off else frozenset(),
                    tag=f" {mechanism}-pair{index + 1}")
                _show(sides[off])
            results.setdefault(mechanism, []).append(ablation_report.Pair(
                *(ablation_report.Side(r.updates_per_s, r.bot_cpu_ms_per_update,
                                       r.confirm["p99_ms"])
                  for r in (sides[False], sides[True]))))
            details.setdefault(mechanism, []).append(
                {"on": sides[False].__dict__, "off": sides[True].__dict__})
    print()
    print("\n".join(ablation_report.render(results, unavailable)))
    on_runs = [p.on.updates_per_s for found in results.values() for p in found]
    everything_on = _median(on_runs)
    figures = [Figure(f"{m}: throughput on/off, median of {len(found)}",
                      ablation_report.summary(found)["gain"]["median"], "x", None,
                      "range excludes 1.0", _negated(ablation_report.summary(found)))
               for m, found in results.items()]
    for stack, label in (("ptb", "echo, PTB's defaults"), ("sunbox", "echo, Sunbox's stack")):
        figures.append(Figure(f"Sunbox (all on, median) vs {label}", everything_on,
                              "updates/s", echoes[stack].updates_per_s))
    print()
    print_table(figures)
    details["summary"] = {m: ablation_report.summary(found) for m, found in results.items()}
    details["unavailable"] = unavailable
    details["bot_core"] = BOT_CORE
    print(f"results: {write_results('ablation', figures, details)}")


def _negated(summary: dict[str, Any]) -> bool | None:
    candidate = summary["removal_candidate"]
    return None if candidate is None else not candidate


def _mechanisms(value: str) -> list[str]:
    names = [name.strip() for name in re.split(r"[,|]", value) if name.strip()]
    unknown = [name for name in names if name not in MECHANISMS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no mechanism called {', '.join(unknown)} (there are {', '.join(MECHANISMS)};"
            " onehop is gone: every write is one hop by construction)")
    return names


async def compare_engines(users: int, seconds: float, pairs: int) -> None:
    """One instance on PostgreSQL against one on SQLite: ``pairs`` interleaved pairs (the
    order alternating), each run ``seconds`` long; prints per pair the throughput and the
    confirm p99 of both, then the median and range of PostgreSQL ÷ SQLite."""
    global BOT_CORE
    BOT_CORE = separate_cores()
    logs = Path(tempfile.mkdtemp(prefix="sunbox-bench-logs-"))
    print(f"logs in {logs}; bot on core {BOT_CORE}; the emulator, the people and the "
          "PostgreSQL server's backend share the others", flush=True)
    ratios: list[float] = []
    for pair in range(pairs):
        order = ("sqlite", "postgresql") if pair % 2 == 0 else ("postgresql", "sqlite")
        runs: dict[str, Run] = {}
        for engine in order:
            runs[engine] = await run_sunbox(users, seconds, logs, engine=engine,
                                            tag=f"-pair{pair}")
            _show(runs[engine])
        ratio = runs["postgresql"].updates_per_s / runs["sqlite"].updates_per_s
        ratios.append(ratio)
        print(f"pair {pair + 1}: PostgreSQL / SQLite throughput {ratio:.3f}", flush=True)
    ratios.sort()
    middle = ratios[len(ratios) // 2] if len(ratios) % 2 else (
        ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
    print(f"PostgreSQL / SQLite throughput: median {middle:.3f} "
          f"(range {ratios[0]:.3f}-{ratios[-1]:.3f}, {pairs} pairs; target >= 0.7)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--pairs", type=int, default=5,
                        help="echo/Sunbox pairs at 50 users whose ratios give the median "
                             "(the first is the main runs; the others last up to 20 s each);"
                             " with --ablate, on/off pairs per mechanism")
    parser.add_argument("--only", default="",
                        help="comma-separated runs to do (e.g. sunbox1,sunboxN), printed only")
    parser.add_argument("--ablate", type=_mechanisms, metavar="|".join(MECHANISMS),
                        help="instead of the default run: each named mechanism's gain on its"
                             " own (comma-separated), from --pairs on/off pairs of Sunbox"
                             " runs of --seconds each")
    parser.add_argument("--engines", action="store_true",
                        help="instead of the default run: one instance on PostgreSQL against "
                             "one on SQLite, --pairs interleaved pairs of --seconds each")
    args = parser.parse_args()
    if args.engines:
        asyncio.run(compare_engines(args.users, args.seconds, max(1, args.pairs)))
        sys.exit(0)
    if args.ablate:
        asyncio.run(ablate(args.ablate, args.users, args.seconds, max(1, args.pairs)))
        sys.exit(0)
    asyncio.run(main(args.users, args.seconds, not args.no_profile,
                     {k for k in args.only.split(",") if k} or None, max(1, args.pairs)))
