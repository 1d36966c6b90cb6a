"""Scheduled work (PTB JobQueue): each job calls a service, then wakes the outbox sender."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.services import handling
from handlers.context import SunboxContext

CLOSE_UNRATED = "close-unrated"


async def close_unrated(context: SunboxContext) -> None:
    """Close answered cases the reporter did not rate in time."""
    if await handling.close_unrated(context.runtime):
        context.sender.kick()


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Schedule the jobs (they run once the application has started)."""
    assert application.job_queue is not None
    application.job_queue.run_repeating(close_unrated, interval=3600, first=60,
                                        name=CLOSE_UNRATED)
