"""Supervisors in chat: meeting reminders answered, meetings recorded, findings filed.

- Attend is one press on a reminder; Cannot attend asks for the reason first.
- The organizer records a held meeting: who attended (a button per supervisor), the
  minutes (text and/or a document or photo), then files each issue raised as a case
  (who raised it → category → text), in one step per issue.
- ``/finding``: a supervisor files a finding (category → text → confirm).
- ``/meetings``: upcoming and past meetings of one's organizations; ``/supervisors [unit]``
  for unit heads and administrators.

Every press is checked again in the database (``bot.services.meetings``).
"""

from __future__ import annotations

import uuid
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import N_
from bot.services import meetings
from bot.services.meetings import MeetingError, RosterEntry, View
from handlers.context import SunboxContext, answer_query, set_buttons
from handlers.flow import (
    END,
    NOT_COMMAND,
    TYPED,
    Flow,
    Next,
    button_step,
    refuse_button,
    text_expected,
    text_step,
)
from handlers.keyboards import button, pager_row
from handlers.render import category_name, unit_name
from handlers.uploads import refused_too_big, send_kept
from storage.meetings import Meeting

KEY = "meeting"
MEETINGS = Flow("meetings", cancel_data="mtg:cancel", drops=(KEY,), private=True)
(REASON, REC_ATTEND, REC_MINUTES, ISSUES, ISSUE_WHO, ISSUE_CATEGORY, ISSUE_TEXT,
 FIND_CATEGORY, FIND_TEXT, FIND_CONFIRM) = MEETINGS.declare(
    "absence.reason", "attendance", "minutes", "issues", "issue.who", "issue.category",
    "issue.text", "finding.category", "finding.text", "finding.confirm")
PAGE = 8
MAX_MESSAGE = 4000
EXCERPT = 80
MINUTES_SHOWN = 3000

REFUSALS = {
    "not_found": N_("This meeting was not found; it may have been cancelled."),
    "not_supervisor": N_("Only the supervisors of this meeting's organization can answer "
                         "for it."),
    "not_organizer": N_("Only the meeting's organizer can do this."),
    "past": N_("This meeting has already taken place; answers are closed."),
    "not_yet": N_("The meeting has not taken place yet: record it afterwards."),
    "recorded": N_("This meeting has already been recorded."),
    "not_held": N_("Record the meeting first; then its issues can be filed as cases."),
    "invalid": N_("This button is no longer valid."),
}
INVALID = REFUSALS["invalid"]


def _refusal(context: SunboxContext, error: MeetingError) -> str:
    return context.t(REFUSALS.get(error.reason, INVALID))


# ---------------------------------------------------------------- helpers

def _state(context: SunboxContext) -> dict[str, Any]:
    assert context.user_data is not None
    state: dict[str, Any] = context.user_data.setdefault(KEY, {})
    return state


async def _reply(update: Update, context: SunboxContext, text: str, markup: Any = None
                 ) -> None:
    """Reply, split at line ends when too long for one message (buttons on the last)."""
    chunks: list[str] = []
    chunk = ""
    for line in text.split("\n"):
        if chunk and len(chunk) + 1 + len(line) > MAX_MESSAGE:
            chunks.append(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line[:MAX_MESSAGE]
    chunks.append(chunk)
    for index, part in enumerate(chunks):
        await MEETINGS.send(update, context, part, markup if index == len(chunks) - 1 else None)


def _meeting_id(update: Update) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    return int(query.data.split(":")[1])


async def _alert(update: Update, text: str) -> None:
    assert update.callback_query is not None
    await answer_query(update.callback_query, text, show_alert=True)


def _text(update: Update) -> str:
    message = update.effective_message
    assert message is not None
    return (message.text or "").strip()


def _title(context: SunboxContext, meeting: Meeting) -> str:
    return meetings.meeting_title(context.runtime, meeting, context.t, context.language)


def _when(context: SunboxContext, meeting: Meeting) -> str:
    return meetings.meeting_when(context.runtime, meeting, context.t)


async def _length_ok(update: Update, context: SunboxContext, text: str, low: int) -> bool:
    """Between ``low`` and the configured maximum; else say so."""
    limits = context.runtime.config.limits
    if low <= len(text) <= limits.text_max_chars:
        return True
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please write a text of {min} to {max} characters.").format(
        min=low, max=limits.text_max_chars))
    return False


