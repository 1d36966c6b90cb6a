"""Bot API methods that change what was sent: editMessageText, editMessageCaption,
editMessageReplyMarkup, deleteMessage, and answerCallbackQuery (the answer to a press)."""

from __future__ import annotations

import logging
from typing import Any

from ..models import SentMessage, bad_request, clone
from ..params import Params
from .base import TEXT_LIMIT, ApiBase, Files

__all__ = ["CALLBACK_ANSWER_LIMIT", "MESSAGE_DELETE_WINDOW", "EditingApi"]

log = logging.getLogger(__name__)

CALLBACK_ANSWER_LIMIT = 200
MESSAGE_DELETE_WINDOW = 48 * 3600
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


class EditingApi(ApiBase):
    """editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage and
    answerCallbackQuery."""

    def _editable(self, p: Params) -> SentMessage:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(p)
        self._check_can_send(chat, "edit")
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
        message_id = p.integer("message_id",
                               error=bad_request("message identifier is not specified"))
        assert message_id is not None
        key = (chat.id, message_id)
        sent = self.sent_message(chat.id, message_id)
        self._check_can_send(chat, "delete", own=sent is not None)
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
