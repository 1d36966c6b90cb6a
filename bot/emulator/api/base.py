"""What the Bot API methods that post to a chat share: checking the target chat and what may
be sent there (the bot's rights in groups and channels: ``members.refusal``), parsing text and
keyboards, finding the replied-to message, resolving input files, and recording a message from
the bot (in a channel: from the channel, ``sender_chat``, without ``from``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..formatting import FormatError, parse_text, utf16_len
from ..members import refusal
from ..models import (
    DEFAULT_PNG,
    ApiError,
    EmuChat,
    EmuFile,
    SentMessage,
    bad_request,
    clone,
    image_size,
)
from ..params import Params
from ..state import EmulatorState

__all__ = ["CAPTION_LIMIT", "TEXT_LIMIT", "UPLOAD_LIMIT", "ApiBase", "FileTuple", "Files",
           "Handler", "content_kind"]

log = logging.getLogger(__name__)

FileTuple = tuple[str, bytes, str]
Files = dict[str, FileTuple]
Handler = Callable[[Params, Files], Awaitable[Any]]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
_PARSE_MODES = {"html", "markdown", "markdownv2"}
_INLINE_ACTIONS = (
    "callback_data", "url", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game",
    "pay", "web_app", "copy_text",
)
_CONTENT_KEYS = (
    "text", "photo", "document", "voice", "sticker", "location", "contact", "video", "audio",
    "animation", "venue", "video_note",
)


def content_kind(message: dict[str, Any]) -> str | None:
    """The content type of a message dict ("text", "photo", ...), None for service messages."""
    return next((k for k in _CONTENT_KEYS if k in message), None)


class ApiBase(EmulatorState):
    """The checks and building blocks shared by the Bot API method handlers."""

    def _target_chat(self, p: Params, key: str = "chat_id") -> EmuChat:
        chat = self.find_chat(p.chat_id(key))
        if chat is None:
            raise bad_request("chat not found")
        if chat.id in self.deleted_chats:
            if chat.type == "group":
                raise ApiError(403, "Forbidden: the group chat was deleted")
            raise bad_request("chat not found")
        if chat.id in self.migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": self.migrated[chat.id]})
        return chat

    def _check_can_send(
        self, chat: EmuChat, action: str = "post", *, kind: str = "text", own: bool = True,
    ) -> None:
        """Telegram's checks before the bot posts (``action`` "post"), edits or deletes in
        ``chat``: a person who blocked it or never started it, its rights in a group or
        channel (``members.refusal``; ``kind``: what is posted, ``own``: whether the edited or
        deleted message is the bot's), then the flood limits if set."""
        if chat.id in self.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if chat.type == "private":
            if chat.id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat.id not in self.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        else:
            refused = refusal(chat.type, self.membership(chat.id), action, kind=kind, own=own)
            if refused is not None:
                raise refused
        if self.flood_limits is not None:
            retry_after = self.flood_limits.check(chat.id, chat.type != "private")
            if retry_after is not None:
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}",
                               {"retry_after": retry_after})

    def _formatted(
        self, p: Params, key: str, entities_key: str, *, limit: int, too_long: str,
    ) -> tuple[str | None, str | None, list[dict[str, Any]], str | None]:
        """(source, visible text, entities, parse_mode); visible text None if empty."""
        source = p.string(key)
        parse_mode = p.string("parse_mode") or None
        if parse_mode and parse_mode.lower() not in _PARSE_MODES:
            raise bad_request("unsupported parse_mode")
        if not source:
            return None, None, [], parse_mode
        try:
            plain, entities = parse_text(source, parse_mode)
        except FormatError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        explicit = p.get(entities_key)
        if not parse_mode and isinstance(explicit, list):
            entities = clone(explicit)
        if not plain.strip():
            return source, None, [], parse_mode
        if utf16_len(plain) > limit:
            raise bad_request(too_long)
        return source, plain, entities, parse_mode

    def _markup(self, p: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
        markup = p.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request("can't parse inline keyboard markup: field \"inline_keyboard\" "
                                  "must be an Array of Arrays")
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
        elif inline_only:
            raise bad_request("inline keyboard expected")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request("can't parse reply keyboard markup: field \"keyboard\" must be "
                                  "an Array of Arrays")
        elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return clone(markup)

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in "
                              "the inline keyboard")
        if not any(key in button for key in _INLINE_ACTIONS):
            raise bad_request("text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if (not isinstance(url, str) or not url or any(c.isspace() for c in url)
                    or not re.match(r"(?i)^(https?://|tg://|ton://)?[\w.-]+\.?[\w-]*", url)
                    or url.lower().startswith(("javascript:", "file:", "data:"))):
                raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")

    def _reply_to(self, p: Params, chat: EmuChat) -> dict[str, Any] | None:
        params = p.get("reply_parameters")
        if isinstance(params, dict):
            message_id = params.get("message_id")
            allow = bool(params.get("allow_sending_without_reply"))
            target = params.get("chat_id", chat.id)
            target_chat = self.find_chat(target if isinstance(target, str) else int(target))
            chat_id = target_chat.id if target_chat else chat.id
        else:
            message_id = p.integer("reply_to_message_id")
            allow = p.flag("allow_sending_without_reply")
            chat_id = chat.id
        if message_id is None:
            return None
        found = self.message_json(chat_id, int(message_id))
        if found is None and not allow:
            raise bad_request("message to be replied not found")
        return found

    def _deliver(
        self,
        chat: EmuChat,
        method: str,
        content: dict[str, Any],
        *,
        source: str | None = None,
        parse_mode: str | None = None,
        markup: dict[str, Any] | None = None,
        reply: dict[str, Any] | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        """Create, store and return a message from the bot."""
        kind = content_kind(content) or "unknown"
        message_id = self.next_message_id(chat.id)
        raw: dict[str, Any] = {"message_id": message_id}
        if chat.type == "channel":  # a post is the channel's, whoever wrote it
            raw["sender_chat"] = chat.to_dict()
        else:
            raw["from"] = self.bot_user()
        raw.update({"chat": chat.to_dict(), "date": self.now()})
        if reply is not None:
            raw["reply_to_message"] = reply
        if media_group_id:
            raw["media_group_id"] = media_group_id
        raw.update(clone(content))
        if markup and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        if markup and chat.type != "channel":  # a channel's readers get no reply keyboard
            if "keyboard" in markup:
                self.keyboards[chat.id] = markup
            elif markup.get("remove_keyboard"):
                self.keyboards.pop(chat.id, None)
        text = raw.get("text", raw.get("caption"))
        entities = raw.get("entities", raw.get("caption_entities", []))
        message = SentMessage(
            message_id=message_id,
            chat_id=chat.id,
            text=text,
            kind=kind,
            reply_markup=markup,
            file_id=_file_id_of(raw, kind),
            parse_mode=parse_mode,
            source=source,
            entities=clone(entities),
            date=raw["date"],
            method=method,
            reply_to_message_id=reply["message_id"] if reply else None,
            media_group_id=media_group_id,
            raw=raw,
        )
        log.debug("bot sent message %s to chat %s via %s", message_id, chat.id, method)
        return self.record_sent(message)

    def _resolve_media(self, value: Any, files: Files, kind: str, field: str) -> Any:
        """An upload tuple, an URL string or a known EmuFile for an input file value."""
        if value is None or (isinstance(value, str) and value.startswith("attach://")):
            name = field if value is None else value[len("attach://"):]
            upload = files.get(name)
            if upload is None:
                raise bad_request(f"there is no {field} in the request")
            if not upload[1]:
                raise bad_request("file must be non-empty")
            if len(upload[1]) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            return upload
        if not isinstance(value, str):
            raise bad_request("wrong file identifier/HTTP URL specified")
        if value.startswith(("http://", "https://")):
            return value
        known = self.files.get(value)
        if known is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if known.kind != kind:
            raise bad_request(f"can't use file of type {known.kind.capitalize()} as "
                              f"{kind.capitalize()}")
        return known

    def _media_object(self, kind: str, resolved: Any) -> Any:
        """The Bot API object for a resolved input file (PhotoSize list for photos)."""
        if isinstance(resolved, EmuFile):
            if kind == "photo":
                return clone(resolved.photo_sizes or [resolved.to_dict()])
            return resolved.to_dict()
        if isinstance(resolved, str):  # an URL: Telegram would fetch it
            name = resolved.rstrip("/").rsplit("/", 1)[-1] or "file"
            if kind == "photo":
                return self.store_photo(DEFAULT_PNG)
            return self.store_file(kind, b"", file_name=name,
                                   mime_type="application/octet-stream").to_dict()
        filename, data, mime = resolved
        if kind == "photo":
            if image_size(data) is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            return self.store_photo(data, file_name=filename)
        meta = {"duration": 1} if kind in ("voice", "audio", "video") else {}
        return self.store_file(kind, data, file_name=filename, mime_type=mime, meta=meta).to_dict()

    def _caption_content(self, p: Params) -> tuple[dict[str, Any], str | None, str | None]:
        source, caption, entities, parse_mode = self._formatted(
            p, "caption", "caption_entities", limit=CAPTION_LIMIT,
            too_long="message caption is too long",
        )
        content: dict[str, Any] = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content, source, parse_mode


def _file_id_of(message: dict[str, Any], kind: str) -> str | None:
    media = message.get(kind)
    if isinstance(media, list) and media:
        return str(media[-1].get("file_id"))
    if isinstance(media, dict) and "file_id" in media:
        return str(media["file_id"])
    return None
