"""The resident's flow: file a suggestion or a named report.

kind → category → unit (the category's rule, or browse the tree) → text → attachments →
anonymous/signed (suggestion) or real name and own phone (report) → summary with
Confirm / Edit / Cancel → stored, number shown. The draft lives in persisted user data, so
the flow survives a restart; the draft's key makes confirming idempotent.

A document added to a suggestion (which may be filed anonymously) is answered with a
warning that its name and content may identify the reporter, and a Keep / Drop choice for
that file. An anonymous case's files are scrubbed after the commit (bot/services/scrub.py):
pictures lose their metadata, every file is renamed after the case number.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.faults import crash_point
from bot.i18n import N_
from bot.services import cases
from handlers import drafts, uploads
from handlers.context import (
    SunboxContext,
    answer_query,
    set_buttons,
    set_text,
)
from handlers.flow import NOT_COMMAND, TYPED, Flow, Next, button_step, case_text, refuse_button
from handlers.flow import use_buttons as use_buttons  # re-exported from its first home
from handlers.flow_data import Attachment, Slot, Stored
from handlers.keyboards import button, unit_tree_markup
from handlers.render import (
    IDENTITY_NAMES,
    KIND_NAMES,
    above_supervision_name,
    category_name,
    unit_name,
)

log = logging.getLogger(__name__)

@dataclass
class FilingDraft(Stored):
    """A resident's case as it is being filed (``user_data["draft"]``). ``key`` makes
    confirming idempotent (no key: the draft expired, ``handlers.drafts``); ``touched`` is the
    day it last changed; ``editing``: a step was chosen from the summary, which comes next;
    ``doc_ref`` numbers the documents for their Keep / Drop buttons."""

    key: str | None = None
    kind: str | None = None
    category: str | None = None
    unit: str | None = None
    text: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    identity: str | None = None
    name: str | None = None
    phone: str | None = None
    concerns_head: bool | None = None
    editing: bool | None = None
    doc_ref: int | None = None
    touched: str | None = None


DRAFT = "draft"
DRAFT_SLOT = Slot(DRAFT, FilingDraft)
#: The resident's flow. Its /cancel serves the whole dialog (``handlers.conversation``): it
#: forgets what any step remembered.
FILING = Flow("filing", cancel_data="new:cancel", edits=True, leave_markup=ReplyKeyboardRemove(),
              drops=(DRAFT, "followup_case", "action", "reply_case", "rating_case"))
KIND, CATEGORY, UNIT, TEXT, ATTACH, IDENTITY, NAME, PHONE, CONFIRM, CONCERNS = FILING.declare(
    "kind", "category", "unit", "text", "attachments", "identity", "name", "phone", "confirm",
    "concerns")


# ---------------------------------------------------------------- prompts

async def ask_kind(update: Update, context: SunboxContext) -> Next:
    t = context.t
    markup = InlineKeyboardMarkup([
        [button(t("📝 Suggestion (may be anonymous)"), "new:kind:suggestion")],
        [button(t("🚨 Named report (real name and phone)"), "new:kind:report")],
        FILING.cancel_row(context),
    ])
    await FILING.send(update, context, t("What would you like to file?"), markup)
    return KIND


async def ask_category(update: Update, context: SunboxContext) -> Next:
    await FILING.ask_category(update, context, "new")
    return CATEGORY


async def ask_unit(update: Update, context: SunboxContext) -> Next:
    t = context.t
    unit = unit_name(context.runtime, _unit(context), context.language)
    markup = InlineKeyboardMarkup([
        [button(t("✔ Send to {unit}").format(unit=unit), "new:unit:ok")],
        [button(t("Choose another unit"), "new:tree::0")],
        FILING.cancel_row(context),
    ])
    await FILING.send(update, context,
                t("It will go to: {unit}. Is that right?").format(unit=unit), markup)
    return UNIT


def _unit(context: SunboxContext) -> str:
    """The unit the draft goes to."""
    return DRAFT_SLOT.get(context).unit or ""


def _tree_markup(context: SunboxContext, node: str, page: int) -> InlineKeyboardMarkup:
    return unit_tree_markup(context, node, page, "new", FILING.cancel_data)


async def ask_text(update: Update, context: SunboxContext) -> Next:
    await FILING.ask_text(update, context, context.t(
        "Describe it in one message: what, where, when, who is affected "
        "({min}–{max} characters)."))
    return TEXT


def _attach_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    draft = DRAFT_SLOT.get(context)
    has_any = bool(draft.attachments) or draft.lat is not None
    label = context.t("✔ Done") if has_any else context.t("Skip")
    return InlineKeyboardMarkup([[button(label, "new:att:done")], FILING.cancel_row(context)])


async def ask_attachments(update: Update, context: SunboxContext) -> Next:
    await FILING.send(update, context, context.t(
        "You can add photos or documents (up to {max}) and a location. "
        "Send them now, or press Skip."
    ).format(max=context.runtime.config.limits.max_attachments), _attach_markup(context))
    return ATTACH


async def ask_identity(update: Update, context: SunboxContext) -> Next:
    t = context.t
    markup = InlineKeyboardMarkup([
        [button(t("🙈 Anonymous, send me replies"), "new:id:anonymous")],
        [button(t("🔕 Anonymous, no replies"), "new:id:no_feedback")],
        [button(t("✍ Sign with my name"), "new:id:signed")],
        FILING.cancel_row(context),
    ])
    await FILING.send(update, context, t(
        "How do you want to file it? Anonymous: officials never see who you are, and replies "
        "still reach this chat. No replies: nothing links the case to you; keep its number."
    ), markup)
    return IDENTITY


async def ask_name(update: Update, context: SunboxContext) -> Next:
    await FILING.send(update, context, context.t(
        "A named report needs your real name. Only the unit handling it and the supervision "
        "group will see it. Please type your full name."
    ), FILING.cancel_markup(context))
    return NAME


async def ask_phone(update: Update, context: SunboxContext) -> Next:
    t = context.t
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(t("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )
    await FILING.send(update, context, t(
        "Now share your phone number with the button below (it must be your own Telegram "
        "contact). Send /cancel to stop."
    ), keyboard)
    return PHONE


def summary_text(context: SunboxContext) -> str:
    """The draft as the reporter will confirm it."""
    t = context.t
    draft = DRAFT_SLOT.get(context)
    runtime = context.runtime
    unit = draft.unit or ""
    identity = t(IDENTITY_NAMES[draft.identity or ""])
    if draft.identity == cases.IDENTITY_NAMED:
        identity = t("{name}, phone {phone}").format(name=draft.name, phone=draft.phone)
        above = above_supervision_name(runtime, unit, context.language)
        if draft.concerns_head and above:
            identity = t("{identity}; concerns the unit's leadership: it goes to "
                         "{unit}").format(identity=identity, unit=above)
        elif draft.concerns_head:
            identity = t("{identity}; concerns the unit's leadership: it goes to the "
                         "supervision group").format(identity=identity)
    location = t("yes") if draft.lat is not None else t("no")
    return t(
        "Please check your case:\n"
        "Kind: {kind}\nCategory: {category}\nUnit: {unit}\nAttachments: {attachments}\n"
        "Location: {location}\nIdentity: {identity}\n\n{text}"
    ).format(
        kind=t(KIND_NAMES[draft.kind or ""]),
        category=category_name(runtime, draft.category or "", context.language),
        unit=unit_name(runtime, unit, context.language),
        attachments=len(draft.attachments), location=location,
        identity=identity, text=draft.text,
    )


def _summary_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    t = context.t
    return InlineKeyboardMarkup([
        [button(t("✅ Confirm"), "new:confirm")],
        [button(t("✏️ Edit"), "new:edit"), button(t("✖ Cancel"), "new:cancel")],
    ])


async def show_summary(update: Update, context: SunboxContext) -> Next:
    with DRAFT_SLOT.edit(context) as draft:
        draft.editing = None
    await FILING.send(update, context, summary_text(context), _summary_markup(context))
    return CONFIRM


async def _after(update: Update, context: SunboxContext, next_step: Any) -> Next:
    """Go on to the next step, or back to the summary when editing."""
    if DRAFT_SLOT.get(context).editing:
        return await show_summary(update, context)
    result: Next = await next_step(update, context)
    return result


async def _after_attachments(update: Update, context: SunboxContext) -> Next:
    if DRAFT_SLOT.get(context).kind == "report":
        return await _after(update, context, ask_name)
    return await _after(update, context, ask_identity)


# ---------------------------------------------------------------- entry and buttons

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
    category = await FILING.category_chosen(update, context, "new")
    if category is None:
        return None
    with DRAFT_SLOT.edit(context) as draft:
        draft.category, draft.unit = category.id, category.unit
    return await ask_unit(update, context)


async def unit_confirmed(update: Update, context: SunboxContext) -> Next:
    """The pre-selected unit is right."""
    await FILING.pressed(update, context)
    return await _after(update, context, ask_text)


async def tree_opened(update: Update, context: SunboxContext) -> Next:
    """Browse one level of the unit tree (the message is edited in place)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, node, page = query.data.split(":")
    config = context.runtime.config
    if node:
        try:
            config.unit(node)
        except KeyError:
            return await refuse_button(update, context)
    await answer_query(query)
    await set_text(query,
        context.t("Choose the unit:"), reply_markup=_tree_markup(context, node, int(page))
    )
    return UNIT


