"""Cases from other channels, entered by a clerk; binding and public status for residents.

/intake (clerks only): channel → kind → category (routed by its rule) → text → the
resident's contact (optional for a suggestion, name and phone for a named report) → for a
report, whether it concerns the unit's leadership → summary with Confirm / Cancel → stored.
The receipt carries a one-time link the resident opens to follow the case in chat
(``/start bind_…``); anyone can look up a case's public state with ``/status <number>``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import N_
from bot.services import intake
from bot.services.notify import CHANNEL_NAMES, KIND_NAMES, STATE_NAMES
from bot.services.roles import route_concerning_head
from handlers import flow_concerns
from handlers.context import SunboxContext, answer_query
from handlers.filing_flow import NewCase, category_kept
from handlers.flow import (
    NOT_COMMAND,
    TYPED,
    Flow,
    Next,
    button_step,
    case_text,
    refuse_button,
    text_expected,
    text_step,
)
from handlers.flow_data import Slot
from handlers.keyboards import button
from handlers.render import category_name, local_time, unit_name


@dataclass
class IntakeDraft(NewCase):
    """A case a clerk enters for a resident (``user_data["intake"]``): ``code`` is the
    resident's one-time link, shown on the receipt; ``channel``, how the case came in."""

    code: str | None = None
    channel: str | None = None


DRAFT = "intake"
DRAFT_SLOT = Slot(DRAFT, IntakeDraft)
INTAKE = Flow("intake", cancel_data="ck:cancel", drops=(DRAFT,))
CHANNEL, KIND, CATEGORY, TEXT, CONTACT, CONCERNS, CONFIRM = INTAKE.declare(
    "channel", "kind", "category", "text", "contact", "concerns", "confirm")

# What was wrong with the contact details, per kind of case.
CONTACT_ERRORS = {
    ("phone_invalid", "suggestion"): N_(
        "That phone number does not look right: it needs 7 to 15 digits, optionally "
        "starting with +. Please type the contact again."),
    ("two_phones", "suggestion"): N_("Please give one phone number only."),
    ("name_missing", "suggestion"): N_(
        "Please add the resident's name to the phone number, or press Skip to keep the "
        "suggestion anonymous."),
    ("both_missing", "suggestion"): N_(
        "Please type a name (and a phone number if one was given), or press Skip."),
    ("name_missing", "report"): N_(
        "A named report needs the resident's name too. Please type the name and the phone "
        "number."),
    ("phone_missing", "report"): N_(
        "A named report needs the resident's phone number too. Please type the name and the "
        "phone number."),
    ("both_missing", "report"): N_(
        "A named report needs the resident's name and phone number. Please type both."),
}
CONTACT_ERRORS["phone_invalid", "report"] = CONTACT_ERRORS["phone_invalid", "suggestion"]
CONTACT_ERRORS["two_phones", "report"] = CONTACT_ERRORS["two_phones", "suggestion"]
NAME_INVALID = N_("The name must be 2 to {max} characters, without digits. Please type the "
                  "contact again.")


# ---------------------------------------------------------------- prompts

def _draft(context: SunboxContext) -> IntakeDraft:
    return DRAFT_SLOT.get(context)


async def ask_channel(update: Update, context: SunboxContext) -> Next:
    """How the case came in."""
    rows = [[button(context.t(CHANNEL_NAMES[c]), f"ck:ch:{c}")] for c in intake.CHANNELS]
    rows.append(INTAKE.cancel_row(context))
    await INTAKE.send(update, context, context.t(
        "Enter a case on a resident's behalf. How did it come in?"),
        InlineKeyboardMarkup(rows))
    return CHANNEL


async def ask_kind(update: Update, context: SunboxContext) -> Next:
    """Suggestion or named report?"""
    t = context.t
    rows = [[button(t(KIND_NAMES[k]), f"ck:kind:{k}")] for k in intake.KINDS]
    rows.append(INTAKE.cancel_row(context))
    await INTAKE.send(update, context, t("Is it a suggestion or a named report?"),
                      InlineKeyboardMarkup(rows))
    return KIND


