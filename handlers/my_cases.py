"""/my: a reporter's own cases, their history, follow-ups and withdrawal.

Every button names a case id; whatever it says, the case is looked up again and checked to
belong to the presser before anything is shown or changed.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.services import cases
from handlers.context import SunboxContext, answer_query, set_buttons, set_text
from handlers.flow import Flow, Next
from handlers.keyboards import button, pager_row
from handlers.render import case_card_for_reporter, case_line
from handlers.uploads import refused_too_big
from storage.models import NewAttachment

#: The state of the resident's conversation (handlers.conversation) that waits for the addition.
FOLLOWUP = Flow("followup").state("message")
MAX_MESSAGE = 4000


async def _list(context: SunboxContext, chat_id: int, page: int) -> tuple[str, Any]:
    runtime = context.runtime
    person = context.require_person()
    items, total = await cases.my_cases(runtime, person, chat_id, page)
    t = context.t
    if total == 0:
        return t("You have no cases yet. Send /new to file one."), None
    pages = -(-total // runtime.config.limits.page_size)
    lines = [t("Your cases ({total}), page {page}/{pages}:").format(
        total=total, page=page + 1, pages=pages)]
    lines += [case_line(runtime, t, c, context.language) for c in items]
    rows = [[button(c.number, f"my:open:{c.id}")] for c in items]
    nav = pager_row(context, page, pages, "my:list:")
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def my_command(update: Update, context: SunboxContext) -> None:
    """/my: the first page of the reporter's cases."""
    chat = update.effective_chat
    assert chat is not None
    text, markup = await _list(context, chat.id, 0)
    await context.bot.send_message(chat.id, text, reply_markup=markup)


async def my_from_menu(update: Update, context: SunboxContext) -> None:
    """The menu's My cases button."""
    query = update.callback_query
    assert query is not None
    await answer_query(query)
    await my_command(update, context)


async def list_page(update: Update, context: SunboxContext) -> None:
    """Another page of the list, in place."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    page = int(query.data.removeprefix("my:list:"))
    await answer_query(query)
    text, markup = await _list(context, update.effective_chat.id, page)
    await set_text(query, text, reply_markup=markup)


async def _own(update: Update, context: SunboxContext, prefix: str) -> cases.Case | None:
    """The case a button names, if it is the presser's; otherwise refuse."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    try:
        return await cases.own_case(
            context.runtime, int(query.data.removeprefix(prefix)), context.require_person(),
            update.effective_chat.id,
        )
    except (ValueError, cases.CaseError):
        await answer_query(query, context.t("This case was not found."), show_alert=True)
        return None


def _case_markup(context: SunboxContext, case: cases.Case) -> InlineKeyboardMarkup:
    t = context.t
    rows = []
    if case.state in cases.FOLLOWUP_ALLOWED:
        rows.append([button(t("➕ Add information"), f"my:add:{case.id}")])
    if case.state in cases.WITHDRAWABLE:
        rows.append([button(t("↩ Withdraw"), f"my:wd:{case.id}")])
    rows.append([button(t("« Back to my cases"), "my:list:0")])
    return InlineKeyboardMarkup(rows)


async def _case_text(context: SunboxContext, case: cases.Case) -> str:
    events, attachments = await cases.history(context.runtime, case)
    text = case_card_for_reporter(
        context.runtime, context.t, case, events, len(attachments), context.language
    )
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


async def case_opened(update: Update, context: SunboxContext) -> None:
    """One case with its history."""
    case = await _own(update, context, "my:open:")
    if case is None:
        return
    query = update.callback_query
    assert query is not None
    await answer_query(query)
    await set_text(query,
        await _case_text(context, case), reply_markup=_case_markup(context, case)
    )


async def withdraw_asked(update: Update, context: SunboxContext) -> None:
    """Ask before withdrawing."""
    case = await _own(update, context, "my:wd:")
    if case is None:
        return
    query = update.callback_query
    assert query is not None
    t = context.t
    await answer_query(query)
    await set_buttons(query, InlineKeyboardMarkup([
        [button(t("Yes, withdraw {number}").format(number=case.number), f"my:wdyes:{case.id}")],
        [button(t("No, keep it"), f"my:open:{case.id}")],
    ]))