# ---------------------------------------------------------------- attendance

async def attend_pressed(update: Update, context: SunboxContext) -> None:
    """Attend: one press, checked against the database."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    try:
        meeting = await meetings.answer(context.runtime, _meeting_id(update),
                                        context.require_person(), user.full_name, attend=True)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        return
    await answer_query(query, context.t("Noted: you will attend."))
    await MEETINGS.send(update, context, context.t(
        "✅ Noted: you will attend the {title} on {when} at {place}. Thank you!").format(
        title=_title(context, meeting), when=_when(context, meeting), place=meeting.place))


async def absent_pressed(update: Update, context: SunboxContext) -> Next:
    """Cannot attend: ask for the reason first."""
    query = update.callback_query
    assert query is not None
    meeting_id = _meeting_id(update)
    try:
        meeting = await meetings.check_answer(context.runtime, meeting_id,
                                              context.require_person().telegram_id)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        return None
    await answer_query(query)
    MEETINGS.drop(context)
    _state(context)["id"] = meeting.id
    await MEETINGS.send(update, context, context.t(
        "Why can you not attend the {title} on {when}? Type the reason in one message (the "
        "organizer reads it).").format(title=_title(context, meeting),
                                       when=_when(context, meeting)),
        MEETINGS.cancel_markup(context))
    return REASON


async def reason_received(update: Update, context: SunboxContext) -> Next:
    """The reason; the answer is stored and the organizer told."""
    text = _text(update)
    if not await _length_ok(update, context, text, 1):
        return REASON
    user = update.effective_user
    assert user is not None
    state = _state(context)
    MEETINGS.drop(context)
    try:
        meeting = await meetings.answer(context.runtime, int(state.get("id", 0)),
                                        context.require_person(), user.full_name,
                                        attend=False, reason=text)
    except MeetingError as error:
        await MEETINGS.send(update, context, _refusal(context, error))
        return END
    await MEETINGS.send(update, context, context.t(
        "Noted: you cannot attend the {title} on {when}. The organizer has been told.").format(
        title=_title(context, meeting), when=_when(context, meeting)))
    return END


# ---------------------------------------------------------------- recording a meeting

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
    try:
        meeting, roster = await meetings.start_record(
            context.runtime, _meeting_id(update), context.require_person().telegram_id)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        return None
    await answer_query(query)
    MEETINGS.drop(context)
    present = [e.person_id for e in roster if e.answer == "attend"]
    _state(context).update(id=meeting.id, present=present, page=0, minutes=[], file=None)
    text = context.t(
        "Recording the {title} of {when}. Who attended? Tap the names to tick them (✅ "
        "present), then press Done.").format(title=_title(context, meeting),
                                             when=_when(context, meeting))
    if not roster:
        text += "\n" + context.t("No supervisors are on this meeting's list.")
    await MEETINGS.send(update, context, text, _attendance_markup(context, roster, set(present), 0))
    return REC_ATTEND


async def _roster_again(update: Update, context: SunboxContext
                        ) -> tuple[Meeting, list[RosterEntry]] | None:
    """The meeting's list, re-read (and the presser re-checked) on every press."""
    state = _state(context)
    try:
        return await meetings.start_record(context.runtime, int(state.get("id", 0)),
                                           context.require_person().telegram_id)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        return None


async def presence_toggled(update: Update, context: SunboxContext) -> Next:
    """Tick or untick one supervisor."""
    query = update.callback_query
    assert query is not None and query.data is not None
    found = await _roster_again(update, context)
    if found is None:
        return None
    _, roster = found
    person_id = int(query.data.rsplit(":", 1)[1])
    if person_id not in {e.person_id for e in roster}:
        await refuse_button(update, context)
        return None
    state = _state(context)
    present = set(state.get("present", []))
    present ^= {person_id}
    state["present"] = sorted(present)
    await answer_query(query)
    await set_buttons(query,
        _attendance_markup(context, roster, present, int(state.get("page", 0))))
    return REC_ATTEND


