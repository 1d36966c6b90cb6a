"""What supervisors raise, filed as cases: an issue raised at a held meeting (who raised it →
category → text, filed at once), and ``/finding``, a supervisor's own signed finding
(category → text → confirm). Both pick the category and ask for the text the same way."""

from __future__ import annotations

import uuid
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Update

from bot.i18n import N_
from bot.services import meetings
from bot.services.meetings import MeetingError
from handlers.context import SunboxContext, answer_query
from handlers.flow import END, Next, refuse_button
from handlers.flow_data import Slot
from handlers.keyboards import button
from handlers.meetings_flow import (
    FIND_CATEGORY,
    FIND_CONFIRM,
    FIND_TEXT,
    FINDING,
    INVALID,
    ISSUE,
    ISSUE_CATEGORY,
    ISSUE_TEXT,
    ISSUE_WHO,
    ISSUES,
    MEETINGS,
    CaseDraft,
    FindingDraft,
    IssueDraft,
    alert,
    checked,
    length_ok,
    meeting_id,
    refusal_text,
    title,
    typed,
    when,
)
from handlers.render import category_name, unit_name

C = TypeVar("C", bound=CaseDraft)

DESCRIBE_ISSUE = N_("It will go to: {unit}. Describe the issue as it was raised ({min}–{max} "
                    "characters).")
DESCRIBE_FINDING = N_("It will go to: {unit}. Describe what you found: what, where, when "
                      "({min}–{max} characters).")


async def _category_chosen(update: Update, context: SunboxContext, prefix: str,
                           describe: str, slot: Slot[C]) -> bool:
    """The area (``<prefix>:cat:<id>``), which routes the case; then ask for its text
    (``describe``, with the unit and the length limits). False: a stale button."""
    category = await MEETINGS.category_chosen(update, context, prefix)
    if category is None:
        return False
    with slot.edit(context) as draft:
        draft.category = category.id
    await MEETINGS.ask_text(update, context, context.t(describe), unit=unit_name(
        context.runtime, category.unit, context.language))
    return True


async def _text_ok(update: Update, context: SunboxContext) -> str | None:
    """The case's text when its length is within ``[limits]`` (else the writer is told)."""
    text = typed(update)
    if await length_ok(update, context, text, context.runtime.config.limits.text_min_chars):
        return text
    return None


# ---------------------------------------------------------------- issues

async def issue_pressed(update: Update, context: SunboxContext) -> Next:
    """File an issue raised at a held meeting: who raised it?"""
    query = update.callback_query
    assert query is not None
    found = await checked(update, context, meetings.check_issue(
        context.runtime, meeting_id(update), context.require_person().telegram_id))
    if found is None:
        return None
    meeting, roster = found
    if not roster:
        await alert(update, context.t("No supervisors are on this meeting's list."))
        return None
    await answer_query(query)
    ISSUE.put(context, IssueDraft(meeting_id=meeting.id, key=uuid.uuid4().hex))
    ordered = sorted(roster, key=lambda e: (not e.attended, e.telegram_id))
    rows = [[button(e.name, f"mti:w:{e.person_id}")] for e in ordered]
    rows.append(MEETINGS.cancel_row(context))
    await MEETINGS.send(update, context, context.t(
        "An issue raised at the {title} of {when}. Which supervisor raised it? They will be "
        "its reporter and hear back.").format(title=title(context, meeting),
                                              when=when(context, meeting)),
        InlineKeyboardMarkup(rows))
    return ISSUE_WHO


async def issue_who(update: Update, context: SunboxContext) -> Next:
    """The supervisor who raised it; then the area."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = ISSUE.get(context)
    found = await checked(update, context, meetings.check_issue(
        context.runtime, draft.meeting_id, context.require_person().telegram_id))
    if found is None:
        return None
    _, roster = found
    person_id = int(query.data.rsplit(":", 1)[1])
    if person_id not in {e.person_id for e in roster}:
        await refuse_button(update, context)
        return None
    await MEETINGS.pressed(update, context)
    draft.person = person_id
    ISSUE.put(context, draft)
    await MEETINGS.ask_category(update, context, "mti")
    return ISSUE_CATEGORY


async def issue_category(update: Update, context: SunboxContext) -> Next:
    """The area, which routes the case; then the text."""
    chosen = await _category_chosen(update, context, "mti", DESCRIBE_ISSUE, ISSUE)
    return ISSUE_TEXT if chosen else None


async def issue_text(update: Update, context: SunboxContext) -> Next:
    """The issue's text: filed at once."""
    text = await _text_ok(update, context)
    if text is None:
        return ISSUE_TEXT
    draft = ISSUE.take(context) or IssueDraft()
    try:
        # The receipt, with Another issue / Finish, is owed with the case (outbox).
        await meetings.file_issue(
            context.runtime, draft.meeting_id, context.require_person(), draft.person,
            draft.category, text, draft.key, context.language)
    except MeetingError as error:
        await MEETINGS.send(update, context, refusal_text(context, error))
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
    FINDING.put(context, FindingDraft(key=uuid.uuid4().hex))
    await MEETINGS.ask_category(update, context, "fnd", context.t(
        "A finding as a supervisor: a suggestion signed with your name and marked as coming "
        "from a supervisor. Which area does it concern?"))
    return FIND_CATEGORY


async def finding_category(update: Update, context: SunboxContext) -> Next:
    """The area, which routes the finding; then the text."""
    chosen = await _category_chosen(update, context, "fnd", DESCRIBE_FINDING, FINDING)
    return FIND_TEXT if chosen else None


async def finding_text(update: Update, context: SunboxContext) -> Next:
    """The finding's text; then the summary to confirm."""
    text = await _text_ok(update, context)
    if text is None:
        return FIND_TEXT
    user = update.effective_user
    assert user is not None
    with FINDING.edit(context) as draft:
        draft.text = text
    try:
        unit = context.runtime.config.category(draft.category).unit
    except KeyError:
        MEETINGS.drop(context)
        await MEETINGS.send(update, context, context.t(INVALID))
        return END
    t = context.t
    await MEETINGS.send(update, context, t(
        "Please check your finding before filing it:\nCategory: {category}\nUnit: {unit}\n"
        "Signed: {name}\n\n{text}").format(
        category=category_name(context.runtime, draft.category, context.language),
        unit=unit_name(context.runtime, unit, context.language), name=user.full_name,
        text=text), InlineKeyboardMarkup([[button(t("✅ Confirm"), "fnd:ok")],
                                          MEETINGS.cancel_row(context)]))
    return FIND_CONFIRM


async def finding_confirmed(update: Update, context: SunboxContext) -> Next:
    """Store the finding (committed before the receipt is shown)."""
    user = update.effective_user
    assert user is not None
    draft = FINDING.get(context)
    try:
        # The receipt is owed with the case (outbox).
        await meetings.file_finding(
            context.runtime, context.require_person(), user.full_name, draft.category,
            draft.text, draft.key, context.language)
    except MeetingError as error:
        MEETINGS.drop(context)
        await alert(update, refusal_text(context, error) if error.reason != "not_supervisor"
                    else context.t("You no longer hold the supervisor role; nothing was "
                                   "stored."))
        return END
    await MEETINGS.pressed(update, context)
    MEETINGS.drop(context)
    return END
