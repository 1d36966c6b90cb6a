"""The network as a county meets it: Telegram only through a proxy, Telegram out of reach,
a token Telegram refuses, another program polling with the same token, and a second
``sunbox run`` on the same database. The real ``sunbox run`` process against the Bot API
emulator's HTTP front, as an operator would start it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import default_config_path, load_config, proxy_from_env
from bot.emulator.core import Emulator
from bot.emulator.server import EmulatorServer, start_server
from bot.telegram.poller import DurablePoller
from tests.conftest import Bench

ROOT = Path(__file__).resolve().parents[2]
RESIDENT = 8101
#: A token of the form @BotFather gives (the emulator's own is shorter: it checks none).
GOOD_TOKEN = "123456789:AAHk3z_Q7e-rT0pLmN2vXyZ4aBcDeFgHiJk"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


# --------------------------------------------------------------------------- a tiny proxy

class TinyProxy:
    """An HTTP ``CONNECT`` and SOCKS5 proxy on 127.0.0.1 that tunnels to the target and
    notes, for each tunnel, its kind and target and the Bot API methods asked inside it."""

    def __init__(self) -> None:
        self.tunnels: list[tuple[str, str]] = []
        self.methods: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._open):
            task.cancel()
        await asyncio.gather(*self._open, return_exceptions=True)

    async def settled(self) -> None:
        """Wait until every tunnel has closed (its client went away)."""
        await asyncio.wait_for(asyncio.gather(*self._open, return_exceptions=True), 10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        try:
            first = await reader.readexactly(1)
            if first == b"\x05":
                kind, host, port = "socks5", *await self._socks5(reader, writer)
            else:
                head = first + await reader.readuntil(b"\r\n\r\n")
                target = re.match(rb"CONNECT ([^\s:]+):(\d+) HTTP/1\.[01]\r\n", head)
                assert target is not None, head[:80]
                kind, host, port = "connect", target[1].decode(), int(target[2])
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.tunnels.append((kind, f"{host}:{port}"))
            up_reader, up_writer = await asyncio.open_connection(host, port)
            sent = bytearray()
            await asyncio.gather(self._pipe(reader, up_writer, sent),
                                 self._pipe(up_reader, writer, None))
            self.methods += [m.decode() for m in re.findall(
                rb"(?:GET|POST) /bot[^/\s]*/(\w+) HTTP/1\.1\r\n", bytes(sent))]
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._open.discard(task)

    async def _socks5(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> tuple[str, int]:
        methods = await reader.readexactly((await reader.readexactly(1))[0])
        assert 0 in methods  # no authentication
        writer.write(b"\x05\x00")
        version, command, _, kind = await reader.readexactly(4)
        assert (version, command) == (5, 1)  # CONNECT
        if kind == 1:
            host = socket.inet_ntoa(await reader.readexactly(4))
        elif kind == 3:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        else:
            host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
        port = int.from_bytes(await reader.readexactly(2), "big")
        writer.write(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
        return host, port

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                    seen: bytearray | None) -> None:
        try:
            while chunk := await source.read(65536):
                if seen is not None:
                    seen += chunk
                sink.write(chunk)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.close()


# --------------------------------------------------------------------------- sunbox run

def write_config(tmp_path: Path, api_base_url: str, token: str, proxy: str = "") -> Path:
    """The example configuration, for a run against ``api_base_url``."""
    path = tmp_path / "config.toml"
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('token = ""', f'token = "{token}"')
    text = text.replace('api_base_url = "https://api.telegram.org"',
                        f'api_base_url = "{api_base_url}"')
    text = text.replace('proxy = ""', f'proxy = "{proxy}"')
    text = text.replace('database = "sunbox.db"', f'database = "{tmp_path / "sunbox.db"}"')
    path.write_text(text, encoding="utf-8")
    return path


class Run:
    """One ``sunbox run`` process; its log (stderr) read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def line_with(self, fragment: str, timeout: float = 60) -> str:
        """The next log line containing ``fragment`` (the lines before it are kept)."""
        assert self.process.stderr is not None
        while True:
            raw = await asyncio.wait_for(self.process.stderr.readline(), timeout)
            assert raw, f"sunbox run ended without {fragment!r}: {self.lines}"
            self.lines.append(raw.decode().rstrip("\n"))
            if fragment in self.lines[-1]:
                return self.lines[-1]

    async def finish(self) -> int:
        """Wait for the end (after SIGTERM, or by itself); the rest of the log is read."""
        assert self.process.stderr is not None
        rest = await asyncio.wait_for(self.process.stderr.read(), 60)
        self.lines += rest.decode().splitlines()
        return await asyncio.wait_for(self.process.wait(), 60)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.finish()


