"""The reporter answers back: replies to a unit's question, rates an answer."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.services import handling
from handlers.context import SunboxContext, answer_query, set_buttons
from handlers.flow import Flow, Next
from handlers.keyboards import button
from handlers.refusals import refusal
from handlers.uploads import refused_too_big
from storage.models import NewAttachment

REPLY, RATE_COMMENT = Flow("reporter").declare("reply", "rating_comment")


def _chat(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def reply_pressed(update: Update, context: SunboxContext) -> Next:
    """Reply to the unit's question: ask for the text or photo."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    try:
        case = await handling.reporter_case(
            context.runtime, int(query.data.split(":")[1]), context.require_person(),
            _chat(update))
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        return None
    if case.state != "info_requested":
        await answer_query(query, refusal(context, "state"), show_alert=True)
        return None
    await answer_query(query)
    context.remember_case("reply_case", case.id)
    await context.bot.send_message(_chat(update), context.t(
        "Write your reply about {number} (text, or a photo or document with a caption)."
    ).format(number=case.number))
    return REPLY


async def reply_received(update: Update, context: SunboxContext) -> Next:
    """Relay the reply to the unit."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    text = (message.text or message.caption or "").strip()
    if await refused_too_big(context, message):
        return REPLY
    files: tuple[NewAttachment, ...] = ()
    if message.photo:
        files = (NewAttachment("photo", message.photo[-1].file_id,
                               message.photo[-1].file_unique_id),)
    elif message.document:
        files = (NewAttachment("document", message.document.file_id,
                               message.document.file_unique_id, message.document.file_name,
                               message.document.mime_type),)
    if (not text and not files) or len(text) > context.runtime.config.limits.text_max_chars:
        await message.reply_text(context.t(
            "Please send text, a photo or a document, or /cancel."))
        return REPLY
    case_id = context.recall_case("reply_case")
    if files and isinstance(case_id, int):
        files = await context.pass_on_files(message, case_id, files)
        if not text and not files:
            context.remember_case("reply_case", case_id)
            return REPLY
    try:
        case = await handling.reporter_reply(
            context.runtime, int(case_id or 0), context.require_person(), _chat(update), text,
            files)
    except handling.Refused as refused:
        await message.reply_text(refusal(context, refused.reason))
        return ConversationHandler.END
    await message.reply_text(context.t("Your reply about {number} was passed on to the unit.")
                             .format(number=case.number))
    return ConversationHandler.END


async def rating_pressed(update: Update, context: SunboxContext) -> Next:
    """Satisfied / basically / not satisfied; then an optional comment."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    _, answer_id, rating = query.data.split(":")
    try:
        case, outcome = await handling.rate(
            context.runtime, int(answer_id), context.require_person(), _chat(update), rating)
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        return None
    await answer_query(query)
    await set_buttons(query, None)
    t = context.t
    if outcome == "closed":
        text = t("Thank you. Case {number} is closed.")
    elif outcome == "reopened":
        text = t("Case {number} has been reopened and goes back to the unit.")
    else:
        text = t("Case {number} now goes to the supervision group.")
    context.remember_case("rating_case", case.id)
    await context.bot.send_message(_chat(update), t(
        "{result}\nYou may add a comment for the unit now, or skip."
    ).format(result=text.format(number=case.number)),
        reply_markup=InlineKeyboardMarkup([[button(t("Skip"), "ratec:skip")]]))
    return RATE_COMMENT


async def rating_comment_received(update: Update, context: SunboxContext) -> Next:
    message = update.effective_message
    assert message is not None and message.text is not None and context.user_data is not None
    text = message.text.strip()
    if not text or len(text) > context.runtime.config.limits.text_max_chars:
        await message.reply_text(context.t("Please write a text of 1 to {max} characters.")
                                 .format(max=context.runtime.config.limits.text_max_chars))
        return RATE_COMMENT
    case_id = context.recall_case("rating_case")
    try:
        await handling.rating_comment(context.runtime, int(case_id or 0),
                                      context.require_person(), _chat(update), text)
    except handling.Refused as refused:
        await message.reply_text(refusal(context, refused.reason))
        return ConversationHandler.END
    await message.reply_text(context.t("Thank you, your comment was passed on."))
    return ConversationHandler.END


async def comment_skipped(update: Update, context: SunboxContext) -> Next:
    query = update.callback_query
    assert query is not None and context.user_data is not None
    context.user_data.pop("rating_case", None)
    await answer_query(query)
    await set_buttons(query, None)
    return ConversationHandler.END


def entry_points() -> list[Any]:
    return [
        CallbackQueryHandler(reply_pressed, pattern=r"^rep:[0-9]{1,18}:reply$"),
        CallbackQueryHandler(rating_pressed,
                             pattern=r"^rate:[0-9]{1,18}:(satisfied|basically|unsatisfied)$"),
    ]


def states() -> dict[object, list[Any]]:
    return {
        REPLY: [MessageHandler(~filters.COMMAND, reply_received)],
        RATE_COMMENT: [
            MessageHandler(filters.TEXT & ~filters.COMMAND, rating_comment_received),
            CallbackQueryHandler(comment_skipped, pattern=r"^ratec:skip$"),
        ],
    }
