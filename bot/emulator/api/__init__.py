"""Bot API method handlers of the emulator (what the bot calls), grouped by what they do.

- ``dispatch``: ``METHODS`` (method name -> handler) and ``BotApi``, which has them all;
- ``base``: what the methods that post to a chat share (checks, text, keyboards, files);
- ``updates``: getUpdates and the webhook;
- ``settings``: getMe, command menus, the menu button, the bot's name and descriptions;
- ``chats``: getChat, getChatMember, sendChatAction, getFile;
- ``sending``: new messages (text, photos, documents, albums, copies, forwards);
- ``editing``: edits, deletions and answers to button presses.
"""

from .base import CAPTION_LIMIT, TEXT_LIMIT, UPLOAD_LIMIT, FileTuple, content_kind
from .chats import DOWNLOAD_LIMIT
from .dispatch import METHODS, BotApi
from .editing import CALLBACK_ANSWER_LIMIT, MESSAGE_DELETE_WINDOW
from .settings import scope_key

__all__ = [
    "CALLBACK_ANSWER_LIMIT",
    "CAPTION_LIMIT",
    "DOWNLOAD_LIMIT",
    "MESSAGE_DELETE_WINDOW",
    "METHODS",
    "TEXT_LIMIT",
    "UPLOAD_LIMIT",
    "BotApi",
    "FileTuple",
    "content_kind",
    "scope_key",
]