async def presence_paged(update: Update, context: SunboxContext) -> Next:
    """Another page of the list."""
    query = update.callback_query
    assert query is not None and query.data is not None
    found = await _roster_again(update, context)
    if found is None:
        return None
    state = _state(context)
    state["page"] = int(query.data.rsplit(":", 1)[1])
    await answer_query(query)
    await set_buttons(query, _attendance_markup(
        context, found[1], set(state.get("present", [])), state["page"]))
    return REC_ATTEND


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
    text = _text(update)
    state = _state(context)
    parts: list[str] = state.setdefault("minutes", [])
    length = sum(len(p) for p in parts) + len(text)
    assert update.effective_message is not None
    if length > meetings.MINUTES_MAX_CHARS:
        await update.effective_message.reply_text(context.t(
            "The minutes are too long: at most {max} characters. Send the rest as a "
            "document.").format(max=meetings.MINUTES_MAX_CHARS), reply_markup=_minutes_markup(
            context))
        return REC_MINUTES
    parts.append(text)
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
        file = ["document", message.document.file_id, message.document.file_name]
        name = message.document.file_name or context.t("document")
    else:
        file = ["photo", message.photo[-1].file_id, None]
        name = context.t("photo")
    _state(context)["file"] = file
    if message.caption:
        _state(context).setdefault("minutes", []).append(message.caption.strip())
    await message.reply_text(context.t(
        "Received the file ({name}). Send more text, or press Done.").format(name=name),
        reply_markup=_minutes_markup(context))
    return REC_MINUTES


def _issues_markup(context: SunboxContext, meeting_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(label, data) for label, data in row]
                                 for row in meetings.issue_buttons(meeting_id)(context.t)])


async def minutes_done(update: Update, context: SunboxContext) -> Next:
    """Store the record: the meeting was held, who attended, the minutes."""
    query = update.callback_query
    assert query is not None
    state = _state(context)
    minutes = "\n\n".join(state.get("minutes") or [])
    file = state.get("file")
    if not minutes and not file:
        await _alert(update, context.t("Please send the minutes first: text, a document or a "
                                       "photo."))
        return None
    try:
        meeting, roster = await meetings.record(
            context.runtime, int(state.get("id", 0)), context.require_person(),
            state.get("present", []), minutes, tuple(file) if file else None)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        MEETINGS.drop(context)
        return END
    await MEETINGS.pressed(update, context)
    MEETINGS.drop(context)
    t = context.t
    await MEETINGS.send(update, context, t(
        "✅ The {title} of {when} is recorded as held.\n{presence}\n\nWere issues raised? "
        "File each one as a case: it goes to the responsible unit, with the supervisor who "
        "raised it as the reporter.").format(
        title=_title(context, meeting), when=_when(context, meeting),
        presence=meetings.presence_text(t, roster)), _issues_markup(context, meeting.id))
    return ISSUES


# ---------------------------------------------------------------- issues as cases

DESCRIBE_ISSUE = N_("It will go to: {unit}. Describe the issue as it was raised ({min}–{max} "
                    "characters).")
DESCRIBE_FINDING = N_("It will go to: {unit}. Describe what you found: what, where, when "
                      "({min}–{max} characters).")


async def _category_chosen(update: Update, context: SunboxContext, prefix: str,
                           describe: str) -> bool:
    """The area (``<prefix>:cat:<id>``), which routes the case; then ask for its text
    (``describe``, with the unit and the length limits). False: a stale button."""
    category = await MEETINGS.category_chosen(update, context, prefix)
    if category is None:
        return False
    _state(context)["category"] = category.id
    limits = context.runtime.config.limits
    await MEETINGS.send(update, context, context.t(describe).format(
        unit=unit_name(context.runtime, category.unit, context.language),
        min=limits.text_min_chars, max=limits.text_max_chars), MEETINGS.cancel_markup(context))
    return True


