"""The Bot API emulator: plays users (injects updates) and answers the bot's API calls.

Pure asyncio, no HTTP: ``server.py`` puts an aiohttp front on it and ``transport.py`` plugs it
straight into PTB as a ``BaseRequest``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from types import EllipsisType
from typing import Any

from .api import BotApi, FileTuple
from .formatting import utf16_len
from .models import DEFAULT_PNG, ApiError, EmuChat, EmuUser, SentMessage, clone
from .params import Params
from .state import Fault, wait_signal

__all__ = ["ChatRef", "Emulator"]

log = logging.getLogger(__name__)

ChatRef = int | EmuUser | EmuChat
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: "Forbidden: injected error",
    404: "Not Found",
    409: "Conflict: injected error",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _chat_id(ref: ChatRef) -> int:
    return ref if isinstance(ref, int) else ref.id


class Emulator(BotApi):
    """An in-memory Telegram: users, chats, updates for the bot, and the Bot API it calls.

    ``Emulator(token, bot_username, bot_id, clock)``; see the module docs for the user side
    (``send_text``, ``press``, ...), the bot side (``call``) and inspection (``sent``,
    ``wait_for``, ``calls``, ``callback_answers``, ``commands``).
    """

    # --- users and chats --------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = True,
    ) -> EmuUser:
        """Create (or update) a user and their private chat.

        ``started=False`` models someone who never opened the bot: sending to them answers
        403 "bot can't initiate conversation with a user" until they send something.
        """
        user = EmuUser(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        self.chats[user_id] = EmuChat(user_id, "private", first_name=first_name,
                                      last_name=last_name, username=username)
        if started:
            self.started.add(user_id)
        return user

    def group(self, chat_id: int, title: str, *, username: str | None = None) -> EmuChat:
        """Create a group (supergroup if the id starts with -100) the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = EmuChat(chat_id, kind, title=title, username=username)
        self.chats[chat_id] = chat
        return chat

    def migrate_group(self, old: ChatRef, new_id: int, title: str | None = None) -> EmuChat:
        """A group is upgraded to a supergroup (``new_id``, -100...): from now on every call
        to the old id answers 400 with ``parameters.migrate_to_chat_id``, as Telegram does."""
        old_chat = self.chats[_chat_id(old)]
        chat = self.group(new_id, title or old_chat.title or "", username=old_chat.username)
        self.migrated[old_chat.id] = chat.id
        return chat

    def block(self, who: ChatRef, *, notify: bool = True) -> None:
        """The user blocks the bot (or a group kicks it); bot calls to it answer 403.

        With ``notify`` a ``my_chat_member`` update (status "kicked") is queued, as Telegram does.
        """
        chat_id = _chat_id(who)
        self.blocked.add(chat_id)
        if notify:
            self._member_update(chat_id, "member", "kicked")

    def unblock(self, who: ChatRef, *, notify: bool = True) -> None:
        """Undo ``block``."""
        chat_id = _chat_id(who)
        self.blocked.discard(chat_id)
        if notify:
            self._member_update(chat_id, "kicked", "member")

    def deactivate(self, who: ChatRef) -> None:
        """The user deleted their account; bot calls to them answer 403 "user is deactivated"."""
        self.deactivated.add(_chat_id(who))

    def _member_update(self, chat_id: int, old: str, new: str) -> None:
        chat = self.chats[chat_id]
        actor = self.users.get(chat_id) or next(iter(self.users.values()), None)

        def member(status: str) -> dict[str, Any]:
            out: dict[str, Any] = {"user": self.bot_user(), "status": status}
            if status == "kicked":
                out["until_date"] = 0
            return out

        self.push_update({"my_chat_member": {
            "chat": chat.to_dict(),
            "from": actor.to_dict() if actor else self.bot_user(),
            "date": self.now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }})

    # --- injecting updates ------------------------------------------------------------------

    def _resolve_chat(self, user: EmuUser, chat: EmuChat | int | None) -> EmuChat:
        if chat is None:
            return self.chats[user.id]
        chat_id = _chat_id(chat)
        if chat_id not in self.chats:
            raise KeyError(f"unknown chat {chat_id}; create it with emu.group()")
        return self.chats[chat_id]

    def _user_message(
        self,
        user: EmuUser,
        content: dict[str, Any],
        chat: EmuChat | int | None,
        *,
        reply_to: SentMessage | int | None = None,
    ) -> dict[str, Any]:
        target = self._resolve_chat(user, chat)
        message_id = self.next_message_id(target.id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": target.to_dict(),
            "date": self.now(),
        }
        if reply_to is not None:
            reply_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
            replied = self._message_json(target.id, reply_id)
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
            chat_id = message.chat_id if chat is None else _chat_id(chat)
            message_id = message.message_id
        else:
            chat_id = user.id if chat is None else _chat_id(chat)
            message_id = message
        target = self.chats[chat_id]
        current = self._message_json(chat_id, message_id)
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

    # --- the update queue -------------------------------------------------------------------

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (copies)."""
        return [clone(q.update) for q in self._queue]

    def take_updates(self) -> list[dict[str, Any]]:
        """Pop all pending updates (for harnesses that call ``process_update`` themselves)."""
        taken = [q.update for q in self._queue]
        self._queue.clear()
        return taken

    def interrupt_polls(self) -> None:
        """End all running long polls now with an empty result (used on server shutdown)."""
        self._interrupts += 1
        self._update_signal.notify()

    # --- what the bot did -------------------------------------------------------------------

    def sent(self, chat: ChatRef) -> list[SentMessage]:
        """The bot's messages in ``chat``, oldest first (deleted ones included, flagged)."""
        return list(self._sent_by_chat.get(_chat_id(chat), []))

    def last(self, chat: ChatRef) -> SentMessage | None:
        """The bot's latest message in ``chat``."""
        messages = self._sent_by_chat.get(_chat_id(chat))
        return messages[-1] if messages else None

    def all_sent(self) -> list[SentMessage]:
        """Every message the bot sent, in order."""
        return list(self._all_sent)

    def message(self, chat: ChatRef, message_id: int) -> SentMessage | None:
        """A bot message by id."""
        return self.sent_message(_chat_id(chat), message_id)

    def current_keyboard(self, chat: ChatRef) -> list[list[dict[str, Any]]] | None:
        """The reply keyboard the user currently sees in ``chat`` (None if none)."""
        markup = self.keyboards.get(_chat_id(chat))
        if not markup:
            return None
        rows = markup.get("keyboard") or []
        return [[b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows]

    def callback_answer(self, update: Mapping[str, Any] | str) -> tuple[str, str | None, bool]:
        """The answerCallbackQuery given to a press (by its update or query id)."""
        if isinstance(update, str):
            query_id = update
        else:
            query_id = str(update["callback_query"]["id"])
        for answer in self.callback_answers:
            if answer[0] == query_id:
                return answer
        raise AssertionError(f"callback query {query_id} was not answered")

    def menu(self, scope: str = "default", language_code: str = "") -> list[str] | None:
        """The command names set for a scope ("default", "chat:42", as ``scope_key`` makes
        them) and language, in order; None when none is set (setMyCommands, deleteMyCommands)."""
        commands = self.commands.get((scope, language_code))
        return None if commands is None else [str(c["command"]) for c in commands]

    def menu_descriptions(self, scope: str = "default", language_code: str = ""
                          ) -> dict[str, str]:
        """Command -> description of a scope's menu (empty when none is set)."""
        return {str(c["command"]): str(c["description"])
                for c in self.commands.get((scope, language_code), [])}

    def bot_text(self, field: str, language_code: str = "") -> str | None:
        """The bot's ``description`` or ``short_description`` (setMyDescription,
        setMyShortDescription) for a language ("" for the default)."""
        value = self.bot_info.get((field, language_code))
        return None if value is None else str(value)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to ``method`` (case-insensitive)."""
        lowered = method.lower()
        return [params for name, params in self.calls if name.lower() == lowered]

    def dump(self, chat: ChatRef) -> str:
        """Readable listing of the bot's messages in ``chat``."""
        messages = self.sent(chat)
        if not messages:
            return f"chat {_chat_id(chat)}: no messages from the bot"
        lines = [f"chat {_chat_id(chat)}: {len(messages)} message(s) from the bot"]
        lines += ["  " + m.summary() for m in messages]
        return "\n".join(lines)

    def _match(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None,
        count: int | None,
        after: int,
    ) -> SentMessage | None:
        messages = self._sent_by_chat.get(chat_id, [])[after:]
        if predicate is not None:
            messages = [m for m in messages if not m.deleted and predicate(m)]
        if count is not None:
            return messages[count - 1] if len(messages) >= count else None
        return messages[-1] if messages else None

    def position(self, message: SentMessage) -> int:
        """Where ``message`` is among the bot's messages in its chat. As ``after`` for
        :meth:`wait_for`, it makes ``message`` edited into the bot's next question count as a
        reply, besides the messages after it."""
        sent = self._sent_by_chat.get(message.chat_id, [])
        for index in range(len(sent) - 1, -1, -1):
            if sent[index] is message:
                return index
        raise ValueError(f"message {message.message_id} was not sent by the bot")

    async def wait_for(
        self,
        chat: ChatRef,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        count: int | None = None,
        after: int = 0,
        timeout: float = 5.0,
    ) -> SentMessage:
        """Wait for a bot message in ``chat`` and return it.

        With ``predicate``: the latest live message satisfying it (edits are seen too). With
        ``count``: the count-th message (of those matching ``predicate`` if given). With
        neither: the latest message. ``after`` skips the first ``after`` messages of the chat
        (pass ``len(emu.sent(chat))`` taken before acting). Raises TimeoutError with a dump.
        """
        chat_id = _chat_id(chat)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self.waiter(chat_id)
            found = self._match(chat_id, predicate, count, after)
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"no matching bot message within {timeout}s (count={count}, after={after})\n"
                    + self.dump(chat_id)
                )
            await wait_signal(event, remaining)

    async def send_and_wait(
        self,
        user: EmuUser,
        text: str,
        *,
        chat: EmuChat | int | None = None,
        timeout: float = 5.0,
    ) -> SentMessage:
        """Send ``text`` as ``user`` and wait for the bot's next new message in that chat."""
        target = self._resolve_chat(user, chat)
        before = len(self._sent_by_chat.get(target.id, []))
        self.send_text(user, text, chat=target)
        return await self.wait_for(target, count=1, after=before, timeout=timeout)

    # --- fault injection --------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None,
        status: int,
        *,
        retry_after: int | None = None,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error.

        ``method=None`` matches any method except getUpdates. 429 answers carry
        ``parameters.retry_after`` (default 1 s), which PTB raises as ``RetryAfter``.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (f"Too Many Requests: retry after {retry_after}" if status == 429
                           else _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}"))
        self.faults.append(Fault(method.lower() if method else None, status, description,
                                 retry_after, times))

    def lose_answer_next(self, method: str | None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect, but their answer is lost: the
        bot sees a timeout (``method=None``: any method but getUpdates)."""
        key = method.lower() if method else None
        self.lost_answers[key] = self.lost_answers.get(key, 0) + times

    def take_lost_answer(self, method: str) -> bool:
        """Whether this call's answer is to be lost (used by the transports)."""
        lowered = method.lower()
        for key in (lowered, None):
            if key is None and lowered == "getupdates":
                continue
            if self.lost_answers.get(key, 0) > 0:
                self.lost_answers[key] -= 1
                return True
        return False

    def _take_fault(self, method: str) -> ApiError | None:
        lowered = method.lower()
        for fault in self.faults:
            matches = fault.method == lowered if fault.method else lowered != "getupdates"
            if matches:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                params = {"retry_after": fault.retry_after} if fault.retry_after else None
                return ApiError(fault.status, fault.description, params)
        return None

    # --- the Bot API entry point --------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, FileTuple] | None = None,
        *,
        token: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Handle one Bot API call; returns (HTTP status, JSON body)."""
        found = self.handler(method)
        name = found[0] if found else method
        try:
            decoded = Params(params or {})
        except ApiError as exc:
            self.calls.append((name, dict(params or {})))
            return exc.status, exc.body()
        self.calls.append((name, decoded.raw))
        if token is not None and token != self.token:
            return 401, ApiError(401, "Unauthorized").body()
        if found is None:
            log.warning("emulator: unsupported Bot API method %s", method)
            return 404, ApiError(404, "Not Found").body()
        fault = self._take_fault(name)
        if fault is not None:
            log.debug("emulator: injected %s for %s", fault.status, name)
            return fault.status, fault.body()
        try:
            result = await found[1](decoded, dict(files or {}))
        except ApiError as exc:
            log.debug("emulator: %s answered %s", name, exc.status)
            return exc.status, exc.body()
        except Exception:
            log.exception("emulator: internal error in %s", name)
            return 500, ApiError(500, "Internal Server Error").body()
        return 200, {"ok": True, "result": result}

