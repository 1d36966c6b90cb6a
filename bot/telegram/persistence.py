"""python-telegram-bot persistence in Sunbox's own database.

Conversation states and per-user drafts are kept, so a resident half-way through filing a
case continues where they were after the bot restarts. Chat data, bot data and callback
data are not used.

PTB hands over what changed (``update_user_data``, ``update_conversation``); it is only
staged here. ``take_pending`` and ``write_staged`` write one person's staged state inside
the transaction that also records their update as processed (``handlers.gate.finish``), so
the step and its record commit together, and one person's half-done step is never written
by another person's update running beside it. ``flush`` (at shutdown) writes whatever is left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.runtime import Runtime
from storage import conversations, lifecycle
from storage.sql import Conn

#: A conversation's key and its states by key, as ``BasePersistence`` documents them (PTB
#: keeps these aliases in a private module).
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]

# Telegram's ids fit in 52 bits; SQLite's INTEGER holds 64.
ID_LIMIT = 2**63


def storable_id(value: object) -> bool:
    """Whether ``value`` is an id that the database can hold (an int, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and -ID_LIMIT < value < ID_LIMIT


@dataclass(frozen=True)
class Staged:
    """One person's state to write: their data (None: unchanged) and conversation states."""

    user_id: int
    user_data: dict[str, Any] | None
    conversations: list[tuple[str, str, object | None]]  # (name, key as JSON, state)


def write_staged(conn: Conn, staged: Staged) -> None:
    """Write one person's staged state (uses nothing but ``conn`` and ``staged``)."""
    if staged.user_data is not None:
        conversations.save_user_data(conn, staged.user_id, staged.user_data)
    for name, key, state in staged.conversations:
        conversations.save_conversation(conn, name, key, state)


class SqlitePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Stores user data and conversation states through ``storage.conversations``."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=60,
        )
        self._runtime = runtime
        self._users: dict[int, dict[str, Any]] = {}
        self._conversations: dict[tuple[str, ConversationKey], object | None] = {}

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        db = await self._runtime.open()
        return await db.read(conversations.load_user_data)

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        db = await self._runtime.open()
        stored = await db.read(conversations.load_conversations, name)
        return {tuple(json.loads(key)): state for key, state in stored.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        if all(storable_id(part) for part in key):
            self._conversations[(name, key)] = new_state

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        if storable_id(user_id):  # PTB marks the sender of any update, even a forged one
            self._users[user_id] = data  # PTB passes a deep copy

    async def drop_user_data(self, user_id: int) -> None:
        self._users[user_id] = {}

    def take_pending(self, user_id: int) -> Staged:
        """What is staged for one person (their drafts and conversation states), taken out
        of the stage to be written (``write_staged``), which may be on the database thread."""
        entries = [entry for entry in self._conversations if user_id in entry[1]]
        return Staged(
            user_id, self._users.pop(user_id, None),
            [(name, json.dumps(list(key)), self._conversations.pop((name, key)))
             for name, key in entries],
        )

    async def forget_drafts(self, name: str, users: list[tuple[int, dict[str, Any]]],
                            states: tuple[str, ...],
                            expected: dict[int, str] | None = None) -> None:
        """Write expired drafts away now (``storage.conversations.forget_drafts``): each
        user's data as it is now, and the end of their conversation ``name`` if it is at one
        of ``states``. What was staged for them before (which may hold the draft) is dropped,
        so it cannot be written back later. With ``expected`` (each user's data as read from
        the database), a user's is written only if it is still that."""
        for user_id, _data in users:
            self._users.pop(user_id, None)
            if self._conversations.get((name, (user_id,))) in states:
                del self._conversations[(name, (user_id,))]
        snapshot = [(user_id, json.loads(json.dumps(data))) for user_id, data in users]
        await self._runtime.db.write(
            conversations.forget_drafts, name=name, users=snapshot, states=states,
            expected=expected)

    async def stamp_drafts(self, user_ids: list[int], key: str, field: str, stamp: str
                           ) -> None:
        """Keep the stamp just given to drafts that had none (``handlers.drafts.expire``):
        written to the database now (``storage.lifecycle.stamp_drafts``, the draft's stamp
        only, not the rest of the data, which a step may be changing), and put on what is
        staged for them (a copy taken before the stamp would write it away later)."""
        for user_id in user_ids:
            draft = self._users.get(user_id, {}).get(key)
            if isinstance(draft, dict):
                draft.setdefault(field, stamp)
        await self._runtime.db.write(lifecycle.stamp_drafts, user_ids=user_ids, stamp=stamp)

    async def _write_all(self) -> None:
        staged = [self.take_pending(user_id) for user_id in list(self._users)]
        left = [(name, json.dumps(list(key)), state)
                for (name, key), state in self._conversations.items()]
        self._conversations.clear()
        await self._runtime.db.write(_write_all, staged, left)

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        """At shutdown: everything still staged. Not when other instances share the
        database: each step was written with its update (``handlers.gate.finish``), and what
        PTB staged since, from this instance's memory, may be older than what another
        instance wrote for the same person after it."""
        if self._runtime.shares_database:
            self._users.clear()
            self._conversations.clear()
        elif self._users or self._conversations:
            await self._write_all()


def _write_all(conn: Conn, staged: list[Staged],
               left: list[tuple[str, str, object | None]]) -> None:
    """Everything staged (at shutdown): each person's, then the conversation states of no
    person's own (``take_pending`` took theirs)."""
    for one in staged:
        write_staged(conn, one)
    for name, key, state in left:
        conversations.save_conversation(conn, name, key, state)
