"""The Bot API as the emulator answers it: each method's name mapped to its handler."""

from __future__ import annotations

from .base import Handler
from .chats import ChatsApi
from .editing import EditingApi
from .sending import SendingApi
from .settings import SettingsApi
from .updates import UpdatesApi

__all__ = ["METHODS", "BotApi"]

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
    "getChatMember": "_m_get_chat_member",
}


class BotApi(UpdatesApi, SettingsApi, ChatsApi, SendingApi, EditingApi):
    """Implements the Bot API methods on top of ``EmulatorState``."""

    def handler(self, method: str) -> tuple[str, Handler] | None:
        """(canonical name, handler) for a case-insensitive method name."""
        lowered = method.lower()
        for name, attr in METHODS.items():
            if name.lower() == lowered:
                return name, getattr(self, attr)
        return None
