"""Shared state of the emulator: chats, files, the update queue, sent messages, wake-ups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .limits import FloodLimits
from .members import Membership
from .models import EmuChat, EmuFile, EmuUser, SentMessage, clone, image_size

__all__ = ["EmulatorState", "Signal"]

_FILE_DIRS = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "voice": ("voice", ".oga"),
    "sticker": ("stickers", ".webp"),
    "video": ("videos", ".mp4"),
    "audio": ("music", ".mp3"),
    "animation": ("animations", ".mp4"),
}
_FILE_ID_PREFIX = {
    "photo": "AgAC",
    "document": "BQAC",
    "voice": "AwAC",
    "sticker": "CAAC",
    "video": "BAAC",
    "audio": "CQAC",
    "animation": "CgAC",
}


class Signal:
    """Broadcast wake-up: waiters take ``waiter()`` before checking, ``notify()`` wakes all."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def waiter(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None


async def wait_signal(event: asyncio.Event, timeout: float) -> None:
    """Wait for ``event`` at most ``timeout`` seconds (no error on timeout).

    ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` swallows a
    cancellation that arrives as the event is set, and a waiter looping on it (a long poll
    whose client died, a simulated person being stopped) then never ends.
    """
    if timeout <= 0:
        return
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass


@dataclass(eq=False)
class QueuedUpdate:
    """An update waiting to be confirmed; ``forced`` ones (duplicates) ignore the offset once.

    With a webhook set: ``posting`` while its POST is under way, ``failures`` answers that
    were not 2xx, and ``retry_at`` (the event loop's time) when it may be posted again."""

    update: dict[str, Any]
    delivered: bool = False
    forced: bool = False
    posting: bool = False
    failures: int = 0
    retry_at: float = 0.0

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class Fault:
    """An injected error for the next matching call(s)."""

    method: str | None
    status: int
    description: str
    retry_after: int | None
    times: int


