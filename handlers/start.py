"""/start, /help and /language."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import LANGUAGES
from bot.services import people
from handlers.context import SunboxContext, answer_query, set_text
from handlers.keyboards import button, main_menu

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


async def start(update: Update, context: SunboxContext) -> None:
    """Welcome the user with the main menu."""
    assert update.effective_message is not None
    t = context.t
    await update.effective_message.reply_text(
        t(
            "Welcome to Sunbox, the county's open-affairs mailbox.\n\n"
            "Here you can make a suggestion (anonymously if you wish) or file a named "
            "report. Each one goes to the unit responsible, which must answer within a "
            "deadline, and you hear back at every step."
        ),
        reply_markup=main_menu(context),
    )


def help_text(context: SunboxContext) -> str:
    """The few lines /help shows."""
    return context.t(
        "How Sunbox works:\n"
        "/new — make a suggestion or file a named report\n"
        "/my — your cases: state, deadlines, history; add to one or withdraw it\n"
        "/meetings — supervisors: meetings, attendance and minutes; /finding files a finding\n"
        "/language — 中文 / English\n"
        "/cancel — leave what you are doing; nothing half-done is stored\n\n"
        "A suggestion may be anonymous: officials never see who you are. A named report "
        "needs your real name and phone number, which only the unit handling it and the "
        "supervision group see."
    )


async def help_command(update: Update, context: SunboxContext) -> None:
    """Explain everything in a few lines."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(help_text(context))


async def help_button(update: Update, context: SunboxContext) -> None:
    """The menu's Help button."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await answer_query(query)
    await context.bot.send_message(query.message.chat.id, help_text(context))


def _language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(LANGUAGE_NAMES[code], f"lang:{code}") for code in LANGUAGES]]
    )


async def language_command(update: Update, context: SunboxContext) -> None:
    """Offer the languages."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        context.t("Choose your language:"), reply_markup=_language_keyboard()
    )


async def language_button(update: Update, context: SunboxContext) -> None:
    """Show the language choice from the menu."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await answer_query(query)
    await context.bot.send_message(
        query.message.chat.id, context.t("Choose your language:"),
        reply_markup=_language_keyboard(),
    )


async def language_chosen(update: Update, context: SunboxContext) -> None:
    """Remember the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    code = query.data.removeprefix("lang:")
    if code not in LANGUAGES:
        await answer_query(query, context.t("This button is no longer valid."), show_alert=True)
        return
    await people.choose_language(context.runtime, context.require_person(), code)
    context.language = code
    await answer_query(query)
    await set_text(query, context.t("Language set: English."))


def register(application: Application) -> None:
    """Install the handlers of this module."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", start, filters=private))
    application.add_handler(CommandHandler("help", help_command, filters=private))
    application.add_handler(CommandHandler("language", language_command, filters=private))
    application.add_handler(CallbackQueryHandler(help_button, pattern=r"^menu:help$"))
    application.add_handler(CallbackQueryHandler(language_button, pattern=r"^menu:language$"))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=r"^lang:"))