async def sunbox_run(tmp_path: Path, config: Path, *, language: str = "en",
                     **env: str) -> Run:
    """``sunbox run`` in its own process, with its seal key in a home of its own and no
    proxy from this machine's environment unless ``env`` gives one."""
    clean = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES
             and k not in ("SUNBOX_TOKEN", "SUNBOX_CRASH_AT")}
    clean.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"), **env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--lang", language,
        cwd=ROOT, env=clean, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    return Run(process)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Emulator, EmulatorServer]]:
    emu = Emulator(token=GOOD_TOKEN)
    server = await start_server(emu)
    try:
        yield emu, server
    finally:
        await server.stop()


@pytest.fixture
async def proxy() -> AsyncIterator[TinyProxy]:
    tiny = TinyProxy()
    await tiny.start()
    try:
        yield tiny
    finally:
        await tiny.stop()


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def no_traceback(lines: list[str]) -> None:
    assert not any("Traceback" in line or line.startswith("  File ") for line in lines), lines


# --------------------------------------------------------------------------- the proxy

@pytest.mark.parametrize(("where", "scheme", "kind"), [
    ("file", "http", "connect"),        # [telegram] proxy = "http://…"
    ("ALL_PROXY", "socks5", "socks5"),  # the key unset: the environment's SOCKS proxy
    ("HTTP_PROXY", "http", "connect"),  # the API's own scheme's variable
])
async def test_every_bot_api_call_goes_through_the_proxy(
        tmp_path: Path, served: tuple[Emulator, EmulatorServer], proxy: TinyProxy,
        where: str, scheme: str, kind: str) -> None:
    emu, server = served
    url = f"{scheme}://127.0.0.1:{proxy.port}"
    config = write_config(tmp_path, server.base_url, GOOD_TOKEN,
                          proxy=url if where == "file" else "")
    run = await sunbox_run(tmp_path, config, **({} if where == "file" else {where: url}))
    resident = emu.user(RESIDENT, "Resident", language_code="en")
    try:
        emu.send_text(resident, "/start")
        await emu.wait_for(resident.id, lambda m: "Welcome to Sunbox" in (m.text or ""),
                           timeout=60)
    finally:
        assert await run.stop() == 0
    await proxy.settled()
    no_traceback(run.lines)
    assert proxy.tunnels and set(proxy.tunnels) == {(kind, f"127.0.0.1:{server.port}")}
    # Every call the emulator answered came through a tunnel: none went around the proxy.
    answered = Counter(name for name, _ in emu.calls)
    assert {"getMe", "getUpdates", "sendMessage"} <= set(answered)
    assert Counter(proxy.methods) == answered


def test_the_environment_proxy_follows_the_api_scheme_and_no_proxy(tmp_path: Path) -> None:
    https, http = "https://api.telegram.org", "http://127.0.0.1:8081"
    env = {"HTTPS_PROXY": "http://10.0.0.1:3128", "ALL_PROXY": "socks5://10.0.0.2:1080"}
    assert proxy_from_env(env, https) == ("HTTPS_PROXY", "http://10.0.0.1:3128")
    assert proxy_from_env(env, http) == ("ALL_PROXY", "socks5://10.0.0.2:1080")
    assert proxy_from_env({"https_proxy": "socks5h://h:1", **env}, https) == (
        "https_proxy", "socks5h://h:1")
    assert proxy_from_env({**env, "NO_PROXY": "localhost,.telegram.org"}, https) is None
    assert proxy_from_env({**env, "NO_PROXY": "example.org"}, https) is not None
    assert proxy_from_env({}, https) is None
    # The key wins over the environment; an empty key leaves it to the environment.
    path = write_config(tmp_path, https, GOOD_TOKEN, proxy="socks5://127.0.0.1:1080")
    assert load_config(path, env=env).telegram.proxy == "socks5://127.0.0.1:1080"
    path = write_config(tmp_path, https, GOOD_TOKEN)
    assert load_config(path, env=env).telegram.proxy == "http://10.0.0.1:3128"
    assert load_config(path, env={}).telegram.proxy is None


