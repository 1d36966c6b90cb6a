"""What the emulated people do in their chats: send texts, photos, files, contacts, stickers,
locations and voice notes, edit a message, press an inline button, open a deep link to the
bot; plus raw and duplicate updates. Each action queues the update Telegram would deliver to
the bot. (Posts in a channel: ``channels``.)"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import EllipsisType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .formatting import utf16_len
from .models import DEFAULT_PNG, EmuChat, EmuUser, SentMessage, clone
from .people import People, chat_id_of

__all__ = ["UserActions", "start_payload"]

#: what Telegram accepts as a deep link's start parameter
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def start_payload(url: str) -> tuple[str, str | None]:
    """(bot username, start parameter or None) of a link that opens a bot: https://t.me/<bot>
    or t.me/<bot>?start=<payload> (telegram.me too), or tg://resolve?domain=<bot>&start=...

    Raises AssertionError for anything else, or a start parameter Telegram would not pass on
    (1-64 characters of A-Z, a-z, 0-9, _ and -).
    """
    parts = urlsplit(url if "://" in url else "https://" + url)
    query = parse_qs(parts.query, keep_blank_values=True)
    if parts.scheme == "tg" and parts.netloc == "resolve":
        name = (query.get("domain") or [""])[0]
    elif parts.scheme in ("http", "https") and parts.netloc.lower() in (
            "t.me", "telegram.me", "www.t.me", "www.telegram.me"):
        name = parts.path.strip("/")
    else:
        raise AssertionError(f"{url!r} is not a link to a bot")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", name):
        raise AssertionError(f"{url!r} names no bot")
    if "start" not in query:
        if set(query) & {"startgroup", "startchannel", "startapp"}:
            raise AssertionError(f"{url!r} is not a link that starts a private chat")
        return name, None
    payload = query["start"][0]
    if not _PAYLOAD.fullmatch(payload):
        raise AssertionError(f"{url!r}: Telegram passes no start parameter {payload!r} "
                             "(1-64 characters A-Z, a-z, 0-9, _ and -)")
    return name, payload


class UserActions(People):
    """The user side of the emulator: every method queues one update for the bot."""

    def _user_message(
        self,
        user: EmuUser,
        content: dict[str, Any],
        chat: EmuChat | int | None,
        *,
        reply_to: SentMessage | int | None = None,
    ) -> dict[str, Any]:
        target = self._resolve_chat(user, chat)
        if target.type == "channel":
            raise ValueError("people post in a channel as the channel: use post_in_channel()")
        message_id = self.next_message_id(target.id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": target.to_dict(),
            "date": self.now(),
        }
        if reply_to is not None:
            reply_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
            replied = self.message_json(target.id, reply_id)
            if replied is not None:
                message["reply_to_message"] = replied
        message.update(content)
        self.user_messages[(target.id, message_id)] = clone(message)
        if target.type == "private":
            self.started.add(user.id)
        keyboard = self.keyboards.get(target.id)
        if keyboard and keyboard.get("one_time_keyboard"):
            self.keyboards.pop(target.id, None)
        return self.push_update({"message": message})

    def send_text(
        self,
        user: EmuUser,
        text: str,
        *,
        chat: EmuChat | int | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> dict[str, Any]:
        """The user sends ``text``; a leading "/command" gets a bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._user_message(user, content, chat, reply_to=reply_to)

    def send_photo(
        self,
        user: EmuUser,
        data: bytes = DEFAULT_PNG,
        caption: str | None = None,
        *,
        chat: EmuChat | int | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (stored; the update carries a PhotoSize list)."""
        content: dict[str, Any] = {"photo": self.store_photo(data)}
        if caption:
            content["caption"] = caption
        return self._user_message(user, content, chat)

    def send_document(
        self,
        user: EmuUser,
        filename: str,
        data: bytes,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        *,
        chat: EmuChat | int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file."""
        stored = self.store_file("document", data, file_name=filename, mime_type=mime_type)
        content: dict[str, Any] = {"document": stored.to_dict()}
        if caption:
            content["caption"] = caption
        return self._user_message(user, content, chat)

    def send_contact(
        self,
        user: EmuUser,
        phone_number: str,
        *,
        contact_user_id: int | None | EllipsisType = ...,
        first_name: str | None = None,
        last_name: str | None = None,
        chat: EmuChat | int | None = None,
    ) -> dict[str, Any]:
        """The user shares a contact; by default their own (user_id = user.id).

        ``contact_user_id=None`` is a card without user_id (typed in, or not on Telegram).
        """
        owner = user.id if contact_user_id is ... else contact_user_id
        contact: dict[str, Any] = {"phone_number": phone_number}
        if owner == user.id:
            contact["first_name"] = first_name or user.first_name
            if last_name or user.last_name:
                contact["last_name"] = last_name or user.last_name
        else:
            contact["first_name"] = first_name or "Contact"
            if last_name:
                contact["last_name"] = last_name
        if owner is not None:
            contact["user_id"] = owner
        return self._user_message(user, {"contact": contact}, chat)

    def send_sticker(
        self, user: EmuUser, *, emoji: str = "\U0001f600", chat: EmuChat | int | None = None
    ) -> dict[str, Any]:
        """The user sends a sticker."""
        stored = self.store_file("sticker", DEFAULT_PNG, meta={
            "type": "regular", "width": 512, "height": 512, "is_animated": False,
            "is_video": False, "emoji": emoji,
        })
        return self._user_message(user, {"sticker": stored.to_dict()}, chat)

    def send_location(
        self, user: EmuUser, lat: float, lon: float, *, chat: EmuChat | int | None = None
    ) -> dict[str, Any]:
        """The user sends a location."""
        return self._user_message(user, {"location": {"latitude": lat, "longitude": lon}}, chat)

    def send_voice(
        self,
        user: EmuUser,
        data: bytes = b"OggS\x00fake-voice",
        *,
        duration: int = 2,
        chat: EmuChat | int | None = None,
    ) -> dict[str, Any]:
        """The user sends a voice note."""
        stored = self.store_file("voice", data, mime_type="audio/ogg",
                                 meta={"duration": duration})
        return self._user_message(user, {"voice": stored.to_dict()}, chat)

    def edit_text(self, user: EmuUser, message: dict[str, Any], text: str) -> dict[str, Any]:
        """The user edits a text message they sent earlier (an ``edited_message`` update)."""
        original = message.get("message", message)
        key = (original["chat"]["id"], original["message_id"])
        edited = clone(self.user_messages.get(key, original))
        edited["text"] = text
        edited.pop("entities", None)
        edited["edit_date"] = self.now()
        self.user_messages[key] = clone(edited)
        return self.push_update({"edited_message": edited})

    def press(
        self,
        user: EmuUser,
        message: SentMessage | int,
        data: str,
        *,
        chat: EmuChat | int | None = None,
    ) -> dict[str, Any]:
        """The user presses an inline button with callback ``data`` on a bot message.

        ``data`` is not checked against the keyboard (forged presses are allowed) and the
        message may be stale/unknown (it then arrives as an inaccessible message).
        """
        if isinstance(message, SentMessage):
            chat_id = message.chat_id if chat is None else chat_id_of(chat)
            message_id = message.message_id
        else:
            chat_id = user.id if chat is None else chat_id_of(chat)
            message_id = message
        target = self.chats[chat_id]
        current = self.message_json(chat_id, message_id)
        if current is None:
            current = {"chat": target.to_dict(), "message_id": message_id, "date": 0}
        self._callback_seq += 1
        query_id = str(4_000_000_000_000 + self._callback_seq)
        self.open_callbacks[query_id] = message_id
        self._callback_chats[query_id] = chat_id
        if target.type == "private":
            self.started.add(user.id)
        return self.push_update({"callback_query": {
            "id": query_id,
            "from": user.to_dict(),
            "message": current,
            "chat_instance": str(abs(chat_id) * 7919 % 10**12),
            "data": data,
        }})

    def click(
        self, user: EmuUser, message: SentMessage, button_text: str
    ) -> dict[str, Any]:
        """Press the inline button whose text contains ``button_text`` (AssertionError if none)."""
        return self.press(user, message, message.button(button_text))

    def open_link(self, user: EmuUser, url: str) -> dict[str, Any]:
        """The user opens a link to the bot (https://t.me/<bot>?start=<payload>): their app
        sends "/start <payload>" (just "/start" without one) in their private chat with it.

        AssertionError if the link is not to this bot or carries a start parameter Telegram
        would not pass on (see ``start_payload``).
        """
        name, payload = start_payload(url)
        if name.lower() != self.bot_username.lower():
            raise AssertionError(f"{url!r} opens @{name}, not @{self.bot_username}")
        return self.send_text(user, "/start" if payload is None else f"/start {payload}")

    def click_link(self, user: EmuUser, message: SentMessage, button_text: str
                   ) -> dict[str, Any]:
        """Open the url button whose text contains ``button_text`` on a bot message (in any
        chat, a channel post too) as ``open_link`` does."""
        return self.open_link(user, message.url(button_text))

    def send_raw(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Queue an arbitrary (even malformed) update; update_id is filled in."""
        body = clone(dict(update))
        body.pop("update_id", None)
        return self.push_update(body)

    def duplicate(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Deliver an update again with the SAME update_id (even if already confirmed)."""
        if "update_id" not in update:
            raise ValueError("duplicate() needs an update that has an update_id")
        return self.push_update(clone(dict(update)), forced=True)
