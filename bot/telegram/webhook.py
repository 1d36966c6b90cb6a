"""Webhook mode: Telegram posts each update to Sunbox's HTTP server, which keeps it before
answering; and that server, ``/healthz`` and ``/metrics`` in both modes.

One HTTP server (aiohttp, ``[http] listen`` and ``port``) answers:

- ``POST <the path of [telegram] webhook_url>`` (webhook mode): a request without the right
  ``X-Telegram-Bot-Api-Secret-Token`` gets 403 and nothing is stored; a body that is not
  JSON, or not an update, gets 400. An update is stored in the durable inbox
  (``storage.inbox.store``: the poller's table, and its dedup by update id), its commit is
  on disk, and only then does 200 go back: Telegram sends again whatever did not get its
  200, so nothing it delivered is lost. A database that cannot take it gets 503 (Telegram
  sends it again later). A stored update goes on as a polled one does (``Handoff`` of
  ``bot.telegram.poller``): read once, behind its person's earlier ones, marked handled.
  A second delivery of an update is stored once, and the gatekeeper drops it if it was
  handled.
- ``GET /healthz``: 200 when the database answers and the outbox is moving, else 503, with
  one short line (``bot.services.health.serving``).
- ``GET /metrics``: Prometheus' text (``bot.metrics``).

At start-up in webhook mode, the updates kept from before are handled first, the server
starts, and then the webhook is set: setWebhook with the URL, the secret, the updates the
poller asks for (``ALLOWED_UPDATES``) and ``max_connections``. Several instances behind a
load balancer share one database and one webhook, so only one of them sets it: a lease in
``meta`` (``storage.health.claim_webhook``: on PostgreSQL under the migration lock) is taken
in one transaction, Telegram is called outside any (a unit of work cannot await), and what
was set is recorded in a second. An instance that finds the lease taken waits until what it
wants is recorded, or the lease runs out (its holder died) and it takes it. Nothing is set
again when Telegram still has the URL and the database records the same secret, updates
and connections. After that, once a minute, getWebhookInfo: it says Telegram can be reached
(``sunbox status``'s beat), reports the delivery errors Telegram saw (a wrong secret, a
proxy answering 502), and sets the webhook again if someone removed it.

The secret token, unless ``[telegram] secret_token`` names one, is made once
(``secrets.token_urlsafe``) and kept in the database, so every instance uses the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.i18n import N_
from bot.metrics import CONTENT_TYPE, metrics_of
from bot.runtime import Runtime
from bot.services import health
from bot.services.health import PollBeat
from bot.telegram import retrying
from bot.telegram.connect import reason_of
from bot.telegram.persistence import storable_id
from bot.telegram.poller import (
    ALLOWED_UPDATES,
    DATABASE_ERRORS,
    FIRST_RETRY,
    LAST_RETRY,
    Handoff,
)
from bot.telegram.turns import Turns
from bot.telegram.update_processor import person_key
from storage import health as health_repo
from storage import inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: How long an instance may take to set the webhook before another may take over.
LEASE = timedelta(seconds=60)
#: How often the webhook is checked (getWebhookInfo) once set.
WATCH_EVERY = 60.0
#: The wait of an instance that found another setting the webhook, before it looks again.
BUSY_PAUSE = 1.0
#: The largest request body taken (an update is a few kilobytes).
MAX_BODY = 1024 * 1024
#: What setting the webhook tries again after: Telegram's errors and the database's.
RETRIED: tuple[type[Exception], ...] = (TelegramError, *DATABASE_ERRORS)
#: Updates handed over and not yet handled, beyond which an answer to Telegram waits (its
#: ``max_connections`` then holds back the rest), as the poller waits before polling.
BACKLOG = 1000


MSG_LISTEN_FAILED = N_("The HTTP server cannot listen on {listen}:{port} ({reason}): another "
                       "program may use the port, or the address is not this machine's; "
                       "change [http] listen or port. Not starting.")


class ListenError(Exception):
    """The HTTP server cannot listen where ``[http]`` says (``sunbox run`` says why)."""

    def __init__(self, listen: str, port: int, error: OSError) -> None:
        super().__init__(f"cannot listen on {listen}:{port}: {error.strerror or error}")
        self.listen, self.port = listen, port
        self.reason = error.strerror or str(error)


async def webhook_secret(runtime: Runtime) -> str:
    """``[telegram] secret_token``, else the one kept in the database (made now if none is)."""
    configured = runtime.config.telegram.secret_token
    if configured:
        return str(configured)
    return str(await runtime.db.write(health_repo.keep_meta_value, health_repo.WEBHOOK_SECRET,
                                      secrets.token_urlsafe(32)))


def fingerprint(url: str, secret: str, max_connections: int) -> str:
    """What ``meta`` records as set: the URL, then a digest of the rest (never the secret)."""
    rest = json.dumps([secret, ALLOWED_UPDATES, max_connections])
    return f"{url} {hashlib.sha256(rest.encode()).hexdigest()[:16]}"


class HttpServer:
    """The one HTTP server: ``/healthz``, ``/metrics`` and, given a receiver, the webhook."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 webhook: WebhookReceiver | None = None) -> None:
        self.application = application
        self.runtime: Runtime = application.bot_data.runtime
        self.metrics = metrics_of(application)
        self.webhook = webhook
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the port bound (``[http] port``, or the one picked)

    async def start(self) -> None:
        """Listen; :class:`ListenError` when the address cannot be had."""
        http = self.runtime.config.http
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        if self.webhook is not None:
            app.router.add_post(self.runtime.config.telegram.webhook_path, self.webhook.receive)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, http.listen, http.port).start()
        except OSError as error:
            await runner.cleanup()
            raise ListenError(http.listen, http.port, error) from error
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("HTTP server listening on %s:%s", http.listen, self.port)

    async def stop(self) -> None:
        """Stop taking requests, after those under way (up to 5 s)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        verdict = await health.serving(self.runtime)
        return web.Response(status=200 if verdict.healthy else 503, text=verdict.reason + "\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        await self.metrics.refresh(self.runtime)
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


class WebhookReceiver(Handoff):
    """Webhook mode's counterpart of the durable poller (see the module's docs)."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], *,
                 watch_every: float = WATCH_EVERY, backlog: int = BACKLOG) -> None:
        super().__init__(application)
        telegram = self.runtime.config.telegram
        self.url: str = telegram.webhook_url or ""
        self.max_connections: int = telegram.max_connections
        self.watch_every = watch_every
        self.backlog = backlog
        self.secret: str | None = None  # known once started
        self.server = HttpServer(application, self)
        self.beat = PollBeat(self.runtime)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._last_error: datetime | None = None
        self.turns: Turns | None = None  # several instances: each person's turn is taken
        self.started = asyncio.Event()  # set once the server listens
        self.ready = asyncio.Event()  # and once the webhook is known to be set

    async def run(self) -> None:
        """Handle what was kept, listen, set the webhook and keep it, until ``stop``; then
        stop listening and let the updates taken in finish (up to 30 s)."""
        try:
            if self.runtime.shares_database:
                self.turns = Turns(self)
                if await self._with_database(self.turns.sweep) is None:
                    return  # stopped while the database could not be read
                await self.turns.settle()  # what was kept from before, first
            elif not await self._start_stored():
                return
            self.secret = await self._with_database(webhook_secret, self.runtime)
            if self.secret is None:
                return
            await self.server.start()
            self.started.set()
            if self.turns is not None:
                self.turns.start_sweeping()
            await self._keep()
        finally:
            await self.server.stop()
            if self.turns is not None:
                await self.turns.stop()
            await self._finish()

    async def settle(self) -> None:
        """Return once every update stored so far is handled (each person's turn taken)."""
        if self.turns is not None:
            await self.turns.settle()
        await super().settle()

    async def _with_database(self, fn: Any, *args: Any) -> Any:
        """``await fn(*args)``, again while the database cannot take it; None if stopped."""
        backoff = FIRST_RETRY
        while not self._stop.is_set():
            try:
                return await fn(*args)
            except DATABASE_ERRORS as error:
                log.warning("database unavailable (%s); again in %.1fs",
                            type(error).__name__, backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)
        return None

    # --------------------------------------------------------------------- the requests

    async def receive(self, request: web.Request) -> web.Response:
        """One delivery from Telegram (see the module's docs for the answers)."""
        given = request.headers.get(SECRET_HEADER, "")
        if self.secret is None or not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.metrics.failed("webhook_secret")
            log.warning("webhook: a request without the right secret token refused")
            return web.Response(status=403, text="forbidden\n")
        try:
            data = json.loads(await request.read())
        except ValueError:  # not JSON, or not UTF-8
            data = None
        if not isinstance(data, dict) or not storable_id(data.get("update_id")):
            self.metrics.failed("webhook_malformed")
            log.warning("webhook: a request that is not an update refused")
            return web.Response(status=400, text="not an update\n")
        try:
            await self.runtime.db.write(inbox.store, updates=[data],
                                        now=self.runtime.clock.now(), person_of=person_key)
            await self.runtime.durable()
        except DATABASE_ERRORS as error:
            self.metrics.failed("inbox_store")
            log.warning("webhook: storing update %s failed (%s); Telegram sends it again",
                        data["update_id"], type(error).__name__)
            return web.Response(status=503, text="not stored\n")
        while self.processor.pending >= self.backlog:
            await asyncio.sleep(0.01)
        if self.turns is not None:
            self.turns.wake(person_key(data))  # whichever instance has the turn handles it
        else:
            await self._take(data)
        return web.Response(text="ok\n")

    # ---------------------------------------------------------------------- the webhook

    async def _keep(self) -> None:
        """Set the webhook, then check it once a minute, until stopped."""
        backoff = FIRST_RETRY
        need = True
        while not self._stop.is_set():
            try:
                if need:
                    await self.ensure()
                    need = False
                    backoff = FIRST_RETRY
                    self.ready.set()
                await self._pause(self.watch_every)
                if not self._stop.is_set():
                    need = not await self.check()
            except InvalidToken:
                raise
            except RetryAfter as error:
                await self._pause(retrying.retry_after_seconds(error))
            except RETRIED as error:
                log.warning("setting the webhook failed (%s); trying again in %.1fs",
                            reason_of(error), backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, LAST_RETRY)

    async def ensure(self) -> bool:
        """Have the webhook set as configured, by this instance or another; True if this one
        called setWebhook."""
        assert self.secret is not None, "started"
        bot = self.application.bot
        wanted = fingerprint(self.url, self.secret, self.max_connections)
        while not self._stop.is_set():
            info = await bot.get_webhook_info()
            await self.beat.polled()
            now = self.runtime.clock.now()
            verdict = await self.runtime.db.write(
                health_repo.claim_webhook, wanted=wanted, telegram_has_url=info.url == self.url,
                holder=self.holder, now=now, until=now + LEASE)
            if verdict == "done":
                return False
            if verdict == "busy":
                await self._pause(BUSY_PAUSE)
                continue
            # The lease is ours: what Telegram has now, not before the claim (another
            # instance may have set it between our look and our claim).
            info = await bot.get_webhook_info()
            now = self.runtime.clock.now()
            verdict = await self.runtime.db.write(
                health_repo.claim_webhook, wanted=wanted, telegram_has_url=info.url == self.url,
                holder=self.holder, now=now, until=now + LEASE)
            if verdict == "done":
                await self.runtime.db.write(health_repo.webhook_done, holder=self.holder,
                                            wanted=None)
                return False
            try:
                await bot.set_webhook(self.url, secret_token=self.secret,
                                      allowed_updates=ALLOWED_UPDATES,
                                      max_connections=self.max_connections)
            except Exception:
                await self.runtime.db.write(health_repo.webhook_done, holder=self.holder,
                                            wanted=None)
                raise
            await self.runtime.db.write(health_repo.webhook_done, holder=self.holder,
                                        wanted=wanted)
            log.info("webhook set: Telegram delivers updates to %s", self.url)
            return True
        return False

    async def check(self) -> bool:
        """getWebhookInfo: whether Telegram still has the URL; its delivery errors logged."""
        info = await self.application.bot.get_webhook_info()
        await self.beat.polled()
        when = info.last_error_date
        if info.last_error_message and when is not None and when != self._last_error:
            self._last_error = when
            log.warning("Telegram could not deliver an update to the webhook at %s: %s",
                        when.isoformat(), info.last_error_message)
        if info.url != self.url:
            log.warning("the webhook is no longer set (Telegram has %r): setting it again",
                        info.url)
            return False
        return True
