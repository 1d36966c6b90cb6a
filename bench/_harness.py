"""Shared pieces of the issue-7 benchmarks: bot processes, timing, faults, reporting.

The emulator (``bot.emulator``) and the simulated people run in this process; the bot under
test runs in a child process that long-polls the emulator over HTTP on loopback, exactly as
``sunbox run`` polls Telegram. Both the echo baseline and Sunbox run that way; with
:func:`separate_cores` the bot has a core to itself and the measuring side the other, and
the measuring side costs both bots the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.emulator.core import Emulator
from tests.support.processes import (
    OFFICIAL_UNITS,
    BotProcess,
    echo_argv,
    seal_key_file,
    separate_cores,
    start_emulator,
    sunbox_argv,
    sunbox_config,
    until_ready,
    wait_until,
)

RESULTS = Path(__file__).resolve().parent / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
__all__ = ["OFFICIAL_UNITS", "BotProcess", "echo_argv", "seal_key_file", "separate_cores",
           "start_emulator", "sunbox_argv", "sunbox_config", "until_ready", "wait_until"]

# Units without sign-off in the example county, one official each (ids outside the config's).
# ----------------------------------------------------------------------------- timing

class Clocked:
    """Wraps ``emu.call``: when each Bot API call reached the emulator (perf_counter)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.receipts: dict[int, float] = {}      # chat id -> a "case number" message arrived
        self.last_send: dict[int, float] = {}     # chat id -> last sendMessage/editMessageText
        self.answers: dict[str, float] = {}       # callback query id -> answerCallbackQuery
        self.calls = 0
        original = emu.call

        async def call(method: str, params: Mapping[str, Any] | None = None,
                       files: Any = None, *, token: str | None = None) -> Any:
            now = time.perf_counter()
            lowered = method.lower()
            if lowered != "getupdates":
                self.calls += 1
            if params:
                if lowered in ("sendmessage", "editmessagetext"):
                    chat = int(params.get("chat_id", 0))
                    self.last_send[chat] = now
                    if "case number is" in str(params.get("text", "")):
                        self.receipts[chat] = now
                elif lowered == "answercallbackquery":
                    self.answers[str(params.get("callback_query_id"))] = now
            return await original(method, params, files, token=token)

        emu.call = call  # type: ignore[method-assign]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_figures(values: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
            "mean_ms": statistics.fmean(ms) if ms else None, "max_ms": max(ms) if ms else None}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ----------------------------------------------------------------------------- faults

@dataclass
class Faults:
    """10 % of the bot's calls (not getUpdates) fail: 5xx, a lost answer (the call took
    effect, the bot sees 502), or 429 (retry_after 1 s), a third each."""

    emu: Emulator
    rate: float = 0.10
    seed: int = 7
    counts: dict[str, int] = field(default_factory=lambda: {"5xx": 0, "429": 0, "lost": 0})
    active: bool = False

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        original = self.emu.call

        async def call(method: str, params: Mapping[str, Any] | None = None,
                       files: Any = None, *, token: str | None = None) -> Any:
            if self.active and method.lower() != "getupdates" and self._rng.random() < self.rate:
                kind = self._rng.choice(("5xx", "429", "lost"))
                self.counts[kind] += 1
                if kind == "5xx":
                    self.emu.fail_next(None, self._rng.choice((500, 502)))
                elif kind == "429":
                    self.emu.fail_next(None, 429, retry_after=1)
                else:
                    # The call takes effect but its answer is lost on the way back. The HTTP
                    # front ignores ``lose_answer_next`` (only the in-process transport
                    # honours it), so the loss is answered as a gateway error would be.
                    await original(method, params, files, token=token)
                    return 502, {"ok": False, "error_code": 502,
                                 "description": "Bad Gateway: the answer was lost"}
            return await original(method, params, files, token=token)

        self.emu.call = call  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- processes

# ----------------------------------------------------------------------------- reporting

def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    target: str = ""
    passed: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def print_table(figures: list[Figure]) -> None:
    header = f"{'figure':44} {'value':>9} {'baseline':>9} {'ratio':>6}  {'target':16} result"
    print(header)
    print("-" * len(header))
    for f in figures:
        verdict = {True: "PASS", False: "FAIL", None: "-"}[f.passed]
        print(f"{f.name + ' (' + f.unit + ')':44} {_fmt(f.value):>9} {_fmt(f.baseline):>9} "
              f"{_fmt(f.ratio):>6}  {f.target:16} {verdict}")


def write_results(name: str, figures: list[Figure], details: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    body = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "figures": [{"name": f.name, "value": f.value, "unit": f.unit, "baseline": f.baseline,
                     "ratio": f.ratio, "target": f.target, "passed": f.passed}
                    for f in figures],
        "details": details,
    }
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


async def gather_for(seconds: float, workers: list[Awaitable[None]]) -> None:
    """Run the workers; cancel them after ``seconds``."""
    tasks = [asyncio.ensure_future(w) for w in workers]
    try:
        await asyncio.sleep(seconds)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
            raise result
