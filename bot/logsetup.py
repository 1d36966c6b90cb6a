"""Logging of ``sunbox run``: ``[logging] level`` and ``format = "text" | "json"``.

Both formats write the same records, each already through ``bot.redaction`` (no token), and
the same loggers are kept quiet in both: whatever a library would print about a request's
payload (a case's text, a name, a phone) stays out at every level.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO

from bot.config import LoggingConfig

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The least level of libraries whose records would carry what must not be logged, or noise.
QUIET_LOGGERS = {
    # every request URL, and the URL carries the bot token
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    # PTB's debug records carry whole updates, i.e. what people wrote
    "telegram": logging.INFO,
    # APScheduler announces every job added and started: start-up noise
    "apscheduler": logging.WARNING,
    # font and image plugin chatter while a chart is drawn
    "matplotlib": logging.WARNING,
    "PIL": logging.INFO,
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, and ``exception`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def make_handler(config: LoggingConfig, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (standard error) in the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if config.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def setup_logging(config: LoggingConfig, *, verbose: bool = False,
                  stream: IO[str] | None = None) -> None:
    """Configure the root logger (unless something already did, as a test run does) and
    quiet the libraries of ``QUIET_LOGGERS``. ``verbose`` means ``DEBUG``."""
    level = logging.DEBUG if verbose else logging.getLevelName(config.level)
    logging.basicConfig(level=level, handlers=[make_handler(config, stream)])
    for name, least in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(least, level))