async def unit_picked(update: Update, context: SunboxContext) -> Next:
    """A unit from the tree."""
    query = update.callback_query
    assert query is not None and query.data is not None
    unit_id = query.data.removeprefix("new:pick:")
    try:
        unit = context.runtime.config.unit(unit_id)
    except KeyError:
        return await refuse_button(update, context)
    await FILING.pressed(update, context)
    with DRAFT_SLOT.edit(context) as draft:
        draft.unit = unit.id
    await FILING.send(update, context, context.t("Unit: {unit}").format(
        unit=unit.name(context.language)))
    return await _after(update, context, ask_text)


async def text_received(update: Update, context: SunboxContext) -> Next:
    """The description, within the configured length."""
    message = update.effective_message
    assert message is not None
    text = await case_text(update, context, message.text or message.caption or "", N_(
        "That is too long: {length} characters, the limit is {max}. Please shorten it "
        "and send it again; you can add documents in the next step."))
    if text is None:
        return TEXT
    with DRAFT_SLOT.edit(context) as draft:
        draft.text = text
    if (message.photo or message.document) and not await _refused_too_big(
            context, message, markup=False):
        _add_attachment(context, message)
        warning = _document_warning(context, message)
        if warning is not None:
            await message.reply_text(warning[0],
                                     reply_markup=InlineKeyboardMarkup([warning[1]]))
    return await _after(update, context, ask_attachments)


