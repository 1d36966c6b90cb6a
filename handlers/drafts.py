"""Unfinished case drafts expire (``[limits] draft_ttl``) with everything in them.

A resident's draft (``user_data["draft"]``, ``handlers.filing_flow.FilingDraft`` as JSON:
text, name, phone, attachments' file ids) is
stamped with the day it last changed, in the county's time zone: a date, not a moment, so
that it leaves no timeline. A periodic job (``handlers.jobs``) deletes the drafts not changed
for ``draft_ttl`` counted from the end of that day, in memory and in the database, and ends
the filing conversation of their owners. Only a marker stays (a draft without a key), so
the resident's next message or press is told what happened instead of landing in a step
whose draft is gone; a new draft (``/new``) replaces the marker.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, ConversationHandler

from bot.runtime import Runtime
from bot.telegram.conversation_states import put_user_data
from bot.telegram.persistence import SqlitePersistence
from handlers.context import SunboxContext, show_next, take_press
from storage import conversations

log = logging.getLogger(__name__)

DRAFT = "draft"
TOUCHED = "touched"
#: What an expired draft leaves: no key (so no step can go on with it), nothing personal.
EXPIRED: dict[str, Any] = {"expired": True}
DIALOG = "dialog"  # the persisted name of the one conversation (handlers.conversation)

Step = Callable[[Update, SunboxContext], Coroutine[Any, Any, Any]]


def today(runtime: Runtime) -> date:
    """The county's date now."""
    return runtime.clock.now().astimezone(runtime.config.general.tz).date()


def expired(runtime: Runtime, draft: dict[str, Any], now: datetime) -> bool:
    """Whether a draft was last changed ``draft_ttl`` or longer ago (from the end of the day
    it was stamped with; one never stamped counts from today)."""
    try:
        touched = date.fromisoformat(str(draft[TOUCHED]))
    except (KeyError, ValueError):
        return False
    tz = runtime.config.general.tz
    end_of_day = datetime(touched.year, touched.month, touched.day, tzinfo=tz) + timedelta(days=1)
    return now >= end_of_day + runtime.config.limits.draft_ttl.as_timedelta()


def is_marker(draft: object) -> bool:
    """Whether ``draft`` is what an expired draft left."""
    return isinstance(draft, dict) and draft.get("expired") is True and "key" not in draft


def guard(handlers: list[BaseHandler[Any, Any, Any]], *, entry: bool = False
          ) -> list[BaseHandler[Any, Any, Any]]:
    """Wrap the callbacks of filing handlers: each stamps the draft with today; a step
    (``entry`` False) whose draft is gone tells the resident so and ends the conversation."""
    for handler in handlers:
        handler.callback = _stamping(handler.callback) if entry else _step(handler.callback)
    return handlers


def _stamping(callback: Step) -> Step:
    @functools.wraps(callback)
    async def stamped(update: Update, context: SunboxContext) -> Any:
        result = await callback(update, context)
        draft = (context.user_data or {}).get(DRAFT)
        if isinstance(draft, dict) and "key" in draft:
            draft[TOUCHED] = today(context.runtime).isoformat()
        return result
    return stamped


def _step(callback: Step) -> Step:
    @functools.wraps(callback)
    async def step(update: Update, context: SunboxContext) -> Any:
        draft = (context.user_data or {}).get(DRAFT)
        if not isinstance(draft, dict) or "key" not in draft:
            return await draft_gone(update, context)
        draft[TOUCHED] = today(context.runtime).isoformat()
        return await callback(update, context)
    return step


def _notice(context: SunboxContext) -> str:
    return context.t(
        "Your unfinished draft was deleted, with everything you had entered, because it was "
        "not changed for a long time. Nothing was filed. Send /new to start again.")


async def draft_gone(update: Update, context: SunboxContext) -> int:
    """A filing step whose draft expired: say so, end the conversation."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    chat = update.effective_chat
    assert chat is not None
    if update.callback_query is not None:
        await take_press(update.callback_query, context)  # the notice replaces the step
    await show_next(context, chat.id, _notice(context))
    return ConversationHandler.END


async def tell_if_expired(update: Update, context: SunboxContext) -> bool:
    """Outside any conversation (after a restart): if the person's draft expired since
    they last wrote, tell them (once) and return True."""
    data = context.user_data
    if data is None or not is_marker(data.get(DRAFT)) or update.effective_chat is None:
        return False
    data.pop(DRAFT, None)
    if update.callback_query is not None:
        await take_press(update.callback_query, context)
    await show_next(context, update.effective_chat.id, _notice(context))
    return True


async def expire(application: Application[Any, Any, Any, Any, Any, Any],
                 states: tuple[str, ...]) -> int:
    """Delete the drafts that expired (memory and database) and end their owners' filing
    conversation where it is at one of ``states``; returns how many."""
    runtime: Runtime = application.bot_data.runtime
    now = runtime.clock.now()
    stamp = today(runtime).isoformat()
    expected = await _as_stored(application) if runtime.shares_database else None
    gone: list[tuple[int, dict[str, Any]]] = []
    stamped: list[int] = []
    for user_id, data in application.user_data.items():
        draft = data.get(DRAFT)
        if not isinstance(draft, dict) or is_marker(draft):
            continue
        if TOUCHED not in draft:
            draft[TOUCHED] = stamp  # a draft from before stamping: counted from today
            stamped.append(user_id)
        elif expired(runtime, draft, now):
            if "key" in draft:
                data[DRAFT] = dict(EXPIRED)  # its owner is told at their next message
            else:
                del data[DRAFT]  # no step could go on with it: nothing to tell
            gone.append((user_id, data))
    if not stamped and not gone:
        return 0
    persistence = application.persistence
    assert isinstance(persistence, SqlitePersistence)
    if stamped:
        # Kept at once: stamped in memory only, it would be stamped anew after every restart
        # and never expire.
        await persistence.stamp_drafts(stamped, DRAFT, TOUCHED, stamp)
    if gone:
        await persistence.forget_drafts(DIALOG, gone, states, expected)
        log.info("%d unfinished draft(s) expired and deleted", len(gone))
    return len(gone)


async def _as_stored(application: Application[Any, Any, Any, Any, Any, Any]) -> dict[int, str]:
    """With other instances on the database, what this one remembers of a person may be
    older than what another wrote since: memory is made what the database holds, and that
    is returned (as stored), so a draft is forgotten only if no step changed it meanwhile."""
    runtime: Runtime = application.bot_data.runtime
    stored = await runtime.db.read(conversations.load_user_data_texts)
    for user_id in list(application.user_data):
        if user_id not in stored:
            put_user_data(application, user_id, {})
    for user_id, text in stored.items():
        put_user_data(application, user_id, json.loads(text))
    return stored
