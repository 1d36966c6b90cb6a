"""/start, /help and /language."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import LANGUAGES, N_
from bot.services import people, roles
from handlers import menus
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


RESIDENT_HELP = N_(
    "How Sunbox works:\n"
    "/new — make a suggestion or file a named report\n"
    "/my — your cases: state, deadlines, history; add to one or withdraw it\n"
    "/status — a case's state by its number\n"
    "/language — 中文 / English\n"
    "/cancel — leave what you are doing; nothing half-done is stored\n\n"
    "A suggestion may be anonymous: officials never see who you are. A named report "
    "needs your real name and phone number, which only the unit handling it and the "
    "supervision group see.")
#: What /help adds for each role a person holds (in this order).
ROLE_HELP = {
    "official": N_(
        "As an official of your unit:\n"
        "/inbox — your units' open cases, the overdue first\n"
        "/case — open a case by its number (S-2026-00042)\n"
        "Each new case arrives as a card: accept it, answer it, transfer it, ask the reporter "
        "or ask for more time with its buttons."),
    "head": N_(
        "As the head of your unit:\n"
        "/inbox and /case — your units' cases; you sign off answers and approve extensions\n"
        "/meetings and /supervisors — your supervisors and their meetings\n"
        "/assessment — how your units did in a period\n"
        "/members — who holds which role in your units"),
    "supervision": N_(
        "As a member of the supervision group:\n"
        "/inbox and /case — every case, the overdue and escalated ones first\n"
        "/assessment — the units' assessment for a period"),
    "committee": N_(
        "As a member of your unit's committee (支委/党委):\n"
        "Each disclosure your unit drafts comes to you for review (审定): approve it, or "
        "return it with a comment. A majority of the committee approves it."),
    "clerk": N_(
        "As a clerk:\n"
        "/intake — enter a case that came by the suggestion box, the phone line or a visit\n"
        "/status — look up a case for a caller"),
    "supervisor": N_(
        "As a supervisor:\n"
        "/meetings — your meetings: upcoming and past, attendance, minutes\n"
        "/finding — file a finding as a case"),
    "admin": N_(
        "As an administrator:\n"
        "/invite — a one-time link that gives someone a role; /invites lists open ones\n"
        "/revoke — withdraw a role; /members — who holds which role\n"
        "/meetings and /supervisors — supervisors and their meetings"),
}


#: The disclosure register (党务公开), for everyone.
REGISTER_HELP = N_(
    "What units must publish (党务公开):\n"
    "/catalog — a unit's disclosure catalog: items, cadence, last published\n"
    "/disclosures — a unit's published disclosures; add a keyword to search them\n"
    "Each post in a unit's channel has a button to give your opinion on it.")
#: What officials and heads add for the register.
PUBLISHING_HELP = N_(
    "Publishing your unit's disclosures:\n"
    "/publish — what your units owe, drafts in progress; draft and submit for review\n"
    "/opinions — the opinions your units' disclosures drew, answered one by one or together")


async def help_text(context: SunboxContext) -> str:
    """What /help shows: the resident's part, then a part for each of the person's roles."""
    t = context.t
    held = {m.role for m in await roles.memberships(
        context.runtime, context.require_person().telegram_id)}
    parts = [t(RESIDENT_HELP), t(REGISTER_HELP)]
    parts += [t(text) for role, text in ROLE_HELP.items() if role in held]
    if held & {"official", "head"}:
        parts.append(t(PUBLISHING_HELP))
    return "\n\n".join(parts)


async def help_command(update: Update, context: SunboxContext) -> None:
    """Explain everything in a few lines."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(await help_text(context))


async def help_button(update: Update, context: SunboxContext) -> None:
    """The menu's Help button."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await answer_query(query)
    await context.bot.send_message(query.message.chat.id, await help_text(context))


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
    await menus.refresh(context.bot, context.runtime, context.require_person().telegram_id,
                        code)
    await answer_query(query)
    await set_text(query, context.t("Language set: English."))


def register(application: Application) -> None:
    """Install the handlers of this module."""
    private = filters.ChatType.PRIVATE
    # ``/start op_<id>`` (a post's opinion button) opens the resident's dialog instead
    # (handlers.opinions).
    application.add_handler(CommandHandler(
        "start", start, filters=private & ~filters.Regex(r"^/start op_[0-9]+$")))
    application.add_handler(CommandHandler("help", help_command, filters=private))
    application.add_handler(CommandHandler("language", language_command, filters=private))
    application.add_handler(CallbackQueryHandler(help_button, pattern=r"^menu:help$"))
    application.add_handler(CallbackQueryHandler(language_button, pattern=r"^menu:language$"))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=r"^lang:"))