async def description_expected(update: Update, context: SunboxContext) -> Next:
    """Anything but text where the description is expected."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please describe it in a text message first; you can add photos and documents next."
    ))
    return TEXT


async def _refused_too_big(context: SunboxContext, message: Any, *, markup: bool = True
                           ) -> bool:
    """The shared refusal of a file over the download limit (``handlers.uploads``), with the
    attachment step's buttons where they are shown."""
    return await uploads.refused_too_big(
        context, message, reply_markup=_attach_markup(context) if markup else None)


def _add_attachment(context: SunboxContext, message: Any) -> int:
    """Add the message's photo or document to the draft (a document numbered, for its Keep /
    Drop buttons); returns how many the draft holds now."""
    with DRAFT_SLOT.edit(context) as draft:
        if message.document:
            draft.doc_ref = (draft.doc_ref or 0) + 1
        attachment = Attachment.of(message, draft.doc_ref)
        if attachment is not None:
            draft.attachments.append(attachment)
    return len(draft.attachments)


def _document_warning(context: SunboxContext, message: Any) -> tuple[str, list[Any]] | None:
    """For a document added to a suggestion (it may be filed anonymously): the warning that
    it may identify the reporter, and the Keep / Drop buttons for that file."""
    draft = DRAFT_SLOT.get(context)
    if (draft.kind != "suggestion" or not message.document or not draft.attachments
            or draft.attachments[-1].ref is None):
        return None
    t = context.t
    ref = draft.attachments[-1].ref
    text = t(
        "⚠ If you file this anonymously, the name and the content of “{name}” may identify "
        "you. It goes on named after the case number, and a picture loses its hidden data "
        "(location, camera), but what it shows stays as it is, and another document keeps "
        "its own (such as its author). Keep it or drop it?"
    ).format(name=message.document.file_name or t("no name"))
    return text, [button(t("Keep it"), f"new:doc:keep:{ref}"),
                  button(t("🗑 Drop it"), f"new:doc:drop:{ref}")]