async def ask_category(update: Update, context: SunboxContext) -> Next:
    """Which area does it concern?"""
    await INTAKE.ask_category(update, context, "ck")
    return CATEGORY


async def ask_text(update: Update, context: SunboxContext) -> Next:
    """The case's text, as the resident gave it."""
    await INTAKE.ask_text(update, context, context.t(
        "Type the case as the resident gave it, in one message: what, where, when, who is "
        "affected ({min}–{max} characters)."))
    return TEXT


def _contact_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    if _draft(context).kind == "suggestion":
        return InlineKeyboardMarkup([[button(context.t("Skip"), "ck:contact:skip")],
                                     INTAKE.cancel_row(context)])
    return INTAKE.cancel_markup(context)


async def ask_contact(update: Update, context: SunboxContext) -> Next:
    """The resident's name and phone (a suggestion may skip them)."""
    t = context.t
    if _draft(context).kind == "report":
        text = t("A named report needs the resident's real name and phone number. Type both "
                 "as given, e.g. “Wang Xiulan 13800138000”.")
    else:
        text = t("The resident's name and phone number as given, e.g. “Wang Xiulan "
                 "13800138000”, or just a name. Press Skip if none was given: the suggestion "
                 "is then anonymous.")
    await INTAKE.send(update, context, text, _contact_markup(context))
    return CONTACT


async def ask_concerns(update: Update, context: SunboxContext) -> Next:
    """Does the report concern its unit's leadership? Then that unit never sees it."""
    await flow_concerns.ask(
        INTAKE, update, context, _draft(context).need("unit"), "ck",
        N_("Does the report concern the head or the leadership of {unit}? If so, it goes to "
           "{above} instead, and {unit} will not see it."),
        N_("Does the report concern the head or the leadership of {unit}? If so, it goes to "
           "the supervision group instead, and {unit} will not see it."))
    return CONCERNS


def _unit_id(context: SunboxContext) -> str:
    """Where the draft goes: its category's unit, or the supervision group."""
    draft = _draft(context)
    if draft.concerns_head:
        return route_concerning_head(context.runtime.config, draft.need("unit"))[0]
    return str(draft.need("unit"))


def summary_text(context: SunboxContext) -> str:
    """The draft as the clerk confirms it."""
    t = context.t
    draft = _draft(context)
    runtime = context.runtime
    if draft.name is None:
        resident = t("anonymous (no contact given)")
    elif draft.phone:
        resident = t("{name}, phone {phone}").format(name=draft.name, phone=draft.phone)
    else:
        resident = draft.name
    resident = flow_concerns.noted(context, resident, draft.need("unit"), draft.concerns_head)
    channel, kind = CHANNEL_NAMES[draft.need("channel")], KIND_NAMES[draft.need("kind")]
    return t(
        "Please check the case before filing it:\n"
        "Channel: {channel}\nKind: {kind}\nCategory: {category}\nUnit: {unit}\n"
        "Resident: {resident}\n\n{text}"
    ).format(
        channel=t(channel), kind=t(kind),
        category=category_name(runtime, draft.need("category"), context.language),
        unit=unit_name(runtime, _unit_id(context), context.language),
        resident=resident, text=draft.text,
    )


async def show_summary(update: Update, context: SunboxContext) -> Next:
    """The case to confirm."""
    t = context.t
    await INTAKE.send(update, context, summary_text(context), InlineKeyboardMarkup([
        [button(t("✅ Confirm"), "ck:confirm")], INTAKE.cancel_row(context)]))
    return CONFIRM


# ---------------------------------------------------------------- steps

async def intake_command(update: Update, context: SunboxContext) -> Next:
    """/intake: a clerk starts a case for a resident; anyone else is refused."""
    assert update.effective_message is not None and context.user_data is not None
    if not await intake.is_clerk(context.runtime, context.require_person().telegram_id):
        await update.effective_message.reply_text(context.t(
            "Only a mailbox clerk can enter cases from other channels. To file your own "
            "case, send /new."))
        return None
    DRAFT_SLOT.put(context, IntakeDraft(key=uuid.uuid4().hex, code=intake.new_bind_code()))
    return await ask_channel(update, context)


