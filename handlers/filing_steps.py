"""The resident's other filing steps: starting a draft, kind, category and unit (the
category's rule, or the unit tree), how it is filed (anonymous, no replies, signed; for a
report the real name, the own phone and whether it concerns the unit's leadership), the
summary's Edit, and Confirm."""

from __future__ import annotations

import asyncio
import logging
import uuid

from telegram import InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot.faults import crash_point
from bot.services import cases
from handlers import flow_concerns
from handlers.context import SunboxContext, answer_query, set_buttons, set_text
from handlers.filing_flow import (
    CONFIRM,
    DRAFT_SLOT,
    FILING,
    NAME,
    PHONE,
    UNIT,
    FilingDraft,
    after,
    ask_attachments,
    ask_category,
    ask_concerns,
    ask_identity,
    ask_kind,
    ask_name,
    ask_phone,
    ask_text,
    ask_unit,
    category_kept,
    show_summary,
    summary_markup,
    tree_markup,
)
from handlers.flow import Next, refuse_button, tree_level, unit_chosen
from handlers.keyboards import button

log = logging.getLogger(__name__)


async def new_command(update: Update, context: SunboxContext) -> Next:
    """/new: start a fresh draft."""
    DRAFT_SLOT.put(context, FilingDraft(key=uuid.uuid4().hex))
    return await ask_kind(update, context)


async def start_from_menu(update: Update, context: SunboxContext) -> Next:
    """A menu button chose the kind already."""
    data = await FILING.pressed(update, context)
    DRAFT_SLOT.put(context, FilingDraft(key=uuid.uuid4().hex, kind=data.rsplit(":", 1)[1]))
    return await ask_category(update, context)


async def kind_chosen(update: Update, context: SunboxContext) -> Next:
    """Suggestion or named report."""
    kind = (await FILING.pressed(update, context)).rsplit(":", 1)[1]
    with DRAFT_SLOT.edit(context) as draft:
        draft.kind = kind
    return await ask_category(update, context)


async def category_chosen(update: Update, context: SunboxContext) -> Next:
    """A category; its routing rule pre-selects the unit."""
    if await category_kept(FILING, DRAFT_SLOT, update, context, "new") is None:
        return None
    return await ask_unit(update, context)


async def unit_confirmed(update: Update, context: SunboxContext) -> Next:
    """The pre-selected unit is right."""
    await FILING.pressed(update, context)
    return await after(update, context, ask_text)


async def tree_opened(update: Update, context: SunboxContext) -> Next:
    """Browse one level of the unit tree (the message is edited in place)."""
    level = await tree_level(update, context)
    if level is None:
        return None
    assert update.callback_query is not None
    await set_text(update.callback_query, context.t("Choose the unit:"),
                   reply_markup=tree_markup(context, *level))
    return UNIT


async def unit_picked(update: Update, context: SunboxContext) -> Next:
    """A unit from the tree."""
    unit = await unit_chosen(update, context, "new")
    if unit is None:
        return None
    await FILING.pressed(update, context)
    with DRAFT_SLOT.edit(context) as draft:
        draft.unit = unit.id
    await FILING.send(update, context, context.t("Unit: {unit}").format(
        unit=unit.name(context.language)))
    return await after(update, context, ask_text)


async def identity_chosen(update: Update, context: SunboxContext) -> Next:
    """Anonymous, no replies, or signed."""
    identity = await FILING.chosen(update, context, "new:id:", (
        cases.IDENTITY_ANONYMOUS, cases.IDENTITY_NO_FEEDBACK, cases.IDENTITY_SIGNED))
    if identity is None:
        return None
    user = update.effective_user
    assert user is not None
    with DRAFT_SLOT.edit(context) as draft:
        draft.identity = identity
        draft.name = user.full_name if identity == cases.IDENTITY_SIGNED else None
    return await show_summary(update, context)


async def name_received(update: Update, context: SunboxContext) -> Next:
    """The reporter's real name."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name = " ".join(message.text.split())
    limit = context.runtime.config.limits.name_max_chars
    if len(name) < 2 or len(name) > limit or any(ch.isdigit() for ch in name):
        await message.reply_text(context.t(
            "Please type your real full name (2 to {max} characters, no digits)."
        ).format(max=limit))
        return NAME
    with DRAFT_SLOT.edit(context) as draft:
        draft.name = name
    return await ask_phone(update, context)


async def name_expected(update: Update, context: SunboxContext) -> Next:
    """Anything but text where the name is expected."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t("Please type your full name."))
    return NAME


