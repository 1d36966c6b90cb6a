"""Gatekeepers around every update: duplicate filter, who is acting, persistence flush."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.i18n import resolve_language
from bot.services import people
from handlers import jobs
from handlers.context import SunboxContext
from storage import updates as update_repo

log = logging.getLogger(__name__)

GATE_GROUP = -2
FINISH_GROUP = 100


async def gate(update: Update, context: SunboxContext) -> None:
    """Drop duplicates and updates from nowhere; load the acting person and their language."""
    runtime = context.runtime
    async with runtime.db.read() as conn:
        seen = await update_repo.was_processed(conn, update.update_id)
    if seen:
        log.info("update %s delivered again: ignored", update.update_id)
        raise ApplicationHandlerStop
    user = update.effective_user
    chat = update.effective_chat
    # Edits of earlier messages are not new input: acting on them would answer a step the
    # person has already left.
    if user is None or user.is_bot or chat is None or update.edited_message is not None:
        await _mark(context, update)
        raise ApplicationHandlerStop
    context.person = await people.touch(runtime, user.id, user.language_code)
    context.language = resolve_language(
        context.person.language, user.language_code, runtime.config.general.default_language
    )
    if chat.type != ChatType.PRIVATE and update.callback_query is None:
        if update.effective_message and update.effective_message.text and \
                update.effective_message.text.startswith("/"):
            await update.effective_message.reply_text(
                context.t("Please write to me in a private chat.")
            )
        await _mark(context, update)
        raise ApplicationHandlerStop


async def finish(update: Update, context: SunboxContext) -> None:
    """After all handlers: persist conversation state and drafts, then mark the update done.

    PTB would mark the user's data for persistence only after the last group and write it
    within a minute; a crash in between would lose the step. So it is written now.
    """
    if update.effective_user is not None:
        context.application.mark_data_for_update_persistence(
            user_ids=update.effective_user.id
        )
    await context.application.update_persistence()
    await _mark(context, update)
    context.sender.kick()
    await jobs.arm(context.application)


async def _mark(context: SunboxContext, update: Update) -> None:
    runtime = context.runtime
    async with runtime.db.transaction() as conn:
        await update_repo.mark_processed(conn, update.update_id, runtime.clock.now())


async def on_error(update: object, context: SunboxContext) -> None:
    """Log the error (no user content) and tell the user, in their language."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                context.t("Sorry, something went wrong. Please try again, or send /cancel."),
            )
        except Exception:  # noqa: BLE001 - the error handler must never raise
            log.warning("could not tell the user about an error", exc_info=True)


def register(application: Application) -> None:
    """Install the gatekeeper (first), the finisher (last) and the error handler."""
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    application.add_handler(TypeHandler(Update, finish), group=FINISH_GROUP)
    application.add_error_handler(on_error)
