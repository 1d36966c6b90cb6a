"""Step 6 (意见收集整理): an opinion on a published disclosure, opened from the post's button
(``/start op_<id>``, a deep link) or from a party member's private copy (``dop:<id>``).

It is a case like a suggestion (anonymous or signed, with the deadlines and feedback of
any case) of the resident's filing flow, routed to the publishing unit under its first
category, and linked to the disclosure when it is filed (``bot.services.cases``)."""

from __future__ import annotations

import uuid

from telegram import Update

from bot.services.disclosures import archive
from bot.services.disclosures.content import DisclosureError
from handlers.context import SunboxContext, answer_query
from handlers.disclosures_flow import refusal_text
from handlers.filing_flow import DRAFT_SLOT, FilingDraft, ask_text
from handlers.flow import END, Next


async def _open(update: Update, context: SunboxContext, disclosure_id: int) -> Next:
    runtime = context.runtime
    try:
        d = await archive.opinion_target(runtime, context.require_person().telegram_id,
                                         disclosure_id)
    except DisclosureError as error:
        if update.callback_query is not None:
            await answer_query(update.callback_query, refusal_text(context, error),
                               show_alert=True)
        else:
            assert update.effective_message is not None
            await update.effective_message.reply_text(refusal_text(context, error))
        return END
    if update.callback_query is not None:
        await answer_query(update.callback_query)
    DRAFT_SLOT.put(context, FilingDraft(
        key=uuid.uuid4().hex, kind="suggestion",
        category=archive.opinion_category(runtime, d.unit_id), unit=d.unit_id,
        disclosure=d.id))
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, context.t(
        "💬 Your opinion on {number} · {title}. It goes to the unit that published it, "
        "which must answer; you may stay anonymous.").format(number=d.number, title=d.title))
    return await ask_text(update, context)


async def opinion_link(update: Update, context: SunboxContext) -> Next:
    """``/start op_<id>``."""
    payload = (context.args or [""])[0]
    return await _open(update, context, int(payload.removeprefix("op_")))


async def opinion_pressed(update: Update, context: SunboxContext) -> Next:
    """``dop:<id>`` on a private copy."""
    query = update.callback_query
    assert query is not None and query.data is not None
    return await _open(update, context, int(query.data.split(":")[1]))