async def channel_chosen(update: Update, context: SunboxContext) -> Next:
    """Suggestion box, phone line, visit or meeting."""
    channel = await INTAKE.chosen(update, context, "ck:ch:", intake.CHANNELS)
    if channel is None:
        return None
    with DRAFT_SLOT.edit(context) as draft:
        draft.channel = channel
    return await ask_kind(update, context)


async def kind_chosen(update: Update, context: SunboxContext) -> Next:
    """Suggestion or named report."""
    kind = await INTAKE.chosen(update, context, "ck:kind:", intake.KINDS)
    if kind is None:
        return None
    with DRAFT_SLOT.edit(context) as draft:
        draft.kind = kind
    return await ask_category(update, context)


async def category_chosen(update: Update, context: SunboxContext) -> Next:
    """A category; its routing rule decides the unit."""
    category = await category_kept(INTAKE, DRAFT_SLOT, update, context, "ck")
    if category is None:
        return None
    await INTAKE.send(update, context, context.t("Unit: {unit}").format(
        unit=unit_name(context.runtime, category.unit, context.language)))
    return await ask_text(update, context)


async def text_received(update: Update, context: SunboxContext) -> Next:
    """The case's text, within the configured length."""
    message = update.effective_message
    assert message is not None and message.text is not None
    text = await case_text(update, context, message.text, N_(
        "That is too long: {length} characters, the limit is {max}. Please shorten it."))
    if text is None:
        return TEXT
    with DRAFT_SLOT.edit(context) as draft:
        draft.text = text
    return await ask_contact(update, context)


async def contact_received(update: Update, context: SunboxContext) -> Next:
    """The resident's name and phone, as given (both needed for a named report)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    draft = _draft(context)
    kind = draft.need("kind")
    limit = context.runtime.config.limits.name_max_chars
    try:
        contact = intake.parse_contact(message.text, kind, limit)
    except intake.IntakeError as error:
        if error.reason == "name_invalid":
            text = context.t(NAME_INVALID).format(max=limit)
        else:
            text = context.t(CONTACT_ERRORS.get((error.reason, kind),
                                                CONTACT_ERRORS["both_missing", kind]))
        await message.reply_text(text, reply_markup=_contact_markup(context))
        return CONTACT
    draft.name, draft.phone = contact.name, contact.phone
    DRAFT_SLOT.put(context, draft)
    if kind == "report":
        return await ask_concerns(update, context)
    return await show_summary(update, context)


async def contact_skipped(update: Update, context: SunboxContext) -> Next:
    """No contact given: the suggestion is anonymous (a report cannot skip)."""
    draft = _draft(context)
    if draft.kind != "suggestion":
        return await refuse_button(update, context)
    await INTAKE.pressed(update, context)
    draft.name = draft.phone = None
    DRAFT_SLOT.put(context, draft)
    return await show_summary(update, context)


concerns_chosen = flow_concerns.answer_step(INTAKE, DRAFT_SLOT, show_summary)


async def confirmed(update: Update, context: SunboxContext) -> Next:
    """Store the case (committed before the receipt is shown), then show the receipt."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    draft = _draft(context)
    try:
        case = await intake.file_for_resident(
            context.runtime, context.require_person(), draft.need("channel"), draft.need("kind"),
            draft.need("category"), draft.need("text"), draft.name, draft.phone,
            draft.need("key"), bind_code=draft.need("code"),
            concerns_head=bool(draft.concerns_head), clerk_name=user.full_name)
    except intake.IntakeError as error:
        if error.reason == "not_allowed":
            message = context.t("You no longer hold the mailbox clerk role; nothing was stored.")
        else:
            message = context.t("This draft is incomplete; please start again with /intake.")
        await answer_query(query, message, show_alert=True)
        INTAKE.drop(context)
        return ConversationHandler.END
    except KeyError:
        await answer_query(query, context.t(
            "This draft is incomplete; please start again with /intake."), show_alert=True)
        INTAKE.drop(context)
        return ConversationHandler.END
    await INTAKE.pressed(update, context)
    runtime = context.runtime
    t = context.t
    code = draft.code
    await INTAKE.send(update, context, t(
        "✅ Filed as {number}.\n"
        "Channel: {channel}\nUnit: {unit}\nAcceptance due: {accept_due}\n"
        "Answer due: {answer_due}\n\n"
        "For the resident: to follow the case in Telegram, open this one-time link\n{link}\n"
        "or send /start {code} to the bot. Anyone can check its state with /status {number}."
    ).format(
        number=case.number, channel=t(CHANNEL_NAMES[case.channel]),
        unit=unit_name(runtime, case.unit_id, context.language),
        accept_due=local_time(runtime, case.accept_due),
        answer_due=local_time(runtime, case.answer_due),
        link=f"https://t.me/{context.bot.username}?start={code}", code=code))
    INTAKE.drop(context)
    return ConversationHandler.END


