"""Answer a case: outcome (and, for "not ours", where the reporter should go instead) →
text → attachments → preview with Send / Write again → to the reporter, or to the head for
sign-off."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.services import handling
from handlers.context import SunboxContext, set_buttons
from handlers.flow import END, Next, answered
from handlers.flow_data import Attachment
from handlers.keyboards import button
from handlers.official_flow import (
    ACTION,
    ANSWER_FILES,
    ANSWER_OUTCOME,
    ANSWER_PREVIEW,
    ANSWER_REDIRECT,
    ANSWER_TEXT,
    OFFICIAL,
    actor,
    kept,
    open_action,
    refused,
)
from handlers.uploads import refused_too_big


def _outcome_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    t = context.t
    rows = [[button(t(handling.OUTCOME_NAMES[o]), f"ans:out:{o}")] for o in handling.OUTCOMES]
    rows.append(OFFICIAL.cancel_row(context))
    return InlineKeyboardMarkup(rows)


def _ask_outcome(context: SunboxContext, number: str | None) -> tuple[str, InlineKeyboardMarkup]:
    return (context.t("Answer to {number}: what is the outcome?").format(number=number),
            _outcome_markup(context))


def _done_row(context: SunboxContext) -> list[InlineKeyboardButton]:
    return [button(context.t("✔ Done"), "ans:files:done")]


async def answer_pressed(update: Update, context: SunboxContext) -> Next:
    """Answer: pick the outcome first."""
    return await open_action(update, context, "answer", ANSWER_OUTCOME,
                             lambda case: _ask_outcome(context, case.number))


async def outcome_chosen(update: Update, context: SunboxContext) -> Next:
    """The outcome; "not ours" asks where the reporter should go instead."""
    query = update.callback_query
    assert query is not None and query.data is not None
    outcome = query.data.removeprefix("ans:out:")
    if outcome not in handling.OUTCOMES or not ACTION.held(context):
        await refused(update, context, "invalid")
        return None
    await OFFICIAL.pressed(update, context)
    with ACTION.edit(context, need=True) as action:
        action.outcome = outcome
    if outcome == "not_ours":
        await OFFICIAL.send(update, context, context.t(
            "Not your responsibility: where should the reporter go instead? (the unit, "
            "office or phone number)"), OFFICIAL.cancel_markup(context))
        return ANSWER_REDIRECT
    return await _ask_answer_text(update, context)


async def _ask_answer_text(update: Update, context: SunboxContext) -> Next:
    await OFFICIAL.send(update, context, context.t(
        "Write the answer to the reporter in one message."), OFFICIAL.cancel_markup(context))
    return ANSWER_TEXT


async def redirect_received(update: Update, context: SunboxContext) -> Next:
    """Where the reporter should go instead; then the answer."""
    if not await kept(update, context, "redirect"):
        return ANSWER_REDIRECT
    return await _ask_answer_text(update, context)


async def answer_text_received(update: Update, context: SunboxContext) -> Next:
    """The answer's text; then its attachments."""
    if not await kept(update, context, "text"):
        return ANSWER_TEXT
    await OFFICIAL.send(update, context, context.t(
        "Add photos or documents to the answer if you like, then press Done."),
        InlineKeyboardMarkup([_done_row(context), OFFICIAL.cancel_row(context)]))
    return ANSWER_FILES


async def answer_file_received(update: Update, context: SunboxContext) -> Next:
    """A photo or document for the answer, up to the configured count."""
    message = update.effective_message
    assert message is not None
    action = ACTION.need(context)
    limit = context.runtime.config.limits.max_attachments
    if len(action.files) >= limit:
        await message.reply_text(context.t(
            "You have reached the limit of {max} attachments; this one was not added."
        ).format(max=limit))
        return ANSWER_FILES
    done = InlineKeyboardMarkup([_done_row(context)])
    if await refused_too_big(context, message, reply_markup=done):
        return ANSWER_FILES
    attachment = Attachment.of(message)
    if attachment is not None:
        action.files.append(attachment)
        ACTION.put(context, action)
    await message.reply_text(context.t("Received ({count}/{max}). Send more, or press Done.")
                             .format(count=len(action.files), max=limit), reply_markup=done)
    return ANSWER_FILES


async def answer_files_done(update: Update, context: SunboxContext) -> Next:
    """Done with attachments: the preview, with Send and Write again."""
    await OFFICIAL.pressed(update, context)
    action = ACTION.need(context)
    t = context.t
    answer = handling.Answer(
        id=0, case_id=action.need("case"), unit_id="", author_id=0,
        outcome=action.need("outcome"), text=action.need("text"), redirect=action.redirect,
        status="draft", created_at=context.runtime.clock.now())
    count = len(action.files)
    preview = context.tn("Preview of the answer to {number} ({count} attachment):\n\n{answer}",
                         "Preview of the answer to {number} ({count} attachments):\n\n{answer}",
                         count).format(number=action.number, count=count,
                                       answer=handling.outcome_text(t, answer))
    await OFFICIAL.send(update, context, preview, InlineKeyboardMarkup([
        [button(t("📤 Send"), "ans:send")],
        [button(t("✏️ Write again"), "ans:again"), *OFFICIAL.cancel_row(context)],
    ]))
    return ANSWER_PREVIEW


async def answer_again(update: Update, context: SunboxContext) -> Next:
    """Write the answer again, from the outcome (its attachments dropped)."""
    await OFFICIAL.pressed(update, context)
    with ACTION.edit(context, need=True) as action:
        action.files = []
    await OFFICIAL.send(update, context, *_ask_outcome(context, action.number))
    return ANSWER_OUTCOME


async def answer_send(update: Update, context: SunboxContext) -> Next:
    """Confirm: the answer goes out (or to the head for sign-off)."""
    query = update.callback_query
    assert query is not None
    action = ACTION.take(context)
    if action is None or action.text is None:
        await refused(update, context, "invalid")
        return END
    try:
        case, pending = await handling.submit_answer(
            context.runtime, action.need("case"), actor(update, context),
            action.need("outcome"), action.text, action.redirect,
            tuple(a.new() for a in action.files))
    except handling.Refused as refusal_:
        await refused(update, context, refusal_.reason)
        await set_buttons(query, None)
        return END
    await answered(update)
    if pending:
        text = context.t("Your answer to {number} went to the head for sign-off.")
    else:
        text = context.t("Your answer to {number} has gone to the reporter.")
    await OFFICIAL.send(update, context, text.format(number=case.number))
    return END
