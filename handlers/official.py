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
from handlers.context import SunboxContext, answer_query
from handlers.flow import answered, text_step
from handlers.official_answer import (
    answer_again,
    answer_file_received,
    answer_files_done,
    answer_pressed,
    answer_send,
    answer_text_received,
    outcome_chosen,
    redirect_received,
)
from handlers.official_flow import (
    ACTION,
    ANSWER_FILES,
    ANSWER_OUTCOME,
    ANSWER_PREVIEW,
    ANSWER_REDIRECT,
    ANSWER_TEXT,
    ASK_TEXT,
    EXTEND_DATE,
    EXTEND_REASON,
    OFFICIAL,
    RETURN_COMMENT,
    TRANSFER_REASON,
    TRANSFER_UNIT,
    OfficialAction,
    actor,
    ids,
    refused,
)
from handlers.official_steps import (
    answer_id,
    ask_pressed,
    extend_date_received,
    extend_pressed,
    extend_reason_received,
    question_received,
    return_comment_received,
    return_pressed,
    transfer_pressed,
    transfer_reason_received,
    transfer_tree,
    transfer_unit_picked,
)

__all__ = [  # what this module has always offered, wherever it lives now
    "ACTION", "ANSWER_FILES", "ANSWER_OUTCOME", "ANSWER_PREVIEW", "ANSWER_REDIRECT",
    "ANSWER_TEXT", "ASK_TEXT", "EXTEND_DATE", "EXTEND_REASON", "OFFICIAL", "RETURN_COMMENT",
    "TRANSFER_REASON", "TRANSFER_UNIT", "OfficialAction", "accept_pressed", "answer_again",
    "answer_file_received", "answer_files_done", "answer_pressed", "answer_send",
    "answer_text_received", "approve_pressed", "ask_pressed", "entry_points",
    "extend_date_received", "extend_pressed", "extend_reason_received", "extension_decided",
    "fallbacks", "outcome_chosen", "question_received", "redirect_received", "register",
    "return_comment_received", "return_pressed", "states", "transfer_pressed",
    "transfer_reason_received", "transfer_tree", "transfer_unit_picked",
]


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
            context.runtime, answer_id(update), actor(update, context), approve=True)
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
    return [
        CallbackQueryHandler(answer_pressed, pattern=r"^case:[0-9]{1,18}:answer$"),
        CallbackQueryHandler(transfer_pressed, pattern=r"^case:[0-9]{1,18}:transfer$"),
        CallbackQueryHandler(ask_pressed, pattern=r"^case:[0-9]{1,18}:ask$"),
        CallbackQueryHandler(return_pressed, pattern=r"^sign:[0-9]{1,18}:back$"),
        CallbackQueryHandler(extend_pressed, pattern=r"^case:[0-9]{1,18}:extend$"),
    ]


def states() -> dict[object, list[Any]]:
    return OFFICIAL.steps({
        ANSWER_OUTCOME: [CallbackQueryHandler(outcome_chosen, pattern=r"^ans:out:\w+$")],
        ANSWER_REDIRECT: text_step(redirect_received),
        ANSWER_TEXT: text_step(answer_text_received),
        ANSWER_FILES: [
            MessageHandler(filters.PHOTO | filters.Document.ALL, answer_file_received),
            CallbackQueryHandler(answer_files_done, pattern=r"^ans:files:done$"),
        ],
        ANSWER_PREVIEW: [
            CallbackQueryHandler(answer_send, pattern=r"^ans:send$"),
            CallbackQueryHandler(answer_again, pattern=r"^ans:again$"),
        ],
        TRANSFER_UNIT: [
            CallbackQueryHandler(transfer_tree, pattern=r"^trf:tree:[\w-]*:\d{1,4}$"),
            CallbackQueryHandler(transfer_unit_picked, pattern=r"^trf:pick:[\w-]+$"),
        ],
        TRANSFER_REASON: text_step(transfer_reason_received),
        ASK_TEXT: text_step(question_received),
        RETURN_COMMENT: text_step(return_comment_received),
        EXTEND_REASON: text_step(extend_reason_received),
        EXTEND_DATE: text_step(extend_date_received),
    })


def fallbacks() -> list[Any]:
    return [CallbackQueryHandler(OFFICIAL.cancelled, pattern=r"^off:cancel$")]


def register(application: Application) -> None:
    """The one-press buttons (the steps live in the dialog conversation)."""
    application.add_handler(CallbackQueryHandler(accept_pressed,
                                                 pattern=r"^case:[0-9]{1,18}:accept$"))
    application.add_handler(CallbackQueryHandler(approve_pressed, pattern=r"^sign:[0-9]{1,18}:ok$"))
    application.add_handler(CallbackQueryHandler(extension_decided,
                                                 pattern=r"^ext:[0-9]{1,18}:(ok|no)$"))
