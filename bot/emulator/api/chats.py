"""Bot API methods about chats and files: getChat, sendChatAction and getFile."""

from __future__ import annotations

from typing import Any

from ..models import bad_request
from ..params import Params
from .base import ApiBase, Files

__all__ = ["DOWNLOAD_LIMIT", "ChatsApi"]

DOWNLOAD_LIMIT = 20 * 1024 * 1024
_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}


class ChatsApi(ApiBase):
    """getChat, sendChatAction and getFile."""

    async def _m_get_chat(self, p: Params, files: Files) -> dict[str, Any]:
        chat = self._target_chat(p)
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _m_send_chat_action(self, p: Params, files: Files) -> bool:
        chat = self._target_chat(p)
        self._check_can_send(chat)
        if p.string("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _m_get_file(self, p: Params, files: Files) -> dict[str, Any]:
        file_id = p.string("file_id")
        known = self.files.get(file_id or "")
        if known is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(known.data) > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": known.file_id,
            "file_unique_id": known.file_unique_id,
            "file_size": len(known.data),
            "file_path": known.file_path,
        }
