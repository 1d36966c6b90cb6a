"""Bot API methods about chats and files: getChat, getChatMember, sendChatAction and
getFile."""

from __future__ import annotations

from typing import Any

from ..members import Membership, member_json
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
    """getChat, getChatMember, sendChatAction and getFile."""

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

    async def _m_get_chat_member(self, p: Params, files: Files) -> dict[str, Any]:
        """The bot's own membership anywhere; someone else's in a group, or in a channel where
        the bot is an administrator (else "member list is inaccessible")."""
        chat = self._target_chat(p)
        user_id = p.integer("user_id", error=bad_request("invalid user_id specified"))
        if user_id == self.bot_id:
            user = self.bot_user()
        elif user_id in self.users:
            user = self.users[user_id].to_dict()
        else:
            raise bad_request("user not found")
        if chat.type == "private":
            if user_id not in (chat.id, self.bot_id):
                raise bad_request("user not found")
            return member_json(user, Membership("member"), chat.type)
        if (user_id != self.bot_id and chat.type == "channel"
                and self.membership(chat.id).status not in ("administrator", "creator")):
            raise bad_request("member list is inaccessible")
        return member_json(user, self.membership(chat.id, user_id), chat.type)

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
