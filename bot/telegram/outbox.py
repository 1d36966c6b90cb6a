"""The outbox sender: delivers what ``bot.services.notify`` wrote, outside any transaction.

- Each row is marked ``sending`` (committed) before it goes to Telegram and ``sent`` after
  Telegram answered, so after a crash only rows with no recorded answer are sent again,
  and at most once more. A row waits for its turn under the limits *before* it is marked,
  so ``sending`` means "Telegram may have it", not "waiting for the pace": a crash during
  the wait must not spend the row's one resend (a second crash would then give it up
  unsent; found by ``bench/crash_loop.py``).
- Telegram's limits are kept: about 30 messages a second overall, one a second per private
  chat, 20 a minute per group (token buckets: ``bot.telegram.pacing``), and each chat gets
  its messages in order; a broadcast (rows owed to many at once) goes in a lane of its own,
  at most 27 a second and behind every interactive row (``bot.telegram.outbox_bulk``).
  ``RetryAfter`` and network errors are retried with backoff; a timeout (no answer at all:
  the message may have arrived) is retried once; a user who blocked the bot is marked and
  their message recorded as failed, not retried forever (``bot.telegram.retrying``).
- Every error ends with the row to retry or a failed row, never one left ``sending`` (it
  would hold back its chat until a restart): what Telegram refuses for good fails; a group
  upgraded to a supergroup (``ChatMigrated``) moves, with what it is still owed, to its new
  id, and the administrators are told; anything unexpected is retried with backoff, then
  failed. When recording the outcome fails (a full disk, a locked database), the outcome
  is kept in memory and recorded again before the next round reads the queue, a few
  times; a write that cannot succeed (a constraint, a bug, or a transient error that
  lasts) marks its row failed instead, so the rest of the outbox goes on.
- Every text fits one Telegram message (``bot.fit``): a card and an edit are shortened with
  a pointer to ``/case``, a plain message is split; error texts stored or logged never
  carry the bot token (``bot.redaction``).
- Attachments are sent again by file id (copies, never forwards).
- Several instances on one database (webhook mode): only the leader
  (``runtime.leadership``, ``bot.services.leadership``) runs the background rounds
  (:meth:`OutboxSender.drain`), so the overall pace of about 30 a second is kept by one
  sender for the bot as a whole. The exception is what answers a person's own action, sent
  by whichever instance handled their update (``after_update``, ``send_claimed``), unpaced
  as it always was. A row goes once whoever sends it: it is claimed by its change from
  ``pending`` to ``sending``, one atomic statement. A new leader first recovers what its
  predecessor left ``sending``, exactly as after a crash (:meth:`OutboxSender.recover`).
  What another instance writes wakes nobody on the leader, so there the loop looks every
  half second (``SHARED_POLL``) instead of waiting for a wake-up: a reply queued behind a
  row the leader is sending to the same chat goes out then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot import fit
from bot.faults import crash_point, fault_point
from bot.i18n import N_, Translate, translator
from bot.redaction import redact
from bot.runtime import Runtime
from bot.services import notify, routing
from bot.telegram import filestore, retrying
from bot.telegram.outbox_bulk import BroadcastLane
from bot.telegram.pacing import Pace, Rates, Turns
from storage import directory, outbox, people
from storage.outbox import OutboxItem
from storage.sql import Conn, error_kind

log = logging.getLogger(__name__)
#: Tries of an outcome kept after a transient database error (one each round) before its
#: row is given up.
MAX_RECORD_TRIES = 5
#: Seconds between the leader's looks at the outbox when several instances share the
#: database (a single instance is woken by its own writes).
SHARED_POLL = 0.5
T = TypeVar("T")
Record = Callable[[Conn], None]

GROUP_MOVED = N_(
    "The Telegram group of {units} was upgraded to a supergroup, which has a new chat id: "
    "{new_id} (was {old_id}). Sunbox sends there from now on. Please set group_chat_id = "
    "{new_id} for these units in the configuration file.")


@dataclass
class _Kept:
    """An outcome the database could not take when it happened, and how often it failed
    again since."""

    write: Record
    tries: int = 0


def _markup(buttons: list[list[list[str]]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row]
         for row in buttons]
    )


def _delivered(conn: Conn, *, item: OutboxItem, message_ids: list[int],
               now: datetime) -> None:
    """Record a row as sent, and where a card landed (on the database thread)."""
    if item.kind == "card" and item.case_id is not None:
        for message_id in message_ids:
            outbox.record_card(conn, item.case_id, item.payload["unit_id"],
                               item.chat_id, message_id)
    outbox.mark_sent(conn, item.id, now)


class OutboxSender:
    """Drains the outbox; ``kick`` wakes the background loop after a change."""

    def __init__(self, runtime: Runtime, bot: Bot, *, idle_seconds: float = 5.0,
                 rates: Rates | None = None) -> None:
        self.runtime = runtime
        self.bot = bot
        self.idle_seconds = idle_seconds
        self.rates = rates or Rates()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._draining = asyncio.Lock()
        self._turns = Turns(self.rates)
        self._broadcast = BroadcastLane(runtime, self.rates, self._one)
        # The newest outbox row an update's end has seen (``after_update``).
        self._newest_seen = 0
        # Outcomes of rows the database could not take when they happened (``_record``).
        self._unrecorded: dict[int, _Kept] = {}

    def kick(self) -> None:
        self._wake.set()

    async def after_update(self, chat_id: int | None) -> None:
        """After an update was handled: what is owed to the person who sent it, in a private
        ``chat_id``, goes now, unpaced (it answers their own action, as a direct reply
        would); the loop is woken only if a message was owed to anyone since the last update
        looked. One statement, no transaction: most updates owe nothing to anyone else, and
        a round of the loop would read for nothing.
        """
        items, newest = await self.runtime.db.read(
            outbox.owed_now, chat_id, self.runtime.clock.now())
        if newest > self._newest_seen:
            self._newest_seen = newest
            self.kick()
        await self._send_now(items)

    async def _send_now(self, items: list[OutboxItem]) -> None:
        for item in items:
            if not await self._one(item, paced=False):
                return

    async def send_claimed(self, items: list[OutboxItem]) -> None:
        """Rows claimed in the transaction that owed them (``storage.outbox.claim_for_chat``),
        sent now, unpaced, in order; if one must wait, or sending stops on an error or a
        cancellation, the rest go back behind it (claimed, they would block the chat until a
        restart)."""
        left = [item.id for item in items]
        try:
            for item in items:
                if not await self._send(item, Pace(self._turns.at_once, item.chat_id)):
                    left.remove(item.id)  # _send has put it back itself, to retry later
                    return
                left.remove(item.id)
        finally:
            if left:
                await asyncio.shield(self.runtime.db.write(outbox.release, item_ids=left))

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sunbox-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def recover(self) -> int:
        """At start-up: rows handed to Telegram before a crash, with no answer recorded.
        With other instances on the database (the leader, on taking the lead and after each
        renewal): those of instances that are gone only. Returns how many go once more."""
        if self.runtime.shares_database:
            again, given_up = await self.runtime.db.write(
                outbox.recover_orphans, now=self.runtime.clock.now())
        else:
            again, given_up = await self.runtime.db.write(outbox.recover)
        if again or given_up:
            log.warning("outbox after a restart: %d to send once more, %d given up",
                        again, given_up)
        return int(again)

    def _idle(self) -> float:
        # Several instances: what another owed wakes nobody here (see SHARED_POLL).
        return (min(self.idle_seconds, SHARED_POLL) if self.runtime.shares_database
                else self.idle_seconds)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle())
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # the loop must survive anything
                log.exception("outbox round failed")

    async def drain(self) -> int:
        """Deliver every row that may go now, a broadcast's too (``outbox_bulk``: interactive
        rows go beside it); returns how many were sent. Only the leader does (see the
        module), and one that stops leading stops at the next row; any instance records the
        outcomes it kept (``_record``) of what it sent itself."""
        async with self._draining:
            await self._record_kept()
            if not await self.runtime.leadership.confirm():
                return 0
            return await self._rounds() + await self._broadcast.run(
                self._beside, self._wake, self._idle())

    async def _beside(self) -> int:
        """A look at the interactive rows while a broadcast goes."""
        await self._record_kept()
        return await self._rounds()

    async def _rounds(self) -> int:
        """Interactive rows, round after round, until none may go now."""
        sent = 0
        while self.runtime.leadership.is_leader:
            items = await self.runtime.db.read(outbox.pending, self.runtime.clock.now(), 500)
            if not items:
                return sent
            by_chat: dict[int, list[OutboxItem]] = {}
            for item in items:
                by_chat.setdefault(item.chat_id, []).append(item)
            gate = asyncio.Semaphore(self.rates.parallel_chats)
            results = await asyncio.gather(
                *(self._chat_round(gate, chat_items) for chat_items in by_chat.values()))
            round_sent = sum(results)
            sent += round_sent
            if round_sent == 0:
                return sent  # everything left waits for a retry time
        return sent

    async def _chat_round(self, gate: asyncio.Semaphore, items: list[OutboxItem]) -> int:
        """One chat's messages, in order, stopping at the first that must wait."""
        sent = 0
        async with gate:
            for item in items:
                if not self.runtime.leadership.is_leader or not await self._one(item):
                    break
                sent += 1
        return sent

    async def _one(self, item: OutboxItem, *, paced: bool = True) -> bool:
        """Claim and deliver one row, in its lane's pace or at once (not ``paced``); False
        when the chat's remaining rows should wait."""
        pace = Pace(self._turns.of(item, paced=paced), item.chat_id)
        await pace.reserve()
        if not await self.runtime.db.write(
                outbox.mark_sending, item.id, self.runtime.leadership.holder):
            self._turns.unused(item, paced=paced)  # another sends it: the turn goes back
            return False
        return await self._send(item, pace)

    async def _send(self, item: OutboxItem, pace: Pace) -> bool:
        """Deliver one row marked ``sending``; False when the chat's remaining rows wait.

        Whatever happens, the row ends sent, failed or back in the queue (to retry later).
        """
        crash_point("outbox:before_send")
        try:
            message_ids = await self._deliver(item, pace)
        except Exception as error:  # noqa: BLE001 - every error ends in a row's state
            return await self._after_error(item, error)
        crash_point("outbox:after_send")
        await self._record(item, partial(_delivered, item=item, message_ids=message_ids,
                                         now=self.runtime.clock.now()))
        return True

    async def _after_error(self, item: OutboxItem, error: Exception) -> bool:
        """The row's state after ``error``; False when the chat's later rows must wait."""
        now = self.runtime.clock.now()
        text = self._redact(error)
        if isinstance(error, Forbidden):
            log.info("outbox %s: chat unreachable (%s)", item.id, type(error).__name__)

            def blocked(conn: Conn) -> None:
                outbox.mark_failed(conn, item.id, "forbidden")
                if people.mark_blocked(conn, item.chat_id, now):
                    # A member who blocked the bot takes no more cases: their units'
                    # cases go up the tree when nobody else there can take them.
                    routing.after_blocked(conn, self.runtime, item.chat_id, now=now)

            await self._record(item, blocked)
            return True
        if isinstance(error, ChatMigrated):
            await self._record(item, partial(self._moved, item=item,
                                             new_chat_id=int(error.new_chat_id), now=now))
            self.kick()
            return False
        if isinstance(error, BadRequest):
            log.warning("outbox %s refused: %s", item.id, text)
            await self._fail(item, text)
            return True
        if isinstance(error, RetryAfter):
            await self._later(item, "retry_after", retrying.retry_after_seconds(error))
            return False
        if isinstance(error, TimedOut):
            # No answer at all: it may have arrived. Once more, then never again.
            if item.resent:
                await self._fail(item, "no answer, twice")
                return True
            await self._later(item, "timed out", retrying.OUTBOX_RESEND_PAUSE, resent=True)
            return False
        if isinstance(error, InvalidToken):
            log.error("outbox: Telegram refuses the bot token; messages wait for a good one")
            await self._later(item, "invalid token", retrying.INVALID_TOKEN_PAUSE)
            return False
        if isinstance(error, OSError):
            # A report file gone or unreadable: it will not come back by waiting.
            log.warning("outbox %s: %s", item.id, type(error).__name__)
            await self._fail(item, f"{type(error).__name__}: {text}")
            return True
        if not isinstance(error, NetworkError):
            log.warning("outbox %s: unexpected %s: %s", item.id, type(error).__name__, text)
        failures = item.attempts + 1
        if retrying.OUTBOX.gives_up(failures):
            await self._fail(item, f"{type(error).__name__}: {text}")
            return True
        await self._later(item, type(error).__name__, retrying.OUTBOX.backoff.pause(failures))
        return False

    def _redact(self, error: BaseException) -> str:
        message = getattr(error, "message", None) or str(error)
        return redact(str(message), self.runtime.config.telegram.token)

    async def _fail(self, item: OutboxItem, error: str) -> None:
        await self._record(item, partial(outbox.mark_failed, item_id=item.id,
                                         error=redact(error, self.runtime.config.telegram.token)))

    async def _record(self, item: OutboxItem, write: Record) -> None:
        """Record a row's outcome in one transaction. If the database cannot take it now (a
        locked database, a full disk), keep it and record it again before the next round
        (the row stays ``sending`` meanwhile, which holds back the chat's later rows, as it
        should); a write that can never succeed (a constraint, a bug) gives the row up."""
        try:
            await self._write(write)
        except Exception as error:  # noqa: BLE001 - kept or given up, never raised
            if not isinstance(error, retrying.DATABASE_TRANSIENT):
                await self._give_up(item.id, error)
                return
            log.warning("outbox %s: recording its outcome failed (%s); kept to record again",
                        item.id, type(error).__name__)
            self._unrecorded[item.id] = _Kept(write)
            self.kick()

    async def _write(self, write: Record) -> None:
        fault_point("outbox:record")
        await self.runtime.db.write(write)

    async def _record_kept(self) -> None:
        """Outcomes that could not be recorded earlier, in the order they happened. One
        that fails again is kept for the next round, up to :data:`MAX_RECORD_TRIES` tries,
        then its row is given up: a write that always fails must not stop every chat."""
        for item_id, kept in list(self._unrecorded.items()):
            try:
                await self._write(kept.write)
            except Exception as error:  # noqa: BLE001 - one kept outcome must not stop the rest
                kept.tries += 1
                if isinstance(error, retrying.DATABASE_TRANSIENT) and kept.tries < MAX_RECORD_TRIES:
                    log.warning("outbox %s: recording its outcome failed again (%s), try %d",
                                item_id, type(error).__name__, kept.tries)
                    continue
                del self._unrecorded[item_id]
                await self._give_up(item_id, error)
                continue
            del self._unrecorded[item_id]

    async def _give_up(self, item_id: int, error: Exception) -> None:
        """The row's outcome cannot be recorded: it is marked failed, so that its chat goes
        on. If even that cannot be written, the row stays ``sending`` until a restart
        (``recover``) and nothing more is kept for it."""
        name = error_kind(error)
        log.error("outbox %s: its outcome cannot be recorded (%s); the row is given up",
                  item_id, name)
        try:
            await self._write(partial(outbox.mark_failed, item_id=item_id,
                                      error=f"outcome not recorded: {name}"))
        except Exception as again:  # noqa: BLE001 - logged; recovered at the next start
            log.error("outbox %s: marking it failed failed too (%s); left to the restart",
                      item_id, type(again).__name__)

    def _moved(self, conn: Conn, *, item: OutboxItem, new_chat_id: int,
               now: datetime) -> None:
        """A group became a supergroup: its units and what it is owed move to the new id,
        the row goes again at once, and the administrators are told."""
        old = item.chat_id
        log.warning("outbox: group %s became supergroup %s", old, new_chat_id)
        units = directory.migrate_group(conn, old, new_chat_id, now)
        outbox.release(conn, [item.id])
        outbox.move_chat(conn, old, new_chat_id)
        admins: dict[int, notify.Recipient] = {}
        for member in directory.all_staff(conn):
            if member.role == "admin":
                admins.setdefault(member.telegram_id, notify.Recipient(
                    member.telegram_id, notify.staff_language(self.runtime, member)))
        if not admins:
            return

        def render(t: Translate, language: str) -> str:
            names = ", ".join(notify.unit_name(self.runtime, unit, language)
                              for unit in units) or str(old)
            return t(GROUP_MOVED).format(units=names, new_id=new_chat_id, old_id=old)

        notify.send(conn, self.runtime, list(admins.values()), render, now=now)

    async def _later(self, item: OutboxItem, error: str, seconds: float, *,
                     resent: bool = False) -> None:
        log.info("outbox %s retried in %.1fs: %s", item.id, seconds, error)
        await self._record(item, partial(
            outbox.retry_later, item_id=item.id, error=error,
            not_before=self.runtime.clock.now() + timedelta(seconds=seconds / self.rates.scale),
            resent=resent))

    async def _translator(self, chat_id: int) -> Translate:
        """The language of a chat's reader (only asked when a text must be shortened)."""
        def work(conn: Conn) -> Translate:
            return translator(notify.chat_language(conn, self.runtime, chat_id))
        return await self.runtime.db.read(work)

    async def _shortened(self, chat_id: int, text: str, limit: int = fit.TEXT_LIMIT) -> str:
        if fit.units(text) <= limit:
            return text
        return fit.shorten(text, await self._translator(chat_id), limit)

    async def _deliver(self, item: OutboxItem, pace: Pace) -> list[int]:
        payload: dict[str, Any] = item.payload
        chat = item.chat_id
        if item.kind == "edit_card":
            await self._edit_cards(item, pace)
            return []
        if item.kind == "file":
            return [await self._send_file(item, pace)]
        for attachment in payload.get("attachments") or []:
            await filestore.send_kept(self.runtime, self.bot, chat, attachment["kind"],
                                      attachment["file_id"], pace)
        # A card stays one message (it is edited later); anything else may come in parts.
        pieces = ([await self._shortened(chat, payload["text"])] if item.kind == "card"
                  else fit.split(payload["text"]))
        markup = _markup(payload.get("buttons"))
        message_ids = []
        for number, piece in enumerate(pieces, 1):
            message = await pace(partial(
                self.bot.send_message, chat, piece,
                reply_markup=markup if number == len(pieces) else None))
            message_ids.append(message.message_id)
        return message_ids[-1:]

    async def _send_file(self, item: OutboxItem, pace: Pace) -> int:
        """A report file (chart or workbook) written to disk when it was owed."""
        payload = item.payload
        data = Path(payload["path"]).read_bytes()
        caption = payload.get("caption")
        if caption:
            caption = await self._shortened(item.chat_id, caption, fit.CAPTION_LIMIT)
        if payload["kind"] == "photo":
            message = await pace(lambda: self.bot.send_photo(
                item.chat_id, data, caption=caption))
        else:
            message = await pace(lambda: self.bot.send_document(
                item.chat_id, data, caption=caption, filename=payload.get("filename")))
        return int(message.message_id)

    async def _edit_cards(self, item: OutboxItem, pace: Pace) -> None:
        assert item.case_id is not None
        # A last edit to copies already forgotten (a card withdrawn) names them itself.
        message_ids: list[int] | None = item.payload.get("message_ids")
        if message_ids is None:
            message_ids = await self.runtime.db.read(
                outbox.card_messages, item.case_id, item.payload["unit_id"], item.chat_id)
        text = await self._shortened(item.chat_id, item.payload["text"])
        for message_id in message_ids:
            try:
                await pace(partial(
                    self.bot.edit_message_text, text, chat_id=item.chat_id,
                    message_id=message_id, reply_markup=_markup(item.payload.get("buttons"))))
            except BadRequest as error:
                # Already showing this, or deleted by the user: nothing left to do.
                if "not modified" not in error.message and "not found" not in error.message:
                    raise
