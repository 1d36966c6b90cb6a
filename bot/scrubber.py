"""The Telegram side of scrubbing an anonymous case's files (the design is in
``bot.services.scrub``): download each held file, have it cleaned and renamed, upload it
once, record the upload, and owe the case's cards when every file is done.

Nothing here runs inside a database transaction: each step is its own short write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.i18n import N_, translator
from bot.runtime import Runtime
from bot.services import scrub
from bot.telegram import retrying
from storage.models import NewAttachment
from storage.scrub import PendingFile

log = logging.getLogger(__name__)
#: Told to a reporter whose file for an anonymous case was left out (:meth:`Scrubber.added`).
SCRUB_FAILED = N_("That file could not be made safe to pass on anonymously, so it was not "
                  "added. Please send it again, or as a photo.")
#: The caption of a scrubbed file shown to the reporter who sent it (:meth:`Scrubber._upload`).
SENT_ON = N_("📎 {name}: sent on like this, without its original name, location, camera or "
             "other hidden data.")
#: Seconds before a case whose unit has nobody to receive the files is looked at again.
NO_RECIPIENT_WAIT = 600.0


class _Stop(Exception):
    """This try is over; the case's files wait for the next one."""

    def __init__(self, seconds: float | None = None, *, counted: bool = True) -> None:
        super().__init__()
        self.seconds = seconds
        self.counted = counted


