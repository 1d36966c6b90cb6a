"""Bot API methods for receiving updates: getUpdates (long polling), the webhook (its
delivery: ``bot.emulator.webhooks``), logOut and close."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlsplit

from ..models import ApiError, bad_request
from ..params import Params
from ..state import wait_signal
from ..webhooks import WebhookDelivery
from .base import Files

__all__ = ["UpdatesApi"]

_CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class UpdatesApi(WebhookDelivery):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo, logOut and close."""

    async def _m_get_updates(self, p: Params, files: Files) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        self._poll_seq += 1
        seq, interrupts = self._poll_seq, self._interrupts
        self._update_signal.notify()  # an older long poll now ends with 409
        self.confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._update_signal.waiter()
            if self.webhook_url:
                raise ApiError(409, _CONFLICT_WEBHOOK)
            if seq != self._poll_seq:
                raise ApiError(409, _CONFLICT_OTHER_POLL)
            if interrupts != self._interrupts:
                return []
            batch = self.next_batch(limit)
            if batch:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await wait_signal(event, remaining)

    async def _m_set_webhook(self, p: Params, files: Files) -> bool:
        url = p.string("url") or ""
        if not url:
            return await self._m_delete_webhook(p, files)
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            # Telegram takes https only; the emulator takes http too (tests run without TLS).
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.string("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get("allowed_updates")
        self.webhook_url = url
        self.webhook_secret = secret
        self.webhook_max_connections = min(max(p.integer("max_connections") or 40, 1), 100)
        self.webhook_allowed_updates = list(allowed) if isinstance(allowed, list) else None
        self.webhook_last_error = None
        if p.flag("drop_pending_updates"):
            self._queue.clear()
        self._start_delivery()  # wakes a long poll under way too, which ends with 409
        return True

    async def _m_delete_webhook(self, p: Params, files: Files) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        self.webhook_allowed_updates = None
        self.webhook_last_error = None
        if p.flag("drop_pending_updates"):
            self._queue.clear()
        self._update_signal.notify()  # the delivery loop ends
        return True

    async def _m_get_webhook_info(self, p: Params, files: Files) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
            if self.webhook_allowed_updates is not None:
                info["allowed_updates"] = list(self.webhook_allowed_updates)
            if self.webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return info

    async def _m_ok(self, p: Params, files: Files) -> bool:
        return True