async def issue_pressed(update: Update, context: SunboxContext) -> Next:
    """File an issue raised at a held meeting: who raised it?"""
    query = update.callback_query
    assert query is not None
    try:
        meeting, roster = await meetings.check_issue(
            context.runtime, _meeting_id(update), context.require_person().telegram_id)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        return None
    if not roster:
        await _alert(update, context.t("No supervisors are on this meeting's list."))
        return None
    await answer_query(query)
    MEETINGS.drop(context)
    _state(context).update(id=meeting.id, key=uuid.uuid4().hex)
    ordered = sorted(roster, key=lambda e: (not e.attended, e.telegram_id))
    rows = [[button(e.name, f"mti:w:{e.person_id}")] for e in ordered]
    rows.append(MEETINGS.cancel_row(context))
    await MEETINGS.send(update, context, context.t(
        "An issue raised at the {title} of {when}. Which supervisor raised it? They will be "
        "its reporter and hear back.").format(title=_title(context, meeting),
                                              when=_when(context, meeting)),
        InlineKeyboardMarkup(rows))
    return ISSUE_WHO


async def issue_who(update: Update, context: SunboxContext) -> Next:
    """The supervisor who raised it; then the area."""
    query = update.callback_query
    assert query is not None and query.data is not None
    state = _state(context)
    try:
        _, roster = await meetings.check_issue(context.runtime, int(state.get("id", 0)),
                                               context.require_person().telegram_id)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        return None
    person_id = int(query.data.rsplit(":", 1)[1])
    if person_id not in {e.person_id for e in roster}:
        await refuse_button(update, context)
        return None
    await MEETINGS.pressed(update, context)
    state["person"] = person_id
    await MEETINGS.ask_category(update, context, "mti")
    return ISSUE_CATEGORY


async def issue_category(update: Update, context: SunboxContext) -> Next:
    """The area, which routes the case; then the text."""
    return ISSUE_TEXT if await _category_chosen(update, context, "mti", DESCRIBE_ISSUE) else None


async def issue_text(update: Update, context: SunboxContext) -> Next:
    """The issue's text: filed at once."""
    text = _text(update)
    if not await _length_ok(update, context, text,
                            context.runtime.config.limits.text_min_chars):
        return ISSUE_TEXT
    state = _state(context)
    MEETINGS.drop(context)
    try:
        # The receipt, with Another issue / Finish, is owed with the case (outbox).
        await meetings.file_issue(
            context.runtime, int(state.get("id", 0)), context.require_person(),
            int(state.get("person", 0)), str(state.get("category", "")), text,
            str(state.get("key", "")), context.language)
    except MeetingError as error:
        await MEETINGS.send(update, context, _refusal(context, error))
        return END
    return ISSUES


async def finished(update: Update, context: SunboxContext) -> Next:
    """No more issues."""
    await MEETINGS.pressed(update, context)
    MEETINGS.drop(context)
    await MEETINGS.send(update, context, context.t(
        "Done. The meeting, its minutes and its issues are in /meetings."))
    return END


# ---------------------------------------------------------------- findings

async def finding_command(update: Update, context: SunboxContext) -> Next:
    """/finding: a supervisor files what they found, signed."""
    assert update.effective_message is not None
    if not await meetings.is_supervisor_now(context.runtime,
                                            context.require_person().telegram_id):
        await update.effective_message.reply_text(context.t(
            "Only supervisors can file findings. To file your own case, send /new."))
        return None
    MEETINGS.drop(context)
    _state(context)["key"] = uuid.uuid4().hex
    await MEETINGS.ask_category(update, context, "fnd", context.t(
        "A finding as a supervisor: a suggestion signed with your name and marked as coming "
        "from a supervisor. Which area does it concern?"))
    return FIND_CATEGORY


async def finding_category(update: Update, context: SunboxContext) -> Next:
    """The area, which routes the finding; then the text."""
    return FIND_TEXT if await _category_chosen(update, context, "fnd", DESCRIBE_FINDING) else None


async def finding_text(update: Update, context: SunboxContext) -> Next:
    """The finding's text; then the summary to confirm."""
    text = _text(update)
    if not await _length_ok(update, context, text,
                            context.runtime.config.limits.text_min_chars):
        return FIND_TEXT
    user = update.effective_user
    assert user is not None
    state = _state(context)
    state["text"] = text
    category = str(state.get("category", ""))
    try:
        unit = context.runtime.config.category(category).unit
    except KeyError:
        MEETINGS.drop(context)
        await MEETINGS.send(update, context, context.t(INVALID))
        return END
    t = context.t
    await MEETINGS.send(update, context, t(
        "Please check your finding before filing it:\nCategory: {category}\nUnit: {unit}\n"
        "Signed: {name}\n\n{text}").format(
        category=category_name(context.runtime, category, context.language),
        unit=unit_name(context.runtime, unit, context.language), name=user.full_name,
        text=text), InlineKeyboardMarkup([[button(t("✅ Confirm"), "fnd:ok")],
                                          MEETINGS.cancel_row(context)]))
    return FIND_CONFIRM


