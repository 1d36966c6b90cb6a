"""Webhook delivery: with a webhook set, the emulator POSTs each queued update to it, as
Telegram does, instead of keeping it for getUpdates (which then answers 409).

As Telegram does:

- each update is a JSON body, with ``X-Telegram-Bot-Api-Secret-Token`` when setWebhook gave
  a secret;
- an update leaves the queue only when the answer is 2xx; any other answer, or none (a
  refused connection, a timeout), is recorded as the webhook's last error (getWebhookInfo
  shows it) and the update is posted again later, after a pause that grows;
- at most ``max_connections`` POSTs are under way at once, and a person's (or a chat's)
  next update is posted only after their previous one was answered 2xx, so each person's
  updates arrive in order while different people's arrive side by side.

Unlike Telegram: plain http:// URLs are taken (tests run without TLS; Sunbox's
``check-config`` is where https is required), and the pauses before posting again are short
(from 50 ms up to 1 s), so tests do not wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

import aiohttp

from .state import EmulatorState, QueuedUpdate, wait_signal

__all__ = ["SECRET_HEADER", "WebhookDelivery"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: How long a POST may take before it counts as failed.
POST_TIMEOUT = 30.0
#: The first pause before posting a refused update again, and the longest.
RETRY_FIRST = 0.05
RETRY_MOST = 1.0


def _lane(update: dict[str, Any]) -> object:
    """Whose update it is: its sender, else its chat (updates of neither share one lane)."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value.get("from"), value.get("chat"),
                       (value.get("message") or {}).get("chat")):
            if isinstance(holder, dict) and holder.get("id") is not None:
                return holder["id"]
    return None


class WebhookDelivery(EmulatorState):
    """Posts queued updates to ``webhook_url`` while one is set (see the module's docs)."""

    def _start_delivery(self) -> None:
        """Have the delivery loop running (after setWebhook)."""
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(
                self._webhook_loop(), name="emulator-webhook")
        self._update_signal.notify()

    async def stop_delivery(self) -> None:
        """Stop posting (the server's shutdown, a test's end); queued updates stay queued."""
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def webhook_pending(self) -> int:
        """Updates queued for the webhook, those being posted included."""
        return len(self._queue)

    async def webhook_idle(self, timeout: float = 10.0) -> None:
        """Wait until every queued update was answered 2xx (``TimeoutError`` after
        ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._webhook_signal.waiter()
            if not self._queue:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._queue)} update(s) not delivered to the webhook")
            await wait_signal(event, remaining)

    async def _webhook_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT)
        posting: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                while self.webhook_url is not None:
                    event = self._update_signal.waiter()
                    wake = self._post_ready(session, posting, loop.time())
                    await wait_signal(event, 1.0 if math.isinf(wake) else wake - loop.time())
            finally:
                for task in posting:
                    task.cancel()
                await asyncio.gather(*posting, return_exceptions=True)

    def _post_ready(self, session: aiohttp.ClientSession, posting: set[asyncio.Task[None]],
                    now: float) -> float:
        """Start the POSTs that may start now; when the next refused one may go again."""
        wake = math.inf
        lanes: set[object] = set()
        for queued in list(self._queue):
            if len(posting) >= self.webhook_max_connections:
                break
            lane = _lane(queued.update)
            if lane in lanes:
                continue  # an earlier update of theirs waits for its answer
            lanes.add(lane)
            if queued.posting:
                continue
            if queued.retry_at > now:
                wake = min(wake, queued.retry_at)
                continue
            queued.posting = True
            task = asyncio.get_running_loop().create_task(self._post(session, queued))
            posting.add(task)
            task.add_done_callback(posting.discard)
        return wake

    async def _post(self, session: aiohttp.ClientSession, queued: QueuedUpdate) -> None:
        url = self.webhook_url
        if url is None:
            queued.posting = False
            return
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers[SECRET_HEADER] = self.webhook_secret
        status: int | None = None
        error = ""
        try:
            async with session.post(url, data=json.dumps(queued.update, ensure_ascii=False)
                                    .encode("utf-8"), headers=headers) as response:
                status = response.status
                await response.read()
                error = f"Wrong response from the webhook: {status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as failure:
            error = f"Connection failed: {type(failure).__name__}"
        finally:
            queued.posting = False
        self.webhook_posts.append((queued.update_id, status))
        if status is not None and 200 <= status < 300:
            self._queue = [other for other in self._queue if other is not queued]
            queued.delivered = True
        else:
            queued.failures += 1
            queued.retry_at = asyncio.get_running_loop().time() + min(
                RETRY_FIRST * 2 ** (queued.failures - 1), RETRY_MOST)
            self.webhook_last_error = (self.now(), error)
            log.debug("emulator: webhook delivery of %s failed: %s", queued.update_id, error)
        self._update_signal.notify()
        self._webhook_signal.notify()
