"""The step machinery the dialog's flows share (``handlers.conversation``).

Each flow (filing, intake, the follow-up, the official's steps, the reporter's replies,
meetings) declares one :class:`Flow`: its name, which prefixes its states (``filing.text``,
``official.answer.preview``), the callback data of its Cancel button, the user-data keys
its draft lives under, whom it writes to (the chat of the update, or the person's private
chat) and whether its next question replaces the pressed message. Its steps then share one
way to send a prompt, take a press, offer Cancel, drop the draft and leave.

States are declared once, with :meth:`Flow.state`; :meth:`Flow.steps` refuses a handler map
naming a state the flow did not declare, and :func:`merge` refuses two maps sharing one, so
no two flows can step on each other's states (``tests/handlers/test_flow_states.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.config import CategoryConfig, UnitConfig
from bot.i18n import N_
from bot.services import intake
from handlers.context import SunboxContext, answer_query, set_buttons, show_next, take_press
from handlers.keyboards import button, category_rows
from handlers.refusals import refusal

#: Every flow, by name (a flow registers itself when it is declared).
FLOWS: dict[str, Flow] = {}

END = ConversationHandler.END

CANCELLED = N_("Cancelled. Nothing was stored.")

#: A typed message (what a step waiting for text takes), and any message but a command.
TYPED = filters.TEXT & ~filters.COMMAND
NOT_COMMAND = ~filters.COMMAND

#: What a step returns: its flow's next state, END, or None to stay where it is.
Next = str | int | None

H = TypeVar("H")
Handlers = list[BaseHandler[Any, Any, Any]]
Callback = Callable[..., Coroutine[Any, Any, Any]]


@dataclass(eq=False)
class Flow:
    """One flow of the dialog and how its steps talk.

    ``private``: write to the acting person's private chat (an official or a supervisor may
    press a button in a group), else to the chat of the update. ``edits``: a pressed step's
    next question replaces the pressed message (:func:`handlers.context.show_next`), else
    the press is answered, its buttons go, and the question comes as a new message.
    ``unreachable``: what a press is answered with when the person never started the bot
    (None: that is an error). ``drops``: the user-data keys Cancel clears; ``leave_markup``:
    the keyboard sent with "Cancelled" (the filing's takes the contact button away).
    """

    name: str
    cancel_data: str = ""
    drops: tuple[str, ...] = ()
    private: bool = False
    edits: bool = False
    cancelled_text: str = CANCELLED
    unreachable: str | None = None
    leave_markup: Any = None
    states: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        if self.name in FLOWS:
            raise ValueError(f"flow {self.name!r} is declared twice")
        FLOWS[self.name] = self

    def __repr__(self) -> str:
        return f"Flow({self.name!r})"

    # ------------------------------------------------------------ states

    def state(self, step: str) -> str:
        """Declare one state of this flow: ``<flow>.<step>``."""
        state = f"{self.name}.{step}"
        if state in self.states:
            raise ValueError(f"state {state!r} is declared twice")
        self.states += (state,)
        return state

    def declare(self, *steps: str) -> tuple[str, ...]:
        """Declare several states at once (:meth:`state`), in order."""
        return tuple(self.state(step) for step in steps)

    def steps(self, handlers: Mapping[object, Handlers], *, leave: bool = False
              ) -> dict[object, Handlers]:
        """This flow's handler map, checked: every state in it is one this flow declared.
        ``leave``: each step first takes /cancel and the flow's Cancel button."""
        unknown = set(handlers) - set(self.states)
        if unknown:
            raise ValueError(f"{self!r} handles undeclared states: {sorted(map(str, unknown))}")
        first = self.leave_handlers() if leave else []
        return {state: first + list(step) for state, step in handlers.items()}

    def leave_handlers(self) -> Handlers:
        """/cancel and the Cancel button, both ending the flow (:meth:`cancelled`)."""
        return [CommandHandler("cancel", self.cancelled),
                CallbackQueryHandler(self.cancelled, pattern=f"^{re.escape(self.cancel_data)}$")]

    # ------------------------------------------------------------ talking

    async def send(self, update: Update, context: SunboxContext, text: str,
                   markup: Any = None) -> bool:
        """The flow's next message; False (and an alert on the press) if the person cannot be
        written to and the flow says so (``unreachable``).

        An editing flow's message replaces the pressed message when it can, and is sent again
        after a 5xx or a lost answer (:func:`handlers.context.send_prompt`): the step is done,
        and "something went wrong" after it would make the person doubt it."""
        target = update.effective_user if self.private else update.effective_chat
        assert target is not None
        try:
            if self.edits:
                await show_next(context, target.id, text, markup)
            else:
                await context.bot.send_message(target.id, text, reply_markup=markup)
        except Forbidden:
            if self.unreachable is None:
                raise
            if update.callback_query is not None:
                await answer_query(update.callback_query, context.t(self.unreachable),
                                   show_alert=True)
            return False
        return True

    async def pressed(self, update: Update, context: SunboxContext) -> str:
        """Answer a step's button press; returns its data. An editing flow leaves the buttons
        on (its next question replaces the message); any other takes them away."""
        if not self.edits:
            return await answered(update)
        query = update.callback_query
        assert query is not None and query.data is not None
        await take_press(query, context)
        return query.data

    def cancel_row(self, context: SunboxContext) -> list[InlineKeyboardButton]:
        """The row with this flow's Cancel button."""
        assert self.cancel_data, f"{self!r} has no Cancel button"
        return [button(context.t("✖ Cancel"), self.cancel_data)]

    def cancel_markup(self, context: SunboxContext) -> InlineKeyboardMarkup:
        """Only the Cancel button."""
        return InlineKeyboardMarkup([self.cancel_row(context)])

    async def ask_text(self, update: Update, context: SunboxContext, prompt: str,
                       **values: object) -> None:
        """A question for a text of the configured length: ``prompt`` (translated) with its
        ``{min}`` and ``{max}`` (and ``values``) filled in, and Cancel."""
        limits = context.runtime.config.limits
        await self.send(update, context, prompt.format(
            min=limits.text_min_chars, max=limits.text_max_chars, **values),
            self.cancel_markup(context))

    async def chosen(self, update: Update, context: SunboxContext, prefix: str,
                     allowed: Collection[str]) -> str | None:
        """The value of a ``<prefix><value>`` button, its press taken, if it is one of
        ``allowed``; None (and the presser told) for any other."""
        query = update.callback_query
        assert query is not None and query.data is not None
        value = query.data.removeprefix(prefix)
        if value not in allowed:
            await refuse_button(update, context)
            return None
        await self.pressed(update, context)
        return value

    async def ask_category(self, update: Update, context: SunboxContext, prefix: str,
                           question: str | None = None) -> None:
        """Which area it concerns: the configured categories (``<prefix>:cat:<id>``
        buttons) and Cancel."""
        rows = category_rows(context, prefix)
        rows.append(self.cancel_row(context))
        await self.send(update, context, question or context.t("Which area does it concern?"),
                        InlineKeyboardMarkup(rows))

    async def category_chosen(self, update: Update, context: SunboxContext, prefix: str
                              ) -> CategoryConfig | None:
        """The category a ``<prefix>:cat:<id>`` button names, its press taken; None (and the
        presser told) for one that is not configured (any more)."""
        query = update.callback_query
        assert query is not None and query.data is not None
        try:
            category = context.runtime.config.category(query.data.removeprefix(f"{prefix}:cat:"))
        except KeyError:
            await refuse_button(update, context)
            return None
        await self.pressed(update, context)
        return category

    # ------------------------------------------------------------ leaving

    def drop(self, context: SunboxContext) -> None:
        """Forget this flow's draft."""
        assert context.user_data is not None
        for key in self.drops:
            context.user_data.pop(key, None)

    async def cancelled(self, update: Update, context: SunboxContext) -> Next:
        """/cancel or the Cancel button: drop the draft, say so, end the conversation."""
        self.drop(context)
        if update.callback_query is not None:
            await answered(update)
        await self.send(update, context, context.t(self.cancelled_text), self.leave_markup)
        return END


async def answered(update: Update) -> str:
    """Answer a press and take its buttons away (the step is answered); returns its data."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer_query(query)
    await set_buttons(query, None)
    return query.data


async def text_expected(update: Update, context: SunboxContext) -> None:
    """Not text where text is expected: stay put."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please write it as a text message, or send /cancel."))


