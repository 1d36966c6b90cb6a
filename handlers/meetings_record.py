"""The organizer records a held meeting: who attended (a button per supervisor, paged),
then the minutes (text and/or a document or photo); then its issues can be filed as cases
(``handlers.meetings_cases``)."""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.services import meetings
from bot.services.meetings import MeetingError, RosterEntry
from handlers.context import SunboxContext, answer_query, set_buttons
from handlers.flow import END, Next, refuse_button
from handlers.keyboards import button, pager_row
from handlers.meetings_flow import (
    ISSUES,
    MEETINGS,
    MINUTES,
    REC_ATTEND,
    REC_MINUTES,
    MinutesDraft,
    MinutesFile,
    alert,
    checked,
    meeting_id,
    refused,
    title,
    typed,
    when,
)
from handlers.uploads import refused_too_big

PAGE = 8


def _attendance_markup(context: SunboxContext, roster: list[RosterEntry], present: set[int],
                       page: int) -> InlineKeyboardMarkup:
    pages = max(1, -(-len(roster) // PAGE))
    page = min(max(page, 0), pages - 1)
    rows: list[list[InlineKeyboardButton]] = []
    for entry in roster[page * PAGE:(page + 1) * PAGE]:
        mark = "✅" if entry.person_id in present else "▫️"
        rows.append([button(f"{mark} {entry.name}", f"mtr:t:{entry.person_id}")])
    nav = pager_row(context, page, pages, "mtr:p:")
    if nav:
        rows.append(nav)
    rows.append([button(context.t("✔ Done"), "mtr:done")])
    rows.append(MEETINGS.cancel_row(context))
    return InlineKeyboardMarkup(rows)


async def record_pressed(update: Update, context: SunboxContext) -> Next:
    """Record the meeting: first, who attended (ticked: those who said they would)."""
    query = update.callback_query
    assert query is not None
    found = await checked(update, context, meetings.start_record(
        context.runtime, meeting_id(update), context.require_person().telegram_id))
    if found is None:
        return None
    meeting, roster = found
    await answer_query(query)
    present = [e.person_id for e in roster if e.answer == "attend"]
    MINUTES.put(context, MinutesDraft(meeting_id=meeting.id, present=present))
    text = context.t(
        "Recording the {title} of {when}. Who attended? Tap the names to tick them (✅ "
        "present), then press Done.").format(title=title(context, meeting),
                                             when=when(context, meeting))
    if not roster:
        text += "\n" + context.t("No supervisors are on this meeting's list.")
    await MEETINGS.send(update, context, text,
                        _attendance_markup(context, roster, set(present), 0))
    return REC_ATTEND


async def _presence(update: Update, context: SunboxContext, change: Callable[
        [MinutesDraft, list[RosterEntry]], bool]) -> Next:
    """A press on the attendance list: the list re-read (and the presser re-checked), the
    draft changed by ``change`` (False: the press named no one on the list), the list shown
    again as it is now."""
    query = update.callback_query
    assert query is not None
    draft = MINUTES.get(context)
    found = await checked(update, context, meetings.start_record(
        context.runtime, draft.meeting_id, context.require_person().telegram_id))
    if found is None:
        return None
    _, roster = found
    if not change(draft, roster):
        await refuse_button(update, context)
        return None
    MINUTES.put(context, draft)
    await answer_query(query)
    await set_buttons(query, _attendance_markup(context, roster, set(draft.present),
                                                draft.page))
    return REC_ATTEND


def _pressed_number(update: Update) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    return int(query.data.rsplit(":", 1)[1])


async def presence_toggled(update: Update, context: SunboxContext) -> Next:
    """Tick or untick one supervisor."""
    person_id = _pressed_number(update)

    def toggle(draft: MinutesDraft, roster: list[RosterEntry]) -> bool:
        if person_id not in {e.person_id for e in roster}:
            return False
        draft.present = sorted(set(draft.present) ^ {person_id})
        return True

    return await _presence(update, context, toggle)


async def presence_paged(update: Update, context: SunboxContext) -> Next:
    """Another page of the list."""
    page = _pressed_number(update)

    def turn(draft: MinutesDraft, roster: list[RosterEntry]) -> bool:
        draft.page = page
        return True

    return await _presence(update, context, turn)


def _minutes_markup(context: SunboxContext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(context.t("✔ Done"), "mtr:min:done")],
                                 MEETINGS.cancel_row(context)])