async def withdraw_confirmed(update: Update, context: SunboxContext) -> None:
    """Withdraw the case."""
    case = await _own(update, context, "my:wdyes:")
    if case is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    try:
        case = await cases.withdraw(
            context.runtime, case.id, context.require_person(), update.effective_chat.id
        )
    except cases.CaseError:
        await answer_query(query, context.t("This case can no longer be withdrawn."),
                           show_alert=True)
        return
    await answer_query(query)
    await set_text(query,
        context.t("Case {number} has been withdrawn.").format(number=case.number)
    )


async def followup_started(update: Update, context: SunboxContext) -> Next:
    """Ask for the follow-up."""
    case = await _own(update, context, "my:add:")
    if case is None:
        return None
    query = update.callback_query
    assert query is not None and context.user_data is not None
    if case.state not in cases.FOLLOWUP_ALLOWED:
        await answer_query(query, context.t("This case is closed."), show_alert=True)
        return None
    await answer_query(query)
    context.remember_case("followup_case", case.id)
    await context.bot.send_message(case_chat(update), context.t(
        "Send a message or a photo or document to add to {number}. /cancel to stop."
    ).format(number=case.number))
    return FOLLOWUP


def case_chat(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def followup_received(update: Update, context: SunboxContext) -> Next:
    """Store the follow-up on the case."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    text = (message.text or message.caption or "").strip()
    limit = context.runtime.config.limits.text_max_chars
    if len(text) > limit:
        await message.reply_text(context.t(
            "That is too long: {length} characters, the limit is {max}. Please shorten it."
        ).format(length=len(text), max=limit))
        return FOLLOWUP
    if await refused_too_big(context, message):
        return FOLLOWUP
    attachments: tuple[NewAttachment, ...] = ()
    if message.photo:
        photo = message.photo[-1]
        attachments = (NewAttachment("photo", photo.file_id, photo.file_unique_id),)
    elif message.document:
        doc = message.document
        attachments = (NewAttachment("document", doc.file_id, doc.file_unique_id,
                                     doc.file_name, doc.mime_type),)
    if not text and not attachments:
        return await followup_expected(update, context)
    person = context.require_person()
    case_id = context.recall_case("followup_case")
    if attachments and isinstance(case_id, int):
        attachments = await context.pass_on_files(message, case_id, attachments)
        if not text and not attachments:
            context.remember_case("followup_case", case_id)
            return FOLLOWUP
    try:
        if case_id is None:
            raise cases.CaseError("not_found")
        case = await cases.add_followup(
            context.runtime, case_id, person, case_chat(update), text or None, attachments,
        )
    except cases.CaseError:
        await message.reply_text(context.t("This case can no longer take additions."))
        return ConversationHandler.END
    await message.reply_text(context.t("Added to {number}.").format(number=case.number))
    return ConversationHandler.END


async def followup_expected(update: Update, context: SunboxContext) -> Next:
    """Something that cannot be added."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please send text, a photo or a document, or /cancel."
    ))
    return FOLLOWUP


def followup_entry_points() -> list[Any]:
    """Where adding information starts (part of the resident's conversation)."""
    return [CallbackQueryHandler(followup_started, pattern=r"^my:add:[0-9]{1,18}$")]


def followup_states() -> dict[object, list[Any]]:
    """The state of the resident's conversation that waits for the addition."""
    return {
        FOLLOWUP: [
            MessageHandler(
                (filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.ALL,
                followup_received,
            ),
            MessageHandler(~filters.COMMAND, followup_expected),
        ],
    }


def register(application: Application) -> None:
    """Install the handlers of this module."""
    application.add_handler(CommandHandler("my", my_command, filters=filters.ChatType.PRIVATE))
    application.add_handler(CallbackQueryHandler(my_from_menu, pattern=r"^my:page:0$"))
    application.add_handler(CallbackQueryHandler(list_page, pattern=r"^my:list:\d{1,5}$"))
    application.add_handler(CallbackQueryHandler(case_opened, pattern=r"^my:open:[0-9]{1,18}$"))
    application.add_handler(CallbackQueryHandler(withdraw_asked, pattern=r"^my:wd:[0-9]{1,18}$"))
    application.add_handler(CallbackQueryHandler(withdraw_confirmed,
                                                 pattern=r"^my:wdyes:[0-9]{1,18}$"))
