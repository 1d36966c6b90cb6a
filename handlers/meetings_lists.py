"""What supervisors, heads and organizers read: ``/meetings`` (upcoming and past meetings of
one's organizations, with what one may do about each), a meeting's details, and
``/supervisors [unit]`` for unit heads and administrators."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import N_
from bot.services import meetings
from bot.services.meetings import MeetingError, RosterEntry, View
from handlers.context import SunboxContext, answer_query
from handlers.keyboards import button
from handlers.meetings_flow import checked, meeting_id, reply, title, when
from handlers.render import unit_name
from handlers.uploads import send_kept

EXCERPT = 80
MINUTES_SHOWN = 3000


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
        when=when(context, meeting), title=title(context, meeting), place=meeting.place)
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
        await reply(update, context, t(
            "You have no meetings to follow: they are for supervisors, unit heads, meeting "
            "organizers and administrators."))
        return
    upcoming, past = found
    lines = [t("📅 Upcoming meetings:")]
    lines += [_line(context, v) for v in upcoming] or [t("none")]
    lines += ["", t("🗂 Past meetings:")]
    lines += [_line(context, v) for v in past] or [t("none")]
    rows = [_buttons(context, v) for v in (*upcoming, *past)]
    await reply(update, context, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


async def details_pressed(update: Update, context: SunboxContext) -> None:
    """One meeting in full: attendance, minutes (and their file), issues."""
    query = update.callback_query
    assert query is not None
    view = await checked(update, context, meetings.details(
        context.runtime, meeting_id(update), context.require_person().telegram_id))
    if view is None:
        return
    await answer_query(query)
    t = context.t
    meeting = view.meeting
    lines = [t("📅 The {title}").format(title=title(context, meeting)),
             t("When: {when}").format(when=when(context, meeting)),
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
    await reply(update, context, "\n".join(lines),
                 InlineKeyboardMarkup([actions]) if actions else None)


async def supervisors_command(update: Update, context: SunboxContext) -> None:
    """/supervisors [unit]: a unit's supervisors, for its head and administrators."""
    t = context.t
    args = context.args or []
    if len(args) > 1:
        await reply(update, context, t("Usage: /supervisors [unit]"))
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
        await reply(update, context, t(messages[error.reason]).format(unit=unit_id))
        return
    if not lists:
        await reply(update, context, t(
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
    await reply(update, context, "\n".join(lines))
