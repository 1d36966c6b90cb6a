"""Steps 2–4 as presses: the committee approves or returns (with a comment), the head signs
(which publishes) or returns; after publication the forms are confirmed (a photo of the
notice board, a meeting's date, a document's number) and failed posts are tried again."""

from __future__ import annotations

from telegram import Update

from bot.services.disclosures import publishing, steps
from handlers import disclosure_posts
from handlers.context import SunboxContext, answer_query, set_buttons
from handlers.disclosures_flow import (
    COMMENT,
    DISCLOSURES,
    DRAFT,
    FORM,
    DisclosureDraft,
    checked,
    pressed_id,
    typed,
)
from handlers.flow import END, Next


async def approve_pressed(update: Update, context: SunboxContext) -> None:
    query = update.callback_query
    assert query is not None
    moved = await checked(update, context, steps.approve(
        context.runtime, context.require_person(), pressed_id(update)))
    if moved is None:
        return
    t = context.t
    if not moved.moved:
        await answer_query(query, t("Already done; nothing was changed."), show_alert=True)
    elif moved.disclosure.stage == "signoff":
        await answer_query(query, t("✅ Approved: the quorum is reached; the head is asked "
                                    "to sign."), show_alert=True)
    else:
        await answer_query(query, t("✅ Approved. It waits for more committee members."),
                           show_alert=True)
    await set_buttons(query, None)


async def back_pressed(update: Update, context: SunboxContext) -> Next:
    """Return at review (``dr:back``) or at sign-off (``ds:back``): the comment is asked."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(target=pressed_id(update), choice=query.data[:2]))
    await DISCLOSURES.send(update, context, context.t(
        "Why is it returned? Your comment goes to the drafters."),
        DISCLOSURES.cancel_markup(context))
    return COMMENT


async def comment_received(update: Update, context: SunboxContext) -> Next:
    draft = DRAFT.need(context)
    moved = await checked(update, context, steps.send_back(
        context.runtime, context.require_person(), draft.target, typed(update)))
    if moved is None:
        return None
    DISCLOSURES.drop(context)
    await DISCLOSURES.send(update, context, context.t(
        "↩️ Returned to the drafters with your comment.") if moved.moved else context.t(
        "Already done; nothing was changed."))
    return END


async def sign_pressed(update: Update, context: SunboxContext) -> None:
    query = update.callback_query
    assert query is not None
    moved = await checked(update, context, steps.sign(
        context.runtime, context.require_person(), pressed_id(update)))
    if moved is None:
        return
    if moved.moved:
        await answer_query(query, context.t("✍️ Signed and published as {number}.").format(
            number=moved.disclosure.number), show_alert=True)
    else:
        await answer_query(query, context.t("Already done; nothing was changed."),
                           show_alert=True)
    await set_buttons(query, None)


FORMS = ("notice_board", "meeting", "document")


async def form_pressed(update: Update, context: SunboxContext) -> Next:
    """Confirm a form: its proof is asked (``df:<form>:<id>``)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = query.data.split(":")[1]
    if form not in FORMS:
        await answer_query(query, context.t("This button is no longer valid."), show_alert=True)
        return None
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(target=pressed_id(update), choice=form))
    prompts = {"notice_board": context.t("Send a photo of the poster on the notice board."),
               "meeting": context.t("On what date was it made public at a meeting? "
                                    "(e.g. 2026-12-08)"),
               "document": context.t("What is the number of the document that published "
                                     "it?")}
    await DISCLOSURES.send(update, context, prompts[form], DISCLOSURES.cancel_markup(context))
    return FORM


async def proof_received(update: Update, context: SunboxContext) -> Next:
    message = update.effective_message
    assert message is not None
    draft = DRAFT.need(context)
    if draft.choice == "notice_board":
        if not message.photo:
            await message.reply_text(context.t("Please send a photo of the posted notice."))
            return None
        detail = message.photo[-1].file_id
    else:
        detail = typed(update)
        if not detail:
            await message.reply_text(context.t("Please type it."))
            return None
    done = await checked(update, context, publishing.confirm(
        context.runtime, context.require_person(), draft.target, draft.choice, detail))
    if done is None:
        return None
    DISCLOSURES.drop(context)
    await message.reply_text(context.t("✅ Confirmed."))
    return END


async def retry_pressed(update: Update, context: SunboxContext) -> None:
    query = update.callback_query
    assert query is not None
    count = await checked(update, context, publishing.retry(
        context.runtime, context.require_person(), pressed_id(update)))
    if count is None:
        return
    await answer_query(query, context.tn(
        "🔁 {n} post will be tried again now.", "🔁 {n} posts will be tried again now.",
        count).format(n=count) if count else context.t("Nothing is waiting to be posted."),
        show_alert=True)
    disclosure_posts.kick(context)
