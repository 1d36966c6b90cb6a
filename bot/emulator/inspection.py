"""What the bot did, as tests look at it: its messages per chat, the keyboard a user sees,
answers to presses, its command menus and descriptions, the calls it made, and waiting for
its next message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from .models import SentMessage
from .people import ChatRef, chat_id_of
from .state import EmulatorState, wait_signal

__all__ = ["Inspection"]


class Inspection(EmulatorState):
    """Read-only views of what the bot sent and set, and ``wait_for`` its next message."""

    def sent(self, chat: ChatRef) -> list[SentMessage]:
        """The bot's messages in ``chat``, oldest first (deleted ones included, flagged)."""
        return list(self._sent_by_chat.get(chat_id_of(chat), []))

    def last(self, chat: ChatRef) -> SentMessage | None:
        """The bot's latest message in ``chat``."""
        messages = self._sent_by_chat.get(chat_id_of(chat))
        return messages[-1] if messages else None

    def all_sent(self) -> list[SentMessage]:
        """Every message the bot sent, in order."""
        return list(self._all_sent)

    def message(self, chat: ChatRef, message_id: int) -> SentMessage | None:
        """A bot message by id."""
        return self.sent_message(chat_id_of(chat), message_id)

    def current_keyboard(self, chat: ChatRef) -> list[list[dict[str, Any]]] | None:
        """The reply keyboard the user currently sees in ``chat`` (None if none)."""
        markup = self.keyboards.get(chat_id_of(chat))
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
            return f"chat {chat_id_of(chat)}: no messages from the bot"
        lines = [f"chat {chat_id_of(chat)}: {len(messages)} message(s) from the bot"]
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
        chat_id = chat_id_of(chat)
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
