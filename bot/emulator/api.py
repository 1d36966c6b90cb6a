"""Bot API method handlers of the emulator (what the bot calls)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from .formatting import FormatError, parse_text, utf16_len
from .models import (
    DEFAULT_PNG,
    ApiError,
    EmuChat,
    EmuFile,
    SentMessage,
    bad_request,
    clone,
    image_size,
)
from .params import Params
from .state import EmulatorState, wait_signal

__all__ = ["METHODS", "BotApi", "FileTuple"]

log = logging.getLogger(__name__)

FileTuple = tuple[str, bytes, str]
Files = dict[str, FileTuple]
Handler = Callable[[Params, Files], Awaitable[Any]]

#: canonical Bot API method name -> handler attribute
METHODS: dict[str, str] = {
    "getMe": "_m_get_me",
    "getUpdates": "_m_get_updates",
    "setWebhook": "_m_set_webhook",
    "deleteWebhook": "_m_delete_webhook",
    "getWebhookInfo": "_m_get_webhook_info",
    "logOut": "_m_ok",
    "close": "_m_ok",
    "setMyCommands": "_m_set_my_commands",
    "getMyCommands": "_m_get_my_commands",
    "deleteMyCommands": "_m_delete_my_commands",
    "setChatMenuButton": "_m_set_chat_menu_button",
    "getChatMenuButton": "_m_get_chat_menu_button",
    "setMyDescription": "_m_set_bot_info",
    "setMyShortDescription": "_m_set_bot_info",
    "setMyName": "_m_set_bot_info",
    "sendMessage": "_m_send_message",
    "editMessageText": "_m_edit_message_text",
    "editMessageCaption": "_m_edit_message_caption",
    "editMessageReplyMarkup": "_m_edit_message_reply_markup",
    "deleteMessage": "_m_delete_message",
    "answerCallbackQuery": "_m_answer_callback_query",
    "sendPhoto": "_m_send_photo",
    "sendDocument": "_m_send_document",
    "sendMediaGroup": "_m_send_media_group",
    "copyMessage": "_m_copy_message",
    "forwardMessage": "_m_forward_message",
    "sendChatAction": "_m_send_chat_action",
    "getFile": "_m_get_file",
    "getChat": "_m_get_chat",
}

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
UPLOAD_LIMIT = 50 * 1024 * 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024
MESSAGE_DELETE_WINDOW = 48 * 3600
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
_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


def content_kind(message: dict[str, Any]) -> str | None:
    """The content type of a message dict ("text", "photo", ...), None for service messages."""
    return next((k for k in _CONTENT_KEYS if k in message), None)


def scope_key(scope: dict[str, Any] | None) -> str:
    """A string key for a BotCommandScope ("default", "chat:42", "chat_member:-5:42", ...)."""
    if not scope:
        return "default"
    kind = str(scope.get("type", "default"))
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    if kind == "chat_member":
        return f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
    return kind


class BotApi(EmulatorState):
    """Implements the Bot API methods on top of ``EmulatorState``."""

    def handler(self, method: str) -> tuple[str, Handler] | None:
        """(canonical name, handler) for a case-insensitive method name."""
        lowered = method.lower()
        for name, attr in METHODS.items():
            if name.lower() == lowered:
                return name, getattr(self, attr)
        return None

    # --- shared checks --------------------------------------------------------------------

    def _target_chat(self, p: Params, key: str = "chat_id") -> EmuChat:
        chat = self.find_chat(p.chat_id(key))
        if chat is None:
            raise bad_request("chat not found")
        if chat.id in self.migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": self.migrated[chat.id]})
        return chat

    def _check_can_send(self, chat: EmuChat) -> None:
        if chat.id in self.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if chat.id in self.blocked:
            reason = {
                "private": "bot was blocked by the user",
                "group": "bot was kicked from the group chat",
                "supergroup": "bot was kicked from the supergroup chat",
            }.get(chat.type, "bot is not a member of the channel chat")
            raise ApiError(403, f"Forbidden: {reason}")
        if chat.type == "private" and chat.id not in self.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
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

    def _message_json(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A live message (bot's or user's) as a dict, without its own reply_to_message."""
        sent = self.sent_message(chat_id, message_id)
        if sent is not None:
            raw = None if sent.deleted else sent.raw
        else:
            key = (chat_id, message_id)
            raw = None if key in self.deleted_user_messages else self.user_messages.get(key)
        if raw is None:
            return None
        out = clone(raw)
        out.pop("reply_to_message", None)
        return out

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
        found = self._message_json(chat_id, int(message_id))
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
        raw: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user(),
            "chat": chat.to_dict(),
            "date": self.now(),
        }
        if reply is not None:
            raw["reply_to_message"] = reply
        if media_group_id:
            raw["media_group_id"] = media_group_id
        raw.update(clone(content))
        if markup and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        if markup and "keyboard" in markup:
            self.keyboards[chat.id] = markup
        elif markup and markup.get("remove_keyboard"):
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

    # --- updates and webhook ----------------------------------------------------------------

    async def _m_get_updates(self, p: Params, files: Files) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        self._poll_seq += 1
        seq, interrupts = self._poll_seq, self._interrupts
        self._update_signal.notify()  # an older long poll now ends with 409
        self.confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._update_signal.waiter()
            if seq != self._poll_seq:
                raise ApiError(409, _CONFLICT_OTHER_POLL)
            if interrupts != self._interrupts:
                return []
            batch = self.next_batch(limit)
            if batch:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await wait_signal(event, remaining)

    async def _m_set_webhook(self, p: Params, files: Files) -> bool:
        url = p.string("url") or ""
        self.webhook_url = url or None
        if p.flag("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _m_delete_webhook(self, p: Params, files: Files) -> bool:
        self.webhook_url = None
        if p.flag("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _m_get_webhook_info(self, p: Params, files: Files) -> dict[str, Any]:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    async def _m_ok(self, p: Params, files: Files) -> bool:
        return True

    # --- bot settings -----------------------------------------------------------------------

    async def _m_get_me(self, p: Params, files: Files) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_set_my_commands(self, p: Params, files: Files) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too much commands")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("command description must be 1-256 characters long")
        key = (scope_key(p.get("scope")), p.string("language_code") or "")
        self.commands[key] = clone(commands)
        return True

    async def _m_get_my_commands(self, p: Params, files: Files) -> list[dict[str, Any]]:
        key = (scope_key(p.get("scope")), p.string("language_code") or "")
        return clone(self.commands.get(key, []))

    async def _m_delete_my_commands(self, p: Params, files: Files) -> bool:
        self.commands.pop((scope_key(p.get("scope")), p.string("language_code") or ""), None)
        return True

    async def _m_set_chat_menu_button(self, p: Params, files: Files) -> bool:
        chat_id = self._target_chat(p).id if "chat_id" in p else None
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise bad_request("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = clone(button)
        return True

    async def _m_get_chat_menu_button(self, p: Params, files: Files) -> dict[str, Any]:
        chat_id = self._target_chat(p).id if "chat_id" in p else None
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        return clone(button or {"type": "default"})

    async def _m_set_bot_info(self, p: Params, files: Files) -> bool:
        for key in ("description", "short_description", "name"):
            if key in p:
                self.bot_info[(key, p.string("language_code") or "")] = p.string(key)
        return True

    # --- chats and files --------------------------------------------------------------------

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

    # --- sending ----------------------------------------------------------------------------

    async def _m_send_message(self, p: Params, files: Files) -> dict[str, Any]:
        chat = self._target_chat(p)
        self._check_can_send(chat)
        source, text, entities, parse_mode = self._formatted(
            p, "text", "entities", limit=TEXT_LIMIT, too_long="message is too long"
        )
        if text is None:
            raise bad_request("message text is empty")
        markup = self._markup(p)
        reply = self._reply_to(p, chat)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        sent = self._deliver(chat, "sendMessage", content, source=source, parse_mode=parse_mode,
                             markup=markup, reply=reply)
        return clone(sent.raw)

    async def _send_media(self, p: Params, files: Files, kind: str, method: str) -> dict[str, Any]:
        chat = self._target_chat(p)
        self._check_can_send(chat)
        resolved = self._resolve_media(p.get(kind), files, kind, kind)
        content, source, parse_mode = self._caption_content(p)
        markup = self._markup(p)
        reply = self._reply_to(p, chat)
        content = {kind: self._media_object(kind, resolved), **content}
        sent = self._deliver(chat, method, content, source=source, parse_mode=parse_mode,
                             markup=markup, reply=reply)
        return clone(sent.raw)

    async def _m_send_photo(self, p: Params, files: Files) -> dict[str, Any]:
        return await self._send_media(p, files, "photo", "sendPhoto")

    async def _m_send_document(self, p: Params, files: Files) -> dict[str, Any]:
        return await self._send_media(p, files, "document", "sendDocument")

    async def _m_send_media_group(self, p: Params, files: Files) -> list[dict[str, Any]]:
        chat = self._target_chat(p)
        self._check_can_send(chat)
        media = p.get("media")
        if not isinstance(media, list):
            raise bad_request("can't parse media JSON object")
        if len(media) > 10:
            raise bad_request("too much messages to send as an album")
        if len(media) < 2:
            raise bad_request("wrong number of media in the album: 2-10 items are allowed")
        kinds = {item.get("type") for item in media if isinstance(item, dict)}
        if "document" in kinds and len(kinds) > 1:
            raise bad_request("document can't be mixed with other media types")
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document",
                                                                      "video", "audio"):
                raise bad_request("can't parse InputMedia: media type is invalid")
            kind = str(item["type"])
            resolved = self._resolve_media(item.get("media"), files, kind, "media")
            content, source, parse_mode = self._caption_content(Params(item))
            prepared.append((kind, resolved, content, source, parse_mode))
        reply = self._reply_to(p, chat)
        self._media_group_seq += 1
        group_id = f"{13000000000000000 + self._media_group_seq}"
        out = []
        for kind, resolved, content, source, parse_mode in prepared:
            content = {kind: self._media_object(kind, resolved), **content}
            sent = self._deliver(chat, "sendMediaGroup", content, source=source,
                                 parse_mode=parse_mode, reply=reply, media_group_id=group_id)
            out.append(clone(sent.raw))
        return out

    def _source_message(self, p: Params, what: str) -> dict[str, Any]:
        from_chat = self._target_chat(p, "from_chat_id")
        message_id = p.integer("message_id",
                               error=bad_request("message identifier is not specified"))
        assert message_id is not None
        found = self._message_json(from_chat.id, message_id)
        if found is None:
            raise bad_request(f"message to {what} not found")
        if content_kind(found) is None:
            raise bad_request(f"message can't be {what}ed" if what == "forward"
                              else "message can't be copied")
        return found

    async def _m_copy_message(self, p: Params, files: Files) -> dict[str, Any]:
        chat = self._target_chat(p)
        self._check_can_send(chat)
        source_message = self._source_message(p, "copy")
        kind = content_kind(source_message)
        assert kind is not None
        content: dict[str, Any] = {kind: source_message[kind]}
        source: str | None = None
        parse_mode: str | None = None
        if kind == "text":
            if source_message.get("entities"):
                content["entities"] = source_message["entities"]
        elif "caption" in p:
            extra, source, parse_mode = self._caption_content(p)
            content.update(extra)
        else:
            for key in ("caption", "caption_entities"):
                if key in source_message:
                    content[key] = source_message[key]
        sent = self._deliver(chat, "copyMessage", content, source=source, parse_mode=parse_mode,
                             markup=self._markup(p), reply=self._reply_to(p, chat))
        return {"message_id": sent.message_id}

    async def _m_forward_message(self, p: Params, files: Files) -> dict[str, Any]:
        chat = self._target_chat(p)
        self._check_can_send(chat)
        source_message = self._source_message(p, "forward")
        kind = content_kind(source_message)
        assert kind is not None
        content = {k: source_message[k] for k in (kind, "entities", "caption", "caption_entities")
                   if k in source_message}
        origin_user = source_message.get("from")
        content["forward_origin"] = (
            {"type": "user", "date": source_message["date"], "sender_user": origin_user}
            if origin_user else
            {"type": "hidden_user", "date": source_message["date"], "sender_user_name": "?"}
        )
        sent = self._deliver(chat, "forwardMessage", content)
        return clone(sent.raw)

    # --- editing and deleting ---------------------------------------------------------------

    def _editable(self, p: Params) -> SentMessage:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(p)
        self._check_can_send(chat)
        message_id = p.integer("message_id",
                               error=bad_request("message identifier is not specified"))
        assert message_id is not None
        sent = self.sent_message(chat.id, message_id)
        if sent is None or sent.deleted:
            if (chat.id, message_id) in self.user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return sent

    def _apply_edit(
        self,
        sent: SentMessage,
        *,
        text_key: str,
        text: str | None,
        source: str | None,
        entities: list[dict[str, Any]],
        parse_mode: str | None,
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        inline = markup if markup and "inline_keyboard" in markup else None
        if (text, entities, inline) == (sent.text, sent.entities, sent.raw.get("reply_markup")):
            raise bad_request(_NOT_MODIFIED)
        sent.edits.append(sent.text)
        sent.text, sent.source, sent.parse_mode = text, source, parse_mode
        sent.entities = clone(entities)
        sent.reply_markup = inline
        raw = sent.raw
        entities_key = "entities" if text_key == "text" else "caption_entities"
        for key, value in ((text_key, text), (entities_key, entities), ("reply_markup", inline)):
            if value:
                raw[key] = clone(value)
            else:
                raw.pop(key, None)
        raw["edit_date"] = self.now()
        self.touch(sent.chat_id)
        log.debug("bot edited message %s in chat %s", sent.message_id, sent.chat_id)
        return clone(raw)

    async def _m_edit_message_text(self, p: Params, files: Files) -> dict[str, Any]:
        sent = self._editable(p)
        source, text, entities, parse_mode = self._formatted(
            p, "text", "entities", limit=TEXT_LIMIT, too_long="message is too long"
        )
        if text is None:
            raise bad_request("message text is empty")
        if sent.kind != "text":
            raise bad_request("there is no text in the message to edit")
        markup = self._markup(p, inline_only=True)
        return self._apply_edit(sent, text_key="text", text=text, source=source,
                                entities=entities, parse_mode=parse_mode, markup=markup)

    async def _m_edit_message_caption(self, p: Params, files: Files) -> dict[str, Any]:
        sent = self._editable(p)
        if sent.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        content, source, parse_mode = self._caption_content(p)
        markup = self._markup(p, inline_only=True)
        return self._apply_edit(sent, text_key="caption", text=content.get("caption"),
                                source=source, entities=content.get("caption_entities", []),
                                parse_mode=parse_mode, markup=markup)

    async def _m_edit_message_reply_markup(self, p: Params, files: Files) -> dict[str, Any]:
        sent = self._editable(p)
        markup = self._markup(p, inline_only=True)
        return self._apply_edit(sent, text_key="text" if sent.kind == "text" else "caption",
                                text=sent.text, source=sent.source, entities=sent.entities,
                                parse_mode=sent.parse_mode, markup=markup)

    async def _m_delete_message(self, p: Params, files: Files) -> bool:
        chat = self._target_chat(p)
        self._check_can_send(chat)
        message_id = p.integer("message_id",
                               error=bad_request("message identifier is not specified"))
        assert message_id is not None
        key = (chat.id, message_id)
        sent = self.sent_message(chat.id, message_id)
        if sent is not None and not sent.deleted:
            date = sent.date
        elif key in self.user_messages and key not in self.deleted_user_messages:
            date = int(self.user_messages[key].get("date", 0))
        else:
            raise bad_request("message to delete not found")
        if self.now() - date > MESSAGE_DELETE_WINDOW:
            raise bad_request("message can't be deleted for everyone")
        if sent is not None:
            sent.deleted = True
            self.touch(sent.chat_id)
        else:
            self.deleted_user_messages.add(key)
        return True

    async def _m_answer_callback_query(self, p: Params, files: Files) -> bool:
        query_id = p.string("callback_query_id") or ""
        if query_id not in self.open_callbacks:
            raise bad_request("query is too old and response timeout expired or query ID is "
                              "invalid")
        text = p.string("text")
        if text and len(text) > CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        del self.open_callbacks[query_id]
        self.callback_answers.append((query_id, text, p.flag("show_alert")))
        self.touch(self._callback_chats.pop(query_id, None))
        return True


def _file_id_of(message: dict[str, Any], kind: str) -> str | None:
    media = message.get(kind)
    if isinstance(media, list) and media:
        return str(media[-1].get("file_id"))
    if isinstance(media, dict) and "file_id" in media:
        return str(media["file_id"])
    return None
