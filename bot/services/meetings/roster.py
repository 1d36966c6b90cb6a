"""Who a meeting concerns and how it reads: the units it invites, its supervisors and
organizers, its list (who answered what, who was recorded present), its title and time.

Everything else in the package builds on these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.config import Config
from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services import notify
from storage import directory
from storage import meetings as repo
from storage.meetings import Meeting
from storage.models import Membership, StaffMember
from storage.sql import Conn

#: Longest name a supervisor may give.
NAME_MAX_CHARS = 64

KIND_TITLES = {
    "monthly": N_("monthly supervisors' meeting of {unit}"),
    "symposium": N_("quarterly supervisors' symposium of {unit}"),
}


class MeetingError(Exception):
    """An action on a meeting that is not allowed now; ``reason`` is a stable code.

    ``not_found`` (no such meeting, or cancelled), ``not_supervisor`` (not a supervisor of
    the meeting's organization now), ``not_organizer``, ``past`` (answering after the
    start or the record), ``not_yet`` (recording before the start), ``recorded`` (recorded
    already), ``not_held`` (issues need a recorded meeting), ``invalid`` (bad input).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def scope(config: Config, meeting: Meeting) -> list[str]:
    """Units whose supervisors a meeting invites: a symposium reaches every unit below."""
    if meeting.kind != "symposium":
        return [meeting.unit_id]
    try:
        return [meeting.unit_id, *(u.id for u in config.descendants(meeting.unit_id))]
    except KeyError:
        return [meeting.unit_id]


def is_supervisor(roles: Iterable[Membership], units: Iterable[str] | None = None) -> bool:
    """Holds the supervisor role (in one of ``units``)."""
    wanted = None if units is None else set(units)
    return any(m.role == "supervisor" and (wanted is None or m.unit_id in wanted)
               for m in roles)


def is_organizer(conn: Conn, meeting: Meeting, telegram_id: int) -> bool:
    """Organizes the meeting: its named organizer, or a head of its organizing unit."""
    if meeting.organizer.isdigit():
        return int(meeting.organizer) == telegram_id
    unit = meeting.organizer.removeprefix("head:")
    return any(m.role == "head" and m.unit_id == unit
               for m in directory.memberships_of(conn, telegram_id))


def organizers(conn: Conn, runtime: Runtime, meeting: Meeting
                     ) -> list[notify.Recipient]:
    """Where the organizer hears of the meeting: the named person, or the unit's heads."""
    if meeting.organizer.isdigit():
        chat_id = int(meeting.organizer)
        return [notify.Recipient(chat_id, notify.chat_language(conn, runtime, chat_id))]
    unit = meeting.organizer.removeprefix("head:")
    return [notify.Recipient(m.telegram_id, notify.staff_language(runtime, m))
            for m in directory.unit_staff(conn, unit, ("head",))]


def supervisors(conn: Conn, runtime: Runtime, meeting: Meeting, *,
                reachable: bool) -> list[StaffMember]:
    """The supervisors a meeting invites, once each (``reachable``: not blocked)."""
    found: dict[int, StaffMember] = {}
    for unit_id in scope(runtime.config, meeting):
        if reachable:
            members = directory.unit_staff(conn, unit_id, ("supervisor",))
        else:
            members = [m for m in directory.all_staff(conn, unit_id)
                       if m.role == "supervisor"]
        for member in members:
            found.setdefault(member.person_id, member)
    return sorted(found.values(), key=lambda m: m.telegram_id)


def person_name(display_name: str | None, telegram_id: int) -> str:
    """A person as lists name them: their name, else ``#<telegram id>``."""
    return display_name or f"#{telegram_id}"


@dataclass(frozen=True)
class RosterEntry:
    """A supervisor on a meeting's list, with their answer and recorded presence."""

    person_id: int
    telegram_id: int
    name: str
    answer: str | None
    reason: str | None
    attended: bool | None


def roster_of(conn: Conn, runtime: Runtime, meeting: Meeting
                    ) -> list[RosterEntry]:
    """Today's supervisors of the meeting, plus anyone who answered or was recorded."""
    rows = {a.person_id: a for a in repo.attendance(conn, meeting.id)}
    entries: dict[int, RosterEntry] = {}
    if meeting.status == "scheduled":
        for member in supervisors(conn, runtime, meeting, reachable=False):
            row = rows.get(member.person_id)
            entries[member.person_id] = RosterEntry(
                member.person_id, member.telegram_id,
                person_name(member.display_name, member.telegram_id),
                row.answer if row else None, row.reason if row else None,
                row.attended if row else None)
    for row in rows.values():
        if row.person_id not in entries and (meeting.status == "scheduled"
                                             or row.attended is not None):
            entries[row.person_id] = RosterEntry(
                row.person_id, row.telegram_id, person_name(row.display_name, row.telegram_id),
                row.answer, row.reason, row.attended)
    return sorted(entries.values(), key=lambda e: e.telegram_id)


def meeting_title(runtime: Runtime, meeting: Meeting, t: Translate, language: str) -> str:
    """The title, e.g. "monthly supervisors' meeting of Beiguan Village", in the reader's
    language."""
    return t(KIND_TITLES[meeting.kind]).format(
        unit=notify.unit_name(runtime, meeting.unit_id, language))


def meeting_when(runtime: Runtime, meeting: Meeting, t: Translate) -> str:
    """The start, local, with the scheduled date when it moved to a working day."""
    text = notify.local_time(runtime, meeting.starts_at)
    if meeting.starts_at.astimezone(runtime.config.general.tz).date() != meeting.slot:
        return t("{time} (moved from {date}, not a working day)").format(
            time=text, date=meeting.slot.isoformat())
    return text


def attendance_text(t: Translate, roster: Sequence[RosterEntry]) -> str:
    """Who said they attend, who cannot (and why), who has not answered."""
    coming = [e.name for e in roster if e.answer == "attend"]
    absent = [e for e in roster if e.answer == "absent"]
    silent = [e.name for e in roster if e.answer is None]
    lines = [t("✅ Will attend ({count}): {names}").format(
        count=len(coming), names=", ".join(coming) or "—")]
    lines.append(t("❌ Cannot attend ({count}):").format(count=len(absent))
                 + ("" if absent else " —"))
    lines += [t("  • {name}: {reason}").format(name=e.name, reason=e.reason or "—")
              for e in absent]
    lines.append(t("⏳ No answer yet ({count}): {names}").format(
        count=len(silent), names=", ".join(silent) or "—"))
    return "\n".join(lines)


def presence_text(t: Translate, roster: Sequence[RosterEntry]) -> str:
    """Who was there, as recorded."""
    present = [e.name for e in roster if e.attended]
    away = [e.name for e in roster if e.attended is False]
    return "\n".join([
        t("Attended ({count}): {names}").format(count=len(present),
                                                names=", ".join(present) or "—"),
        t("Absent ({count}): {names}").format(count=len(away), names=", ".join(away) or "—"),
    ])
