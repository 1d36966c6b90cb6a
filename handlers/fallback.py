"""Last in line: presses and messages nothing else took."""

from __future__ import annotations

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import drafts
from handlers.context import SunboxContext, answer_query
from handlers.keyboards import main_menu


async def stale_button(update: Update, context: SunboxContext) -> None:
    """A button from an old message, or forged data: say so, change nothing."""
    query = update.callback_query
    assert query is not None
    if await drafts.tell_if_expired(update, context):
        return
    await answer_query(query, context.t("This button is no longer valid."), show_alert=True)


async def not_understood(update: Update, context: SunboxContext) -> None:
    """A message outside any flow: show the way."""
    assert update.effective_message is not None
    if await drafts.tell_if_expired(update, context):
        return
    await update.effective_message.reply_text(
        context.t("I did not understand that. Choose what you would like to do:"),
        reply_markup=main_menu(context),
    )


async def nothing_to_cancel(update: Update, context: SunboxContext) -> None:
    """/cancel outside any flow: say there is nothing to leave."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        context.t("There is nothing to cancel: you are not in the middle of anything."),
        reply_markup=ReplyKeyboardRemove(),
    )


def register(application: Application) -> None:
    """Install the catch-alls; call after every other feature module."""
    application.add_handler(CommandHandler("cancel", nothing_to_cancel,
                                           filters=filters.ChatType.PRIVATE))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE, not_understood))
