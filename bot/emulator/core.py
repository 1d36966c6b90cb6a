"""The Bot API emulator: plays users (injects updates) and answers the bot's API calls.

Pure asyncio, no HTTP: ``server.py`` puts an aiohttp front on it and ``transport.py`` plugs it
straight into PTB as a ``BaseRequest``. ``Emulator`` is assembled from one part per concern:

- ``people``: users, groups and channels, the bot's membership and rights there (``members``:
  Telegram's checks on them), blocking, kicking, promoting, deleting or migrating a chat;
- ``actions``: what users send and press, deep links they open (each queues an update);
- ``channels``: others' posts in a channel (``channel_post`` updates, to an admin bot only);
- ``inspection``: what the bot sent and set, ``wait_for``;
- ``faults``: injected errors and lost answers;
- ``api``: the Bot API methods the bot calls, and ``call`` below, their entry point;
- ``webhooks``: with a webhook set (setWebhook), queued updates are POSTed to it instead of
  waiting for getUpdates (``webhook_idle`` waits until all were answered 2xx).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .actions import UserActions
from .api import BotApi, FileTuple
from .channels import ChannelPosts
from .faults import FaultInjection
from .inspection import Inspection
from .models import ApiError, EmuChat, EmuUser, SentMessage, clone
from .params import Params
from .people import ChatRef

# EmuUser and SentMessage are imported from here by tests, the demo and the benchmarks.
__all__ = ["ChatRef", "EmuUser", "Emulator", "SentMessage"]

log = logging.getLogger(__name__)


class Emulator(UserActions, ChannelPosts, Inspection, FaultInjection, BotApi):
    """An in-memory Telegram: users, chats, updates for the bot, and the Bot API it calls.

    ``Emulator(token, bot_username, bot_id, clock)``; see the module docs for the user side
    (``send_text``, ``press``, ``open_link``, ``post_in_channel``, ...), chats (``group``,
    ``channel``, ``set_bot_status``, ...), the bot side (``call``) and inspection (``sent``,
    ``wait_for``, ``calls``, ``callback_answers``, ``commands``).
    """

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

    # --- a user's turn ----------------------------------------------------------------------

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