def test_check_config_names_a_bad_proxy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
        monkeypatch.delenv(variable.upper(), raising=False)
    path = write_config(tmp_path, "https://api.telegram.org", GOOD_TOKEN,
                        proxy="ftp://127.0.0.1:21")
    assert main(["check-config", "--config", str(path), "--lang", "en"]) == 1
    assert "telegram.proxy: must be a proxy URL" in capsys.readouterr().err
    path = write_config(tmp_path, "https://api.telegram.org", GOOD_TOKEN)
    monkeypatch.setenv("ALL_PROXY", "socks5://user:secret@proxy.local")  # no port
    argv = ["check-config", "--for-run", "--config", str(path), "--lang", "zh_CN"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "telegram.proxy" in err and "ALL_PROXY" in err and "secret" not in err
    # Only `sunbox run` uses it: the demo and the administrators' commands ignore it.
    assert main(["check-config", "--config", str(path), "--lang", "en"]) == 0
    monkeypatch.setenv("ALL_PROXY", "socks://proxy.local:1080/")  # as GNOME writes it
    assert main(argv) == 0


# --------------------------------------------------------------------------- start-up

async def test_an_unreachable_telegram_is_one_line_per_try_and_retried(tmp_path: Path) -> None:
    """Nothing listens at the API's address: each try is one line (no traceback), the pause
    grows, and the process keeps running until it is stopped."""
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}", GOOD_TOKEN)
    run = await sunbox_run(tmp_path, config)
    first = await run.line_with("cannot be reached")
    second = await run.line_with("cannot be reached")
    assert run.process.returncode is None  # still trying
    assert await run.stop() == 0
    no_traceback(run.lines)
    assert "trying again in 1 s (try 1)" in first and "trying again in 2 s (try 2)" in second
    assert "127.0.0.1" in first and GOOD_TOKEN.split(":")[1] not in "".join(run.lines)
    # Nothing else was said: one line per try (a third may have come before the stop).
    # APScheduler's notes of the jobs registered are the logging settings' business.
    said = [line for line in run.lines if " apscheduler." not in line]
    assert all("cannot be reached" in line for line in said), said


async def test_an_unreachable_telegram_is_reported_in_the_operators_language(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}", GOOD_TOKEN)
    run = await sunbox_run(tmp_path, config, language="zh_CN")
    line = await run.line_with("Telegram")
    assert await run.stop() == 0
    assert "无法连接" in line, line


async def test_an_unreachable_proxy_is_named_without_its_password(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, "https://api.telegram.org", GOOD_TOKEN,
                          proxy=f"socks5://op:hunter2@127.0.0.1:{port}")
    run = await sunbox_run(tmp_path, config)
    line = await run.line_with("cannot be reached")
    assert await run.stop() == 0
    assert f"through the proxy socks5://op:***@127.0.0.1:{port}" in line, line
    assert "hunter2" not in "".join(run.lines)
    no_traceback(run.lines)


