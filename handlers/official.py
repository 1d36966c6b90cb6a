"""Officials and heads at work: the buttons on a case card and the steps behind them.

Accept is one press. Answer, Transfer and Ask the reporter continue in the official's
private chat (also when the card sits in the unit's group). Heads approve an answer or
return it with a comment. Every press is checked again in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.i18n import N_
from bot.services import extensions, handling, notify
from handlers.context import SunboxContext, answer_query, set_buttons
from handlers.flow import END, Flow, Next, answered, text_step
from handlers.keyboards import button, unit_tree_markup
from handlers.refusals import refusal
from handlers.uploads import refused_too_big
from storage.models import NewAttachment

ACTION = "action"
#: The steps behind a card's buttons, in the presser's private chat (the card may sit in the
#: unit's group).
OFFICIAL = Flow(
    "official", cancel_data="off:cancel", drops=(ACTION,), private=True, edits=True,
    cancelled_text=N_("Cancelled. Nothing was changed."),
    unreachable=N_("Please open a private chat with me first (press Start there), then try "
                   "again."))
(ANSWER_OUTCOME, ANSWER_REDIRECT, ANSWER_TEXT, ANSWER_FILES, ANSWER_PREVIEW,
 TRANSFER_UNIT, TRANSFER_REASON, ASK_TEXT, RETURN_COMMENT, EXTEND_REASON,
 EXTEND_DATE) = OFFICIAL.declare(
    "answer.outcome", "answer.redirect", "answer.text", "answer.files", "answer.preview",
    "transfer.unit", "transfer.reason", "ask.text", "return.comment", "extend.reason",
    "extend.date")


def _actor(update: Update, context: SunboxContext) -> handling.Actor:
    user = update.effective_user
    assert user is not None
    return handling.Actor(context.require_person(), user.full_name)


def _ids(update: Update) -> tuple[int, str]:
    query = update.callback_query
    assert query is not None and query.data is not None
    _, case_id, action = query.data.split(":")
    return int(case_id), action


async def accept_pressed(update: Update, context: SunboxContext) -> None:
    """Accept: the first press wins."""
    query = update.callback_query
    assert query is not None
    case_id, _ = _ids(update)
    try:
        case = await handling.accept(context.runtime, case_id, _actor(update, context))
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        return
    await answer_query(query, context.t("Accepted {number}.").format(number=case.number))


async def _start_action(update: Update, context: SunboxContext, action: str) -> Any:
    """Check the press, remember which case the next steps are about."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    case_id, _ = _ids(update)
    try:
        case = await handling.check(context.runtime, case_id, context.require_person(), action)
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        return None
    context.user_data["action"] = {"case": case.id, "number": case.number, "files": []}
    return case


async def _open_action(update: Update, context: SunboxContext, action: str, state: str,
                       prompt: Callable[[handling.Case], tuple[str, Any]]) -> Next:
    """A card's button for ``action`` on its case: checked, then the step opens (:func:`_open`)
    with ``prompt``'s question and buttons."""
    case = await _start_action(update, context, action)
    if case is None:
        return None
    return await _open(update, context, state, *prompt(case))


async def _open(update: Update, context: SunboxContext, state: str, text: str,
                markup: Any) -> Next:
    """A card's button opens a step: its first question goes to the presser privately, and
    the press is answered once it is there (the step ends if it cannot be)."""
    if not await OFFICIAL.send(update, context, text, markup):
        return END
    assert update.callback_query is not None
    await answer_query(update.callback_query)
    return state


# ----------------------------------------------------------------------------- answer

def _outcome_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    t = context.t
    rows = [[button(t(handling.OUTCOME_NAMES[o]), f"ans:out:{o}")] for o in handling.OUTCOMES]
    rows.append(OFFICIAL.cancel_row(context))
    return InlineKeyboardMarkup(rows)


async def answer_pressed(update: Update, context: SunboxContext) -> Next:
    """Answer: pick the outcome first."""
    return await _open_action(update, context, "answer", ANSWER_OUTCOME, lambda case: (
        context.t("Answer to {number}: what is the outcome?").format(number=case.number),
        _outcome_markup(context)))


