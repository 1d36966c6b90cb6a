"""python-telegram-bot persistence in Sunbox's own database.

Conversation states and per-user drafts are kept, so a resident half-way through filing a
case continues where they were after the bot restarts. Chat data, bot data and callback
data are not used.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.runtime import Runtime
from storage import conversations


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

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        db = await self._runtime.open()
        async with db.read() as conn:
            return await conversations.load_user_data(conn)

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        db = await self._runtime.open()
        async with db.read() as conn:
            stored = await conversations.load_conversations(conn, name)
        return {tuple(json.loads(key)): state for key, state in stored.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        async with self._runtime.db.transaction() as conn:
            await conversations.save_conversation(conn, name, json.dumps(list(key)), new_state)

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        async with self._runtime.db.transaction() as conn:
            await conversations.save_user_data(conn, user_id, deepcopy(data))

    async def drop_user_data(self, user_id: int) -> None:
        async with self._runtime.db.transaction() as conn:
            await conversations.save_user_data(conn, user_id, {})

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
        return None
