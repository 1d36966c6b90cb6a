"""The emulator's people and chats: users, groups and channels, who is in them with what
rights (the bot's membership decides what Telegram lets it post there: ``members``), and what
people do to the bot itself (block it, kick it, promote it, delete their account or the chat,
upgrade a group to a supergroup)."""

from __future__ import annotations

from .members import Membership, member_json
from .models import EmuChat, EmuUser
from .state import EmulatorState

__all__ = ["ChatRef", "People", "chat_id_of"]

#: a chat as tests name it: its id, its user, or the chat itself
ChatRef = int | EmuUser | EmuChat


def chat_id_of(ref: ChatRef) -> int:
    """The chat id a ``ChatRef`` stands for."""
    return ref if isinstance(ref, int) else ref.id


def _membership(
    status: str | Membership,
    *,
    can_post_messages: bool,
    can_edit_messages: bool,
    can_delete_messages: bool,
    can_send_messages: bool,
) -> Membership:
    if isinstance(status, Membership):
        return status
    if status == "administrator":
        return Membership.admin(can_post_messages=can_post_messages,
                                can_edit_messages=can_edit_messages,
                                can_delete_messages=can_delete_messages)
    if status == "restricted":
        return Membership("restricted", can_send_messages=can_send_messages)
    return Membership(status)


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

    def group(
        self, chat_id: int, title: str, *, username: str | None = None,
        bot: str | Membership = "member",
    ) -> EmuChat:
        """Create a group (supergroup if the id starts with -100); the bot is in it as ``bot``
        says: a status ("member", "administrator" with all rights, "restricted" without the
        right to send, "left", "kicked") or a ``Membership``."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = EmuChat(chat_id, kind, title=title, username=username)
        self.chats[chat_id] = chat
        self.deleted_chats.discard(chat_id)
        self._set_bot(chat_id, _membership(bot, can_post_messages=True, can_edit_messages=True,
                                           can_delete_messages=True, can_send_messages=False))
        return chat

    def channel(
        self,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        bot: str | Membership = "administrator",
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        can_delete_messages: bool = True,
    ) -> EmuChat:
        """Create a channel (id -100...; ``username`` without "@" makes it public).

        The bot is in it as ``bot`` says: by default an administrator with the rights given
        (``can_post_messages=False``: an administrator who may not post); "member", "left"
        (not in it) or "kicked" (removed), or a ``Membership``. No update is queued: change it
        later with ``set_bot_status`` / ``promote_bot``, which queue ``my_chat_member``.
        """
        if not str(chat_id).startswith("-100") or len(str(chat_id)) < 6:
            raise ValueError("channel ids look like -100xxxxxxxxxx")
        chat = EmuChat(chat_id, "channel", title=title, username=username)
        self.chats[chat_id] = chat
        self.deleted_chats.discard(chat_id)
        self._set_bot(chat_id, _membership(bot, can_post_messages=can_post_messages,
                                           can_edit_messages=can_edit_messages,
                                           can_delete_messages=can_delete_messages,
                                           can_send_messages=False))
        return chat

    def set_bot_status(
        self,
        chat: ChatRef,
        status: str | Membership,
        *,
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        can_delete_messages: bool = True,
        can_send_messages: bool = False,
        by: EmuUser | None = None,
        notify: bool = True,
    ) -> Membership:
        """Someone (``by``) changes the bot's status in a group or channel: "administrator"
        (with the ``can_*`` rights given), "member", "restricted" (``can_send_messages``),
        "left", "kicked", or a ``Membership``. With ``notify`` a ``my_chat_member`` update is
        queued, as Telegram does. Returns the new membership."""
        chat_id = chat_id_of(chat)
        if self.chats[chat_id].type == "private":
            raise ValueError("a private chat has no members; use block() / unblock()")
        new = _membership(status, can_post_messages=can_post_messages,
                          can_edit_messages=can_edit_messages,
                          can_delete_messages=can_delete_messages,
                          can_send_messages=can_send_messages)
        old = self.membership(chat_id)
        self._set_bot(chat_id, new)
        if notify and new != old:
            self._member_update(chat_id, old, new, by=by)
        return new

    def promote_bot(
        self,
        chat: ChatRef,
        *,
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        can_delete_messages: bool = True,
        by: EmuUser | None = None,
        notify: bool = True,
    ) -> Membership:
        """Make the bot an administrator of a group or channel (``set_bot_status``)."""
        return self.set_bot_status(chat, "administrator", can_post_messages=can_post_messages,
                                   can_edit_messages=can_edit_messages,
                                   can_delete_messages=can_delete_messages, by=by,
                                   notify=notify)

    def bot_membership(self, chat: ChatRef) -> Membership:
        """The bot's status and rights in a group or channel, as getChatMember reports them."""
        return self.membership(chat_id_of(chat))

    def set_member(self, chat: ChatRef, user: EmuUser, status: str | Membership = "member"
                   ) -> Membership:
        """Put a person in a group or channel (as getChatMember reports them; Telegram sends
        no update about others to a bot that does not ask for ``chat_member``)."""
        new = _membership(status, can_post_messages=True, can_edit_messages=True,
                          can_delete_messages=True, can_send_messages=False)
        self.members[(chat_id_of(chat), user.id)] = new
        return new

    def delete_chat(self, chat: ChatRef) -> None:
        """The group or channel is deleted: calls to it answer 403 "the group chat was deleted"
        (a group) or 400 "chat not found" (a supergroup or channel); what the bot sent there
        stays inspectable."""
        chat_id = chat_id_of(chat)
        if self.chats[chat_id].type == "private":
            raise ValueError("use deactivate() for a person who deleted their account")
        self.deleted_chats.add(chat_id)

    def migrate_group(self, old: ChatRef, new_id: int, title: str | None = None) -> EmuChat:
        """A group is upgraded to a supergroup (``new_id``, -100...): from now on every call
        to the old id answers 400 with ``parameters.migrate_to_chat_id``, as Telegram does.
        The bot keeps its status and rights there."""
        old_chat = self.chats[chat_id_of(old)]
        if old_chat.type != "group":
            raise ValueError("only a (basic) group is upgraded to a supergroup")
        chat = self.group(new_id, title or old_chat.title or "", username=old_chat.username,
                          bot=self.membership(old_chat.id))
        self.migrated[old_chat.id] = chat.id
        return chat

    def _set_bot(self, chat_id: int, member: Membership) -> None:
        self.members[(chat_id, self.bot_id)] = member
        if member.status == "kicked":
            self.blocked.add(chat_id)
        else:
            self.blocked.discard(chat_id)

    def block(self, who: ChatRef, *, notify: bool = True) -> None:
        """The user blocks the bot (or a group or channel kicks it); bot calls to it answer 403.

        With ``notify`` a ``my_chat_member`` update (status "kicked") is queued, as Telegram does.
        """
        chat_id = chat_id_of(who)
        if self.chats[chat_id].type != "private":
            self.set_bot_status(chat_id, "kicked", notify=notify)
            return
        self.blocked.add(chat_id)
        if notify:
            self._member_update(chat_id, Membership("member"), Membership("kicked"))

    def unblock(self, who: ChatRef, *, notify: bool = True) -> None:
        """Undo ``block`` (in a group or channel the bot is back as a plain member)."""
        chat_id = chat_id_of(who)
        if self.chats[chat_id].type != "private":
            self.set_bot_status(chat_id, "member", notify=notify)
            return
        self.blocked.discard(chat_id)
        if notify:
            self._member_update(chat_id, Membership("kicked"), Membership("member"))

    def deactivate(self, who: ChatRef) -> None:
        """The user deleted their account; bot calls to them answer 403 "user is deactivated"."""
        self.deactivated.add(chat_id_of(who))

    def _member_update(self, chat_id: int, old: Membership, new: Membership, *,
                       by: EmuUser | None = None) -> None:
        chat = self.chats[chat_id]
        actor = by or self.users.get(chat_id) or next(iter(self.users.values()), None)
        self.push_update({"my_chat_member": {
            "chat": chat.to_dict(),
            "from": actor.to_dict() if actor else self.bot_user(),
            "date": self.now(),
            "old_chat_member": member_json(self.bot_user(), old, chat.type),
            "new_chat_member": member_json(self.bot_user(), new, chat.type),
        }})

    def _resolve_chat(self, user: EmuUser, chat: EmuChat | int | None) -> EmuChat:
        if chat is None:
            return self.chats[user.id]
        chat_id = chat_id_of(chat)
        if chat_id not in self.chats:
            raise KeyError(f"unknown chat {chat_id}; create it with emu.group()")
        return self.chats[chat_id]