async def presence_done(update: Update, context: SunboxContext) -> Next:
    """Attendance ticked: now the minutes."""
    await MEETINGS.pressed(update, context)
    await MEETINGS.send(update, context, context.t(
        "Now the minutes: type them (one or more messages) and/or send them as a document or "
        "photo. Press Done when finished."), _minutes_markup(context))
    return REC_MINUTES


async def minutes_text(update: Update, context: SunboxContext) -> Next:
    """A part of the minutes, as text."""
    text = typed(update)
    draft = MINUTES.get(context)
    length = sum(len(p) for p in draft.minutes) + len(text)
    assert update.effective_message is not None
    if length > meetings.MINUTES_MAX_CHARS:
        await update.effective_message.reply_text(context.t(
            "The minutes are too long: at most {max} characters. Send the rest as a "
            "document.").format(max=meetings.MINUTES_MAX_CHARS), reply_markup=_minutes_markup(
            context))
        return REC_MINUTES
    draft.minutes.append(text)
    MINUTES.put(context, draft)
    await update.effective_message.reply_text(context.t(
        "Added to the minutes ({length} characters so far). Send more, or press Done.").format(
        length=length), reply_markup=_minutes_markup(context))
    return REC_MINUTES


async def minutes_file(update: Update, context: SunboxContext) -> Next:
    """The minutes as a document or photo (a later one replaces an earlier one)."""
    message = update.effective_message
    assert message is not None
    if await refused_too_big(context, message, reply_markup=_minutes_markup(context)):
        return REC_MINUTES
    if message.document:
        file = MinutesFile("document", message.document.file_id, message.document.file_name)
        name = message.document.file_name or context.t("document")
    else:
        file = MinutesFile("photo", message.photo[-1].file_id)
        name = context.t("photo")
    with MINUTES.edit(context) as draft:
        draft.file = file
        if message.caption:
            draft.minutes.append(message.caption.strip())
    await message.reply_text(context.t(
        "Received the file ({name}). Send more text, or press Done.").format(name=name),
        reply_markup=_minutes_markup(context))
    return REC_MINUTES


def _issues_markup(context: SunboxContext, meeting: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(label, data) for label, data in row]
                                 for row in meetings.issue_buttons(meeting)(context.t)])


async def minutes_done(update: Update, context: SunboxContext) -> Next:
    """Store the record: the meeting was held, who attended, the minutes."""
    draft = MINUTES.get(context)
    minutes = "\n\n".join(draft.minutes)
    if not minutes and not draft.file:
        await alert(update, context.t("Please send the minutes first: text, a document or a "
                                      "photo."))
        return None
    try:
        meeting, roster = await meetings.record(
            context.runtime, draft.meeting_id, context.require_person(), draft.present,
            minutes, draft.file.as_tuple() if draft.file else None)
    except MeetingError as error:
        await refused(update, context, error)
        MEETINGS.drop(context)
        return END
    await MEETINGS.pressed(update, context)
    MEETINGS.drop(context)
    t = context.t
    await MEETINGS.send(update, context, t(
        "✅ The {title} of {when} is recorded as held.\n{presence}\n\nWere issues raised? "
        "File each one as a case: it goes to the responsible unit, with the supervisor who "
        "raised it as the reporter.").format(
        title=title(context, meeting), when=when(context, meeting),
        presence=meetings.presence_text(t, roster)), _issues_markup(context, meeting.id))
    return ISSUES
