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
import re
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import RAISED_LIMITS, default_config_path
from bot.emulator.core import Emulator
from bot.emulator.server import EmulatorServer, start_server
from bot.emulator.state import wait_signal

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Units without sign-off in the example county, one official each (ids outside the config's).
OFFICIAL_UNITS = (
    ("low_income_support", "civil_affairs", 1101),
    ("rural_subsidies", "agriculture", 1103),
    ("party_building", "organization_dept", 1107),
    ("major_decisions", "county", 1109),
    ("work_style", "discipline", 1111),
)


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


async def wait_until(emu: Emulator, condition: Callable[[], bool], timeout: float, *,
                     chat: int | None = None) -> bool:
    """Wait for ``condition`` (checked on each emulator activity, or only on that in
    ``chat``); False on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        event = emu.waiter(chat)
        if condition():
            return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await wait_signal(event, remaining)


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


async def start_emulator() -> tuple[Emulator, EmulatorServer]:
    emu = Emulator()
    return emu, await start_server(emu)


# ----------------------------------------------------------------------------- processes

def seal_key_file(tmp: Path) -> Path:
    """Where the bot under test keeps its seal key (bot/seal.py)."""
    return tmp / "key" / "seal.key"


def sunbox_config(emu: Emulator, server: EmulatorServer, tmp: Path) -> Path:
    """The example county on the emulator, a fresh database, one official per unit."""
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('token = ""', f'token = "{emu.token}"')
    text = text.replace('api_base_url = "https://api.telegram.org"',
                        f'api_base_url = "{server.base_url}"')
    text = text.replace('database = "sunbox.db"', f'database = "{tmp / "sunbox.db"}"')
    # The simulated people write far faster than one person may (per-person limits).
    for key, value in RAISED_LIMITS.items():
        text = re.sub(rf"^{key} = \d+$", f"{key} = {value}", text, count=1, flags=re.M)
    # The seal key apart from the database (created on the first run); checkers read it.
    text = text.replace('# seal_key_file = "/etc/sunbox/seal.key"',
                        f'seal_key_file = "{seal_key_file(tmp)}"')
    for _category, unit, official in OFFICIAL_UNITS:
        text += (f'\n[[members]]\ntelegram_id = {official}\nrole = "official"\n'
                 f'unit = "{unit}"\n')
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def separate_cores() -> int | None:
    """Move this process (emulator and simulated people) off the first core, and return
    that core for the bot under test; None where a process cannot be pinned (not Linux, or
    one core).

    On two cores shared freely, the bot and the load generator took turns on both, and the
    bot's figures moved with how busy the generator happened to be (a cheaper generator gave
    Sunbox 20 % less). Apart, each bot (echo or Sunbox, with its threads) has one core of
    its own, and its figure is its own cost.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    os.sched_setaffinity(0, set(cores[1:]))
    return cores[0]


class BotProcess:
    """A bot in a child process; stopped with SIGTERM (it shuts down cleanly)."""

    def __init__(self, argv: list[str], log: Path, *, core: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log = log
        self.core = core  # pinned to this core, if given
        self.extra_env = env or {}  # e.g. SUNBOX_ABLATE (bot/ablation.py)
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        env = dict(os.environ)
        env.pop("SUNBOX_CRASH_AT", None)
        env.pop("SUNBOX_ABLATE", None)
        env.update(self.extra_env)
        handle = self.log.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, cwd=ROOT, env=env, stdout=handle, stderr=handle)
        handle.close()
        if self.core is not None:
            os.sched_setaffinity(self.process.pid, {self.core})

    async def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 120)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    async def kill(self) -> int | None:
        """SIGKILL, as ``kill -9`` (no clean-up, no flush), and wait; the exit code."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.kill()
        code = await self.process.wait()
        self.process = None
        return code


def sunbox_argv(config: Path, *, profile: Path | None = None, mode: str = "cpu",
                rate_limiter: bool = True) -> list[str]:
    """``sunbox run`` itself; through ``bench.run_sunbox`` when profiled or a what-if."""
    if profile is None and rate_limiter:
        return [sys.executable, "-m", "bot.cli", "run", "--config", str(config)]
    argv = [sys.executable, "-m", "bench.run_sunbox", str(config)]
    if profile is not None:
        argv += ["--profile", str(profile), "--mode", mode]
    if not rate_limiter:
        argv.append("--no-rate-limiter")
    return argv


def echo_argv(server: EmulatorServer, token: str, stack: str = "ptb") -> list[str]:
    """``bench.echo_bot`` on PTB's defaults, or on Sunbox's stack (``stack="sunbox"``)."""
    return [sys.executable, "-m", "bench.echo_bot", "--url", server.api_base_url,
            "--token", token, "--stack", stack]


async def until_ready(emu: Emulator, timeout: float = 60.0) -> None:
    """The bot polls (a getUpdates arrived; calls do not wake ``wait_until``, so poll)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not emu.calls_to("getUpdates"):
        if loop.time() > deadline:
            raise TimeoutError("the bot never polled")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)


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