async def attachment_received(update: Update, context: SunboxContext) -> Next:
    """A photo or document, up to the configured count."""
    message = update.effective_message
    assert message is not None
    limit = context.runtime.config.limits.max_attachments
    if len(DRAFT_SLOT.get(context).attachments) >= limit:
        await message.reply_text(context.t(
            "You have reached the limit of {max} attachments; this one was not added."
        ).format(max=limit), reply_markup=_attach_markup(context))
        return ATTACH
    if await _refused_too_big(context, message):
        return ATTACH
    count = _add_attachment(context, message)
    received = context.t("Received ({count}/{max}). Send more, or press Done.").format(
        count=count, max=limit)
    warning = _document_warning(context, message)
    if warning is None:
        await message.reply_text(received, reply_markup=_attach_markup(context))
    else:
        rows = [warning[1], *_attach_markup(context).inline_keyboard]
        await message.reply_text(f"{warning[0]}\n\n{received}",
                                 reply_markup=InlineKeyboardMarkup(rows))
    return ATTACH


async def document_chosen(update: Update, context: SunboxContext) -> Next:
    """Keep or drop a document after the warning (from any step of the filing)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, choice, ref = query.data.split(":")
    draft = DRAFT_SLOT.get(context)
    found = [a for a in draft.attachments if str(a.ref) == ref]
    if not found:
        return await refuse_button(update, context)
    t = context.t
    if choice == "drop":
        draft.attachments.remove(found[0])
        DRAFT_SLOT.put(context, draft)
        await answer_query(query, t("Dropped: the document will not be sent."))
    else:
        await answer_query(query, t("Kept: it goes on named after the case number."))
    # The choice is made: the Keep / Drop row goes, the message's other buttons stay.
    message = query.message
    rows = (message.reply_markup.inline_keyboard
            if isinstance(message, Message) and message.reply_markup else ())
    left = [row for row in rows
            if not any(str(b.callback_data or "").startswith("new:doc:") for b in row)]
    if choice == "drop":
        await set_text(query, t("🗑 Dropped: “{name}” will not be sent.").format(
            name=found[0].file_name or t("no name")),
            reply_markup=InlineKeyboardMarkup(left) if left else None)
    else:
        await set_buttons(query, InlineKeyboardMarkup(left) if left else None)
    return None


async def location_received(update: Update, context: SunboxContext) -> Next:
    """An optional location."""
    message = update.effective_message
    assert message is not None and message.location is not None
    with DRAFT_SLOT.edit(context) as draft:
        draft.lat, draft.lon = message.location.latitude, message.location.longitude
    await message.reply_text(context.t("Location added. Send more, or press Done."),
                             reply_markup=_attach_markup(context))
    return ATTACH


async def attachment_expected(update: Update, context: SunboxContext) -> Next:
    """Something that is not a photo, document or location."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please send a photo, a document or a location, or press Done."
    ), reply_markup=_attach_markup(context))
    return ATTACH


async def attachments_done(update: Update, context: SunboxContext) -> Next:
    """Done with attachments."""
    await FILING.pressed(update, context)
    return await _after_attachments(update, context)


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


