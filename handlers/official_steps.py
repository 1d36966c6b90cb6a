"""The official's other steps: transfer a case (unit from the tree, then the reason), ask
the reporter, return an answer with a comment (heads), ask for more time (reason, then the
new date)."""

from __future__ import annotations

from datetime import date, datetime, time

from telegram import Update

from bot.services import extensions, handling, notify
from handlers.context import SunboxContext, answer_query, set_buttons
from handlers.flow import END, Next, answered, tree_level, unit_chosen
from handlers.keyboards import unit_tree_markup
from handlers.official_flow import (
    ACTION,
    ASK_TEXT,
    EXTEND_DATE,
    EXTEND_REASON,
    OFFICIAL,
    RETURN_COMMENT,
    TRANSFER_REASON,
    TRANSFER_UNIT,
    OfficialAction,
    actor,
    finish,
    ids,
    kept,
    open_action,
    open_step,
    refused,
    typed,
)
from handlers.refusals import refusal

# ----------------------------------------------------------------------------- transfer


async def transfer_pressed(update: Update, context: SunboxContext) -> Next:
    """Transfer: choose the unit from the tree."""
    return await open_action(update, context, "transfer", TRANSFER_UNIT, lambda case: (
        context.t("Transfer {number}: choose the unit.").format(number=case.number),
        unit_tree_markup(context, "", 0, "trf", OFFICIAL.cancel_data)))


async def transfer_tree(update: Update, context: SunboxContext) -> Next:
    """Browse one level of the unit tree."""
    level = await tree_level(update, context)
    if level is None:
        return None
    assert update.callback_query is not None
    await set_buttons(update.callback_query, unit_tree_markup(context, *level, "trf",
                                                              OFFICIAL.cancel_data))
    return TRANSFER_UNIT


async def transfer_unit_picked(update: Update, context: SunboxContext) -> Next:
    """The unit to transfer to; then the reason."""
    unit = await unit_chosen(update, context, "trf")
    if unit is None:
        return None
    await answered(update)
    with ACTION.edit(context, need=True) as action:
        action.unit = unit.id
    await OFFICIAL.send(update, context, context.t(
        "Why does {unit} handle it? The reporter and the unit will read the reason."
    ).format(unit=unit.name(context.language)), OFFICIAL.cancel_markup(context))
    return TRANSFER_REASON


async def transfer_reason_received(update: Update, context: SunboxContext) -> Next:
    """The reason: the case goes to the chosen unit (or up, when moved too often)."""
    async def transfer(action: OfficialAction, reason: str) -> str:
        case, escalated = await handling.transfer(
            context.runtime, action.need("case"), actor(update, context), action.need("unit"),
            reason)
        if escalated:
            message = context.t("{number} has been transferred too often: it went to the "
                                "supervision group instead.")
        else:
            message = context.t("{number} has been transferred to {unit}.")
        unit = context.runtime.config.unit(case.unit_id).name(context.language)
        return message.format(number=case.number, unit=unit)

    return await finish(update, context, TRANSFER_REASON, transfer)


# ----------------------------------------------------------------------------- ask

async def ask_pressed(update: Update, context: SunboxContext) -> Next:
    """Ask the reporter: type the question."""
    return await open_action(update, context, "ask", ASK_TEXT, lambda case: (
        context.t("Your question about {number} goes to the reporter (who stays unknown to "
                  "you). Type it:").format(number=case.number), OFFICIAL.cancel_markup(context)))


async def question_received(update: Update, context: SunboxContext) -> Next:
    """The question goes to the reporter."""
    async def ask(action: OfficialAction, question: str) -> str:
        case = await handling.ask_reporter(context.runtime, action.need("case"),
                                           actor(update, context), question)
        return context.t("Your question was sent. The reply will come here.").format(
            number=case.number)

    return await finish(update, context, ASK_TEXT, ask)


# ----------------------------------------------------------------------------- sign-off

def answer_id(update: Update) -> int:
    """The answer of a ``sign:<id>:<verdict>`` press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    return int(query.data.split(":")[1])


async def return_pressed(update: Update, context: SunboxContext) -> Next:
    """The head returns the answer: ask for the comment (refused at the press, as
    Approve is, for anyone else or an answer decided already)."""
    query = update.callback_query
    assert query is not None
    try:
        await handling.check_sign_off(context.runtime, answer_id(update),
                                      context.require_person())
    except handling.Refused as refusal_:
        await refused(update, context, refusal_.reason)
        return None
    await answer_query(query)
    ACTION.put(context, OfficialAction(answer=answer_id(update)))
    await OFFICIAL.send(update, context, context.t(
        "What should be changed? Your comment goes to the official."),
        OFFICIAL.cancel_markup(context))
    return RETURN_COMMENT


async def return_comment_received(update: Update, context: SunboxContext) -> Next:
    """The comment: the answer goes back to the official."""
    async def give_back(action: OfficialAction, comment: str) -> str:
        case, _ = await handling.decide_sign_off(
            context.runtime, action.need("answer"), actor(update, context), approve=False,
            comment=comment)
        return context.t("Returned: the official will answer {number} again.").format(
            number=case.number)

    return await finish(update, context, RETURN_COMMENT, give_back)


# ----------------------------------------------------------------------------- more time

async def extend_pressed(update: Update, context: SunboxContext) -> Next:
    """More time: ask for the reason first."""
    case_id, _ = ids(update)
    try:
        case, deadline = await extensions.check(context.runtime, case_id,
                                                actor(update, context))
    except handling.Refused as refusal_:
        await refused(update, context, refusal_.reason)
        return None
    ACTION.put(context, OfficialAction(case=case.id, number=case.number, deadline=deadline))
    due = extensions.due_of(case, deadline)
    return await open_step(update, context, EXTEND_REASON, context.t(
        "More time for {number}: the {deadline} deadline is {due}. Why is more time "
        "needed? (the approver reads it)").format(
        number=case.number, deadline=context.t(extensions.DEADLINE_LABELS[deadline]),
        due=notify.local_time(context.runtime, due)), OFFICIAL.cancel_markup(context))


async def extend_reason_received(update: Update, context: SunboxContext) -> Next:
    """Why more time is needed; then the new date."""
    if not await kept(update, context, "reason"):
        return EXTEND_REASON
    await OFFICIAL.send(update, context, context.t(
        "Until which day? Type the date as YYYY-MM-DD (the deadline ends at 23:59 that day)."
    ), OFFICIAL.cancel_markup(context))
    return EXTEND_DATE


async def extend_date_received(update: Update, context: SunboxContext) -> Next:
    """The new date: the request goes for approval (a date refused: type another)."""
    text = typed(update)
    runtime = context.runtime
    try:
        day = date.fromisoformat(text)
    except ValueError:
        await OFFICIAL.send(update, context, context.t(
            "That is not a date. Please type it as YYYY-MM-DD, e.g. 2026-12-31."))
        return EXTEND_DATE
    new_due = datetime.combine(day, time(23, 59, 59), tzinfo=runtime.config.general.tz)
    action = ACTION.need(context)
    try:
        extension = await extensions.request(runtime, action.need("case"),
                                             actor(update, context), action.need("reason"),
                                             new_due)
    except handling.Refused as refusal_:
        await OFFICIAL.send(update, context, refusal(context, refusal_.reason))
        if refusal_.reason == "bad_date":
            return EXTEND_DATE
        ACTION.drop(context)
        return END
    ACTION.drop(context)
    await OFFICIAL.send(update, context, context.t(
        "Your request for more time on {number} was sent for approval.").format(
        number=action.number))
    return END if extension else EXTEND_DATE
