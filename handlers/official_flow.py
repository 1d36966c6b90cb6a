"""The official's steps as one flow: its states, the action in progress, and how a step
opens on a card's button and ends on a typed text (``handlers.official`` wires them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from bot.i18n import N_
from bot.services import handling
from handlers.context import SunboxContext, answer_query
from handlers.flow import END, Flow, Next
from handlers.flow_data import Attachment, Slot, Stored
from handlers.refusals import refusal


@dataclass
class OfficialAction(Stored):
    """What an official's step is about (``user_data["action"]``): the case (and its number)
    being answered, transferred, asked about or given more time, or the ``answer`` a head
    returns; and what the steps collected so far."""

    case: int | None = None
    number: str | None = None
    outcome: str | None = None
    redirect: str | None = None
    text: str | None = None
    files: list[Attachment] = field(default_factory=list)
    unit: str | None = None
    answer: int | None = None
    deadline: str | None = None
    reason: str | None = None


ACTION = Slot("action", OfficialAction)
#: The steps behind a card's buttons, in the presser's private chat (the card may sit in the
#: unit's group).
OFFICIAL = Flow(
    "official", cancel_data="off:cancel", drops=(ACTION.key,), private=True, edits=True,
    cancelled_text=N_("Cancelled. Nothing was changed."),
    unreachable=N_("Please open a private chat with me first (press Start there), then try "
                   "again."))
(ANSWER_OUTCOME, ANSWER_REDIRECT, ANSWER_TEXT, ANSWER_FILES, ANSWER_PREVIEW,
 TRANSFER_UNIT, TRANSFER_REASON, ASK_TEXT, RETURN_COMMENT, EXTEND_REASON,
 EXTEND_DATE) = OFFICIAL.declare(
    "answer.outcome", "answer.redirect", "answer.text", "answer.files", "answer.preview",
    "transfer.unit", "transfer.reason", "ask.text", "return.comment", "extend.reason",
    "extend.date")


def actor(update: Update, context: SunboxContext) -> handling.Actor:
    """The presser, as the services record them."""
    user = update.effective_user
    assert user is not None
    return handling.Actor(context.require_person(), user.full_name)


def ids(update: Update) -> tuple[int, str]:
    """The case and the action of a ``case:<id>:<action>`` press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, case_id, action = query.data.split(":")
    return int(case_id), action


async def refused(update: Update, context: SunboxContext, reason: str) -> None:
    """Answer the press with why it is refused."""
    assert update.callback_query is not None
    await answer_query(update.callback_query, refusal(context, reason), show_alert=True)


async def open_step(update: Update, context: SunboxContext, state: str, text: str,
                    markup: Any) -> Next:
    """A card's button opens a step: its first question goes to the presser privately, and
    the press is answered once it is there (the step ends if it cannot be)."""
    if not await OFFICIAL.send(update, context, text, markup):
        return END
    assert update.callback_query is not None
    await answer_query(update.callback_query)
    return state


async def open_action(update: Update, context: SunboxContext, action: str, state: str,
                      prompt: Callable[[handling.Case], tuple[str, Any]]) -> Next:
    """A card's button for ``action`` on its case: checked again in the database, the case
    remembered (:data:`ACTION`), then the step opens with ``prompt``'s question and
    buttons."""
    case_id, _ = ids(update)
    try:
        case = await handling.check(context.runtime, case_id, context.require_person(), action)
    except handling.Refused as refusal_:
        await refused(update, context, refusal_.reason)
        return None
    ACTION.put(context, OfficialAction(case=case.id, number=case.number))
    return await open_step(update, context, state, *prompt(case))


def typed(update: Update) -> str:
    """The text (or a file's caption) of the message."""
    message = update.effective_message
    assert message is not None
    return (message.text or message.caption or "").strip()


async def too_long(update: Update, context: SunboxContext, text: str) -> bool:
    """Whether ``text`` is empty or over the limit; if so the official is told."""
    limit = context.runtime.config.limits.text_max_chars
    if not text or len(text) > limit:
        assert update.effective_message is not None
        await update.effective_message.reply_text(context.t(
            "Please write a text of 1 to {max} characters."
        ).format(max=limit))
        return True
    return False


async def kept(update: Update, context: SunboxContext, field: str) -> bool:
    """A typed text kept in the action's ``field``; False (nothing kept, the official told)
    when it is empty or too long."""
    text = typed(update)
    if await too_long(update, context, text):
        return False
    with ACTION.edit(context, need=True) as action:
        if not hasattr(action, field):
            raise AttributeError(f"an official's action has no {field!r}")
        setattr(action, field, text)
    return True


async def finish(update: Update, context: SunboxContext, state: str,
                 act: Callable[[OfficialAction, str], Awaitable[str]]) -> Next:
    """A typed text that completes the action: outside 1 to the maximum characters the step
    stays and says so; else the action is taken out and done by ``act``, and the official
    reads what it returns (or why it was refused)."""
    text = typed(update)
    if await too_long(update, context, text):
        return state
    action = ACTION.need(context)
    ACTION.drop(context)
    try:
        message = await act(action, text)
    except handling.Refused as refusal_:
        message = refusal(context, refusal_.reason)
    await OFFICIAL.send(update, context, message)
    return END