async def use_buttons(update: Update, context: SunboxContext) -> Next:
    """A message where a button press is expected: point at the buttons, stay put."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please choose with the buttons above, or send /cancel to stop."
    ))
    return None


async def refuse_button(update: Update, context: SunboxContext) -> Next:
    """A stale or forged button: say so, stay where we are."""
    query = update.callback_query
    assert query is not None
    await answer_query(query, refusal(context, "invalid"), show_alert=True)
    return None


TOO_SHORT = N_("That is too short: please write at least {min} characters.")


async def case_text(update: Update, context: SunboxContext, written: str, too_long: str
                    ) -> str | None:
    """The text of a case (``written``, cleaned) when its length is within ``[limits]``;
    else None, and the writer told (``too_long``: what a text over the limit is told)."""
    message = update.effective_message
    assert message is not None
    text = intake.clean_text(written)
    limits = context.runtime.config.limits
    if intake.visible_length(text) < limits.text_min_chars:
        await message.reply_text(context.t(TOO_SHORT).format(min=limits.text_min_chars))
        return None
    if len(text) > limits.text_max_chars:
        await message.reply_text(context.t(too_long).format(
            length=len(text), max=limits.text_max_chars))
        return None
    return text


async def tree_level(update: Update, context: SunboxContext) -> tuple[str, int] | None:
    """The level of the unit tree a ``<prefix>:tree:<unit>:<page>`` press opens ("" is the
    top), its press answered; None (and the presser told) for a unit not configured."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, node, page = query.data.split(":")
    if node:
        try:
            context.runtime.config.unit(node)
        except KeyError:
            await refuse_button(update, context)
            return None
    await answer_query(query)
    return node, int(page)


async def unit_chosen(update: Update, context: SunboxContext, prefix: str
                      ) -> UnitConfig | None:
    """The unit a ``<prefix>:pick:<unit>`` press names; None (and the presser told) for one
    not configured."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        return context.runtime.config.unit(query.data.removeprefix(f"{prefix}:pick:"))
    except KeyError:
        await refuse_button(update, context)
        return None


def text_step(callback: Callback) -> Handlers:
    """A step that waits for text; anything else is told so (:func:`text_expected`)."""
    return [MessageHandler(TYPED, callback), MessageHandler(NOT_COMMAND, text_expected)]


def button_step(*handlers: BaseHandler[Any, Any, Any]) -> Handlers:
    """A step that waits for a press; a message is pointed at the buttons (:func:`use_buttons`)."""
    return [*handlers, MessageHandler(NOT_COMMAND, use_buttons)]


def merge(*maps: Mapping[object, list[H]]) -> dict[object, list[H]]:
    """The handler maps of several flows as one; a state two of them name is an error."""
    merged: dict[object, list[H]] = {}
    for handlers in maps:
        shared = set(merged) & set(handlers)
        if shared:
            raise ValueError(f"states handled by two flows: {sorted(map(str, shared))}")
        merged.update(handlers)
    return merged