class Scrubber:
    """Scrubs held files, one try at a time per case; ``kick`` wakes the outbox after cards
    are owed."""

    def __init__(self, runtime: Runtime, bot: Bot, kick: Callable[[], None],
                 keep: Callable[[str, bytes], Awaitable[None]] | None = None) -> None:
        self.runtime = runtime
        self.bot = bot
        self.kick = kick
        # The local file store takes the cleaned bytes of each upload (bot/telegram/filestore.py):
        # an anonymous case's store holds only those, never the original.
        self.keep = keep
        self._busy: set[int] = set()  # cases being scrubbed: one try at a time per case

    async def sweep(self) -> int:
        """Every case whose files may be scrubbed now; returns how many were finished. A
        case that fails in a way nobody foresaw waits for its next try, and the others go
        on (before, it ended the sweep: its cards and every later case's never went)."""
        finished = 0
        for case_id in await scrub.due(self.runtime):
            try:
                finished += await self.process(case_id)
            except Exception as error:  # noqa: BLE001 - one case must not stop the others
                log.error("case %s: scrubbing its files failed (%s); tried again later",
                          case_id, type(error).__name__)
                await self._later(case_id)
        return finished

    async def _later(self, case_id: int) -> None:
        """After an unforeseen error: the case's next try, with the usual backoff."""
        try:
            await scrub.retry_later(self.runtime, case_id)
        except Exception as error:  # noqa: BLE001 - the next sweep finds it due again
            log.error("case %s: its next try could not be set (%s)", case_id,
                      type(error).__name__)

    async def process(self, case_id: int, reporter: tuple[int, str] | None = None) -> bool:
        """Scrub a case's held files; True once its cards are owed (False: nothing held, or
        a later try will go on). ``reporter`` is the chat (and its language) the case was
        just filed from: the uploads go there first, so the reporter sees what goes on."""
        if case_id in self._busy:
            return False  # the try under way finishes it
        self._busy.add(case_id)
        try:
            return await self._process(case_id, reporter)
        finally:
            self._busy.discard(case_id)

    async def _process(self, case_id: int, reporter: tuple[int, str] | None) -> bool:
        case, files = await scrub.held_files(self.runtime, case_id)
        if case is None or not files:
            return False
        try:
            chats = await scrub.upload_chats(self.runtime, case)
            if reporter is not None:
                chats = [reporter[0], *(c for c in chats if c != reporter[0])]
            for held in files:
                if not held.done:
                    chats = await self._one(held, case.number, chats, reporter)
        except Exception as error:  # noqa: BLE001 - any error: the case's next try
            stop = error if isinstance(error, _Stop) else _Stop()
            if not isinstance(error, _Stop):
                log.error("case %s: scrubbing its files failed (%s); tried again later",
                          case_id, type(error).__name__)
            if not await scrub.retry_later(self.runtime, case_id, stop.seconds,
                                           counted=stop.counted):
                return False
            log.warning("case %s: files not scrubbed after %d tries are dropped",
                        case_id, scrub.MAX_ATTEMPTS)
        count = await scrub.finish(self.runtime, case_id)
        log.info("case %s: %d of %d files scrubbed and sent on", case_id, count, len(files))
        self.kick()
        return True

    async def _one(self, held: PendingFile, number: str, chats: list[int],
                   reporter: tuple[int, str] | None) -> list[int]:
        """Download, clean, upload and record one file; returns the chats to try next (the
        one that took it first, so a case's files go to one chat)."""
        data = await self._download(held)
        prepared = None
        if data is not None:
            prepared = await asyncio.to_thread(scrub.prepare, held.original(), held.seq, data,
                                               number)
        if prepared is None:
            log.warning("file %s of case %s cannot be scrubbed: dropped", held.seq,
                        held.case_id)
            await scrub.record_dropped(self.runtime, held)
            return chats
        for chat_id in list(chats):
            try:
                message = await self._upload(chat_id, prepared, reporter)
            except Forbidden:
                chats = [c for c in chats if c != chat_id]
                continue
            except BadRequest as error:
                if "chat not found" in error.message.lower():
                    chats = [c for c in chats if c != chat_id]
                    continue
                log.warning("file %s of case %s refused (%s): dropped", held.seq,
                            held.case_id, error.message)
                await scrub.record_dropped(self.runtime, held)
                return chats
            # The reporter's own chat is not kept: no card goes there to spare.
            to_reporter = reporter is not None and chat_id == reporter[0]
            upload = _uploaded(message, prepared)
            await scrub.record_upload(self.runtime, held, upload,
                                      None if to_reporter else chat_id)
            await self._keep(upload, prepared)
            return [chat_id] + [c for c in chats if c != chat_id]
        # Nobody can receive the case's cards now: they wait with the files until a member
        # joins or unblocks the bot (not a failure of the file: no try is counted).
        raise _Stop(NO_RECIPIENT_WAIT, counted=False)

    async def added(self, case_id: int, files: tuple[NewAttachment, ...], chat_id: int,
                    language: str) -> tuple[NewAttachment, ...]:
        """Files a reporter adds to an existing case (a follow-up, a reply): for an anonymous
        case, scrubbed and renamed like the filing's before anything stores them, uploaded to
        the reporter's chat (no pending state: the case number exists, and a crash before
        the commit makes the update come again). A file that cannot be made safe is left
        out, never forwarded."""
        case, count = await scrub.files_so_far(self.runtime, case_id)
        if case is None or not case.anonymous or not files:
            return files
        out: list[NewAttachment] = []
        for seq, original in enumerate(files, start=count + 1):
            try:
                data = await self._download(original)
                prepared = (None if data is None else await asyncio.to_thread(
                    scrub.prepare, original, seq, data, case.number))
                if prepared is not None:
                    message = await self._upload(chat_id, prepared, (chat_id, language))
                    upload = _uploaded(message, prepared)
                    await self._keep(upload, prepared)
                    out.append(upload)
                    continue
            except (_Stop, BadRequest, Forbidden):
                pass
            log.warning("a file added to case %s cannot be scrubbed: left out", case_id)
        return tuple(out)

    async def _keep(self, upload: NewAttachment, prepared: scrub.Prepared) -> None:
        if self.keep is not None:
            await self.keep(upload.file_unique_id, prepared.data)

    async def _download(self, held: PendingFile | NewAttachment) -> bytes | None:
        """The original's bytes; None if Telegram will not give them (gone, too big)."""
        try:
            found = await self.bot.get_file(held.file_id)
            return bytes(await found.download_as_bytearray())
        except BadRequest:
            return None
        except RetryAfter as error:
            raise _Stop(retrying.retry_after_seconds(error)) from error
        except NetworkError as error:
            raise _Stop() from error

    async def _upload(self, chat_id: int, prepared: scrub.Prepared,
                      reporter: tuple[int, str] | None) -> Message:
        caption = None
        if reporter is not None and chat_id == reporter[0]:
            caption = translator(reporter[1])(SENT_ON).format(name=prepared.name)
        try:
            if prepared.kind == "photo":
                return await self.bot.send_photo(chat_id, prepared.data, caption=caption,
                                                 filename=prepared.name)
            return await self.bot.send_document(chat_id, prepared.data, caption=caption,
                                                filename=prepared.name)
        except RetryAfter as error:
            raise _Stop(retrying.retry_after_seconds(error)) from error
        except (BadRequest, Forbidden):
            raise
        except NetworkError as error:
            # No answer: it may have arrived; the next try uploads it once more.
            raise _Stop() from error


def _uploaded(message: Message, prepared: scrub.Prepared) -> NewAttachment:
    if message.photo:
        photo = message.photo[-1]
        return NewAttachment("photo", photo.file_id, photo.file_unique_id, prepared.name,
                             "image/jpeg")
    document = message.document
    if document is None:
        raise _Stop()  # not what was sent: try again later
    return NewAttachment("document", document.file_id, document.file_unique_id,
                         document.file_name or prepared.name, document.mime_type)