async def outcome_chosen(update: Update, context: SunboxContext) -> Next:
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    outcome = query.data.removeprefix("ans:out:")
    if outcome not in handling.OUTCOMES or "action" not in context.user_data:
        await answer_query(query, refusal(context, "invalid"), show_alert=True)
        return None
    await OFFICIAL.pressed(update, context)
    context.user_data["action"]["outcome"] = outcome
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


def _text(update: Update) -> str:
    message = update.effective_message
    assert message is not None
    return (message.text or message.caption or "").strip()


async def _too_long(update: Update, context: SunboxContext, text: str) -> bool:
    limit = context.runtime.config.limits.text_max_chars
    if not text or len(text) > limit:
        assert update.effective_message is not None
        await update.effective_message.reply_text(context.t(
            "Please write a text of 1 to {max} characters."
        ).format(max=limit))
        return True
    return False


async def redirect_received(update: Update, context: SunboxContext) -> Next:
    text = _text(update)
    if await _too_long(update, context, text):
        return ANSWER_REDIRECT
    assert context.user_data is not None
    context.user_data["action"]["redirect"] = text
    return await _ask_answer_text(update, context)


async def answer_text_received(update: Update, context: SunboxContext) -> Next:
    text = _text(update)
    if await _too_long(update, context, text):
        return ANSWER_TEXT
    assert context.user_data is not None
    context.user_data["action"]["text"] = text
    await OFFICIAL.send(update, context, context.t(
        "Add photos or documents to the answer if you like, then press Done."),
        InlineKeyboardMarkup([[button(context.t("✔ Done"), "ans:files:done")],
                              OFFICIAL.cancel_row(context)]))
    return ANSWER_FILES


async def answer_file_received(update: Update, context: SunboxContext) -> Next:
    message = update.effective_message
    assert message is not None and context.user_data is not None
    files: list[dict[str, Any]] = context.user_data["action"].setdefault("files", [])
    limit = context.runtime.config.limits.max_attachments
    if len(files) >= limit:
        await message.reply_text(context.t(
            "You have reached the limit of {max} attachments; this one was not added."
        ).format(max=limit))
        return ANSWER_FILES
    if await refused_too_big(context, message, reply_markup=InlineKeyboardMarkup(
            [[button(context.t("✔ Done"), "ans:files:done")]])):
        return ANSWER_FILES
    if message.photo:
        files.append({"kind": "photo", "file_id": message.photo[-1].file_id,
                      "file_unique_id": message.photo[-1].file_unique_id})
    elif message.document:
        files.append({"kind": "document", "file_id": message.document.file_id,
                      "file_unique_id": message.document.file_unique_id,
                      "file_name": message.document.file_name,
                      "mime_type": message.document.mime_type})
    await message.reply_text(context.t("Received ({count}/{max}). Send more, or press Done.")
                             .format(count=len(files), max=limit),
                             reply_markup=InlineKeyboardMarkup(
                                 [[button(context.t("✔ Done"), "ans:files:done")]]))
    return ANSWER_FILES


async def answer_files_done(update: Update, context: SunboxContext) -> Next:
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await OFFICIAL.pressed(update, context)
    action = context.user_data["action"]
    t = context.t
    answer = handling.Answer(
        id=0, case_id=action["case"], unit_id="", author_id=0, outcome=action["outcome"],
        text=action["text"], redirect=action.get("redirect"), status="draft",
        created_at=context.runtime.clock.now())
    count = len(action.get("files", []))
    preview = context.tn("Preview of the answer to {number} ({count} attachment):\n\n{answer}",
                         "Preview of the answer to {number} ({count} attachments):\n\n{answer}",
                         count).format(number=action["number"], count=count,
                                       answer=handling.outcome_text(t, answer))
    await OFFICIAL.send(update, context, preview, InlineKeyboardMarkup([
        [button(t("📤 Send"), "ans:send")],
        [button(t("✏️ Write again"), "ans:again"), *OFFICIAL.cancel_row(context)],
    ]))
    return ANSWER_PREVIEW


async def answer_again(update: Update, context: SunboxContext) -> Next:
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await OFFICIAL.pressed(update, context)
    context.user_data["action"]["files"] = []
    await OFFICIAL.send(update, context, context.t("Answer to {number}: what is the outcome?")
                        .format(number=context.user_data["action"]["number"]),
                        _outcome_markup(context))
    return ANSWER_OUTCOME


