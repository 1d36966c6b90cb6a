"""Posts in channels by others than the bot: an administrator posts or edits a post, and the
bot, if it is an administrator there, gets a ``channel_post`` or ``edited_channel_post`` update.

A channel post comes from the channel: ``sender_chat`` is the channel and there is no
``from`` (an ``author_signature`` when the channel signs its posts). The bot's own posts (its
sendMessage ... into the channel, ``api``) never come back as updates, as in Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import DEFAULT_PNG, EmuChat, clone
from .people import ChatRef, People, chat_id_of

__all__ = ["ChannelPosts"]


class ChannelPosts(People):
    """``post_in_channel`` and ``edit_channel_post``; ``channel_posts`` lists what was posted."""

    def post_in_channel(
        self,
        channel: ChatRef,
        text: str | None = None,
        *,
        photo: bytes | None = None,
        author_signature: str | None = None,
    ) -> dict[str, Any]:
        """Someone posts ``text`` in the channel (with ``photo``: a photo, ``text`` its caption).

        Returns the update ``{"channel_post": message}``; it is queued (and has an
        ``update_id``) only when the bot is an administrator of the channel, as Telegram sends
        channel posts to no one else.
        """
        chat = self._channel(channel)
        content: dict[str, Any] = {}
        if photo is not None:
            content["photo"] = self.store_photo(photo or DEFAULT_PNG)
            if text:
                content["caption"] = text
        elif text:
            content["text"] = text
        else:
            raise ValueError("a channel post needs text or a photo")
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat.id),
            "sender_chat": chat.to_dict(),
            "chat": chat.to_dict(),
            "date": self.now(),
            **content,
        }
        if author_signature:
            message["author_signature"] = author_signature
        self.user_messages[(chat.id, message["message_id"])] = clone(message)
        return self._channel_update("channel_post", chat, message)

    def edit_channel_post(self, post: Mapping[str, Any], text: str) -> dict[str, Any]:
        """Someone edits a post made with ``post_in_channel`` (its update or message) to
        ``text`` (the caption of a photo); returns ``{"edited_channel_post": message}``,
        queued only when the bot is an administrator of the channel."""
        original = post.get("channel_post", post)
        chat = self._channel(int(original["chat"]["id"]))
        key = (chat.id, int(original["message_id"]))
        edited = clone(self.user_messages.get(key, dict(original)))
        edited["caption" if "photo" in edited else "text"] = text
        edited.pop("entities", None)
        edited.pop("caption_entities", None)
        edited["edit_date"] = self.now()
        self.user_messages[key] = clone(edited)
        return self._channel_update("edited_channel_post", chat, edited)

    def channel_posts(self, channel: ChatRef) -> list[dict[str, Any]]:
        """The posts others made in the channel (as edited, not deleted), oldest first."""
        chat_id = chat_id_of(channel)
        return [clone(message) for (cid, mid), message in sorted(self.user_messages.items())
                if cid == chat_id and (cid, mid) not in self.deleted_user_messages]

    def _channel(self, ref: ChatRef) -> EmuChat:
        chat = self.chats.get(chat_id_of(ref))
        if chat is None or chat.type != "channel":
            raise ValueError(f"{chat_id_of(ref)} is not a channel; create it with emu.channel()")
        return chat

    def _channel_update(self, field: str, chat: EmuChat, message: dict[str, Any]
                        ) -> dict[str, Any]:
        update = {field: message}
        if self.membership(chat.id).status in ("administrator", "creator"):
            return self.push_update(update)
        return update
