"""Several ``sunbox run`` processes on one database in webhook mode, against the Bot API
emulator, behind a round-robin load balancer (the cluster drill,
``tests/system/cluster_drill.py``, and ``bench/cluster.py``).

- Each instance has an emulator front of its own (an HTTP server on the one emulator), so
  every Bot API call is known to come from one process, and which process sent each message
  is exact.
- :class:`Balancer` takes the emulator's webhook POSTs and passes each to the next instance
  in turn, as nginx's ``upstream`` does; a refused connection (a dead instance) goes to the
  next one (``proxy_next_upstream error``); a POST that failed after it was passed on, or
  that no instance took, is answered 502, and Telegram (the emulator) posts it again. Every
  instance's ``webhook_url`` is the balancer's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiohttp
from aiohttp import web

from bot.emulator.core import Emulator
from bot.emulator.server import EmulatorServer, start_server
from bot.telegram.webhook import SECRET_HEADER
from storage import leases
from tests.support.processes import BotProcess, sunbox_argv, sunbox_config, webhook_config

PATH = "/telegram/updates"
#: How long the balancer waits for an instance's answer (nginx's proxy_read_timeout is 60 s;
#: the emulator gives up on a POST after 30).
FORWARD_TIMEOUT = 25.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ============================================================================ the balancer

def sender_of(body: bytes) -> int:
    """The id of whoever sent the update in ``body`` (0: none found)."""
    with contextlib.suppress(ValueError):
        update = json.loads(body)
        for value in update.values() if isinstance(update, dict) else ():
            sender = value.get("from") if isinstance(value, dict) else None
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return int(sender["id"])
    return 0


class Balancer:
    """Round robin over the instances' webhooks (see the module's docs); ``sticky``: each
    person's updates to one instance (a hash of their id), the next one while it is dead (a
    baseline only: nginx cannot hash on a JSON body)."""

    def __init__(self, upstreams: list[str], *, sticky: bool = False) -> None:
        self.upstreams = upstreams   # each instance's http://host:port
        self.sticky = sticky
        self.forwarded: Counter[int] = Counter()   # answered, by instance
        self.refused = 0             # connections refused, passed to the next instance
        self.bad_gateway = 0         # answered 502
        self._turn = 0
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen on a free port; the webhook URL to give the instances."""
        # A connection per request, as nginx's upstreams have by default: none is left
        # half-open in a pool by a killed instance.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT))
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(PATH, self._forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {name: request.headers[name] for name in (SECRET_HEADER, "Content-Type")
                   if name in request.headers}
        if self.sticky:
            first = zlib.crc32(str(sender_of(body)).encode()) % len(self.upstreams)
        else:
            first = self._turn
            self._turn = (self._turn + 1) % len(self.upstreams)
        for step in range(len(self.upstreams)):
            index = (first + step) % len(self.upstreams)
            try:
                async with self._session.post(self.upstreams[index] + PATH, data=body,
                                              headers=headers) as response:
                    answer = await response.read()
                    self.forwarded[index] += 1
                    return web.Response(status=response.status, body=answer, headers={
                        "Content-Type": response.headers.get("Content-Type", "text/plain")})
            except aiohttp.ClientConnectorError:
                self.refused += 1   # nobody listens: the next one
            except (aiohttp.ClientError, TimeoutError):
                break   # passed on, then lost: not tried elsewhere (a POST), as nginx
        self.bad_gateway += 1
        return web.Response(status=502, text="bad gateway\n")


# ============================================================================ the instances

@dataclass
class Send:
    """A message the emulator took from an instance, or an edit of one."""

    at: float          # time.perf_counter()
    process: int
    chat: int
    text: str          # as sent (kept in memory only)
    edit: bool = False


@dataclass
class Instance:
    """One slot of the cluster: its port, its emulator front, the process running in it."""

    index: int
    port: int
    config: Path | None = None
    front: EmulatorServer | None = None
    process: BotProcess | None = None
    number: int = 0                # the process's number over the run (1, 2, ...)
    spawned: float = 0.0
    serving: asyncio.Event = field(default_factory=asyncio.Event)


class _Front:
    """The emulator as one instance's HTTP front sees it: every call tagged with it."""

    def __init__(self, emu: Emulator, cluster: Cluster, instance: Instance) -> None:
        self._emu = emu
        self._cluster = cluster
        self._instance = instance

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emu, name)

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   files: Any = None, *, token: str | None = None) -> tuple[int, dict[str, Any]]:
        return await self._cluster.call(self._instance, method, params, files, token)


