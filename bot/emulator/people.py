"""The emulator's people and chats: users, groups, and what they do to the bot itself (block
it, kick it, delete their account, upgrade a group to a supergroup)."""

from __future__ import annotations

from typing import Any

from .models import EmuChat, EmuUser
from .state import EmulatorState

__all__ = ["ChatRef", "People", "chat_id_of"]

#: a chat as tests name it: its id, its user, or the chat itself
ChatRef = int | EmuUser | EmuChat


def chat_id_of(ref: ChatRef) -> int:
    """The chat id a ``ChatRef`` stands for."""
    return ref if isinstance(ref, int) else ref.id


class People(EmulatorState):
    """Creates users and groups, and plays their dealings with the bot as a contact."""

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
        old_chat = self.chats[chat_id_of(old)]
        chat = self.group(new_id, title or old_chat.title or "", username=old_chat.username)
        self.migrated[old_chat.id] = chat.id
        return chat

    def block(self, who: ChatRef, *, notify: bool = True) -> None:
        """The user blocks the bot (or a group kicks it); bot calls to it answer 403.

        With ``notify`` a ``my_chat_member`` update (status "kicked") is queued, as Telegram does.
        """
        chat_id = chat_id_of(who)
        self.blocked.add(chat_id)
        if notify:
            self._member_update(chat_id, "member", "kicked")

    def unblock(self, who: ChatRef, *, notify: bool = True) -> None:
        """Undo ``block``."""
        chat_id = chat_id_of(who)
        self.blocked.discard(chat_id)
        if notify:
            self._member_update(chat_id, "kicked", "member")

    def deactivate(self, who: ChatRef) -> None:
        """The user deleted their account; bot calls to them answer 403 "user is deactivated"."""
        self.deactivated.add(chat_id_of(who))

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

    def _resolve_chat(self, user: EmuUser, chat: EmuChat | int | None) -> EmuChat:
        if chat is None:
            return self.chats[user.id]
        chat_id = chat_id_of(chat)
        if chat_id not in self.chats:
            raise KeyError(f"unknown chat {chat_id}; create it with emu.group()")
        return self.chats[chat_id]
