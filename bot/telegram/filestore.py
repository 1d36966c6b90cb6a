"""The Telegram side of the local file store (``storage.files``): download the attachments
of cases and answers and the meetings' minutes after they are committed, and keep them
under their SHA-256, so that a case's evidence outlives Telegram's file ids and a change of
bot token.

Nothing here runs inside a database transaction. The pending state is durable by itself:
every attachment row without a stored digest is wanted (:func:`storage.files.wanted`), and
the job (``handlers.jobs``) takes them every half minute; a failed try waits with backoff
and gives up after :data:`storage.files.MAX_ATTEMPTS`. An anonymous case's originals are
never downloaded here (they live only in ``scrub_pending``): the scrubber hands over the
cleaned bytes it uploaded (:meth:`FileKeeper.keep`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from telegram import Bot, Message
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.runtime import Runtime
from bot.services import files
from bot.services.files import store_of
from storage import files as files_repo
from storage.files import FileStore
from storage.sql import Conn

log = logging.getLogger(__name__)

#: How a call to Telegram is made: at once, or in the outbox's pace for the chat.
Caller = Callable[[Callable[[], Awaitable[Message]]], Awaitable[Message]]


async def _at_once(call: Callable[[], Awaitable[Message]]) -> Message:
    return await call()


async def send_kept(runtime: Runtime, bot: Bot, chat_id: int, kind: str, file_id: str,
                    caller: Caller = _at_once) -> Message:
    """Send a photo or document by ``file_id``. One Telegram refuses as an unknown file
    identifier (ids expire, and belong to one bot token) is uploaded again from the local
    file store and its new id kept for later sends; the refusal stands if it is not kept."""
    send = bot.send_photo if kind == "photo" else bot.send_document
    try:
        return await caller(partial(send, chat_id, file_id))
    except BadRequest as error:
        if "file identifier" not in error.message.lower():
            raise
        kept = await files.local_copy(runtime, file_id)
        if kept is None:
            raise
    data, name = kept
    log.info("a file id was refused: sent again from the file store")
    message = await caller(partial(send, chat_id, data, filename=name or "attachment"))
    new_id = (message.photo[-1].file_id if message.photo
              else message.document.file_id if message.document else None)
    if new_id is not None:
        await files.renewed(runtime, file_id, new_id)
    return message


class FileKeeper:
    """Downloads what is wanted into the store; keeps what the scrubber hands over."""

    def __init__(self, runtime: Runtime, bot: Bot) -> None:
        self.runtime = runtime
        self.bot = bot
        self._busy = False

    @property
    def store(self) -> FileStore:
        return store_of(self.runtime)

    async def keep(self, file_unique_id: str, data: bytes) -> None:
        """Store ``data`` as the bytes of ``file_unique_id`` (the scrubber's cleaned copy);
        a failure only logs: the sweep downloads the same upload later."""
        try:
            digest = await asyncio.to_thread(self.store.put, data)
            now = self.runtime.clock.now()
            await self.runtime.db.write(
                files_repo.record_stored, file_unique_id, digest, len(data), now)
        except Exception as error:  # noqa: BLE001 - the sweep fetches it instead
            log.warning("a scrubbed file could not be kept locally (%s)", type(error).__name__)

    async def sweep(self) -> int:
        """Download every wanted file that is due; returns how many were stored."""
        if self._busy:
            return 0
        self._busy = True
        try:
            return await self._sweep()
        finally:
            self._busy = False

    async def _sweep(self) -> int:
        wanted = await self.runtime.db.read(files_repo.wanted, self.runtime.clock.now())
        stored = 0
        for item in wanted:
            try:
                stored += await self._one(item)
            except (RetryAfter, NetworkError, OSError) as error:
                # Telegram out of reach, or the store's disk: the next run tries again.
                log.warning("downloading attachments paused (%s)", type(error).__name__)
                break
        if stored:
            log.info("%d attachments kept locally", stored)
        return stored

    async def _one(self, item: files_repo.Wanted) -> int:
        try:
            found = await self.bot.get_file(item.file_id)
            data = bytes(await found.download_as_bytearray())
        except BadRequest as error:
            log.warning("an attachment could not be downloaded (%s)", error.message)
            await self._failed(item)
            return 0
        unique = item.file_unique_id or found.file_unique_id
        digest = await asyncio.to_thread(self.store.put, data)
        now = self.runtime.clock.now()

        def body(conn: Conn) -> None:
            files_repo.record_stored(conn, unique, digest, len(data), now)
            if item.meeting_id is not None:
                files_repo.set_minutes_unique_id(conn, item.meeting_id, unique)

        await self.runtime.db.write(body)
        return 1

    async def _failed(self, item: files_repo.Wanted) -> None:
        if item.meeting_id is not None:
            meeting_id = item.meeting_id
            await self.runtime.db.write(files_repo.set_minutes_unique_id, meeting_id, "-")
            return
        assert item.file_unique_id is not None
        unique = item.file_unique_id
        tries = await self.runtime.db.read(files_repo.attempts_of, unique) + 1
        later = self.runtime.clock.now() + timedelta(minutes=min(2 ** tries, 24 * 60))
        await self.runtime.db.write(files_repo.record_failed, unique, later)

