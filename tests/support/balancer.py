"""A round-robin load balancer for webhook deliveries, as nginx in front of several Sunbox
instances (deploy/nginx/sunbox.conf): each POST goes to the next instance in turn; one that
refuses the connection (it is down) is passed over for the next, as nginx's
``proxy_next_upstream error`` does; when none answers, 502 (Telegram sends it again)."""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web

#: The request headers passed on (Telegram's secret, the body's type).
PASSED = ("X-Telegram-Bot-Api-Secret-Token", "Content-Type")


class RoundRobin:
    """Forwards ``POST <path>`` to ``targets`` (URLs) in turn."""

    def __init__(self, targets: list[str], path: str) -> None:
        self.targets = targets
        self.path = path
        self.forwarded: Counter[str] = Counter()  # answered requests per target
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen on a free loopback port; returns the URL to give Telegram."""
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.path, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.url = f"http://127.0.0.1:{port}{self.path}"
        return self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {name: request.headers[name] for name in PASSED if name in request.headers}
        for _ in range(len(self.targets)):
            target = self.targets[next(self._turn) % len(self.targets)]
            try:
                async with self._session.post(target, data=body, headers=headers) as answer:
                    self.forwarded[target] += 1
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientConnectionError:
                continue  # down: the next one
        return web.Response(status=502, text="no instance answered\n")
