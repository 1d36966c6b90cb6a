"""A broadcast to 10,000 party members while residents go on: the broadcast's pace, its
429s, and what it does to the interactive messages beside it.

    .venv/bin/python -m bench.broadcast [--recipients 10000] [--baseline-seconds 60]
    .venv/bin/python -m bench.broadcast --filing [--recipients N]
    .venv/bin/python -m bench.broadcast --rush [--recipients N]

The emulator (HTTP on loopback, this process) enforces Telegram's limits in real time
(``FloodLimits()``: 30 calls a second overall, 1 a second per chat with a burst of 3, 429
beyond). A broadcast is ``storage.outbox.enqueue_many`` of one party item to every member,
as the disclosure register will owe it. Three phases: a baseline with the interactive
load alone (``--baseline-seconds``), the broadcast with the same load, and the load alone
again (as long as the baseline). At full size a run takes about 8.5 minutes.

Default (the outbox's own interactive messages): the real Application's ``OutboxSender``
in this process (``sunbox run``'s loop, production ``Rates()``, PTB's rate limiter), as
``bench.fanout`` runs it. Every 0.5 s a receipt is owed and claimed in one transaction and
sent at once, as filing a case sends its number (``claim_for_chat``/``send_claimed``);
every second a card-like message is owed to one of five officials and goes through the
paced interactive lane. Measured: from the transaction that owes it to its arrival at the
emulator. The residents' filing steps are not driven here (``--filing`` does).

``--filing``: ``sunbox run`` in a child process pinned to a core of its own, long-polling
the emulator, as ``bench.throughput`` runs it; three residents take turns filing complete
cases (/new … Confirm, as ``bench.throughput``'s residents), one action (a text or a
press) every 0.5 s between them, so a case number every 4 s. Measured: every action → the
bot's reply; Confirm pressed → the case number arrived, and → the unit official's card
arrived (a paced interactive row).

``--rush``: the same with 30 residents filing a whole case every 0.5 s between them (the
steps as fast as the bot answers): nine calls to a resident's chat at once per filing, so
the emulator's chats allow a burst of 12 here (a filing each 15 s per chat fits) and only
the overall limit bites. About 20 interactive calls a second, most of them direct replies
that do not go through the outbox: beyond the 3 a second a broadcast leaves.

Figures go to stdout and ``bench/results/broadcast.json`` (``broadcast_filing.json``,
``broadcast_rush.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.config import default_config_path, load_config
from bot.emulator.core import Emulator
from bot.emulator.limits import FloodLimits
from bot.emulator.server import EmulatorServer
from bot.services import notify
from bot.telegram.pacing import Rates
from storage import outbox
from storage.db import Database
from storage.sql import Conn

from ._harness import (
    OFFICIAL_UNITS,
    BotProcess,
    Clocked,
    Figure,
    latency_figures,
    print_table,
    separate_cores,
    start_emulator,
    sunbox_argv,
    sunbox_config,
    until_ready,
    write_results,
)
from .fanout import _chats
from .throughput import Load, Stalled

ITEM = "📣 Party item: the branch meets on Friday at 19:00 in the village hall."
WARMUP = 3.0
OFFICIALS = [1101, 1103, 1107, 1109, 1111]


class Watch:
    """When each accepted sendMessage of interest reached the emulator (perf_counter)."""

    def __init__(self, emu: Emulator, officials: list[int]) -> None:
        self.broadcast: list[float] = []        # the item, accepted
        self.arrived: dict[str, float] = {}     # a text -> when it was accepted
        self.cards: dict[int, list[float]] = {o: [] for o in officials}  # official -> cards
        self.accepted: list[float] = []         # every accepted limited call
        original = emu.call

        async def call(method: str, params: Mapping[str, Any] | None = None,
                       files: Any = None, *, token: str | None = None) -> Any:
            status, body = await original(method, params, files, token=token)
            lowered = method.lower()
            if status == 200 and params and lowered.startswith(("send", "edit")) and (
                    lowered != "sendchataction"):
                now = time.perf_counter()
                self.accepted.append(now)
                text = str(params.get("text", ""))
                chat = int(params.get("chat_id", 0))
                if text == ITEM:
                    self.broadcast.append(now)
                elif lowered == "sendmessage":
                    self.arrived[text] = now
                    if chat in self.cards and "accept" in str(params.get("reply_markup", "")):
                        self.cards[chat].append(now)
            return status, body

        emu.call = call  # type: ignore[method-assign]


@dataclass
class Samples:
    """Latencies (seconds) by when they were asked for."""

    receipts: list[tuple[float, float]] = field(default_factory=list)
    cards: list[tuple[float, float]] = field(default_factory=list)
    replies: list[tuple[float, float]] = field(default_factory=list)  # every action's reply
    stalls: int = 0
    waiting: list[asyncio.Task[None]] = field(default_factory=list)  # cards looked for

    @staticmethod
    def within(series: list[tuple[float, float]], start: float, end: float) -> list[float]:
        return [value for when, value in series if start <= when <= end]


# ----------------------------------------------------------------------------- the load

async def outbox_load(runtime: Any, sender: Any, watch: Watch, residents: list[int],
                      samples: Samples) -> None:
    """A receipt every 0.5 s (claimed and sent at once), a card every second (paced)."""
    loop = asyncio.get_running_loop()
    started, tick = loop.time(), 0
    pending: list[asyncio.Task[None]] = []
    try:
        while True:
            chat = residents[tick % len(residents)]
            text = f"✅ Submitted. Your case number is S-2027-{tick:05d}."
            asked = time.perf_counter()

            def owe(conn: Conn, chat: int = chat, text: str = text) -> list[Any]:
                notify.send(conn, runtime, [notify.Recipient(chat, "en")],
                            lambda t, language: text, now=runtime.clock.now())
                return outbox.claim_for_chat(conn, chat, runtime.clock.now())
            pending.append(asyncio.create_task(_receipt(
                runtime, sender, watch, owe, text, asked, samples)))
            if tick % 2 == 0:
                card = f"📨 New case S-2027-{tick:05d} for your unit."
                official = OFFICIALS[(tick // 2) % len(OFFICIALS)]
                pending.append(asyncio.create_task(_card(
                    runtime, sender, watch, official, card, samples)))
            tick += 1
            pending = [task for task in pending if not task.done()]
            await asyncio.sleep(max(0.0, started + tick * 0.5 - loop.time()))
    finally:
        for task in pending:
            task.cancel()


async def _receipt(runtime: Any, sender: Any, watch: Watch,
                   owe: Callable[[Conn], list[Any]], text: str, asked: float,
                   samples: Samples) -> None:
    await sender.send_claimed(await runtime.db.write(owe))
    await _arrival(watch, text, asked, samples.receipts, samples)


async def _card(runtime: Any, sender: Any, watch: Watch, official: int, text: str,
                samples: Samples) -> None:
    asked = time.perf_counter()
    await runtime.db.write(outbox.enqueue, runtime.clock.now(), official, "message",
                           {"text": text})
    sender.kick()
    await _arrival(watch, text, asked, samples.cards, samples)


async def _arrival(watch: Watch, text: str, asked: float, series: list[tuple[float, float]],
                   samples: Samples) -> None:
    """Wait for ``text`` to arrive (a retry may send it later); a minute at most."""
    for _ in range(12_000):
        if text in watch.arrived:
            series.append((asked, watch.arrived[text] - asked))
            return
        await asyncio.sleep(0.005)
    samples.stalls += 1


async def filing_load(load: Load, watch: Watch, samples: Samples, residents: int,
                      rush: bool) -> None:
    """Residents take turns: one action (a text or a press) every 0.5 s between them, or
    (``rush``) one whole filing every 0.5 s, its steps as fast as the bot answers."""
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(_filer(load, watch, samples, index, residents, started, rush)
                           for index in range(residents)))


async def _filer(load: Load, watch: Watch, samples: Samples, index: int, residents: int,
                 started: float, rush: bool) -> None:
    loop = asyncio.get_running_loop()
    user = load.emu.user(30_000 + index, f"R{index}", language_code="en")
    turn = index

    async def my_turn() -> None:
        nonlocal turn
        await asyncio.sleep(max(0.0, started + turn * 0.5 - loop.time()))
        turn += residents

    step = my_turn if not rush else (lambda: asyncio.sleep(0))
    filing = 0
    while True:
        category, _unit, official = OFFICIAL_UNITS[(filing * residents + index)
                                                   % len(OFFICIAL_UNITS)]
        filing += 1
        try:
            if rush:  # the steps just before this resident's Confirm comes up
                await asyncio.sleep(max(0.0, started + turn * 0.5 - 0.4 - loop.time()))
            await step()
            await load.say(user, "/new", "What would you like to file?")
            await step()
            await load.press_button(user, "new:kind:suggestion", "Which area")
            await step()
            await load.press_button(user, f"new:cat:{category}", "It will go to")
            await step()
            await load.press_button(user, "new:unit:ok", "Describe it")
            await step()
            await load.say(user, "The village accounts have not been published.", "photos")
            await step()
            await load.press_button(user, "new:att:done", "How do you want")
            await step()
            await load.press_button(user, "new:id:anonymous", "Please check your case")
            await my_turn()
            cards = len(watch.cards[official])
            asked = time.perf_counter()
            await load.press_button(user, "new:confirm", "Your case number is")
            arrived = load.clocked.receipts.get(user.id, asked)
            samples.receipts.append((asked, max(0.0, arrived - asked)))
            samples.waiting.append(asyncio.create_task(
                _card_arrival(watch, official, cards, asked, samples)))
        except Stalled:
            samples.stalls += 1
            load.emu.send_text(user, "/cancel")
            await asyncio.sleep(1.0)


async def _card_arrival(watch: Watch, official: int, before: int, asked: float,
                        samples: Samples) -> None:
    """The official's next card after ``before`` (each unit's cards come in order)."""
    for _ in range(12_000):
        if len(watch.cards[official]) > before:
            samples.cards.append((asked, watch.cards[official][before] - asked))
            return
        await asyncio.sleep(0.005)


# ----------------------------------------------------------------------------- phases

@dataclass
class Phases:
    baseline: tuple[float, float] = (0.0, 0.0)
    broadcast: tuple[float, float] = (0.0, 0.0)
    after: tuple[float, float] = (0.0, 0.0)
    throttled: dict[str, int] = field(default_factory=dict)


async def phases(watch: Watch, limits: FloodLimits, count: int,
                 baseline: float, owe_broadcast: Callable[[], Awaitable[None]]) -> Phases:
    """Baseline, broadcast (until every member has the item, or a timeout), after."""
    found = Phases()
    await asyncio.sleep(WARMUP)
    limits.throttled = 0
    start = time.perf_counter()
    await asyncio.sleep(baseline)
    found.baseline = (start, time.perf_counter())
    found.throttled["baseline"] = limits.throttled
    await owe_broadcast()
    deadline = time.perf_counter() + count / 10 + 120
    while len(watch.broadcast) < count and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    first = watch.broadcast[0] if watch.broadcast else time.perf_counter()
    last = watch.broadcast[-1] if watch.broadcast else first
    found.broadcast = (first, last)
    found.throttled["broadcast"] = limits.throttled - found.throttled["baseline"]
    await asyncio.sleep(1.0)
    start = time.perf_counter()
    await asyncio.sleep(baseline)
    found.after = (start, time.perf_counter())
    found.throttled["after"] = (limits.throttled - found.throttled["baseline"]
                                - found.throttled["broadcast"])
    return found


def windows(times: list[float], seconds: float = 30.0) -> list[float]:
    """Messages a second in each whole window of ``seconds`` from the first."""
    if len(times) < 2:
        return []
    rates, start = [], times[0]
    while start + seconds <= times[-1]:
        rates.append(sum(1 for t in times if start <= t < start + seconds) / seconds)
        start += seconds
    return rates


# ----------------------------------------------------------------------------- runs

async def run_outbox(count: int, baseline: float) -> dict[str, Any]:
    emu, server = await start_emulator()
    limits = emu.flood_limits = FloodLimits()
    members = _chats(emu, count)
    residents = [emu.user(30_000 + i, f"R{i}", language_code="en").id for i in range(4)]
    for official in OFFICIALS:
        emu.user(official, "Official", language_code="en")
    watch = Watch(emu, OFFICIALS)
    samples = Samples()
    with tempfile.TemporaryDirectory(prefix="sunbox-broadcast-") as tmp:
        application = _application(emu, server, Path(tmp))
        await application.initialize()
        assert application.post_init is not None and application.post_shutdown is not None
        await application.post_init(application)
        runtime = application.bot_data.runtime
        sender = application.bot_data.sender

        async def owe_broadcast() -> None:
            await runtime.db.write(outbox.enqueue_many, runtime.clock.now(), members,
                                   "message", {"text": ITEM})
            sender.kick()  # as the end of the update that published it does

        load = asyncio.create_task(outbox_load(runtime, sender, watch, residents, samples))
        try:
            found = await phases(watch, limits, count, baseline, owe_broadcast)
        finally:
            load.cancel()
            await asyncio.gather(load, return_exceptions=True)
            counts = await runtime.db.read(outbox.counts)
            await application.shutdown()
            await application.post_shutdown(application)
            await server.stop()
    return _report(emu, watch, samples, found, members, counts, "outbox")


def _application(emu: Emulator, server: EmulatorServer, tmp: Path) -> Any:
    config = load_config(default_config_path())
    config = dataclasses.replace(config, telegram=dataclasses.replace(
        config.telegram, token=emu.token, api_base_url=server.base_url))
    return build_application(config, database=str(tmp / "broadcast.db"),
                             outbox_loop=True, outbox_rates=Rates())


async def run_filing(count: int, baseline: float, rush: bool) -> dict[str, Any]:
    core = separate_cores()
    emu, server = await start_emulator()
    # A rush files a case every 0.5 s, nine calls to one chat at once each: 30 residents
    # in turn, and chats that allow a burst of 12 (a filing each 15 s per chat fits).
    residents = 30 if rush else 3
    limits = emu.flood_limits = FloodLimits(chat_burst=12) if rush else FloodLimits()
    clocked = Clocked(emu)
    members = _chats(emu, count)
    officials = [official for _c, _u, official in OFFICIAL_UNITS]
    for official in officials:
        emu.user(official, "Official", language_code="en")
    watch = Watch(emu, officials)
    samples = Samples()
    logs = Path(tempfile.mkdtemp(prefix="sunbox-broadcast-logs-"))
    with tempfile.TemporaryDirectory(prefix="sunbox-broadcast-") as tmp:
        config = sunbox_config(emu, server, Path(tmp))
        proc = BotProcess(sunbox_argv(config), logs / "sunbox.log", core=core)
        await proc.start()
        database = Path(tmp) / "sunbox.db"

        async def owe_broadcast() -> None:
            # Written into the running bot's database, as the register's update would; the
            # next filing's end wakes its sender.
            db = await Database.open(database)
            try:
                await db.write(outbox.enqueue_many, datetime.now(UTC), members, "message",
                               {"text": ITEM})
            finally:
                await db.close()

        try:
            await until_ready(emu)
            people = Load(emu, clocked)
            load = asyncio.create_task(filing_load(people, watch, samples, residents, rush))
            try:
                found = await phases(watch, limits, count, baseline, owe_broadcast)
            finally:
                load.cancel()
                for task in samples.waiting:
                    task.cancel()
                await asyncio.gather(load, *samples.waiting, return_exceptions=True)
            samples.replies = people.latencies
            db = await Database.open(database)
            try:
                counts = await db.read(outbox.counts)
            finally:
                await db.close()
        finally:
            await proc.stop()
            await server.stop()
    print(f"bot log: {logs / 'sunbox.log'}")
    return _report(emu, watch, samples, found, members, counts,
                   "filing rush" if rush else "filing")


# ----------------------------------------------------------------------------- report

def _report(emu: Emulator, watch: Watch, samples: Samples, found: Phases, members: list[int],
            counts: dict[str, int], mode: str) -> dict[str, Any]:
    copies = [sum(1 for m in emu.sent(chat) if m.text == ITEM) for chat in members]
    first, last = found.broadcast
    span = max(last - first, 1e-9)
    during = [t for t in watch.accepted if first <= t <= last]
    phases_ = {"baseline": found.baseline, "broadcast": found.broadcast, "after": found.after}
    series = {"receipt": samples.receipts, "card": samples.cards, "reply": samples.replies}
    latency = {kind: {name: latency_figures(Samples.within(values, *window))
                      for name, window in phases_.items()} for kind, values in series.items()}
    for kind, values in series.items():
        latency[kind]["baseline+after"] = latency_figures(
            Samples.within(values, *found.baseline) + Samples.within(values, *found.after))
    per_window = windows(watch.broadcast)
    return {
        "mode": mode, "recipients": len(members),
        "delivered": len(watch.broadcast), "seconds": span,
        "per_second": (len(watch.broadcast) - 1) / span if len(watch.broadcast) > 1 else 0.0,
        "per_30s_window": {"min": min(per_window, default=None),
                           "max": max(per_window, default=None)},
        "all_calls_per_second_during": len(during) / span,
        "interactive_calls_per_second_during": (len(during) - len(watch.broadcast)) / span,
        "reached_once": sum(1 for n in copies if n == 1),
        "reached_twice": sum(1 for n in copies if n > 1),
        "missed": sum(1 for n in copies if n == 0),
        "throttled_429": found.throttled, "latency": latency, "stalls": samples.stalls,
        "outbox": counts,
    }


def _show(result: dict[str, Any]) -> list[Figure]:
    lat = result["latency"]
    count = result["recipients"]
    throttled = sum(result["throttled_429"].values())
    print(f"  broadcast: {result['delivered']} of {count} in {result['seconds']:.1f} s = "
          f"{result['per_second']:.2f}/s (30-s windows {result['per_30s_window']}), all calls "
          f"{result['all_calls_per_second_during']:.1f}/s, interactive "
          f"{result['interactive_calls_per_second_during']:.1f}/s; 429s "
          f"{result['throttled_429']}; once {result['reached_once']}, twice "
          f"{result['reached_twice']}, missed {result['missed']}; outbox {result['outbox']}",
          flush=True)
    for kind in ("receipt", "card", "reply"):
        if not lat[kind]["baseline+after"]["n"]:
            continue
        parts = ", ".join(
            f"{name} p50 {f['p50_ms'] or 0:.1f} p99 {f['p99_ms'] or 0:.1f} ms (n={f['n']})"
            for name, f in lat[kind].items())
        print(f"  {kind}: {parts}", flush=True)
    base, during = lat["receipt"]["baseline+after"], lat["receipt"]["broadcast"]
    card_base, card_during = lat["card"]["baseline+after"], lat["card"]["broadcast"]
    return [
        Figure(f"broadcast to {count}", result["per_second"], "msg/s", None, ">= 27/s",
               result["per_second"] >= 27),
        Figure("429s received (whole run)", throttled, "429s", None, "0", throttled == 0),
        Figure("members reached exactly once", result["reached_once"], "members", None,
               f"{count}", result["reached_once"] == count),
        Figure("receipt p50 during broadcast", during["p50_ms"], "ms", base["p50_ms"]),
        Figure("receipt p99 during broadcast", during["p99_ms"], "ms", base["p99_ms"]),
        Figure("card p50 during broadcast", card_during["p50_ms"], "ms", card_base["p50_ms"]),
        Figure("card p99 during broadcast", card_during["p99_ms"], "ms", card_base["p99_ms"]),
    ] + ([Figure(f"every reply {q} during broadcast", lat["reply"]["broadcast"][f"{q}_ms"],
                 "ms", lat["reply"]["baseline+after"][f"{q}_ms"]) for q in ("p50", "p99")]
         if lat["reply"]["baseline+after"]["n"] else [])


async def main(count: int, baseline: float, filing: bool, rush: bool) -> None:
    if filing or rush:
        result = await run_filing(count, baseline, rush)
    else:
        result = await run_outbox(count, baseline)
    figures = _show(result)
    print()
    print_table(figures)
    name = "broadcast_rush" if rush else "broadcast_filing" if filing else "broadcast"
    print(f"results: {write_results(name, figures, result)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    parser.add_argument("--filing", action="store_true",
                        help="sunbox run in a child process, residents filing whole cases")
    parser.add_argument("--rush", action="store_true",
                        help="with --filing: a whole filing every 0.5 s, not one action")
    args = parser.parse_args()
    asyncio.run(main(args.recipients, args.baseline_seconds, args.filing, args.rush))
