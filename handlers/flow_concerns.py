"""The leadership question a named report is asked, in the resident's filing and in a
clerk's intake: does it concern the head or the leadership of the unit it goes to? If so it
goes above that unit (or to the supervision group), and that unit never sees it."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update

from handlers.context import SunboxContext
from handlers.flow import Callback, Flow, Next
from handlers.flow_data import Slot
from handlers.keyboards import button
from handlers.render import above_supervision_name, unit_name


async def ask(flow: Flow, update: Update, context: SunboxContext, unit_id: str, prefix: str,
              with_above: str, without_above: str) -> None:
    """The question, with Yes / No (``<prefix>:head:yes|no``) and Cancel. ``with_above`` and
    ``without_above`` are its text (a msgid with ``{unit}``, and ``{above}``) where a unit
    above takes such reports, and where the supervision group does."""
    t = context.t
    unit = unit_name(context.runtime, unit_id, context.language)
    markup = InlineKeyboardMarkup([
        [button(t("Yes: it concerns its head or leadership"), f"{prefix}:head:yes")],
        [button(t("No"), f"{prefix}:head:no")],
        flow.cancel_row(context),
    ])
    above = above_supervision_name(context.runtime, unit_id, context.language)
    question = t(with_above) if above else t(without_above)
    await flow.send(update, context, question.format(unit=unit, above=above), markup)


def noted(context: SunboxContext, identity: str, unit_id: str, concerns: bool | None) -> str:
    """Who files (``identity``) as a summary shows it: with where the report goes instead
    when it concerns the leadership of ``unit_id``."""
    if not concerns:
        return identity
    t = context.t
    above = above_supervision_name(context.runtime, unit_id, context.language)
    if above:
        return t("{identity}; concerns the unit's leadership: it goes to "
                 "{unit}").format(identity=identity, unit=above)
    return t("{identity}; concerns the unit's leadership: it goes to the "
             "supervision group").format(identity=identity)


def answer_step(flow: Flow, slot: Slot[Any], then: Callback) -> Callback:
    """The step that takes Yes or No, keeps it in the draft (its ``concerns_head``) and goes
    on with ``then``."""
    async def concerns_chosen(update: Update, context: SunboxContext) -> Next:
        """Yes or no to the leadership question."""
        answer = (await flow.pressed(update, context)).rsplit(":", 1)[1]
        with slot.edit(context) as draft:
            draft.concerns_head = answer == "yes"
        result: Next = await then(update, context)
        return result

    return concerns_chosen