async def answer_send(update: Update, context: SunboxContext) -> Next:
    """Confirm: the answer goes out (or to the head for sign-off)."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    action = context.user_data.pop("action", None)
    if not action or "text" not in action:
        await answer_query(query, refusal(context, "invalid"), show_alert=True)
        return END
    files = tuple(NewAttachment(**f) for f in action.get("files", []))
    try:
        case, pending = await handling.submit_answer(
            context.runtime, action["case"], _actor(update, context), action["outcome"],
            action["text"], action.get("redirect"), files)
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        await set_buttons(query, None)
        return END
    await answered(update)
    if pending:
        text = context.t("Your answer to {number} went to the head for sign-off.")
    else:
        text = context.t("Your answer to {number} has gone to the reporter.")
    await OFFICIAL.send(update, context, text.format(number=case.number))
    return END


# ----------------------------------------------------------------------------- transfer

async def transfer_pressed(update: Update, context: SunboxContext) -> Next:
    """Transfer: choose the unit from the tree."""
    return await _open_action(update, context, "transfer", TRANSFER_UNIT, lambda case: (
        context.t("Transfer {number}: choose the unit.").format(number=case.number),
        unit_tree_markup(context, "", 0, "trf", OFFICIAL.cancel_data)))


async def transfer_tree(update: Update, context: SunboxContext) -> Next:
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, node, page = query.data.split(":")
    if node:
        try:
            context.runtime.config.unit(node)
        except KeyError:
            await answer_query(query, refusal(context, "invalid"), show_alert=True)
            return None
    await answer_query(query)
    await set_buttons(query, unit_tree_markup(context, node, int(page), "trf",
                                              OFFICIAL.cancel_data))
    return TRANSFER_UNIT


async def transfer_unit_picked(update: Update, context: SunboxContext) -> Next:
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    unit_id = query.data.removeprefix("trf:pick:")
    try:
        unit = context.runtime.config.unit(unit_id)
    except KeyError:
        await answer_query(query, refusal(context, "invalid"), show_alert=True)
        return None
    await answered(update)
    context.user_data["action"]["unit"] = unit.id
    await OFFICIAL.send(update, context, context.t(
        "Why does {unit} handle it? The reporter and the unit will read the reason."
    ).format(unit=unit.name(context.language)), OFFICIAL.cancel_markup(context))
    return TRANSFER_REASON


async def transfer_reason_received(update: Update, context: SunboxContext) -> Next:
    text = _text(update)
    if await _too_long(update, context, text):
        return TRANSFER_REASON
    assert context.user_data is not None
    action = context.user_data.pop("action")
    try:
        case, escalated = await handling.transfer(
            context.runtime, action["case"], _actor(update, context), action["unit"], text)
    except handling.Refused as refused:
        await OFFICIAL.send(update, context, refusal(context, refused.reason))
        return END
    if escalated:
        message = context.t("{number} has been transferred too often: it went to the "
                            "supervision group instead.")
    else:
        message = context.t("{number} has been transferred to {unit}.")
    unit = context.runtime.config.unit(case.unit_id).name(context.language)
    await OFFICIAL.send(update, context, message.format(number=case.number, unit=unit))
    return END


# ----------------------------------------------------------------------------- ask

async def ask_pressed(update: Update, context: SunboxContext) -> Next:
    """Ask the reporter: type the question."""
    return await _open_action(update, context, "ask", ASK_TEXT, lambda case: (
        context.t("Your question about {number} goes to the reporter (who stays unknown to "
                  "you). Type it:").format(number=case.number), OFFICIAL.cancel_markup(context)))


async def question_received(update: Update, context: SunboxContext) -> Next:
    text = _text(update)
    if await _too_long(update, context, text):
        return ASK_TEXT
    assert context.user_data is not None
    action = context.user_data.pop("action")
    try:
        case = await handling.ask_reporter(context.runtime, action["case"],
                                           _actor(update, context), text)
    except handling.Refused as refused:
        await OFFICIAL.send(update, context, refusal(context, refused.reason))
        return END
    await OFFICIAL.send(update, context, context.t(
        "Your question was sent. The reply will come here.").format(number=case.number))
    return END


# ----------------------------------------------------------------------------- sign-off

def _answer_id(update: Update) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    return int(query.data.split(":")[1])


async def approve_pressed(update: Update, context: SunboxContext) -> None:
    """The head approves: the answer goes to the reporter."""
    query = update.callback_query
    assert query is not None
    try:
        case, _ = await handling.decide_sign_off(
            context.runtime, _answer_id(update), _actor(update, context), approve=True)
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        return
    await answered(update)
    await OFFICIAL.send(update, context, context.t(
        "Approved: the answer to {number} has gone to the reporter.").format(
        number=case.number))


async def return_pressed(update: Update, context: SunboxContext) -> Next:
    """The head returns the answer: ask for the comment (refused at the press, as
    Approve is, for anyone else or an answer decided already)."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    try:
        await handling.check_sign_off(context.runtime, _answer_id(update),
                                      context.require_person())
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        return None
    await answer_query(query)
    context.user_data["action"] = {"answer": _answer_id(update)}
    await OFFICIAL.send(update, context, context.t(
        "What should be changed? Your comment goes to the official."),
        OFFICIAL.cancel_markup(context))
    return RETURN_COMMENT


