"""The resident's filing flow: its states, the draft it fills (``user_data["draft"]``) and
the questions it asks (``handlers.filing`` wires the steps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.config import CategoryConfig
from bot.i18n import N_
from bot.services import cases
from handlers import flow_concerns
from handlers.context import SunboxContext
from handlers.flow import Flow, Next
from handlers.flow_data import Attachment, Slot, Stored
from handlers.keyboards import button, unit_tree_markup
from handlers.render import (
    IDENTITY_NAMES,
    KIND_NAMES,
    category_name,
    unit_name,
)


@dataclass
class NewCase(Stored):
    """A resident's case being put together, by the resident (:class:`FilingDraft`) or by a
    clerk (``handlers.clerk.IntakeDraft``). ``key`` makes storing it idempotent; ``unit`` is
    where its category's rule (or the resident) sends it; ``name`` and ``phone`` are the
    reporter's; ``concerns_head``: it concerns that unit's leadership
    (``handlers.flow_concerns``)."""

    key: str | None = None
    kind: str | None = None
    category: str | None = None
    unit: str | None = None
    text: str | None = None
    name: str | None = None
    phone: str | None = None
    concerns_head: bool | None = None


@dataclass
class FilingDraft(NewCase):
    """A resident's case as it is being filed (``user_data["draft"]``): no ``key`` means the
    draft expired (``handlers.drafts``); ``touched`` is the day it last changed; ``editing``:
    a step was chosen from the summary, which comes next; ``doc_ref`` numbers the documents
    for their Keep / Drop buttons."""

    attachments: list[Attachment] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    identity: str | None = None
    editing: bool | None = None
    doc_ref: int | None = None
    touched: str | None = None
    #: An opinion on this published disclosure (``handlers.opinions``).
    disclosure: int | None = None


async def category_kept(flow: Flow, slot: Slot[Any], update: Update, context: SunboxContext,
                        prefix: str) -> CategoryConfig | None:
    """The category a ``<prefix>:cat:<id>`` button names, kept in the draft (a
    :class:`NewCase`) with the unit its routing rule chooses; None for a stale button."""
    category = await flow.category_chosen(update, context, prefix)
    if category is not None:
        with slot.edit(context) as draft:
            draft.category, draft.unit = category.id, category.unit
    return category


DRAFT = "draft"
DRAFT_SLOT = Slot(DRAFT, FilingDraft)
#: The resident's flow. Its /cancel serves the whole dialog (``handlers.conversation``): it
#: forgets what any step remembered.
FILING = Flow("filing", cancel_data="new:cancel", edits=True, leave_markup=ReplyKeyboardRemove(),
              drops=(DRAFT, "followup_case", "action", "reply_case", "rating_case"))
KIND, CATEGORY, UNIT, TEXT, ATTACH, IDENTITY, NAME, PHONE, CONFIRM, CONCERNS = FILING.declare(
    "kind", "category", "unit", "text", "attachments", "identity", "name", "phone", "confirm",
    "concerns")


async def ask_kind(update: Update, context: SunboxContext) -> Next:
    """Suggestion or named report?"""
    t = context.t
    markup = InlineKeyboardMarkup([
        [button(t("📝 Suggestion (may be anonymous)"), "new:kind:suggestion")],
        [button(t("🚨 Named report (real name and phone)"), "new:kind:report")],
        FILING.cancel_row(context),
    ])
    await FILING.send(update, context, t("What would you like to file?"), markup)
    return KIND


async def ask_category(update: Update, context: SunboxContext) -> Next:
    """Which area does it concern?"""
    await FILING.ask_category(update, context, "new")
    return CATEGORY


async def ask_unit(update: Update, context: SunboxContext) -> Next:
    """The unit the category's rule chose: right, or another from the tree?"""
    t = context.t
    unit = unit_name(context.runtime, draft_unit(context), context.language)
    markup = InlineKeyboardMarkup([
        [button(t("✔ Send to {unit}").format(unit=unit), "new:unit:ok")],
        [button(t("Choose another unit"), "new:tree::0")],
        FILING.cancel_row(context),
    ])
    await FILING.send(update, context,
                      t("It will go to: {unit}. Is that right?").format(unit=unit), markup)
    return UNIT


