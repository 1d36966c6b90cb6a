"""Sunbox (阳光信箱): a Telegram bot for a county's open-affairs feedback loop."""

__version__ = "0.1.0"

import os as _os

# python-telegram-bot 22: durations (RetryAfter.retry_after and friends) as timedelta, the
# behaviour of the next major version, instead of a deprecation warning on every 429.
_os.environ.setdefault("PTB_TIMEDELTA", "1")

# SQLite's library settings, made before anything imports sqlite3 (storage/sqlite_library.py).
import storage as _storage  # noqa: E402,F401
