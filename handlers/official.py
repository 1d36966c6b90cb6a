"""Officials and heads at work: the buttons on a case card and the steps behind them.

Accept is one press. Answer, Transfer and Ask the reporter continue in the official's
private chat (also when the card sits in the unit's group). Heads approve an answer or
return it with a comment. Every press is checked again in the database.

The flow, its states and the action in progress: ``handlers.official_flow``; the answer's
steps: ``handlers.official_answer``; transfer, ask, return and more time:
``handlers.official_steps``.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.services import extensions, handling
from handlers import official_answer as answer
from handlers import official_flow as base
from handlers import official_steps as steps
from handlers.context import SunboxContext, answer_query
from handlers.flow import answered, text_step
from handlers.official_flow import OFFICIAL, actor, ids, refused


async def accept_pressed(update: Update, context: SunboxContext) -> None:
    """Accept: the first press wins."""
    query = update.callback_query
    assert query is not None
    case_id, _ = ids(update)
    try:
        case = await handling.accept(context.runtime, case_id, actor(update, context))
    except handling.Refused as refusal_:
        await refused(update, context, refusal_.reason)
        return
    await answer_query(query, context.t("Accepted {number}.").format(number=case.number))


async def approve_pressed(update: Update, context: SunboxContext) -> None:
    """The head approves: the answer goes to the reporter."""
    try:
        case, _ = await handling.decide_sign_off(
            context.runtime, steps.answer_id(update), actor(update, context), approve=True)
    except handling.Refused as refusal_:
        await refused(update, context, refusal_.reason)
        return
    await answered(update)
    await OFFICIAL.send(update, context, context.t(
        "Approved: the answer to {number} has gone to the reporter.").format(
        number=case.number))


async def extension_decided(update: Update, context: SunboxContext) -> None:
    """Grant or refuse more time."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, extension_id, verdict = query.data.split(":")
    try:
        case, _ = await extensions.decide(context.runtime, int(extension_id),
                                          actor(update, context), verdict == "ok")
    except handling.Refused as refusal_:
        await refused(update, context, refusal_.reason)
        return
    await answered(update)
    text = (context.t("Granted: more time on {number}.") if verdict == "ok"
            else context.t("Refused: no more time on {number}."))
    await OFFICIAL.send(update, context, text.format(number=case.number))


# ----------------------------------------------------------------------------- wiring

def entry_points() -> list[Any]:
    """The card's buttons that open an official's step (in the dialog conversation)."""
    return [
        CallbackQueryHandler(answer.answer_pressed, pattern=r"^case:[0-9]{1,18}:answer$"),
        CallbackQueryHandler(steps.transfer_pressed, pattern=r"^case:[0-9]{1,18}:transfer$"),
        CallbackQueryHandler(steps.ask_pressed, pattern=r"^case:[0-9]{1,18}:ask$"),
        CallbackQueryHandler(steps.return_pressed, pattern=r"^sign:[0-9]{1,18}:back$"),
        CallbackQueryHandler(steps.extend_pressed, pattern=r"^case:[0-9]{1,18}:extend$"),
    ]


def states() -> dict[object, list[Any]]:
    """The official's steps of the dialog conversation."""
    return OFFICIAL.steps({
        base.ANSWER_OUTCOME: [
            CallbackQueryHandler(answer.outcome_chosen, pattern=r"^ans:out:\w+$")],
        base.ANSWER_REDIRECT: text_step(answer.redirect_received),
        base.ANSWER_TEXT: text_step(answer.answer_text_received),
        base.ANSWER_FILES: [
            MessageHandler(filters.PHOTO | filters.Document.ALL, answer.answer_file_received),
            CallbackQueryHandler(answer.answer_files_done, pattern=r"^ans:files:done$"),
        ],
        base.ANSWER_PREVIEW: [
            CallbackQueryHandler(answer.answer_send, pattern=r"^ans:send$"),
            CallbackQueryHandler(answer.answer_again, pattern=r"^ans:again$"),
        ],
        base.TRANSFER_UNIT: [
            CallbackQueryHandler(steps.transfer_tree, pattern=r"^trf:tree:[\w-]*:\d{1,4}$"),
            CallbackQueryHandler(steps.transfer_unit_picked, pattern=r"^trf:pick:[\w-]+$"),
        ],
        base.TRANSFER_REASON: text_step(steps.transfer_reason_received),
        base.ASK_TEXT: text_step(steps.question_received),
        base.RETURN_COMMENT: text_step(steps.return_comment_received),
        base.EXTEND_REASON: text_step(steps.extend_reason_received),
        base.EXTEND_DATE: text_step(steps.extend_date_received),
    })


def fallbacks() -> list[Any]:
    """The Cancel button of any official's step."""
    return [CallbackQueryHandler(OFFICIAL.cancelled, pattern=r"^off:cancel$")]


def register(application: Application) -> None:
    """The one-press buttons (the steps live in the dialog conversation)."""
    application.add_handler(CallbackQueryHandler(accept_pressed,
                                                 pattern=r"^case:[0-9]{1,18}:accept$"))
    application.add_handler(CallbackQueryHandler(approve_pressed, pattern=r"^sign:[0-9]{1,18}:ok$"))
    application.add_handler(CallbackQueryHandler(extension_decided,
                                                 pattern=r"^ext:[0-9]{1,18}:(ok|no)$"))
