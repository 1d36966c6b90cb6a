"""Running Sunbox (or the echo bot) in a child process against the local Bot API emulator,
as ``sunbox run`` runs against Telegram: the system tests and the benchmarks share it (the
benchmarks import it from here; the tests import nothing of the benchmarks)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import RAISED_LIMITS, default_config_path
from bot.emulator.core import Emulator
from bot.emulator.server import EmulatorServer, start_server
from bot.emulator.state import wait_signal

ROOT = Path(__file__).resolve().parents[2]

OFFICIAL_UNITS = (
    ("low_income_support", "civil_affairs", 1101),
    ("rural_subsidies", "agriculture", 1103),
    ("party_building", "organization_dept", 1107),
    ("major_decisions", "county", 1109),
    ("work_style", "discipline", 1111),
)


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


async def start_emulator() -> tuple[Emulator, EmulatorServer]:
    emu = Emulator()
    return emu, await start_server(emu)


def seal_key_file(tmp: Path) -> Path:
    """Where the bot under test keeps its seal key (bot/seal.py)."""
    return tmp / "key" / "seal.key"


def sunbox_config(emu: Emulator, server: EmulatorServer, tmp: Path,
                  database: str | None = None) -> Path:
    """The example county on the emulator, a fresh database (a file in ``tmp``, or the
    PostgreSQL ``database`` URL given, with its file store in ``tmp``), one official per
    unit."""
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('token = ""', f'token = "{emu.token}"')
    text = text.replace('api_base_url = "https://api.telegram.org"',
                        f'api_base_url = "{server.base_url}"')
    text = text.replace('database = "sunbox.db"',
                        f'database = "{database or tmp / "sunbox.db"}"')
    if database is not None:
        text = text.replace('# files = "/var/lib/sunbox/files"', f'files = "{tmp / "files"}"')
        # PostgreSQL never creates a seal key: it is supplied, as a county's would be.
        from bot.seal import encode_key, new_key

        key_file = seal_key_file(tmp)
        key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_file.write_text(encode_key(new_key()) + "\n", encoding="ascii")
        key_file.chmod(0o600)
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


def webhook_config(base: Path, path: Path, *, port: int, webhook_url: str, secret: str,
                   lease_timeout: str = "15s", api_base_url: str | None = None) -> Path:
    """A copy of ``base`` (written by :func:`sunbox_config`, whose database, seal key and
    file store it shares) for one instance in webhook mode, written to ``path``: its HTTP
    server on ``port``, Telegram told to post to ``webhook_url`` (plain http: the emulator
    takes it) with ``secret``, the leader lease of ``[cluster] lease_timeout``, and its Bot
    API calls to ``api_base_url`` (an emulator front of its own) when given."""
    text = base.read_text(encoding="utf-8")
    text = text.replace('mode = "polling"', 'mode = "webhook"', 1)
    text = text.replace('webhook_url = ""', f'webhook_url = "{webhook_url}"', 1)
    text = re.sub(r'^# secret_token = .*$', f'secret_token = "{secret}"', text, count=1,
                  flags=re.M)
    text = re.sub(r'^lease_timeout = .*$', f'lease_timeout = "{lease_timeout}"', text,
                  count=1, flags=re.M)
    if api_base_url is not None:
        text = re.sub(r'^api_base_url = .*$', f'api_base_url = "{api_base_url}"', text,
                      count=1, flags=re.M)
    path.write_text(text + f"\n[http]\nport = {port}\n", encoding="utf-8")
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