# ---------------------------------------------------------------- residents

async def bind_command(update: Update, context: SunboxContext) -> None:
    """/start bind_…: link a clerk-filed case to this resident (once)."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None and context.args
    try:
        case = await intake.bind(context.runtime, context.args[0], context.require_person(),
                                 chat.id)
    except intake.IntakeError:
        await message.reply_text(context.t(
            "This link is unknown or has already been used; nothing was changed. You can "
            "still check a case's state with /status and its number."))
        return
    if case.anonymous:
        text = context.t(
            "✅ Case {number} is now linked to this chat. You will hear back here at every "
            "step; see it with /my. The suggestion stays anonymous: officials never see who "
            "you are.")
    else:
        text = context.t(
            "✅ Case {number} is now linked to your Telegram account. You will hear back here "
            "at every step; see it with /my.")
    await message.reply_text(text.format(number=case.number))


async def status_command(update: Update, context: SunboxContext) -> None:
    """/status <number>: the public state of a case, nothing of its content."""
    message = update.effective_message
    assert message is not None
    t = context.t
    if not context.args or len(context.args) != 1:
        await message.reply_text(t(
            "Send /status followed by a case number, e.g. /status S-2026-00042-K7P."))
        return
    case = await intake.public_status(context.runtime, context.args[0])
    if case is None:
        await message.reply_text(t("No case with that number was found."))
        return
    runtime = context.runtime
    await message.reply_text(t(
        "Case {number}\nKind: {kind}\nUnit: {unit}\nState: {state}\n"
        "Acceptance due: {accept_due}\nAnswer due: {answer_due}"
    ).format(
        number=case.number, kind=t(KIND_NAMES[case.kind]),
        unit=unit_name(runtime, case.unit_id, context.language),
        state=t(STATE_NAMES.get(case.state, case.state)),
        accept_due=local_time(runtime, case.accept_due),
        answer_due=local_time(runtime, case.answer_due)))


# ---------------------------------------------------------------- wiring

def entry_points() -> list[Any]:
    """Where a clerk's intake starts (in the dialog conversation)."""
    return [CommandHandler("intake", intake_command, filters=filters.ChatType.PRIVATE)]


def states() -> dict[object, list[Any]]:
    """The intake steps of the dialog conversation."""
    return INTAKE.steps({
        CHANNEL: button_step(CallbackQueryHandler(channel_chosen, pattern=r"^ck:ch:\w+$")),
        KIND: button_step(CallbackQueryHandler(kind_chosen, pattern=r"^ck:kind:\w+$")),
        CATEGORY: button_step(CallbackQueryHandler(category_chosen, pattern=r"^ck:cat:[\w-]+$")),
        TEXT: text_step(text_received),
        CONTACT: [MessageHandler(TYPED, contact_received),
                  CallbackQueryHandler(contact_skipped, pattern=r"^ck:contact:skip$"),
                  MessageHandler(NOT_COMMAND, text_expected)],
        CONCERNS: button_step(
            CallbackQueryHandler(concerns_chosen, pattern=r"^ck:head:(yes|no)$")),
        CONFIRM: button_step(CallbackQueryHandler(confirmed, pattern=r"^ck:confirm$")),
    }, leave=True)


def register(application: Application) -> None:
    """/start bind_… and /status; install before ``handlers.start`` (its plain /start)."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler(
        "start", bind_command, filters=filters.Regex(r"^/start bind_[\w-]+$") & private))
    application.add_handler(CommandHandler("status", status_command, filters=private))
