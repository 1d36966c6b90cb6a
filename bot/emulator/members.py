"""Memberships in groups and channels: the bot's, which decides what Telegram lets it do there,
and other people's, as getChatMember reports them.

``Membership`` is one member's status and rights; ``member_json`` turns it into the Bot API
``ChatMember`` object; ``refusal`` is Telegram's answer (wording as the Bot API server gives
it) when the bot, with a given membership, may not post, edit or delete in a chat:

- a channel: only an administrator with ``can_post_messages`` posts (else 400 "need
  administrator rights in the channel chat"); edits of its own posts need that right or
  ``can_edit_messages``; deleting needs it or ``can_delete_messages`` (others' posts: only
  ``can_delete_messages``);
- a group or supergroup: any member posts, unless restricted without ``can_send_messages``
  (400 "not enough rights to send text messages to the chat"); others' messages are deleted
  only by an administrator (in a supergroup: with ``can_delete_messages``);
- both: a bot that left is "not a member of the ... chat", one that was removed "was kicked
  from the ... chat" (403).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .models import ApiError, bad_request

__all__ = ["STATUSES", "Membership", "member_json", "refusal"]

#: the ChatMember statuses of the Bot API
STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")

#: what a restricted member may not send, in Telegram's words, by content kind
_KIND_WORDS = {
    "text": "text messages", "photo": "photos", "document": "documents", "video": "videos",
    "audio": "audio files", "voice": "voice notes", "sticker": "stickers",
    "animation": "animations", "video_note": "video notes", "location": "text messages",
    "contact": "text messages", "venue": "text messages",
}


@dataclass(frozen=True)
class Membership:
    """A member's status in a group or channel and the rights that matter to the emulator.

    The ``can_*`` administrator rights count only for ``status="administrator"`` (a creator
    has them all); ``can_send_messages`` only for ``"restricted"``.
    """

    status: str = "member"
    can_post_messages: bool = False
    can_edit_messages: bool = False
    can_delete_messages: bool = False
    can_send_messages: bool = True

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown member status {self.status!r}; one of {STATUSES}")

    @classmethod
    def admin(
        cls,
        *,
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        can_delete_messages: bool = True,
    ) -> Membership:
        """An administrator, by default with the three rights that matter here."""
        return cls("administrator", can_post_messages, can_edit_messages, can_delete_messages)

    @property
    def is_member(self) -> bool:
        """In the chat (restricted members included), not left or kicked."""
        return self.status not in ("left", "kicked")

    def right(self, name: str) -> bool:
        """An administrator right (``can_post_messages`` ...): a creator has all of them."""
        if self.status == "creator":
            return True
        return self.status == "administrator" and bool(getattr(self, name))

    def with_status(self, status: str) -> Membership:
        """The same rights under another status."""
        return replace(self, status=status)


def member_json(user: dict[str, Any], member: Membership, chat_type: str) -> dict[str, Any]:
    """The Bot API ``ChatMember`` object of ``user`` (a ``User`` dict) in a chat of that type."""
    out: dict[str, Any] = {"user": dict(user), "status": member.status}
    if member.status == "creator":
        out["is_anonymous"] = False
    elif member.status == "administrator":
        out.update({
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": member.can_delete_messages,
            "can_manage_video_chats": False,
            "can_restrict_members": False,
            "can_promote_members": False,
            "can_change_info": False,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
        })
        if chat_type == "channel":
            out["can_post_messages"] = member.can_post_messages
            out["can_edit_messages"] = member.can_edit_messages
        else:
            out["can_pin_messages"] = True
    elif member.status == "restricted":
        may = member.can_send_messages
        out.update({"is_member": True, "until_date": 0, "can_send_messages": may})
        for right in ("can_send_audios", "can_send_documents", "can_send_photos",
                      "can_send_videos", "can_send_video_notes", "can_send_voice_notes",
                      "can_send_polls", "can_send_other_messages", "can_add_web_page_previews",
                      "can_react_to_messages"):
            out[right] = may
        for right in ("can_change_info", "can_invite_users", "can_pin_messages",
                      "can_manage_topics", "can_edit_tag"):
            out[right] = False
    elif member.status == "kicked":
        out["until_date"] = 0
    return out


def refusal(
    chat_type: str, bot: Membership, action: str = "post", *, kind: str = "text",
    own: bool = True,
) -> ApiError | None:
    """Telegram's error when the bot, as ``bot``, may not ``action`` in a chat of that type.

    ``action``: "post" (anything that sends, also a chat action), "edit" or "delete"; ``kind``
    the content kind posted (for a restricted member's wording); ``own`` whether the message
    edited or deleted is the bot's. None when Telegram lets it. Private chats have no
    membership: their checks (blocked, never started) stay with the caller.
    """
    if chat_type not in ("group", "supergroup", "channel"):
        return None
    if bot.status == "left":
        return ApiError(403, f"Forbidden: bot is not a member of the {chat_type} chat")
    if bot.status == "kicked":
        return ApiError(403, f"Forbidden: bot was kicked from the {chat_type} chat")
    if chat_type == "channel":
        return _channel_refusal(bot, action, own)
    if action == "post" and bot.status == "restricted" and not bot.can_send_messages:
        words = _KIND_WORDS.get(kind, "text messages")
        return bad_request(f"not enough rights to send {words} to the chat")
    if action == "delete" and not own:
        allowed = (bot.status in ("creator", "administrator") if chat_type == "group"
                   else bot.right("can_delete_messages"))
        if not allowed:
            return bad_request("message can't be deleted")
    return None


def _channel_refusal(bot: Membership, action: str, own: bool) -> ApiError | None:
    if action == "delete":
        allowed = bot.right("can_delete_messages") or (own and bot.right("can_post_messages"))
        return None if allowed else bad_request("message can't be deleted")
    if action == "edit":
        allowed = bot.right("can_edit_messages") or (own and bot.right("can_post_messages"))
    else:
        allowed = bot.right("can_post_messages")
    return None if allowed else bad_request("need administrator rights in the channel chat")
