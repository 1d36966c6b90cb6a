"""Webhook mode: the real Application behind its HTTP server, the emulator posting updates to
it as Telegram does; ``/healthz`` and ``/metrics``; setWebhook at start, deleteWebhook when
polling again (bot/telegram/webhook.py, bot/emulator/webhooks.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from telegram import Update

from bot.clock import ManualClock
from bot.config import Config
from bot.emulator.core import Emulator
from bot.telegram.poller import DurablePoller
from bot.telegram.webhook import SECRET_HEADER, WebhookReceiver
from storage import health as health_repo
from storage import outbox
from tests.conftest import NUMBER, START, Bench, engines_postgres
from tests.handlers.flows import file_suggestion
from tests.support.processes import (
    BotProcess,
    start_emulator,
    sunbox_argv,
    sunbox_config,
    until_ready,
)

RESIDENT = 5001
PATH = "/telegram/updates"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_webhook_mode(config: Config, port: int, secret: str | None = None) -> Config:
    """``config`` in webhook mode, its server on ``port`` (plain http: the emulator takes it)."""
    return dataclasses.replace(
        config,
        telegram=dataclasses.replace(
            config.telegram, mode="webhook", webhook_url=f"http://127.0.0.1:{port}{PATH}",
            secret_token=secret, max_connections=8),
        http=dataclasses.replace(config.http, port=port, configured=True))


class HookBench(Bench):
    """The test bench with updates arriving at the webhook instead of being handed over."""

    receiver: WebhookReceiver | None = None
    running: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self.config.telegram.webhook_url or ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.config.http.port}"

    async def listen(self) -> WebhookReceiver:
        """Start the webhook as ``sunbox run`` does, and wait until Telegram has it."""
        assert self.app is not None
        receiver = self.receiver = WebhookReceiver(self.app, watch_every=3600)
        self.running = asyncio.create_task(receiver.run())
        ready = asyncio.create_task(receiver.ready.wait())
        await asyncio.wait({ready, self.running}, timeout=10,
                           return_when=asyncio.FIRST_COMPLETED)
        assert ready.done(), f"the webhook was not set: {self.running}"
        assert self.emu.webhook_url == self.url
        return receiver

    async def unlisten(self) -> None:
        if self.receiver is not None and self.running is not None:
            self.receiver.stop()
            await self.running
            self.receiver = self.running = None

    async def deliver(self) -> None:
        """Wait until Telegram got its 200s, the updates were handled, the outbox sent."""
        await self.emu.webhook_idle()
        assert self.receiver is not None and self.app is not None
        await self.receiver.settle()
        await self.app.bot_data.sender.drain()


@pytest.fixture
async def hook(config: Config) -> AsyncIterator[HookBench]:
    """A started Sunbox in webhook mode, the emulator delivering to it."""
    clock = ManualClock(START)
    emulator = Emulator(clock=lambda: clock.now().timestamp())
    database = config.general.database
    bench = HookBench(in_webhook_mode(config, free_port()),
                      database if engines_postgres(database) else Path(database), emulator,
                      clock)
    await bench.start()
    try:
        await bench.listen()
        yield bench
    finally:
        await bench.unlisten()
        await emulator.stop_delivery()
        await bench.stop()
    assert not bench.errors, f"handlers raised: {bench.errors!r}"


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, \
            session.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def _stored(bench: Bench) -> int:
    [(count,)] = await bench.rows("SELECT count(*) FROM inbox_updates")
    return int(count)


def _set_webhook_calls(emu: Emulator) -> list[dict[str, Any]]:
    return [params for name, params in emu.calls if name == "setWebhook"]


# ------------------------------------------------------------------------ the webhook


async def test_a_resident_files_a_case_through_webhook_deliveries(hook: HookBench) -> None:
    resident = hook.user(RESIDENT, "王秀兰")
    number = await file_suggestion(hook, resident, photo=False)
    assert NUMBER.fullmatch(number)
    posts = hook.emu.webhook_posts
    assert len(posts) >= 6 and all(status == 200 for _, status in posts)
    assert "getUpdates" not in {name for name, _ in hook.emu.calls}
    # Each stored, handled, and emptied of what the resident sent.
    assert await hook.rows(
        "SELECT count(*), count(handled_at), sum(CASE WHEN payload = '' THEN 1 ELSE 0 END) "
        "FROM inbox_updates") == [(len(posts), len(posts), len(posts))]


async def test_set_webhook_is_called_once_at_start_with_the_secret_and_the_updates(
        hook: HookBench) -> None:
    [params] = _set_webhook_calls(hook.emu)
    secret = await hook.runtime.db.read(health_repo.meta_value, health_repo.WEBHOOK_SECRET)
    # Made once (1-256 of A-Z a-z 0-9 _ -) and kept in the database for every instance.
    assert secret and len(secret) >= 32
    assert params["url"] == hook.url
    assert params["secret_token"] == secret == hook.emu.webhook_secret
    assert hook.emu.webhook_allowed_updates == list(Update.ALL_TYPES)
    assert hook.emu.webhook_max_connections == 8
    # Started again (same database, same configuration): nothing to set.
    await hook.unlisten()
    await hook.listen()
    assert len(_set_webhook_calls(hook.emu)) == 1
    assert hook.receiver is not None and hook.receiver.secret == secret
    # Someone removed it: the minute's check sees it and sets it again.
    await hook.emu.call("deleteWebhook", {})
    assert not await hook.receiver.check()
    assert await hook.receiver.ensure()
    assert len(_set_webhook_calls(hook.emu)) == 2 and hook.emu.webhook_url == hook.url


async def test_two_instances_starting_together_set_the_webhook_once(hook: HookBench) -> None:
    """A second Sunbox on the same database (another machine behind the load balancer):
    it finds the webhook set and recorded, so does not set it; both share the secret."""
    assert hook.receiver is not None
    second = HookBench(dataclasses.replace(hook.config, http=dataclasses.replace(
        hook.config.http, port=free_port())), hook.db_path, hook.emu, hook.clock)
    await second.start()
    try:
        assert second.app is not None
        other = WebhookReceiver(second.app, watch_every=3600)
        running = asyncio.create_task(other.run())
        await asyncio.wait_for(other.started.wait(), 10)
        assert other.secret == hook.receiver.secret
        assert not await other.ensure()
        # Both at once, after Telegram lost it: one of them sets it.
        await hook.emu.call("deleteWebhook", {})
        done = await asyncio.gather(hook.receiver.ensure(), other.ensure())
        assert sorted(done) == [False, True]
        assert len(_set_webhook_calls(hook.emu)) == 2
        other.stop()
        await running
    finally:
        await second.stop()


async def test_a_wrong_or_missing_secret_gets_403_and_nothing_is_stored(
        hook: HookBench, caplog: pytest.LogCaptureFixture) -> None:
    resident = hook.user(RESIDENT, "王秀兰")
    before = await _stored(hook)
    body = (b'{"update_id": 999, "message": {"message_id": 1, "date": 1, "text": "/start", '
            b'"chat": {"id": 5001, "type": "private"}, '
            b'"from": {"id": 5001, "is_bot": false, "first_name": "x"}}}')
    secret = hook.emu.webhook_secret or ""
    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: secret + "x"},
                    {SECRET_HEADER: secret[:-1]}):
        status, _ = await _post(hook.url, body, headers)
        assert status == 403
    assert await _stored(hook) == before
    # Telegram with another secret (the file changed on one instance only): refused, kept
    # by Telegram, and the minute's check logs what Telegram saw.
    hook.emu.webhook_secret = "another-secret"
    hook.emu.send_text(resident, "/start")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not any(status == 403 for _, status in hook.emu.webhook_posts):
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    assert await _stored(hook) == before
    assert hook.emu.sent(RESIDENT) == []
    assert hook.receiver is not None
    with caplog.at_level(logging.WARNING):
        assert await hook.receiver.check()
    assert "403" in caplog.text
    # Put right: Telegram's next try gets through.
    hook.emu.webhook_secret = secret
    await hook.deliver()
    assert await _stored(hook) == before + 1
    assert "阳光信箱" in hook.last_text(resident)


@pytest.mark.parametrize("body", [
    b"{not json", b"\xff\xfe", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}',
    b'{"update_id": true}', b"",
])
async def test_a_body_that_is_not_an_update_gets_400(hook: HookBench, body: bytes) -> None:
    before = await _stored(hook)
    status, _ = await _post(hook.url, body, {SECRET_HEADER: hook.emu.webhook_secret or "",
                                             "Content-Type": "application/json"})
    assert status == 400
    assert await _stored(hook) == before


async def test_a_duplicate_delivery_acts_once(hook: HookBench) -> None:
    resident = hook.user(RESIDENT, "王秀兰")
    update = hook.emu.send_text(resident, "/start")
    await hook.deliver()
    welcomes = len(hook.emu.sent(RESIDENT))
    assert welcomes >= 1
    # Telegram sends it again (its 200 was lost), later, and twice more at once.
    hook.emu.duplicate(update)
    await hook.deliver()
    hook.emu.duplicate(update)
    hook.emu.duplicate(update)
    await hook.deliver()
    assert len(hook.emu.sent(RESIDENT)) == welcomes
    assert [status for update_id, status in hook.emu.webhook_posts
            if update_id == update["update_id"]] == [200] * 4
    assert await hook.rows("SELECT update_id FROM inbox_updates") == [(update["update_id"],)]


# ------------------------------------------------------------------- health and metrics


async def test_healthz_answers_200_and_503_when_the_outbox_is_stuck(hook: HookBench) -> None:
    assert await _get(hook.base + "/healthz") == (200, "ok\n")
    hook.user(RESIDENT, "王秀兰")
    await hook.runtime.db.write(outbox.enqueue, hook.clock.now(), RESIDENT, "message",
                                {"text": "你好", "buttons": None, "attachments": []})
    hook.clock.advance(timedelta(minutes=11))
    status, text = await _get(hook.base + "/healthz")
    assert status == 503 and "outbox" in text
    assert hook.app is not None
    await hook.app.bot_data.sender.drain()
    assert (await _get(hook.base + "/healthz"))[0] == 200
    # The database gone: 503.
    await hook.runtime.close()
    status, text = await _get(hook.base + "/healthz")
    assert status == 503 and "database" in text
    await hook.runtime.open()


def _families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(family: Any, sample: str, **labels: str) -> float:
    return next(s.value for s in family.samples if s.name == sample and s.labels == labels)


async def test_metrics_parse_and_count_the_traffic(hook: HookBench) -> None:
    resident = hook.user(RESIDENT, "王秀兰")
    await file_suggestion(hook, resident, photo=False)
    await _post(hook.url, b"{}", {SECRET_HEADER: "wrong"})
    await _post(hook.url, b"{", {SECRET_HEADER: hook.emu.webhook_secret or ""})
    status, text = await _get(hook.base + "/metrics")
    assert status == 200
    found = _families(text)
    handled = len(hook.emu.webhook_posts)
    assert _value(found["sunbox_updates_handled"], "sunbox_updates_handled_total") == handled
    latency = found["sunbox_update_handler_seconds"]
    assert latency.type == "histogram"
    assert _value(latency, "sunbox_update_handler_seconds_count") == handled
    assert 0 < _value(latency, "sunbox_update_handler_seconds_sum") < 60 * handled
    failures = found["sunbox_failures"]
    assert _value(failures, "sunbox_failures_total", kind="webhook_secret") == 1
    assert _value(failures, "sunbox_failures_total", kind="webhook_malformed") == 1
    assert _value(found["sunbox_outbox_backlog"], "sunbox_outbox_backlog") == 0
    assert _value(found["sunbox_updates_waiting"], "sunbox_updates_waiting") == 0
    assert _value(found["sunbox_database_up"], "sunbox_database_up") == 1
    # The case's deadlines planned its alarms; none is late yet.
    [(pending, first)] = await hook.rows(
        "SELECT count(*), min(fire_at) FROM alarms WHERE fired_at IS NULL")
    assert pending >= 1
    assert _value(found["sunbox_alarms_pending"], "sunbox_alarms_pending") == pending
    lag = found["sunbox_alarm_firing_lag_seconds"]
    assert _value(lag, "sunbox_alarm_firing_lag_seconds") == 0
    # An hour past the first alarm's moment, with nobody firing it: an hour late.
    from storage.models import from_db_time

    hook.clock.set(from_db_time(first) + timedelta(hours=1))
    found = _families((await _get(hook.base + "/metrics"))[1])
    assert _value(found["sunbox_alarm_firing_lag_seconds"],
                  "sunbox_alarm_firing_lag_seconds") == 3600


async def test_metrics_of_two_applications_are_apart(hook: HookBench) -> None:
    """A registry per Application: a second Sunbox in the process starts from zero."""
    resident = hook.user(RESIDENT, "王秀兰")
    hook.emu.send_text(resident, "/start")
    await hook.deliver()
    from bot.metrics import metrics_of

    class Other:
        """Another Application."""

    assert hook.app is not None
    ours = metrics_of(hook.app).registry
    other = metrics_of(Other()).registry
    assert ours.get_sample_value("sunbox_updates_handled_total") == 1
    assert other.get_sample_value("sunbox_updates_handled_total") == 0


# ----------------------------------------------------------------- back to polling


async def test_switching_back_to_polling_deletes_the_webhook(hook: HookBench) -> None:
    await hook.unlisten()
    assert hook.emu.webhook_url == hook.url
    resident = hook.user(RESIDENT, "王秀兰")
    hook.emu.send_text(resident, "/start")  # waits at Telegram meanwhile
    await hook.emu.stop_delivery()
    assert hook.app is not None
    poller = DurablePoller(hook.app, timeout=1)
    polling = asyncio.create_task(poller.run())
    try:
        await hook.emu.wait_for(RESIDENT, lambda m: "阳光信箱" in (m.text or ""), timeout=10)
    finally:
        poller.stop()
        await polling
    names = [name for name, _ in hook.emu.calls]
    assert names.count("deleteWebhook") == 1
    assert names.index("getWebhookInfo") < names.index("deleteWebhook") < \
        names.index("getUpdates")
    assert hook.emu.webhook_url is None
    # Polling again with no webhook set: nothing to delete.
    poller = DurablePoller(hook.app, timeout=1)
    polling = asyncio.create_task(poller.run())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    try:
        while [name for name, _ in hook.emu.calls].count("getUpdates") <= names.count(
                "getUpdates"):
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
    finally:
        poller.stop()
        await polling
    assert [name for name, _ in hook.emu.calls].count("deleteWebhook") == 1


async def test_the_emulator_refuses_get_updates_while_a_webhook_is_set() -> None:
    emu = Emulator()
    status, body = await emu.call("setWebhook", {"url": "http://127.0.0.1:9/x",
                                                 "secret_token": "s3cret_-"})
    assert status == 200
    try:
        status, body = await emu.call("getUpdates", {"timeout": 0})
        assert status == 409 and "webhook is active" in body["description"]
        status, body = await emu.call("setWebhook", {"url": "http://127.0.0.1:9/x",
                                                     "secret_token": "bad secret"})
        assert status == 400
        emu.send_text(emu.user(1, "A"), "hi")
        # Nobody listens at the URL: the update stays queued, and Telegram says why.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while emu.webhook_last_error is None:
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        _, body = await emu.call("getWebhookInfo", {})
        info = body["result"]
        assert info["url"] == "http://127.0.0.1:9/x" and info["pending_update_count"] == 1
        assert "Connection failed" in info["last_error_message"]
    finally:
        await emu.call("deleteWebhook", {})
        await emu.stop_delivery()
    status, body = await emu.call("getUpdates", {"timeout": 0})
    assert status == 200 and len(body["result"]) == 1


# ------------------------------------------------------------------ sunbox run itself


async def test_sunbox_run_in_webhook_mode(tmp_path: Path) -> None:
    """The real command, through the emulator's HTTP front: the webhook set at start, a
    resident served through it, /healthz and /metrics answered, a clean stop."""
    emu, server = await start_emulator()
    port = free_port()
    config = sunbox_config(emu, server, tmp_path)
    text = config.read_text(encoding="utf-8")
    text = text.replace('mode = "polling"', 'mode = "webhook"', 1)
    text = text.replace('webhook_url = ""', f'webhook_url = "http://127.0.0.1:{port}{PATH}"', 1)
    config.write_text(text + f"\n[http]\nport = {port}\n", encoding="utf-8")
    bot = BotProcess(sunbox_argv(config), tmp_path / "sunbox.log")
    await bot.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while emu.webhook_url is None:
            assert loop.time() < deadline, (tmp_path / "sunbox.log").read_text("utf-8")
            await asyncio.sleep(0.05)
        resident = emu.user(RESIDENT, "王秀兰")
        emu.send_text(resident, "/start")
        await emu.wait_for(RESIDENT, lambda m: "阳光信箱" in (m.text or ""), timeout=60)
        base = f"http://127.0.0.1:{port}"
        assert (await _get(base + "/healthz"))[0] == 200
        status, text = await _get(base + "/metrics")
        assert status == 200
        found = _families(text)
        assert _value(found["sunbox_updates_handled"], "sunbox_updates_handled_total") == 1
        assert "getUpdates" not in {name for name, _ in emu.calls}
        assert len(emu.calls_to("setWebhook")) == 1
    finally:
        code = await bot.stop()
        await server.stop()
    assert code == 0, (tmp_path / "sunbox.log").read_text(encoding="utf-8")
    assert "Traceback" not in (tmp_path / "sunbox.log").read_text(encoding="utf-8")


async def test_sunbox_run_polling_with_an_http_table_serves_healthz_and_metrics(
        tmp_path: Path) -> None:
    emu, server = await start_emulator()
    port = free_port()
    config = sunbox_config(emu, server, tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + f"\n[http]\nport = {port}\n",
                      encoding="utf-8")
    bot = BotProcess(sunbox_argv(config), tmp_path / "sunbox.log")
    await bot.start()
    try:
        await until_ready(emu)
        resident = emu.user(RESIDENT, "王秀兰")
        emu.send_text(resident, "/start")
        await emu.wait_for(RESIDENT, lambda m: "阳光信箱" in (m.text or ""), timeout=60)
        base = f"http://127.0.0.1:{port}"
        assert (await _get(base + "/healthz"))[0] == 200
        found = _families((await _get(base + "/metrics"))[1])
        assert _value(found["sunbox_updates_handled"], "sunbox_updates_handled_total") == 1
        assert not emu.calls_to("setWebhook") and not emu.calls_to("deleteWebhook")
        # The webhook's path is not served when polling.
        assert (await _post(base + PATH, b"{}", {}))[0] in (404, 405)
    finally:
        code = await bot.stop()
        await server.stop()
    assert code == 0, (tmp_path / "sunbox.log").read_text(encoding="utf-8")
