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
from handlers.context import SunboxContext, answer_query
from handlers.flow import END, NOT_COMMAND, TYPED, Next, button_step, text_expected, text_step
from handlers.meetings_cases import (
    finding_category,
    finding_command,
    finding_confirmed,
    finding_text,
    finished,
    issue_category,
    issue_pressed,
    issue_text,
    issue_who,
)
from handlers.meetings_flow import (
    ABSENCE,
    FIND_CATEGORY,
    FIND_CONFIRM,
    FIND_TEXT,
    ISSUE_CATEGORY,
    ISSUE_TEXT,
    ISSUE_WHO,
    ISSUES,
    KEY,
    MEETINGS,
    REASON,
    REC_ATTEND,
    REC_MINUTES,
    AbsenceDraft,
    length_ok,
    meeting_id,
    refusal_text,
    refused,
    title,
    typed,
    when,
)
from handlers.meetings_lists import details_pressed, meetings_command, supervisors_command
from handlers.meetings_record import (
    minutes_done,
    minutes_file,
    minutes_text,
    presence_done,
    presence_paged,
    presence_toggled,
    record_pressed,
)

__all__ = [  # what this module has always offered, wherever it lives now
    "FIND_CATEGORY", "FIND_CONFIRM", "FIND_TEXT", "ISSUES", "ISSUE_CATEGORY", "ISSUE_TEXT",
    "ISSUE_WHO", "KEY", "MEETINGS", "REASON", "REC_ATTEND", "REC_MINUTES", "absent_pressed",
    "attend_pressed", "details_pressed", "entry_points", "finding_category", "finding_command",
    "finding_confirmed", "finding_text", "finished", "issue_category", "issue_pressed",
    "issue_text", "issue_who", "meetings_command", "minutes_done", "minutes_file",
    "minutes_text", "presence_done", "presence_paged", "presence_toggled", "reason_received",
    "record_pressed", "register", "states", "supervisors_command",
]


# ---------------------------------------------------------------- attendance

async def attend_pressed(update: Update, context: SunboxContext) -> None:
    """Attend: one press, checked against the database."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    try:
        meeting = await meetings.answer(context.runtime, meeting_id(update),
                                        context.require_person(), user.full_name, attend=True)
    except MeetingError as error:
        await refused(update, context, error)
        return
    await answer_query(query, context.t("Noted: you will attend."))
    await MEETINGS.send(update, context, context.t(
        "✅ Noted: you will attend the {title} on {when} at {place}. Thank you!").format(
        title=title(context, meeting), when=when(context, meeting), place=meeting.place))


async def absent_pressed(update: Update, context: SunboxContext) -> Next:
    """Cannot attend: ask for the reason first."""
    query = update.callback_query
    assert query is not None
    try:
        meeting = await meetings.check_answer(context.runtime, meeting_id(update),
                                              context.require_person().telegram_id)
    except MeetingError as error:
        await refused(update, context, error)
        return None
    await answer_query(query)
    ABSENCE.put(context, AbsenceDraft(meeting_id=meeting.id))
    await MEETINGS.send(update, context, context.t(
        "Why can you not attend the {title} on {when}? Type the reason in one message (the "
        "organizer reads it).").format(title=title(context, meeting),
                                       when=when(context, meeting)),
        MEETINGS.cancel_markup(context))
    return REASON


async def reason_received(update: Update, context: SunboxContext) -> Next:
    """The reason; the answer is stored and the organizer told."""
    text = typed(update)
    if not await length_ok(update, context, text, 1):
        return REASON
    user = update.effective_user
    assert user is not None
    draft = ABSENCE.take(context) or AbsenceDraft()
    try:
        meeting = await meetings.answer(context.runtime, draft.meeting_id,
                                        context.require_person(), user.full_name,
                                        attend=False, reason=text)
    except MeetingError as error:
        await MEETINGS.send(update, context, refusal_text(context, error))
        return END
    await MEETINGS.send(update, context, context.t(
        "Noted: you cannot attend the {title} on {when}. The organizer has been told.").format(
        title=title(context, meeting), when=when(context, meeting)))
    return END


# ---------------------------------------------------------------- wiring

def entry_points() -> list[Any]:
    """Where the supervisors' steps start (in the dialog conversation)."""
    return [
        CallbackQueryHandler(absent_pressed, pattern=r"^mtg:[0-9]{1,18}:no$"),
        CallbackQueryHandler(record_pressed, pattern=r"^mtg:[0-9]{1,18}:rec$"),
        CallbackQueryHandler(issue_pressed, pattern=r"^mtg:[0-9]{1,18}:iss$"),
        CommandHandler("finding", finding_command, filters=filters.ChatType.PRIVATE),
    ]


def states() -> dict[object, list[Any]]:
    """The supervisors' steps of the dialog conversation."""
    return MEETINGS.steps({
        REASON: text_step(reason_received),
        REC_ATTEND: button_step(
            CallbackQueryHandler(presence_toggled, pattern=r"^mtr:t:[0-9]{1,18}$"),
            CallbackQueryHandler(presence_paged, pattern=r"^mtr:p:\d{1,4}$"),
            CallbackQueryHandler(presence_done, pattern=r"^mtr:done$")),
        REC_MINUTES: [MessageHandler(TYPED, minutes_text),
                      MessageHandler(filters.Document.ALL | filters.PHOTO, minutes_file),
                      CallbackQueryHandler(minutes_done, pattern=r"^mtr:min:done$"),
                      MessageHandler(NOT_COMMAND, text_expected)],
        ISSUES: button_step(CallbackQueryHandler(finished, pattern=r"^mtr:finish$")),
        ISSUE_WHO: button_step(CallbackQueryHandler(issue_who, pattern=r"^mti:w:[0-9]{1,18}$")),
        ISSUE_CATEGORY: button_step(
            CallbackQueryHandler(issue_category, pattern=r"^mti:cat:[\w-]+$")),
        ISSUE_TEXT: text_step(issue_text),
        FIND_CATEGORY: button_step(
            CallbackQueryHandler(finding_category, pattern=r"^fnd:cat:[\w-]+$")),
        FIND_TEXT: text_step(finding_text),
        FIND_CONFIRM: button_step(CallbackQueryHandler(finding_confirmed, pattern=r"^fnd:ok$")),
    }, leave=True)


def register(application: Application) -> None:
    """The one-press buttons and the listings; call before ``handlers.fallback``."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CallbackQueryHandler(attend_pressed, pattern=r"^mtg:[0-9]{1,18}:yes$"))
    application.add_handler(CallbackQueryHandler(details_pressed,
                                                 pattern=r"^mtg:[0-9]{1,18}:show$"))
    application.add_handler(CommandHandler("meetings", meetings_command, filters=private))
    application.add_handler(CommandHandler("supervisors", supervisors_command,
                                           filters=private))
