"""Bot API methods for receiving updates: getUpdates (long polling), the webhook, logOut and
close."""

from __future__ import annotations

import asyncio
from typing import Any

from ..models import ApiError
from ..params import Params
from ..state import EmulatorState, wait_signal
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


class UpdatesApi(EmulatorState):
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
        self.webhook_url = url or None
        if p.flag("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _m_delete_webhook(self, p: Params, files: Files) -> bool:
        self.webhook_url = None
        if p.flag("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _m_get_webhook_info(self, p: Params, files: Files) -> dict[str, Any]:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    async def _m_ok(self, p: Params, files: Files) -> bool:
        return True