def draft_unit(context: SunboxContext) -> str:
    """The unit the draft goes to."""
    return DRAFT_SLOT.get(context).unit or ""


def tree_markup(context: SunboxContext, node: str, page: int) -> InlineKeyboardMarkup:
    """One level of the unit tree, for the resident to choose from."""
    return unit_tree_markup(context, node, page, "new", FILING.cancel_data)


async def ask_text(update: Update, context: SunboxContext) -> Next:
    """The description, within the configured length."""
    await FILING.ask_text(update, context, context.t(
        "Describe it in one message: what, where, when, who is affected "
        "({min}–{max} characters)."))
    return TEXT


def attach_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    """Done (Skip while nothing is added) and Cancel, under the attachments step."""
    draft = DRAFT_SLOT.get(context)
    has_any = bool(draft.attachments) or draft.lat is not None
    label = context.t("✔ Done") if has_any else context.t("Skip")
    return InlineKeyboardMarkup([[button(label, "new:att:done")], FILING.cancel_row(context)])


async def ask_attachments(update: Update, context: SunboxContext) -> Next:
    """Photos, documents and a location, all optional."""
    await FILING.send(update, context, context.t(
        "You can add photos or documents (up to {max}) and a location. "
        "Send them now, or press Skip."
    ).format(max=context.runtime.config.limits.max_attachments), attach_markup(context))
    return ATTACH


async def ask_identity(update: Update, context: SunboxContext) -> Next:
    """How a suggestion is filed: anonymous, anonymous without replies, or signed."""
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
    """A named report's real name."""
    await FILING.send(update, context, context.t(
        "A named report needs your real name. Only the unit handling it and the supervision "
        "group will see it. Please type your full name."
    ), FILING.cancel_markup(context))
    return NAME


async def ask_phone(update: Update, context: SunboxContext) -> Next:
    """A named report's own phone, with the contact button."""
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


async def ask_concerns(update: Update, context: SunboxContext) -> Next:
    """Does the report concern the unit's own leadership? Then that unit never sees it."""
    await flow_concerns.ask(
        FILING, update, context, draft_unit(context), "new",
        N_("Does your report concern the head or the leadership of {unit}? If so, it goes to "
           "{above} instead, and {unit} will not see it."),
        N_("Does your report concern the head or the leadership of {unit}? If so, it goes to "
           "the supervision group instead, and {unit} will not see it."))
    return CONCERNS


def summary_text(context: SunboxContext) -> str:
    """The draft as the reporter will confirm it."""
    t = context.t
    draft = DRAFT_SLOT.get(context)
    runtime = context.runtime
    unit = draft.unit or ""
    identity = t(IDENTITY_NAMES[draft.identity or ""])
    if draft.identity == cases.IDENTITY_NAMED:
        identity = flow_concerns.noted(context, t("{name}, phone {phone}").format(
            name=draft.name, phone=draft.phone), unit, draft.concerns_head)
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


def summary_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    """Confirm, Edit and Cancel under the summary."""
    t = context.t
    return InlineKeyboardMarkup([
        [button(t("✅ Confirm"), "new:confirm")],
        [button(t("✏️ Edit"), "new:edit"), button(t("✖ Cancel"), "new:cancel")],
    ])


async def show_summary(update: Update, context: SunboxContext) -> Next:
    """The draft to confirm (also where an edited step comes back to)."""
    with DRAFT_SLOT.edit(context) as draft:
        draft.editing = None
    await FILING.send(update, context, summary_text(context), summary_markup(context))
    return CONFIRM


async def after(update: Update, context: SunboxContext, next_step: Any) -> Next:
    """Go on to the next step, or back to the summary when editing."""
    if DRAFT_SLOT.get(context).editing:
        return await show_summary(update, context)
    result: Next = await next_step(update, context)
    return result
