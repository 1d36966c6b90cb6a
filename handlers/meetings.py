"""Supervisors in chat: meeting reminders answered, meetings recorded, findings filed.

- Attend is one press on a reminder; Cannot attend asks for the reason first.
- The organizer records a held meeting: who attended (a button per supervisor), the
  minutes (text and/or a document or photo), then files each issue raised as a case
  (who raised it → category → text), in one step per issue.
- ``/finding``: a supervisor files a finding (category → text → confirm).
- ``/meetings``: upcoming and past meetings of one's organizations; ``/supervisors [unit]``
  for unit heads and administrators.

Every press is checked again in the database (``bot.services.meetings``).

The flow, its states and drafts: ``handlers.meetings_flow``; recording a meeting:
``handlers.meetings_record``; issues and findings: ``handlers.meetings_cases``; the
listings: ``handlers.meetings_lists``.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.services import meetings
from bot.services.meetings import MeetingError
from handlers import meetings_cases as cases
from handlers import meetings_flow as base
from handlers import meetings_lists as lists
from handlers import meetings_record as record
from handlers.context import SunboxContext, answer_query
from handlers.flow import END, NOT_COMMAND, TYPED, Next, button_step, text_expected, text_step
from handlers.meetings_flow import MEETINGS, REASON

# ---------------------------------------------------------------- attendance

async def attend_pressed(update: Update, context: SunboxContext) -> None:
    """Attend: one press, checked against the database."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    meeting = await base.checked(update, context, meetings.answer(
        context.runtime, base.meeting_id(update), context.require_person(), user.full_name,
        attend=True))
    if meeting is None:
        return
    await answer_query(query, context.t("Noted: you will attend."))
    await MEETINGS.send(update, context, context.t(
        "✅ Noted: you will attend the {title} on {when} at {place}. Thank you!").format(
        title=base.title(context, meeting), when=base.when(context, meeting),
        place=meeting.place))


async def absent_pressed(update: Update, context: SunboxContext) -> Next:
    """Cannot attend: ask for the reason first."""
    query = update.callback_query
    assert query is not None
    meeting = await base.checked(update, context, meetings.check_answer(
        context.runtime, base.meeting_id(update), context.require_person().telegram_id))
    if meeting is None:
        return None
    await answer_query(query)
    base.ABSENCE.put(context, base.AbsenceDraft(meeting_id=meeting.id))
    await MEETINGS.send(update, context, context.t(
        "Why can you not attend the {title} on {when}? Type the reason in one message (the "
        "organizer reads it).").format(title=base.title(context, meeting),
                                       when=base.when(context, meeting)),
        MEETINGS.cancel_markup(context))
    return REASON


async def reason_received(update: Update, context: SunboxContext) -> Next:
    """The reason; the answer is stored and the organizer told."""
    text = base.typed(update)
    if not await base.length_ok(update, context, text, 1):
        return REASON
    user = update.effective_user
    assert user is not None
    draft = base.ABSENCE.take(context) or base.AbsenceDraft()
    try:
        meeting = await meetings.answer(context.runtime, draft.meeting_id,
                                        context.require_person(), user.full_name,
                                        attend=False, reason=text)
    except MeetingError as error:
        await MEETINGS.send(update, context, base.refusal_text(context, error))
        return END
    await MEETINGS.send(update, context, context.t(
        "Noted: you cannot attend the {title} on {when}. The organizer has been told.").format(
        title=base.title(context, meeting), when=base.when(context, meeting)))
    return END


# ---------------------------------------------------------------- wiring

def entry_points() -> list[Any]:
    """Where the supervisors' steps start (in the dialog conversation)."""
    return [
        CallbackQueryHandler(absent_pressed, pattern=r"^mtg:[0-9]{1,18}:no$"),
        CallbackQueryHandler(record.record_pressed, pattern=r"^mtg:[0-9]{1,18}:rec$"),
        CallbackQueryHandler(cases.issue_pressed, pattern=r"^mtg:[0-9]{1,18}:iss$"),
        CommandHandler("finding", cases.finding_command, filters=filters.ChatType.PRIVATE),
    ]


def states() -> dict[object, list[Any]]:
    """The supervisors' steps of the dialog conversation."""
    return MEETINGS.steps({
        REASON: text_step(reason_received),
        base.REC_ATTEND: button_step(
            CallbackQueryHandler(record.presence_toggled, pattern=r"^mtr:t:[0-9]{1,18}$"),
            CallbackQueryHandler(record.presence_paged, pattern=r"^mtr:p:\d{1,4}$"),
            CallbackQueryHandler(record.presence_done, pattern=r"^mtr:done$")),
        base.REC_MINUTES: [
            MessageHandler(TYPED, record.minutes_text),
            MessageHandler(filters.Document.ALL | filters.PHOTO, record.minutes_file),
            CallbackQueryHandler(record.minutes_done, pattern=r"^mtr:min:done$"),
            MessageHandler(NOT_COMMAND, text_expected)],
        base.ISSUES: button_step(CallbackQueryHandler(cases.finished, pattern=r"^mtr:finish$")),
        base.ISSUE_WHO: button_step(
            CallbackQueryHandler(cases.issue_who, pattern=r"^mti:w:[0-9]{1,18}$")),
        base.ISSUE_CATEGORY: button_step(
            CallbackQueryHandler(cases.issue_category, pattern=r"^mti:cat:[\w-]+$")),
        base.ISSUE_TEXT: text_step(cases.issue_text),
        base.FIND_CATEGORY: button_step(
            CallbackQueryHandler(cases.finding_category, pattern=r"^fnd:cat:[\w-]+$")),
        base.FIND_TEXT: text_step(cases.finding_text),
        base.FIND_CONFIRM: button_step(
            CallbackQueryHandler(cases.finding_confirmed, pattern=r"^fnd:ok$")),
    }, leave=True)


def register(application: Application) -> None:
    """The one-press buttons and the listings; call before ``handlers.fallback``."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CallbackQueryHandler(attend_pressed, pattern=r"^mtg:[0-9]{1,18}:yes$"))
    application.add_handler(CallbackQueryHandler(lists.details_pressed,
                                                 pattern=r"^mtg:[0-9]{1,18}:show$"))
    application.add_handler(CommandHandler("meetings", lists.meetings_command, filters=private))
    application.add_handler(CommandHandler("supervisors", lists.supervisors_command,
                                           filters=private))