async def ask_concerns(update: Update, context: SunboxContext) -> Next:
    """Does the report concern the unit's own leadership? Then that unit never sees it."""
    t = context.t
    unit = unit_name(context.runtime, _unit(context), context.language)
    markup = InlineKeyboardMarkup([
        [button(t("Yes: it concerns its head or leadership"), "new:head:yes")],
        [button(t("No"), "new:head:no")],
        FILING.cancel_row(context),
    ])
    above = above_supervision_name(context.runtime, _unit(context), context.language)
    if above:
        question = t("Does your report concern the head or the leadership of {unit}? If so, "
                     "it goes to {above} instead, and {unit} will not see it.")
    else:
        question = t("Does your report concern the head or the leadership of {unit}? If so, "
                     "it goes to the supervision group instead, and {unit} will not see it.")
    await FILING.send(update, context, question.format(unit=unit, above=above), markup)
    return CONCERNS


async def concerns_chosen(update: Update, context: SunboxContext) -> Next:
    """Yes or no to the leadership question."""
    answer = (await FILING.pressed(update, context)).rsplit(":", 1)[1]
    with DRAFT_SLOT.edit(context) as draft:
        draft.concerns_head = answer == "yes"
    return await show_summary(update, context)


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
        await set_buttons(query, _summary_markup(context))
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
    )


def filing_entry_points() -> list[Any]:
    """Where filing starts."""
    return drafts.guard([
        CommandHandler("new", new_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(start_from_menu, pattern=r"^new:start:(suggestion|report)$"),
    ], entry=True)


def filing_states() -> dict[object, list[Any]]:
    """The filing steps of the resident's conversation. Each needs the draft; if it expired
    meanwhile, the resident is told so and the conversation ends (``handlers.drafts``)."""
    files = filters.PHOTO | filters.Document.ALL
    states = FILING.steps({
        KIND: button_step(
            CallbackQueryHandler(kind_chosen, pattern=r"^new:kind:(suggestion|report)$")),
        CATEGORY: button_step(CallbackQueryHandler(category_chosen, pattern=r"^new:cat:[\w-]+$")),
        UNIT: button_step(
            CallbackQueryHandler(unit_confirmed, pattern=r"^new:unit:ok$"),
            CallbackQueryHandler(tree_opened, pattern=r"^new:tree:[\w-]*:\d{1,4}$"),
            CallbackQueryHandler(unit_picked, pattern=r"^new:pick:[\w-]+$")),
        TEXT: [
            MessageHandler(TYPED, text_received),
            MessageHandler(files & filters.CAPTION, text_received),
            MessageHandler(NOT_COMMAND, description_expected),
        ],
        ATTACH: [
            MessageHandler(files, attachment_received),
            MessageHandler(filters.LOCATION, location_received),
            CallbackQueryHandler(attachments_done, pattern=r"^new:att:done$"),
            MessageHandler(NOT_COMMAND, attachment_expected),
        ],
        IDENTITY: button_step(CallbackQueryHandler(identity_chosen, pattern=r"^new:id:\w+$")),
        NAME: [MessageHandler(TYPED, name_received), MessageHandler(NOT_COMMAND, name_expected)],
        PHONE: [
            MessageHandler(filters.CONTACT, contact_received),
            MessageHandler(NOT_COMMAND, contact_expected),
        ],
        CONCERNS: button_step(
            CallbackQueryHandler(concerns_chosen, pattern=r"^new:head:(yes|no)$")),
        CONFIRM: button_step(
            CallbackQueryHandler(confirmed, pattern=r"^new:confirm$"),
            CallbackQueryHandler(edit_menu, pattern=r"^new:edit$"),
            CallbackQueryHandler(edit_chosen, pattern=r"^new:edit:\w+$")),
    })
    return {state: drafts.guard(handlers) for state, handlers in states.items()}


#: The steps that hold a draft (an expired draft ends the conversation at these).
FILING_STEPS = FILING.states


def filing_fallbacks() -> list[Any]:
    """Ways out of any step."""
    return [
        *FILING.leave_handlers(),
        CallbackQueryHandler(document_chosen, pattern=r"^new:doc:(keep|drop):\d{1,4}$"),
        CallbackQueryHandler(refuse_button, pattern=r"^new:"),
    ]