async def finding_confirmed(update: Update, context: SunboxContext) -> Next:
    """Store the finding (committed before the receipt is shown)."""
    user = update.effective_user
    assert user is not None
    state = _state(context)
    try:
        # The receipt is owed with the case (outbox).
        await meetings.file_finding(
            context.runtime, context.require_person(), user.full_name,
            str(state.get("category", "")), str(state.get("text", "")),
            str(state.get("key", "")), context.language)
    except MeetingError as error:
        MEETINGS.drop(context)
        await _alert(update, _refusal(context, error) if error.reason != "not_supervisor"
                     else context.t("You no longer hold the supervisor role; nothing was "
                                    "stored."))
        return END
    await MEETINGS.pressed(update, context)
    MEETINGS.drop(context)
    return END


# ---------------------------------------------------------------- listings

def _answer_name(context: SunboxContext, entry: RosterEntry | None) -> str:
    t = context.t
    if entry is None or entry.answer is None:
        return t("not given yet")
    if entry.answer == "attend":
        return t("you will attend")
    return t("you cannot attend ({reason})").format(reason=entry.reason or "—")


def _line(context: SunboxContext, view: View) -> str:
    """One meeting in a list."""
    t = context.t
    meeting = view.meeting
    head = t("• {when} · {title} · {place}").format(
        when=_when(context, meeting), title=_title(context, meeting), place=meeting.place)
    lines = [head]
    if meeting.status == "held":
        present = sum(1 for e in view.roster if e.attended)
        held = context.tn("  Held: {present} of {total} supervisor attended.",
                          "  Held: {present} of {total} supervisors attended.",
                          len(view.roster)).format(present=present, total=len(view.roster))
        if meeting.missing_reported_at is not None:
            held += " " + t("(recorded late)")
        lines.append(held)
        if meeting.minutes:
            excerpt = " ".join(meeting.minutes.split())
            if len(excerpt) > EXCERPT:
                excerpt = excerpt[:EXCERPT] + "…"
            lines.append(t("  Minutes: {excerpt}").format(excerpt=excerpt))
        elif meeting.minutes_file_id:
            lines.append(t("  Minutes: a file (see the details)"))
        if view.issues:
            lines.append(t("  Issues filed as cases: {numbers}").format(
                numbers=", ".join(i.number for i in view.issues)))
    elif meeting.starts_at <= context.runtime.clock.now():
        if meeting.missing_reported_at is not None:
            lines.append(t("  No record in time: reported to the supervision group."))
        else:
            lines.append(t("  Not recorded yet."))
    else:
        coming = sum(1 for e in view.roster if e.answer == "attend")
        absent = sum(1 for e in view.roster if e.answer == "absent")
        silent = sum(1 for e in view.roster if e.answer is None)
        lines.append(t("  Answers: {coming} will attend, {absent} cannot, {silent} not yet.")
                     .format(coming=coming, absent=absent, silent=silent))
        if view.mine is not None or view.may_answer:
            lines.append(t("  Your answer: {answer}").format(
                answer=_answer_name(context, view.mine)))
    return "\n".join(lines)


def _buttons(context: SunboxContext, view: View) -> list[InlineKeyboardButton]:
    """What the viewer can do with a meeting: details, answer, record, file an issue."""
    t = context.t
    meeting = view.meeting
    day = meeting.starts_at.astimezone(context.runtime.config.general.tz).strftime("%m-%d")
    row = [button(t("ℹ {date}").format(date=day), f"mtg:{meeting.id}:show")]
    if view.may_answer:
        row += [button(t("✅ Attend"), f"mtg:{meeting.id}:yes"),
                button(t("❌ Cannot"), f"mtg:{meeting.id}:no")]
    elif view.organizer and meeting.status == "scheduled" and (
            meeting.starts_at <= context.runtime.clock.now()):
        row.append(button(t("📝 Record"), f"mtg:{meeting.id}:rec"))
    elif view.organizer and meeting.status == "held":
        row.append(button(t("➕ Issue"), f"mtg:{meeting.id}:iss"))
    return row


