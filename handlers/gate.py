"""Gatekeepers around every update: duplicate filter, per-person limits, who is acting,
persistence flush."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.i18n import N_, resolve_language
from bot.services import limits, people
from bot.telegram.persistence import SqlitePersistence, storable_id, write_staged
from handlers import jobs, menus
from handlers.context import SunboxContext, answer_query, release_pressed
from storage import people as people_repo
from storage import updates as update_repo
from storage.sql import Conn

log = logging.getLogger(__name__)

GATE_GROUP = -2
FINISH_GROUP = 100

MSG_SLOW_DOWN = N_("You are sending messages faster than I can read them, so I skipped the "
                   "latest ones. Please wait a minute, then send them again.")
MSG_FILED_ENOUGH = N_("Today you have filed as many cases as one person may file in a day "
                      "({count}). Please come back tomorrow.")
MSG_STATUS_ENOUGH = N_("You have looked up many cases in a short time. Please try /status "
                       "again in an hour.")
# What starts or confirms a filing (handlers.filing): counted against [limits] cases_per_day.
FILING_COMMANDS = ("/new",)
FILING_BUTTONS = ("new:start:", "new:confirm")


async def gate(update: Update, context: SunboxContext) -> None:
    """Drop duplicates and updates from nowhere; load the acting person and their language."""
    runtime = context.runtime
    user = update.effective_user
    chat = update.effective_chat
    sender = user.id if user is not None and storable_id(user.id) else None
    seen, known, menu = await runtime.db.read(
        people_repo.find_sender, update.update_id, sender)
    if seen:
        log.info("update %s delivered again: ignored", update.update_id)
        raise ApplicationHandlerStop
    # Edits of earlier messages are not new input: acting on them would answer a step the
    # person has already left.
    if user is None or user.is_bot or chat is None or update.edited_message is not None:
        await _mark(context, update)
        raise ApplicationHandlerStop
    if not _well_formed(update):
        log.info("update %s has fields of the wrong type: ignored", update.update_id)
        await _mark(context, update)
        raise ApplicationHandlerStop
    context.language = resolve_language(
        known.language if known else None, user.language_code,
        runtime.config.general.default_language)
    if not await _within_limits(update, context, user.id, chat.type == ChatType.PRIVATE):
        await _mark(context, update)
        raise ApplicationHandlerStop
    context.person = await people.touch(runtime, user.id, user.language_code, found=known)
    context.language = resolve_language(
        context.person.language, user.language_code, runtime.config.general.default_language
    )
    if chat.type != ChatType.PRIVATE and update.callback_query is None:
        if update.effective_message and update.effective_message.text and \
                update.effective_message.text.startswith("/"):
            # A button that opens the private chat (with /start), as bots in groups do.
            opener = InlineKeyboardMarkup([[InlineKeyboardButton(
                context.t("Open the private chat"),
                url=f"https://t.me/{context.bot.username}?start")]])
            await update.effective_message.reply_text(
                context.t("Please write to me in a private chat."), reply_markup=opener
            )
        await _mark(context, update)
        raise ApplicationHandlerStop
    if chat.type == ChatType.PRIVATE:
        # A member's name and own command menu, set on their first message and on every
        # change.
        await menus.on_message(context.bot, runtime, context.require_person(), user.full_name,
                               context.language, menu)


async def _within_limits(update: Update, context: SunboxContext, telegram_id: int,
                         private: bool) -> bool:
    """Whether the person is within [limits] (staff always are); if not, say so politely,
    once, where it cannot disturb anyone else (a private chat, or the pressed button)."""
    runtime = context.runtime
    verdict = await limits.admit_update(runtime, telegram_id)
    if verdict != "ok":
        if verdict == "tell":
            await _tell(update, context, context.t(MSG_SLOW_DOWN), private)
        return False
    command = _command(update)
    query = update.callback_query
    if command in FILING_COMMANDS or (query is not None and query.data is not None
                                      and query.data.startswith(FILING_BUTTONS)):
        if not await limits.admit_filing(runtime, telegram_id):
            count = runtime.config.limits.cases_per_day
            await _tell(update, context,
                        context.t(MSG_FILED_ENOUGH).format(count=count), private)
            return False
    if command == "/status" and not await limits.admit_status(runtime, telegram_id):
        await _tell(update, context, context.t(MSG_STATUS_ENOUGH), private)
        return False
    return True


def _command(update: Update) -> str | None:
    """The command a message starts with (``/new``), without a bot's name."""
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    return message.text.split(maxsplit=1)[0].split("@", 1)[0].lower()


