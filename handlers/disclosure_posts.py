"""The posts of published disclosures in the units' channels and party groups (step 4), and
the opinion count on their button (step 6), sent by a job outside any transaction.

A post owed is sent in as many messages as its text needs (the archive keeps it whole);
the last carries the button, a deep link that opens an opinion on it in the bot. The bot's
own posts never come back as updates: the message ids are those the sends return. A chat
the bot cannot post to keeps the post owed with its error (``publishing.post_failed`` tells
the unit and the administrators); a group upgraded to a supergroup is followed. A post sent
and not recorded (a crash between the two) is sent again: a duplicate, never a loss.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import Application

from bot import fit
from bot.i18n import translator
from bot.services.disclosures import publishing
from bot.services.disclosures.texts import full_text
from handlers.context import SunboxContext
from handlers.jobs import leader_only
from storage import disclosures as repo

log = logging.getLogger(__name__)

POSTS = "disclosure-posts"
#: Seconds between looks for posts owed and counts to show.
EVERY = 5
#: A post's button shows a new opinion count at most this often.
COUNT_EVERY = timedelta(minutes=1)


def _reason(error: TelegramError) -> str:
    text = error.message.lower()
    if isinstance(error, Forbidden):
        return "kicked"
    if "administrator" in text or "not enough rights" in text:
        return "not_admin"
    if "not found" in text:
        return "not_found"
    return "other"


def _markup(username: str | None, disclosure_id: int, label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        label, url=f"https://t.me/{username}?start=op_{disclosure_id}")]])


def _label(language: str, count: int) -> str:
    t = translator(language)
    if not count:
        return t("💬 Give an opinion")
    return t("💬 Give an opinion ({n} so far)").format(n=count)


@leader_only
async def post_owed(context: SunboxContext) -> None:
    """Send the posts owed, then the opinion counts that changed."""
    runtime = context.runtime
    bot = context.bot
    language = runtime.config.general.default_language
    t = translator(language)
    for disclosure_id, chat_id in await runtime.db.read(repo.unposted):
        d = await runtime.db.read(repo.get, disclosure_id)
        assert d is not None
        pieces = fit.split(full_text(runtime, d, t, language))
        try:
            ids: list[int] = []
            for number, piece in enumerate(pieces, 1):
                markup = (_markup(bot.username, d.id, _label(language, 0))
                          if number == len(pieces) else None)
                message = await bot.send_message(chat_id, piece, reply_markup=markup)
                ids.append(message.message_id)
        except ChatMigrated as moved:
            await publishing.moved_chat(runtime, d.id, chat_id, moved.new_chat_id)
            continue
        except (BadRequest, Forbidden) as error:
            log.warning("disclosure %s: cannot post in chat %s (%s)", d.id, chat_id,
                        type(error).__name__)
            await publishing.post_failed(runtime, d.id, chat_id, _reason(error))
            continue
        except TelegramError as error:  # network, flood: the next round tries again
            log.info("disclosure %s: post deferred (%s)", d.id, type(error).__name__)
            continue
        await publishing.posted(runtime, d.id, chat_id, ids)
    now = runtime.clock.now()
    for disclosure_id, chat_id, shown_ids, count in await runtime.db.read(
            repo.counts_to_show, now - COUNT_EVERY):
        try:
            await bot.edit_message_reply_markup(
                chat_id, shown_ids[-1], reply_markup=_markup(bot.username, disclosure_id,
                                                       _label(language, count)))
        except BadRequest as error:
            if "not modified" not in error.message:
                log.info("disclosure %s: count not shown (%s)", disclosure_id,
                         type(error).__name__)
        except TelegramError:
            continue
        await runtime.db.write(repo.count_shown, disclosure_id, chat_id, count, now)
    context.sender.kick()


def kick(context: SunboxContext) -> None:
    """Look for posts owed now (after a retry)."""
    application: Application[Any, Any, Any, Any, Any, Any] = context.application
    job_queue = application.job_queue
    if job_queue is not None:
        job_queue.run_once(post_owed, 0)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(post_owed, interval=EVERY, first=1, name=POSTS)