async def meetings_command(update: Update, context: SunboxContext) -> None:
    """/meetings: upcoming and past meetings of one's organizations."""
    t = context.t
    found = await meetings.my_meetings(context.runtime, context.require_person().telegram_id)
    if found is None:
        await _reply(update, context, t(
            "You have no meetings to follow: they are for supervisors, unit heads, meeting "
            "organizers and administrators."))
        return
    upcoming, past = found
    lines = [t("📅 Upcoming meetings:")]
    lines += [_line(context, v) for v in upcoming] or [t("none")]
    lines += ["", t("🗂 Past meetings:")]
    lines += [_line(context, v) for v in past] or [t("none")]
    rows = [_buttons(context, v) for v in (*upcoming, *past)]
    await _reply(update, context, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


async def details_pressed(update: Update, context: SunboxContext) -> None:
    """One meeting in full: attendance, minutes (and their file), issues."""
    query = update.callback_query
    assert query is not None
    try:
        view = await meetings.details(context.runtime, _meeting_id(update),
                                      context.require_person().telegram_id)
    except MeetingError as error:
        await _alert(update, _refusal(context, error))
        return
    await answer_query(query)
    t = context.t
    meeting = view.meeting
    lines = [t("📅 The {title}").format(title=_title(context, meeting)),
             t("When: {when}").format(when=_when(context, meeting)),
             t("Place: {place}").format(place=meeting.place), ""]
    if meeting.status == "held":
        lines.append(meetings.presence_text(t, view.roster))
        minutes = meeting.minutes or ""
        if len(minutes) > MINUTES_SHOWN:
            minutes = minutes[:MINUTES_SHOWN] + "…"
        lines += ["", t("Minutes:"), minutes or t("(in the file above)")]
        if view.issues:
            lines += ["", t("Issues filed as cases: {numbers}").format(
                numbers=", ".join(i.number for i in view.issues))]
    else:
        lines.append(meetings.attendance_text(t, view.roster))
        if view.mine is not None:
            lines += ["", t("Your answer: {answer}").format(
                answer=_answer_name(context, view.mine))]
    user = update.effective_user
    assert user is not None
    if meeting.status == "held" and meeting.minutes_file_id:
        await send_kept(context, user.id, meeting.minutes_file_kind or "document",
                        meeting.minutes_file_id)
    actions = _buttons(context, view)[1:]
    await _reply(update, context, "\n".join(lines),
                 InlineKeyboardMarkup([actions]) if actions else None)


async def supervisors_command(update: Update, context: SunboxContext) -> None:
    """/supervisors [unit]: a unit's supervisors, for its head and administrators."""
    t = context.t
    args = context.args or []
    if len(args) > 1:
        await _reply(update, context, t("Usage: /supervisors [unit]"))
        return
    unit_id = args[0].lower() if args else None
    try:
        lists = await meetings.supervisor_lists(context.runtime,
                                                context.require_person().telegram_id, unit_id)
    except MeetingError as error:
        messages = {
            "not_allowed": N_("Only administrators and unit heads can list supervisors."),
            "not_yours": N_("You can list the supervisors of your own units only."),
            "unknown_unit": N_('Unknown unit "{unit}".'),
        }
        await _reply(update, context, t(messages[error.reason]).format(unit=unit_id))
        return
    if not lists:
        await _reply(update, context, t(
            "No supervisors yet. An administrator invites one with /invite supervisor <unit>."))
        return
    lines: list[str] = []
    for unit, members in lists:
        lines.append(t("{unit}:").format(unit=unit_name(context.runtime, unit,
                                                        context.language)))
        for member in members:
            lines.append(t("• {name} (Telegram id {telegram_id}): attended {attended} of "
                           "{recorded} recorded meetings").format(
                name=member.name, telegram_id=member.telegram_id, attended=member.attended,
                recorded=member.recorded))
        if not members:
            lines.append(t("  none yet"))
    await _reply(update, context, "\n".join(lines))


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