async def return_comment_received(update: Update, context: SunboxContext) -> Next:
    text = _text(update)
    if await _too_long(update, context, text):
        return RETURN_COMMENT
    assert context.user_data is not None
    action = context.user_data.pop("action")
    try:
        case, _ = await handling.decide_sign_off(
            context.runtime, action["answer"], _actor(update, context), approve=False,
            comment=text)
    except handling.Refused as refused:
        await OFFICIAL.send(update, context, refusal(context, refused.reason))
        return END
    await OFFICIAL.send(update, context, context.t(
        "Returned: the official will answer {number} again.").format(number=case.number))
    return END


# ----------------------------------------------------------------------------- more time

async def extend_pressed(update: Update, context: SunboxContext) -> Next:
    """More time: ask for the reason first."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    case_id, _ = _ids(update)
    try:
        case, deadline = await extensions.check(context.runtime, case_id,
                                                _actor(update, context))
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
        return None
    context.user_data["action"] = {"case": case.id, "number": case.number,
                                   "deadline": deadline}
    due = extensions.due_of(case, deadline)
    return await _open(update, context, EXTEND_REASON, context.t(
        "More time for {number}: the {deadline} deadline is {due}. Why is more time "
        "needed? (the approver reads it)").format(
        number=case.number, deadline=context.t(extensions.DEADLINE_LABELS[deadline]),
        due=notify.local_time(context.runtime, due)), OFFICIAL.cancel_markup(context))


async def extend_reason_received(update: Update, context: SunboxContext) -> Next:
    text = _text(update)
    if await _too_long(update, context, text):
        return EXTEND_REASON
    assert context.user_data is not None
    context.user_data["action"]["reason"] = text
    await OFFICIAL.send(update, context, context.t(
        "Until which day? Type the date as YYYY-MM-DD (the deadline ends at 23:59 that day)."
    ), OFFICIAL.cancel_markup(context))
    return EXTEND_DATE


async def extend_date_received(update: Update, context: SunboxContext) -> Next:
    text = _text(update)
    runtime = context.runtime
    try:
        day = date.fromisoformat(text)
    except ValueError:
        await OFFICIAL.send(update, context, context.t(
            "That is not a date. Please type it as YYYY-MM-DD, e.g. 2026-12-31."))
        return EXTEND_DATE
    new_due = datetime.combine(day, time(23, 59, 59), tzinfo=runtime.config.general.tz)
    assert context.user_data is not None
    action = context.user_data["action"]
    try:
        extension = await extensions.request(runtime, action["case"], _actor(update, context),
                                             action["reason"], new_due)
    except handling.Refused as refused:
        await OFFICIAL.send(update, context, refusal(context, refused.reason))
        if refused.reason == "bad_date":
            return EXTEND_DATE
        context.user_data.pop("action", None)
        return END
    context.user_data.pop("action", None)
    await OFFICIAL.send(update, context, context.t(
        "Your request for more time on {number} was sent for approval.").format(
        number=action["number"]))
    return END if extension else EXTEND_DATE


async def extension_decided(update: Update, context: SunboxContext) -> None:
    """Grant or refuse more time."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, extension_id, verdict = query.data.split(":")
    try:
        case, _ = await extensions.decide(context.runtime, int(extension_id),
                                          _actor(update, context), verdict == "ok")
    except handling.Refused as refused:
        await answer_query(query, refusal(context, refused.reason), show_alert=True)
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
