"""The outbox sender: delivers what ``bot.services.notify`` wrote, outside any transaction.

Rows are taken in order, sent, then marked. A user who blocked the bot is marked and their
message recorded as failed (not retried forever); network trouble leaves the row pending
for the next round. Attachments are sent again by file id (copies, never forwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.runtime import Runtime
from storage import outbox, people
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def _markup(buttons: list[list[list[str]]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row]
         for row in buttons]
    )


class OutboxSender:
    """Drains the outbox; ``kick`` wakes the background loop after a change."""

    def __init__(self, runtime: Runtime, bot: Bot, *, idle_seconds: float = 5.0) -> None:
        self.runtime = runtime
        self.bot = bot
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._draining = asyncio.Lock()

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sunbox-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # noqa: BLE001 - the loop must survive anything
                log.exception("outbox round failed")

    async def drain(self) -> int:
        """Deliver every pending row that can be delivered now; returns how many were sent."""
        sent = 0
        async with self._draining:
            while True:
                async with self.runtime.db.read() as conn:
                    items = await outbox.pending(conn, 50)
                if not items:
                    return sent
                for item in items:
                    if not await self._one(item):
                        return sent
                    sent += 1

    async def _one(self, item: OutboxItem) -> bool:
        """Deliver one row; False when the round should stop (network trouble)."""
        db = self.runtime.db
        now = self.runtime.clock.now
        try:
            message_ids = await self._deliver(item)
        except Forbidden as error:
            log.info("outbox %s: chat unreachable (%s)", item.id, type(error).__name__)
            async with db.transaction() as conn:
                await outbox.mark_failed(conn, item.id, "forbidden")
                await people.mark_blocked(conn, item.chat_id, now())
            return True
        except BadRequest as error:
            log.warning("outbox %s refused: %s", item.id, error.message)
            async with db.transaction() as conn:
                await outbox.mark_failed(conn, item.id, error.message)
            return True
        except (RetryAfter, NetworkError) as error:
            log.info("outbox %s will be retried: %s", item.id, type(error).__name__)
            async with db.transaction() as conn:
                if item.attempts + 1 >= MAX_ATTEMPTS:
                    await outbox.mark_failed(conn, item.id, type(error).__name__)
                else:
                    await outbox.mark_retry(conn, item.id, type(error).__name__)
            return False
        async with db.transaction() as conn:
            if item.kind == "card" and item.case_id is not None:
                for message_id in message_ids:
                    await outbox.record_card(conn, item.case_id, item.payload["unit_id"],
                                             item.chat_id, message_id)
            await outbox.mark_sent(conn, item.id, now())
        return True

    async def _deliver(self, item: OutboxItem) -> list[int]:
        payload: dict[str, Any] = item.payload
        if item.kind == "edit_card":
            await self._edit_cards(item)
            return []
        for attachment in payload.get("attachments") or []:
            if attachment["kind"] == "photo":
                await self.bot.send_photo(item.chat_id, attachment["file_id"])
            else:
                await self.bot.send_document(item.chat_id, attachment["file_id"])
        message = await self.bot.send_message(
            item.chat_id, payload["text"], reply_markup=_markup(payload.get("buttons"))
        )
        return [message.message_id]

    async def _edit_cards(self, item: OutboxItem) -> None:
        assert item.case_id is not None
        async with self.runtime.db.read() as conn:
            message_ids = await outbox.card_messages(
                conn, item.case_id, item.payload["unit_id"], item.chat_id)
        for message_id in message_ids:
            try:
                await self.bot.edit_message_text(
                    item.payload["text"], chat_id=item.chat_id, message_id=message_id,
                    reply_markup=_markup(item.payload.get("buttons")),
                )
            except BadRequest as error:
                # Already showing this, or deleted by the user: nothing left to do.
                if "not modified" not in error.message and "not found" not in error.message:
                    raise
