"""The bot token never reaches a log line or a stored error.

The token is part of every Bot API URL, and ``aiohttp`` errors carry the URL: an error's
text logged or stored as it is would hand the token to anyone who reads the log or the
database. ``redact`` takes it out of a text; ``install`` makes every log record pass
through it (its message, its arguments and its traceback), whatever logger wrote it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "<token>"
# What a token looks like (``123456:ABC-…``), for texts that meet a token not configured.
_TOKEN_LIKE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_tokens: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str, token: str | None = None) -> str:
    """``text`` without the bot token (``token``, every installed one, and anything that
    looks like a token), in any letter case: PTB capitalises an error's description, which
    lowers the rest of it."""
    lowered = text.lower()
    for known in ([token] if token else []) + sorted(_tokens, key=len, reverse=True):
        if known and known.lower() in lowered:
            text = re.sub(re.escape(known), MASK, text, flags=re.IGNORECASE)
            lowered = text.lower()
    return _TOKEN_LIKE.sub(MASK, text)


def install(token: str | None) -> None:
    """Redact ``token`` (and anything shaped like one) from every log record from now on."""
    global _installed
    with _lock:
        if token:
            _tokens.add(token)
        if _installed:
            return
        _installed = True
        make = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            _clean(record)
            return record

        logging.setLogRecordFactory(factory)


def _clean(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(text)
