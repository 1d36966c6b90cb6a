"""Files residents and officials upload, and files sent again by their id.

- :func:`refused_too_big`: a document over the Bot API's download limit (20 MB at
  api.telegram.org) could never be kept as evidence; every upload path refuses it with the
  same message the filing flow uses.
- :func:`send_kept`: an attachment sent by its file id; when Telegram no longer knows the id
  (ids expire, and belong to one bot token) it is uploaded again from the local file store
  and its new id kept, as the outbox does for cards."""

from __future__ import annotations

from typing import Any

from telegram import Message

from bot.telegram import filestore
from handlers.context import SunboxContext


async def refused_too_big(context: SunboxContext, message: Any, *,
                          reply_markup: Any = None) -> bool:
    """Whether ``message`` carries a document over the download limit; if so the sender is
    told it was not added (a self-hosted Bot API server has no limit)."""
    limit = context.runtime.config.telegram.download_limit
    size = message.document.file_size if message.document else None
    if limit is None or size is None or size <= limit:
        return False
    await message.reply_text(context.t(
        "That file is too large ({size} MB): the limit is {max} MB, so it was not added. "
        "Please send a smaller file, or split it or compress it first."
    ).format(size=f"{size / 2 ** 20:.1f}", max=limit // 2 ** 20), reply_markup=reply_markup)
    return True


async def send_kept(context: SunboxContext, chat_id: int, kind: str, file_id: str
                    ) -> Message:
    """Send a photo or document by ``file_id``, from the file store if Telegram forgot it
    (:func:`bot.telegram.filestore.send_kept`)."""
    return await filestore.send_kept(context.runtime, context.bot, chat_id, kind, file_id)