async def contact_received(update: Update, context: SunboxContext) -> Next:
    """The reporter's own phone, shared with the contact button."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.contact is not None and user is not None
    if message.contact.user_id != user.id:
        await message.reply_text(context.t(
            "That is not your own contact. Please press the button to share your own "
            "phone number."
        ))
        return PHONE
    phone = message.contact.phone_number.strip()
    with DRAFT_SLOT.edit(context) as draft:
        draft.phone = phone if phone.startswith("+") else f"+{phone}"
        draft.identity = cases.IDENTITY_NAMED
    await message.reply_text(context.t("Phone number received."),
                             reply_markup=ReplyKeyboardRemove())
    return await ask_concerns(update, context)


concerns_chosen = flow_concerns.answer_step(FILING, DRAFT_SLOT, show_summary)


async def contact_expected(update: Update, context: SunboxContext) -> Next:
    """A typed number or anything else where the contact button is expected."""
    return await ask_phone(update, context)


async def edit_menu(update: Update, context: SunboxContext) -> Next:
    """Offer the parts of the draft that can be changed."""
    query = update.callback_query
    assert query is not None
    await answer_query(query)
    t = context.t
    report = DRAFT_SLOT.get(context).kind == "report"
    identity_label = t("Name and phone") if report else t("Identity")
    markup = InlineKeyboardMarkup([
        [button(t("Category"), "new:edit:category"), button(t("Unit"), "new:edit:unit")],
        [button(t("Text"), "new:edit:text"), button(t("Attachments"), "new:edit:attachments")],
        [button(identity_label, "new:edit:identity")],
        [button(t("« Back"), "new:edit:back")],
    ])
    await set_buttons(query, markup)
    return CONFIRM


async def edit_chosen(update: Update, context: SunboxContext) -> Next:
    """Go to one step; after it, straight back to the summary."""
    query = update.callback_query
    assert query is not None and query.data is not None
    part = query.data.removeprefix("new:edit:")
    if part == "back":
        await answer_query(query)
        await set_buttons(query, summary_markup(context))
        return CONFIRM
    steps = {
        "category": ask_category, "unit": ask_unit, "text": ask_text,
        "attachments": ask_attachments,
        "identity": ask_name if DRAFT_SLOT.get(context).kind == "report" else ask_identity,
    }
    if part not in steps:
        return await refuse_button(update, context)
    await FILING.pressed(update, context)
    with DRAFT_SLOT.edit(context) as draft:
        draft.editing = True
        if part == "attachments":
            draft.attachments, draft.lat, draft.lon = [], None, None
    result: Next = await steps[part](update, context)
    return result


async def confirmed(update: Update, context: SunboxContext) -> Next:
    """Store the case (committed before the number is shown), then show the number."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    draft = DRAFT_SLOT.get(context)
    try:
        filed = await cases.file_case(
            context.runtime, _to_draft(context, draft), context.require_person(),
            update.effective_chat.id)
    except (KeyError, cases.CaseError):
        await answer_query(
            query, context.t("This draft is incomplete; please start again with /new."),
            show_alert=True)
        FILING.drop(context)
        return ConversationHandler.END
    crash_point("filing:after_commit")
    with_files = bool(draft.attachments)
    # The receipt with the number was owed and claimed in the filing's own transaction (the
    # outbox delivers it, with retries); it goes first, as the answer to the press. What is
    # left here is cosmetic and may fail harmlessly: the two calls go together.
    await context.sender.send_claimed(filed.claimed)
    DRAFT_SLOT.take(context)
    for result in await asyncio.gather(answer_query(query), set_buttons(query, None),
                                       return_exceptions=True):
        if isinstance(result, TelegramError):
            log.info("summary buttons not removed: %s", type(result).__name__)
        elif isinstance(result, BaseException):
            raise result
    if filed.case.anonymous and with_files:
        # Its files, scrubbed and renamed, uploaded here first (the reporter sees what goes
        # on), then its cards; a job retries what fails here.
        await context.scrubber.process(filed.case.id,
                                       (update.effective_chat.id, context.language))
    return ConversationHandler.END


def _to_draft(context: SunboxContext, draft: FilingDraft) -> cases.Draft:
    """The draft as the service files it; ``KeyError`` naming a part it still lacks."""
    return cases.Draft(
        key=draft.need("key"), kind=draft.need("kind"), category_id=draft.need("category"),
        unit_id=draft.need("unit"), text=draft.need("text"), identity=draft.need("identity"),
        language=context.language,
        reporter_name=draft.name, reporter_phone=draft.phone,
        attachments=tuple(a.new() for a in draft.attachments),
        latitude=draft.lat, longitude=draft.lon, concerns_head=bool(draft.concerns_head),
        disclosure_id=draft.disclosure,
    )
