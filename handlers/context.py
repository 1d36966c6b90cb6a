"""The typed callback context every Sunbox handler receives."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime
from functools import partial
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Message
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import plural_translator, translator
from bot.runtime import Runtime
from bot.scrubber import SCRUB_FAILED, Scrubber
from bot.telegram import retrying
from bot.telegram.filestore import FileKeeper
from bot.telegram.outbox import OutboxSender
from storage.models import NewAttachment, Person

log = logging.getLogger(__name__)


class BotData:
    """``application.bot_data``: the runtime (config, clock, database) and the sender."""

    runtime: Runtime
    sender: OutboxSender
    scrubber: Scrubber
    files: FileKeeper
    outbox_loop: bool
    alarm_at: datetime | None = None
    alarms_running: bool = False


class SunboxContext(CallbackContext[ExtBot[None], dict[str, Any], dict[Any, Any], BotData]):
    """Context with the runtime, the acting person and their language at hand.

    The gatekeeper (``handlers.gate``) fills ``person`` and ``language`` before any feature
    handler runs; one context object serves all handler groups of an update.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None
        self.language: str = application.bot_data.runtime.config.general.default_language
        # A pressed message whose buttons are answered but still on: the next question of
        # the step replaces it (:func:`show_next`), or :func:`release_pressed` takes them off.
        self.pressed: CallbackQuery | None = None

    @property
    def runtime(self) -> Runtime:
        return self.bot_data.runtime

    @property
    def sender(self) -> OutboxSender:
        return self.bot_data.sender

    @property
    def scrubber(self) -> Scrubber:
        return self.bot_data.scrubber

    def t(self, message: str) -> str:
        """Translate into the acting user's language."""
        return translator(self.language)(message)

    def tn(self, singular: str, plural: str, n: int) -> str:
        """Translate with a plural form."""
        return plural_translator(self.language)(singular, plural, n)

    def require_person(self) -> Person:
        """The acting person (always set for updates with a user)."""
        if self.person is None:
            raise RuntimeError("no acting person on this update")
        return self.person

    def remember_case(self, key: str, case_id: int) -> None:
        """Remember which case the person's next message is about (a follow-up, a reply, a
        rating comment), sealed: persisted user data must not join a person to a case."""
        assert self.user_data is not None
        self.user_data[key] = self.runtime.sealer.seal_note(self.require_person().id, case_id)

    async def pass_on_files(self, message: Message, case_id: int,
                            files: tuple[NewAttachment, ...]) -> tuple[NewAttachment, ...]:
        """Files a reporter adds to a case (a follow-up, a reply), as they may go on: an
        anonymous case's scrubbed and renamed (bot/scrubber.py); the reporter is told of any
        that could not be made safe and was left out."""
        passed = await self.scrubber.added(case_id, files, message.chat_id, self.language)
        if len(passed) < len(files):
            await message.reply_text(self.t(SCRUB_FAILED))
        return passed

    def recall_case(self, key: str) -> int | None:
        """The case :meth:`remember_case` kept under ``key``, forgotten as it is read."""
        assert self.user_data is not None
        return self.runtime.sealer.unseal_note(self.require_person().id,
                                               self.user_data.pop(key, None))


# What Telegram says when a message already looks as asked (a step handled again after a
# restart, a double tap) or is gone: the edit has nothing left to do.
_EDIT_DONE = ("message is not modified", "message to edit not found",
              "message can't be edited")


async def _tolerant_edit(edit: Awaitable[object]) -> bool:
    """Whether the message now looks as asked (False: it is gone or can no longer be
    edited)."""
    try:
        await edit
    except BadRequest as error:
        message = error.message.lower()
        if not any(done in message for done in _EDIT_DONE):
            raise
        log.info("a message to edit was already as asked, or gone")
        return "not modified" in message
    return True


async def set_buttons(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the buttons of the pressed message (None: take them off). Done already (the
    step is handled again after a restart) or the message gone: not an error."""
    await _tolerant_edit(query.edit_message_reply_markup(markup))


async def set_text(query: CallbackQuery, text: str, **kwargs: Any) -> None:
    """Replace the text of the pressed message; already so, or gone: not an error."""
    await _tolerant_edit(query.edit_message_text(text, **kwargs))


async def take_press(query: CallbackQuery, context: SunboxContext) -> None:
    """Answer a step's button and leave its buttons on: the step's next question replaces
    the message pressed (:func:`show_next`), or :func:`release_pressed` takes them off."""
    await answer_query(query)
    context.pressed = query


async def release_pressed(context: SunboxContext) -> None:
    """Take the buttons off a pressed message no question replaced."""
    query, context.pressed = context.pressed, None
    if query is not None:
        await set_buttons(query, None)


async def show_next(context: SunboxContext, chat_id: int, text: str, markup: Any = None
                    ) -> None:
    """The next question of a conversation: it replaces the pressed message when there is
    one and the question has inline buttons or none (one Bot API call instead of two, and
    one message less in the chat); otherwise, or when that message can no longer be edited,
    it comes as a new message."""
    query, context.pressed = context.pressed, None
    in_place = (query is not None and query.message is not None
                and query.message.chat.id == chat_id
                and getattr(query.message, "text", None) is not None  # not a photo's caption
                and (markup is None or isinstance(markup, InlineKeyboardMarkup)))
    if in_place:
        assert query is not None
        if await _tolerant_edit(query.edit_message_text(text, reply_markup=markup)):
            return
    elif query is not None:
        await set_buttons(query, None)
    await send_prompt(context.bot, chat_id, text, markup)


async def send_prompt(bot: Any, chat_id: int, text: str, markup: Any = None) -> None:
    """Send the next question of a conversation. After a 5xx or a lost answer it is sent
    again (``bot.telegram.retrying.QUICK``): the step's buttons are already off, so a lost prompt
    would leave the person with nothing to press; a question shown twice is answered from
    either copy."""
    await retrying.again_if_transient(
        partial(bot.send_message, chat_id, text, reply_markup=markup), retrying.QUICK,
        note="a prompt failed to go; sending it again")


async def answer_query(query: CallbackQuery, text: str | None = None, *,
                       show_alert: bool = False) -> None:
    """Answer a button press; a press Telegram no longer lets us answer (it waited too long,
    e.g. while the bot was down) is not an error: the work it asked for still happens."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as error:
        message = error.message.lower()
        if "query is too old" not in message and "query id is invalid" not in message:
            raise
        log.info("a button press was too old to answer")