@pytest.mark.parametrize("refusal", ["wrong token", "404"])
async def test_a_refused_token_exits_2_with_one_line(
        tmp_path: Path, served: tuple[Emulator, EmulatorServer], refusal: str) -> None:
    emu, server = served
    token = GOOD_TOKEN
    if refusal == "404":
        emu.fail_next("getMe", 404)  # what Telegram answers a token of no bot
    else:
        token = "987654321:AAwrongwrongwrongwrongwrongwrong000"  # 401 from the emulator
    run = await sunbox_run(tmp_path, write_config(tmp_path, server.base_url, token))
    assert await run.finish() == 2
    assert len(run.lines) == 1, run.lines
    assert "Telegram refused the bot token" in run.lines[0]
    assert "wrong" not in run.lines[0]
    # Nothing was opened on the way: no database, no seal key.
    assert not (tmp_path / "sunbox.db").exists()
    assert not (tmp_path / "xdg" / "sunbox" / "seal.key").exists()


# --------------------------------------------------------------------------- one instance

async def test_a_second_run_on_the_same_database_is_refused_naming_the_first(
        tmp_path: Path, served: tuple[Emulator, EmulatorServer]) -> None:
    emu, server = served
    config = write_config(tmp_path, server.base_url, GOOD_TOKEN)
    first = await sunbox_run(tmp_path, config)
    try:
        resident = emu.user(RESIDENT, "Resident", language_code="en")
        emu.send_text(resident, "/start")
        await emu.wait_for(resident.id, lambda m: "Welcome to Sunbox" in (m.text or ""),
                           timeout=60)
        second = await sunbox_run(tmp_path, config)
        assert await second.finish() == 1
    finally:
        assert await first.stop() == 0
    assert len(second.lines) == 1, second.lines
    line = second.lines[0]
    assert "Another Sunbox is running on" in line
    assert f"pid {first.process.pid} on {socket.gethostname()}" in line
    assert re.search(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line), line
    no_traceback(first.lines)


# --------------------------------------------------------------------------- 409 Conflict

async def test_a_409_conflict_is_one_line_and_polling_goes_on(
        bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    """Another program polls with the same token: Telegram answers getUpdates with 409.
    The poller says so once per refusal, waits, and serves the resident afterwards."""
    assert bench.app is not None
    resident = bench.user(RESIDENT, "Resident", language="en")
    bench.emu.fail_next("getUpdates", 409, times=2, description=(
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running"))
    bench.emu.send_text(resident, "/start")
    poller = DurablePoller(bench.app, timeout=1, conflict_retry=0.01)
    polling = asyncio.create_task(poller.run())
    try:
        await bench.emu.wait_for(resident.id,
                                 lambda m: "Welcome to Sunbox" in (m.text or ""), timeout=30)
        assert not polling.done()
    finally:
        poller.stop()
        await polling
    conflicts = [r for r in caplog.records if "409 Conflict" in r.getMessage()]
    assert len(conflicts) == 2
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in conflicts)
    assert "only one bot instance is running" in conflicts[0].getMessage()
    assert "trying again in 0 s" in conflicts[0].getMessage()


# --------------------------------------------------------------------------- token format

@pytest.mark.parametrize(("token", "variable", "ok"), [
    (GOOD_TOKEN, None, True),
    ("123456:TEST", None, False),                 # too short a secret
    ("AAHk3z_Q7e-rT0pLmN2vXyZ4aBcDeFgHiJk", None, False),  # no bot id
    (GOOD_TOKEN.replace("_", " "), None, False),  # a space pasted in
    ("", "bot123:AAHk3z_Q7e-rT0pLmN2vXyZ4aBcDeFgHiJk", False),  # from the environment
])
def test_check_config_for_run_checks_the_tokens_form(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        token: str, variable: str | None, ok: bool) -> None:
    monkeypatch.delenv("SUNBOX_TOKEN", raising=False)
    if variable is not None:
        monkeypatch.setenv("SUNBOX_TOKEN", variable)
    path = write_config(tmp_path, "https://api.telegram.org", token)
    argv = ["check-config", "--for-run", "--config", str(path), "--lang", "en"]
    assert main(argv) == (0 if ok else 1)
    err = capsys.readouterr().err
    if not ok:
        key = "SUNBOX_TOKEN" if variable else "telegram.token"
        assert f"{key}: does not look like a bot token" in err, err
        # The form is for --for-run: a file checked for other reasons is not refused for it.
        assert main(["check-config", "--config", str(path), "--lang", "en"]) == 0
