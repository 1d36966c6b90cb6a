"""Bot API methods for the bot's own settings: getMe, its command menus, the chat menu button,
its name and descriptions."""

from __future__ import annotations

import re
from typing import Any

from ..models import bad_request, clone
from ..params import Params
from .base import ApiBase, Files

__all__ = ["SettingsApi", "scope_key"]

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


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


class SettingsApi(ApiBase):
    """getMe, set/get/deleteMyCommands, set/getChatMenuButton, setMyDescription,
    setMyShortDescription and setMyName."""

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