class Cluster:
    """The instances and their processes; to the people, "the bot" (``Deployment``)."""

    def __init__(self, emu: Emulator, logs: Path, count: int, sends: set[str]) -> None:
        self.emu = emu
        self.logs = logs
        self.sends_methods = sends   # the Bot API methods that send a message (lower case)
        self.instances = [Instance(index, free_port()) for index in range(count)]
        self.kills = 0
        self.ready = False            # every instance served once and the webhook is set
        self.origin: dict[tuple[int, int], int] = {}      # message -> kill epoch
        self.process_of: dict[tuple[int, int], int] = {}  # message -> process number
        self.sends: list[Send] = []
        self.starts: list[float] = []   # seconds from spawn to serving, per process
        self.exit_codes: dict[int, int | None] = {}       # process number -> exit code
        self._processes = 0

    @property
    def generation(self) -> int:
        return self.kills + 1

    async def open(self, database: str, webhook_url: str, lease_timeout: float) -> None:
        """An emulator front and a configuration for each instance: one database, seal key
        and file store (in ``logs``), one secret."""
        for instance in self.instances:
            instance.front = await start_server(cast(Emulator, _Front(self.emu, self,
                                                                        instance)))
        assert self.instances[0].front is not None
        base = sunbox_config(self.emu, self.instances[0].front, self.logs, database=database)
        secret = secrets.token_urlsafe(24)
        for instance in self.instances:
            assert instance.front is not None
            instance.config = webhook_config(
                base, base.with_name(f"config-{instance.index}.toml"), port=instance.port,
                webhook_url=webhook_url, secret=secret,
                lease_timeout=f"{lease_timeout:g}s", api_base_url=instance.front.base_url)

    async def call(self, instance: Instance, method: str, params: Mapping[str, Any] | None,
                   files: Any, token: str | None) -> tuple[int, dict[str, Any]]:
        number, epoch = instance.number, self.generation
        lowered = method.lower()
        # The server listens before the webhook is looked at (bot/telegram/webhook.py).
        if lowered == "getwebhookinfo" and not instance.serving.is_set():
            instance.serving.set()
            self.starts.append(time.perf_counter() - instance.spawned)
        status, body = await self.emu.call(method, params, files, token=token)
        result = body.get("result")
        if status == 200 and isinstance(result, dict) and "message_id" in result:
            key = (int(result["chat"]["id"]), int(result["message_id"]))
            sent = lowered in self.sends_methods
            if sent:
                self.origin[key] = epoch
                self.process_of[key] = number
            self.sends.append(Send(time.perf_counter(), number, key[0], str(
                result.get("text") or result.get("caption") or ""), edit=not sent))
        return status, body

    async def start(self, instance: Instance) -> None:
        assert instance.config is not None
        self._processes += 1
        instance.number = self._processes
        instance.serving.clear()
        instance.spawned = time.perf_counter()
        instance.process = BotProcess(
            sunbox_argv(instance.config),
            self.logs / f"sunbox-{instance.number:02d}-instance-{instance.index}.log")
        await instance.process.start()

    async def serving(self, instance: Instance, timeout: float = 90.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                await instance.serving.wait()
        except TimeoutError:
            raise RuntimeError(f"process {instance.number} (instance {instance.index}) never "
                               f"served (see {self.logs})") from None

    async def kill(self, instance: Instance) -> float:
        """SIGKILL; the moment it was sent."""
        assert instance.process is not None
        self.kills += 1
        began = time.perf_counter()
        self.exit_codes[instance.number] = await instance.process.kill()
        instance.process = None
        return began

    async def stop(self) -> None:
        for instance in self.instances:
            if instance.process is not None:
                self.exit_codes[instance.number] = await instance.process.stop()
                instance.process = None
        for instance in self.instances:
            if instance.front is not None:
                await instance.front.runner.cleanup()
        await self.emu.stop_delivery()

    def holding(self, lease: leases.Lease | None) -> Instance | None:
        """The instance whose process holds ``lease`` (its holder is ``host:pid:random``)."""
        if lease is None:
            return None
        pid = int(lease.holder.rsplit(":", 2)[1])
        for instance in self.instances:
            if instance.process is not None and instance.process.pid == pid:
                return instance
        return None

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace")
                       for path in sorted(self.logs.glob("sunbox-*.log")))