class EmulatorState:
    """Everything the emulator remembers, plus helpers shared by the API and the user side."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "sunbox_bot",
        bot_id: int = 123456,
        clock: Callable[[], float] = time.time,
        *,
        bot_first_name: str = "Sunbox",
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        self.clock = clock
        # people and chats
        self.users: dict[int, EmuUser] = {}
        self.chats: dict[int, EmuChat] = {}
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.started: set[int] = set()
        # groups upgraded to a supergroup: old id -> new id (calls to the old one answer 400)
        self.migrated: dict[int, int] = {}
        # (chat id, user id) -> membership in a group or channel, the bot's included
        self.members: dict[tuple[int, int], Membership] = {}
        self.deleted_chats: set[int] = set()  # calls to them answer as Telegram does
        # updates
        self._next_update_id = 1
        self._queue: list[QueuedUpdate] = []
        self._update_signal = Signal()
        self._poll_seq = 0
        self._interrupts = 0
        # the webhook (bot/emulator/webhooks.py): what setWebhook set, what was posted
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40
        self.webhook_allowed_updates: list[str] | None = None
        self.webhook_last_error: tuple[int, str] | None = None  # (Unix time, Telegram's words)
        self.webhook_posts: list[tuple[int, int | None]] = []  # (update_id, HTTP status)
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_signal = Signal()  # a POST ended
        # messages
        self._next_message_id: dict[int, int] = {}
        self._sent_by_chat: dict[int, list[SentMessage]] = {}
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._all_sent: list[SentMessage] = []
        self.user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.deleted_user_messages: set[tuple[int, int]] = set()
        self.keyboards: dict[int, dict[str, Any]] = {}
        self._activity = Signal()  # any change to the bot's messages or answers
        self._chat_activity: dict[int, Signal] = {}  # the same, per chat
        self._callback_chats: dict[str, int] = {}  # open callback query -> its chat
        self._media_group_seq = 0
        # callbacks
        self._callback_seq = 0
        self.open_callbacks: dict[str, int] = {}
        self.callback_answers: list[tuple[str, str | None, bool]] = []
        # files
        self._file_seq = 0
        self.files: dict[str, EmuFile] = {}
        self._files_by_path: dict[str, EmuFile] = {}
        # bot settings and bookkeeping
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.bot_info: dict[tuple[str, str], Any] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: list[Fault] = []
        # Telegram's flood limits, enforced only when a test or benchmark sets them.
        self.flood_limits: FloodLimits | None = None
        # Calls whose answer is "lost" after they took effect (the bot sees a timeout).
        self.lost_answers: dict[str | None, int] = {}

    # --- small helpers --------------------------------------------------------------------

    def now(self) -> int:
        """Current Unix time from the emulator clock."""
        return int(self.clock())

    def bot_user(self) -> dict[str, Any]:
        """The bot's ``User`` object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by the bot and the users, like in Telegram."""
        mid = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = mid + 1
        return mid

    def find_chat(self, ref: int | str) -> EmuChat | None:
        """Chat by id or "@username"."""
        if isinstance(ref, str):
            name = ref.lstrip("@").lower()
            return next((c for c in self.chats.values()
                         if c.username and c.username.lower() == name), None)
        return self.chats.get(ref)

    def membership(self, chat_id: int, user_id: int | None = None) -> Membership:
        """``user_id``'s (default: the bot's) membership in a group or channel; a group the
        bot was never given a status in counts it a member, anything else not."""
        who = self.bot_id if user_id is None else user_id
        found = self.members.get((chat_id, who))
        if found is not None:
            return found
        chat = self.chats.get(chat_id)
        in_group = who == self.bot_id and chat is not None and chat.type in ("group",
                                                                             "supergroup")
        return Membership("member" if in_group else "left")

    # --- files ----------------------------------------------------------------------------

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> EmuFile:
        """Keep ``data`` under a fresh file_id (photos: see ``store_photo``)."""
        self._file_seq += 1
        seq = self._file_seq
        folder, ext = _FILE_DIRS.get(kind, ("files", ""))
        if kind == "document" and file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        f = EmuFile(
            file_id=f"{_FILE_ID_PREFIX.get(kind, 'BQAC')}AgIAAxkBAA{seq:08d}",
            file_unique_id=f"AQAD{seq:08d}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{seq}{ext}",
            file_name=file_name,
            mime_type=mime_type,
            meta=dict(meta or {}),
        )
        self.files[f.file_id] = f
        self._files_by_path[f.file_path] = f
        return f

    def store_photo(self, data: bytes, *, file_name: str | None = None) -> list[dict[str, Any]]:
        """Store a photo as two PhotoSize entries (thumbnail and full) and return the list.

        ``file_name`` is the name it was uploaded under: Telegram shows none for a photo, the
        emulator keeps it for tests to inspect (``files[file_id].file_name``).
        """
        width, height = image_size(data) or (1280, 960)
        scale = max(1, max(width, height) // 90)
        small = self.store_file("photo", data, file_name=file_name,
                                meta={"width": max(1, width // scale),
                                      "height": max(1, height // scale)})
        large = self.store_file("photo", data, file_name=file_name,
                                meta={"width": width, "height": height})
        sizes = [small.to_dict(), large.to_dict()]
        small.photo_sizes = large.photo_sizes = sizes
        return clone(sizes)

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes stored under ``file_id`` (KeyError if unknown)."""
        return self.files[file_id].data

    def file_by_path(self, file_path: str) -> EmuFile | None:
        """The file behind a getFile ``file_path``."""
        return self._files_by_path.get(file_path.lstrip("/"))

    # --- updates --------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any], *, forced: bool = False) -> dict[str, Any]:
        """Queue an update (assigning update_id unless forced) and wake long-pollers."""
        if not forced:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
        self._queue.append(QueuedUpdate(clone(update), forced=forced))
        self._update_signal.notify()
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates confirmed by ``offset`` (negative: keep only the last -offset)."""
        if offset < 0:
            self._queue = self._queue[offset:]
        elif offset > 0:
            self._queue = [q for q in self._queue
                           if q.update_id >= offset or (q.forced and not q.delivered)]

    def next_batch(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` queued updates with increasing ids, marked delivered."""
        batch: list[QueuedUpdate] = []
        for q in self._queue:
            if batch and q.update_id <= batch[-1].update_id:
                break
            batch.append(q)
            if len(batch) >= limit:
                break
        for q in batch:
            q.delivered, q.forced = True, False
        return [clone(q.update) for q in batch]

    # --- sent messages --------------------------------------------------------------------

    def record_sent(self, message: SentMessage) -> SentMessage:
        self._sent_by_chat.setdefault(message.chat_id, []).append(message)
        self._sent_index[(message.chat_id, message.message_id)] = message
        self._all_sent.append(message)
        self.touch(message.chat_id)
        return message

    def sent_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """The bot's message ``message_id`` in ``chat_id`` (also when deleted)."""
        return self._sent_index.get((chat_id, message_id))

    def message_json(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A live message (bot's or user's) as a dict, without its own reply_to_message."""
        sent = self.sent_message(chat_id, message_id)
        if sent is not None:
            raw = None if sent.deleted else sent.raw
        else:
            key = (chat_id, message_id)
            raw = None if key in self.deleted_user_messages else self.user_messages.get(key)
        if raw is None:
            return None
        out = clone(raw)
        out.pop("reply_to_message", None)
        return out

    def touch(self, chat_id: int | None) -> None:
        """Wake the waiters for any change, and those for ``chat_id``'s, after a change there.

        Waiters for one chat are not woken by another's messages: with 50 simulated people
        each waiting on their own chat, waking them all on every message cost the load
        generator more than the emulator's own work.
        """
        self._activity.notify()
        if chat_id is not None:
            signal = self._chat_activity.get(chat_id)
            if signal is not None:
                signal.notify()

    def waiter(self, chat_id: int | None = None) -> asyncio.Event:
        """An event set at the next change (in ``chat_id``, if given): take it, then check."""
        if chat_id is None:
            return self._activity.waiter()
        signal = self._chat_activity.get(chat_id)
        if signal is None:
            signal = self._chat_activity[chat_id] = Signal()
        return signal.waiter()
