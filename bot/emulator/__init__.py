"""A local Telegram Bot API emulator: run the real PTB Application without Telegram.

- ``Emulator`` (core): plays users, answers Bot API calls, records what the bot sent; groups
  and channels check the bot's rights there (``Membership``) as Telegram does.
- ``start_server`` (server): HTTP front for ``ApplicationBuilder().base_url(...)`` + polling;
  with a webhook set, updates are POSTed to the bot instead (webhooks).
- ``EmulatorRequest`` (transport): PTB ``BaseRequest`` that calls the emulator directly.
"""

from .core import Emulator
from .members import Membership
from .models import DEFAULT_PNG, ApiError, EmuChat, EmuFile, EmuUser, SentMessage, make_png
from .server import EmulatorServer, start_server
from .transport import EmulatorRequest

__all__ = [
    "DEFAULT_PNG",
    "ApiError",
    "EmuChat",
    "EmuFile",
    "EmuUser",
    "Emulator",
    "EmulatorRequest",
    "EmulatorServer",
    "Membership",
    "SentMessage",
    "make_png",
    "start_server",
]