async def _tell(update: Update, context: SunboxContext, text: str, private: bool) -> None:
    if update.callback_query is not None:
        await answer_query(update.callback_query, text, show_alert=True)
    elif private and update.effective_message is not None:
        await update.effective_message.reply_text(text)


def _well_formed(update: Update) -> bool:
    """What the handlers rely on has the types the Bot API gives it (PTB does not check):
    ids the database can hold, text, captions and button data as strings."""
    user, chat = update.effective_user, update.effective_chat
    if not (user is not None and storable_id(user.id) and chat is not None
            and storable_id(chat.id)):
        return False
    message = update.effective_message
    texts: list[object] = []
    if message is not None:
        texts += [message.text, message.caption]
    if update.callback_query is not None:
        texts.append(update.callback_query.data)
    texts.append(user.language_code)
    return all(text is None or isinstance(text, str) for text in texts)


async def finish(update: Update, context: SunboxContext) -> None:
    """After all handlers: the person's conversation state and drafts, and the record that
    this update was handled, in one transaction.

    PTB would mark the user's data for persistence only after the last group and write it
    within a minute; a crash in between would lose the step. Written with the record, a
    step is either done and recorded, or neither (and handled again after a crash).

    Two facts make the state taken here the state this update left, both pinned by tests:
    PTB records the dialog's new state before the later handler groups run, and hands it to
    the persistence in ``update_persistence`` (tests/transport/test_persistence_order.py); and the
    update processor runs one person's updates one at a time, keyed as the dialog is, so no
    other update of this conversation runs meanwhile (tests/transport/test_update_processor.py).
    """
    await release_pressed(context)
    application = context.application
    user = update.effective_user
    if user is not None:
        application.mark_data_for_update_persistence(user_ids=user.id)
    await application.update_persistence()  # stages it in SqlitePersistence
    persistence = application.persistence
    assert isinstance(persistence, SqlitePersistence)
    runtime = context.runtime
    staged = persistence.take_pending(user.id) if user is not None else None
    now = runtime.clock.now()

    def record(conn: Conn) -> None:  # on the database thread
        if staged is not None:
            write_staged(conn, staged)
        update_repo.mark_processed(conn, update.update_id, now)

    await runtime.db.write(record)
    chat = update.effective_chat
    await context.sender.after_update(
        chat.id if chat is not None and chat.type == ChatType.PRIVATE else None)
    await jobs.arm(application)


async def _mark(context: SunboxContext, update: Update) -> None:
    runtime = context.runtime
    await runtime.db.write(
        update_repo.mark_processed, update_id=update.update_id, now=runtime.clock.now())


async def _language_of(update: Update, context: SunboxContext) -> str:
    """The language the person is answered in (as the gate resolves it)."""
    user = update.effective_user
    saved: str | None = None
    if user is not None and storable_id(user.id):
        person = await context.runtime.db.read(people_repo.find_person, user.id)
        saved = person.language if person is not None else None
    return resolve_language(saved, user.language_code if user is not None else None,
                            context.runtime.config.general.default_language)


async def on_error(update: object, context: SunboxContext) -> None:
    """Log the error (no user content) and tell the user, in their language."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            # PTB gives the error handler a context of its own, without the gate's language.
            context.language = await _language_of(update, context)
            await context.bot.send_message(
                update.effective_chat.id,
                context.t("Sorry, something went wrong. Please try again, or send /cancel."),
            )
        except Exception:  # noqa: BLE001 - the error handler must never raise
            log.warning("could not tell the user about an error", exc_info=True)


def register(application: Application) -> None:
    """Install the gatekeeper (first), the finisher (last) and the error handler."""
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    application.add_handler(TypeHandler(Update, finish), group=FINISH_GROUP)
    application.add_error_handler(on_error)
