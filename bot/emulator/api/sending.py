"""Bot API methods that post a new message: sendMessage, sendPhoto, sendDocument,
sendMediaGroup, copyMessage and forwardMessage."""

from __future__ import annotations

from typing import Any

from ..models import ApiError, bad_request, clone
from ..params import Params
from .base import TEXT_LIMIT, ApiBase, Files, content_kind

__all__ = ["SendingApi"]


class SendingApi(ApiBase):
    """sendMessage, sendPhoto, sendDocument, sendMediaGroup, copyMessage and forwardMessage."""

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
        self._check_can_send(chat, kind=kind)
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
        media = p.get("media")
        first = media[0] if isinstance(media, list) and media else None
        self._check_can_send(chat, kind=str(first.get("type")) if isinstance(first, dict)
                             else "photo")
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
        found = self.message_json(from_chat.id, message_id)
        if found is None:
            raise bad_request(f"message to {what} not found")
        if content_kind(found) is None:
            raise bad_request(f"message can't be {what}ed" if what == "forward"
                              else "message can't be copied")
        return found

    def _source_kind(self, p: Params) -> str:
        """The content kind of the message to copy or forward ("text" when it is not found:
        that error comes after the checks on the target chat)."""
        try:
            return content_kind(self._source_message(p, "copy")) or "text"
        except ApiError:
            return "text"

    async def _m_copy_message(self, p: Params, files: Files) -> dict[str, Any]:
        chat = self._target_chat(p)
        self._check_can_send(chat, kind=self._source_kind(p))
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
        self._check_can_send(chat, kind=self._source_kind(p))
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
