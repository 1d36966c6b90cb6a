"""Attendance before a meeting: the reminders that ask each supervisor whether they
attend, the attendance list to the organizer the day before, and the answers."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import Translate
from bot.runtime import Runtime
from bot.services import notify
from bot.services.meetings.roster import (
    NAME_MAX_CHARS,
    MeetingError,
    attendance_text,
    is_supervisor,
    meeting_title,
    meeting_when,
    organizers,
    person_name,
    roster_of,
    scope,
    supervisors,
)
from storage import directory, people
from storage import meetings as repo
from storage.meetings import Meeting
from storage.models import Person
from storage.sql import Conn

# ----------------------------------------------------------------------------- reminders

def _answer_buttons(meeting_id: int) -> notify.RenderButtons:
    return lambda t: [[(t("✅ I will attend"), f"mtg:{meeting_id}:yes"),
                       (t("❌ I cannot attend"), f"mtg:{meeting_id}:no")]]


def remind(conn: Conn, runtime: Runtime, meeting: Meeting, *, now: datetime) -> None:
    """The ``reminder`` alarm: each supervisor invited is asked whether they attend."""
    answers = {a.person_id: a.answer for a in repo.attendance(conn, meeting.id)}
    for member in supervisors(conn, runtime, meeting, reachable=True):
        given = answers.get(member.person_id)

        def render(t: Translate, language: str, given: str | None = given) -> str:
            text = t("📅 Reminder: the {title} is on {when} at {place}. Will you attend?").format(
                title=meeting_title(runtime, meeting, t, language),
                when=meeting_when(runtime, meeting, t), place=meeting.place)
            if given == "attend":
                text += "\n" + t("Your answer so far: you will attend.")
            elif given == "absent":
                text += "\n" + t("Your answer so far: you cannot attend.")
            return text

        recipient = notify.Recipient(member.telegram_id, notify.staff_language(runtime, member))
        notify.send(conn, runtime, [recipient], render,
                    buttons=_answer_buttons(meeting.id), now=now)


def send_summary(conn: Conn, runtime: Runtime, meeting: Meeting, *, now: datetime) -> None:
    """The ``summary`` alarm: the attendance list to the organizer."""
    roster = roster_of(conn, runtime, meeting)
    notify.send(conn, runtime, organizers(conn, runtime, meeting),
                lambda t, language: t(
                          "📋 Coming up: the {title}, {when}, at {place}.\n\n{attendance}\n\n"
                          "After the meeting, record it (who attended, the minutes, issues "
                          "raised) with /meetings."
                      ).format(title=meeting_title(runtime, meeting, t, language),
                               when=meeting_when(runtime, meeting, t), place=meeting.place,
                               attendance=attendance_text(t, roster)), now=now)


# ----------------------------------------------------------------------------- answers

def _checked_for_answer(conn: Conn, runtime: Runtime, meeting_id: int,
                        telegram_id: int, *, now: datetime) -> Meeting:
    meeting = repo.get(conn, meeting_id)
    if meeting is None or meeting.status == "cancelled":
        raise MeetingError("not_found")
    roles = directory.memberships_of(conn, telegram_id)
    if not is_supervisor(roles, scope(runtime.config, meeting)):
        raise MeetingError("not_supervisor")
    if meeting.status != "scheduled" or now >= meeting.starts_at:
        raise MeetingError("past")
    return meeting


async def check_answer(runtime: Runtime, meeting_id: int, telegram_id: int) -> Meeting:
    """May this person answer for this meeting now? (``MeetingError`` if not)."""
    return await runtime.db.read(_checked_for_answer, runtime, meeting_id, telegram_id,
                                 now=runtime.clock.now())


async def answer(runtime: Runtime, meeting_id: int, person: Person, name: str, attend: bool,
                 reason: str | None = None) -> Meeting:
    """A supervisor answers; the organizer gets the attendance list as it stands now."""
    now = runtime.clock.now()
    if not attend and not (reason or "").strip():
        raise MeetingError("invalid")
    shown = " ".join(name.split())[:NAME_MAX_CHARS]

    def work(conn: Conn) -> Meeting:
        meeting = _checked_for_answer(conn, runtime, meeting_id, person.telegram_id, now=now)
        if shown and shown != person.display_name:
            people.set_display_name(conn, person.id, shown)
        given = ("attend", None) if attend else ("absent", (reason or "").strip())
        before = next(((a.answer, a.reason) for a in repo.attendance(conn, meeting.id)
                       if a.person_id == person.id), None)
        if before == given:
            return meeting  # pressed again: the organizer knows already
        repo.set_answer(conn, meeting.id, person.id, given[0], given[1], now)
        roster = roster_of(conn, runtime, meeting)
        who = person_name(shown or person.display_name, person.telegram_id)

        def render(t: Translate, language: str) -> str:
            said = t("will attend") if attend else t("cannot attend ({reason})").format(
                reason=(reason or "").strip())
            return t("🗳 {name} {answer}: the {title}, {when}.\n\n{attendance}").format(
                name=who, answer=said, title=meeting_title(runtime, meeting, t, language),
                when=meeting_when(runtime, meeting, t), attendance=attendance_text(t, roster))

        notify.send(conn, runtime, organizers(conn, runtime, meeting), render, now=now)
        return meeting
    return await runtime.db.write(work)
