"""The resident's text and what comes with it: the description (a photo or document with a
caption counts, and is kept), then photos, documents (for a suggestion, with a warning that a
document may identify the reporter, and Keep / Drop) and a location."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update

from bot.i18n import N_
from handlers import uploads
from handlers.context import SunboxContext, answer_query, set_buttons, set_text
from handlers.filing_flow import (
    ATTACH,
    DRAFT_SLOT,
    FILING,
    TEXT,
    after,
    ask_attachments,
    ask_identity,
    ask_name,
    attach_markup,
)
from handlers.flow import Next, case_text, refuse_button
from handlers.flow_data import Attachment
from handlers.keyboards import button


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
    return await after(update, context, ask_attachments)


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
        context, message, reply_markup=attach_markup(context) if markup else None)


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
        ).format(max=limit), reply_markup=attach_markup(context))
        return ATTACH
    if await _refused_too_big(context, message):
        return ATTACH
    count = _add_attachment(context, message)
    received = context.t("Received ({count}/{max}). Send more, or press Done.").format(
        count=count, max=limit)
    warning = _document_warning(context, message)
    if warning is None:
        await message.reply_text(received, reply_markup=attach_markup(context))
    else:
        rows = [warning[1], *attach_markup(context).inline_keyboard]
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
                             reply_markup=attach_markup(context))
    return ATTACH


async def attachment_expected(update: Update, context: SunboxContext) -> Next:
    """Something that is not a photo, document or location."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please send a photo, a document or a location, or press Done."
    ), reply_markup=attach_markup(context))
    return ATTACH


async def attachments_done(update: Update, context: SunboxContext) -> Next:
    """Done with attachments: a report goes on to the name, a suggestion to how it is
    filed."""
    await FILING.pressed(update, context)
    if DRAFT_SLOT.get(context).kind == "report":
        return await after(update, context, ask_name)
    return await after(update, context, ask_identity)
