"""The local file store's housekeeping (no Telegram here; the downloads are
``bot.telegram.filestore``): where the store is, and deleting the files no row refers to
any more."""

from __future__ import annotations

import asyncio
import logging

from bot.runtime import Runtime
from storage import files as files_repo
from storage.files import FileStore

log = logging.getLogger(__name__)


def store_of(runtime: Runtime) -> FileStore:
    """The configured store (``[storage] files``)."""
    return FileStore(runtime.config.storage.files_dir(runtime.database_path))


async def collect(runtime: Runtime) -> int:
    """Delete the stored files no attachment, answer or minutes refers to any more (after
    retention or an erase): the rows go first, in their own transaction, then the files.
    Returns how many files were deleted."""
    gone = await runtime.db.write(files_repo.forget_unreferenced)
    store = store_of(runtime)
    for digest in gone:
        await asyncio.to_thread(store.delete, digest)
    if gone:
        log.info("%d stored files no case refers to any more were deleted", len(gone))
    return len(gone)


async def local_copy(runtime: Runtime, file_id: str) -> tuple[bytes, str | None] | None:
    """The kept bytes (and file name) of an attachment's ``file_id``, for sending again when
    Telegram no longer knows the id (it expired, or the bot's token changed)."""
    found = await runtime.db.read(files_repo.local_copy_of, file_id)
    if found is None:
        return None
    data = await asyncio.to_thread(store_of(runtime).read, found[0])
    return None if data is None else (data, found[1])


async def renewed(runtime: Runtime, old: str, new: str) -> None:
    """Later cards and copies use ``new``, the id of the file sent again from the store."""
    await runtime.db.write(files_repo.replace_file_id, old, new)
