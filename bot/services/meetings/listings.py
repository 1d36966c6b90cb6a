"""What people read of the meetings: their organizations' meetings (``/meetings``), one
meeting in full, the supervisors' attendance (``/supervisors``), and the assessment's
figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.config import Config
from bot.runtime import Runtime
from bot.services.meetings.roster import (
    MeetingError,
    RosterEntry,
    is_organizer,
    is_supervisor,
    person_name,
    roster_of,
    scope,
)
from storage import directory
from storage import meetings as repo
from storage.meetings import Issue, Meeting
from storage.models import Membership
from storage.sql import Conn


@dataclass(frozen=True)
class _Visibility:
    """Whose meetings a person sees: every meeting of ``units``, and the symposiums of
    ``symposiums`` (the units above a supervisor's organization)."""

    units: frozenset[str]
    symposiums: frozenset[str]

    def all_units(self) -> list[str]:
        return sorted(self.units | self.symposiums)

    def sees(self, meeting: Meeting) -> bool:
        return meeting.unit_id in self.units or (
            meeting.kind == "symposium" and meeting.unit_id in self.symposiums)


def _visibility(config: Config, roles: Sequence[Membership], telegram_id: int
                ) -> _Visibility | None:
    """What a person sees (``None``: everything, for administrators and the supervision
    group): a supervisor their organization's meetings and the symposiums above it, a head
    the meetings of their units and those below, an organizer the meetings they organize."""
    if any(m.role in ("admin", "supervision") for m in roles):
        return None
    units: set[str] = set()
    symposiums: set[str] = set()
    for m in roles:
        try:
            if m.role == "supervisor":
                units.add(m.unit_id)
                symposiums.update(config.unit_path(m.unit_id))
            elif m.role == "head":
                units.add(m.unit_id)
                units.update(u.id for u in config.descendants(m.unit_id))
        except KeyError:
            continue
    heads = {m.unit_id for m in roles if m.role == "head"}
    for schedule in config.meetings:
        if schedule.organizer_id == telegram_id or schedule.organizer_unit in heads:
            units.add(schedule.unit)
    return _Visibility(frozenset(units), frozenset(symposiums))


@dataclass(frozen=True)
class View:
    """A meeting as someone looks at it."""

    meeting: Meeting
    roster: list[RosterEntry]
    issues: list[Issue]
    mine: RosterEntry | None  # the viewer on the list (a supervisor), if they are
    organizer: bool  # the viewer may record it and file its issues
    may_answer: bool  # the viewer may answer for it now


def _view(conn: Conn, runtime: Runtime, meeting: Meeting,
          roles: Sequence[Membership], telegram_id: int, *, now: datetime) -> View:
    roster = roster_of(conn, runtime, meeting)
    mine = next((e for e in roster if e.telegram_id == telegram_id), None)
    may_answer = (meeting.status == "scheduled" and now < meeting.starts_at
                  and is_supervisor(roles, scope(runtime.config, meeting)))
    return View(meeting, roster, repo.issues(conn, meeting.id), mine,
                is_organizer(conn, meeting, telegram_id), may_answer)


async def my_meetings(runtime: Runtime, telegram_id: int, limit: int = 5
                      ) -> tuple[list[View], list[View]] | None:
    """(upcoming, past) meetings of a person's organizations; ``None`` if they have none."""
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[list[View], list[View]] | None:
        roles = directory.memberships_of(conn, telegram_id)
        seen = _visibility(runtime.config, roles, telegram_id)
        units = [u.id for u in runtime.config.units] if seen is None else seen.all_units()
        if not units:
            return None
        found: list[list[View]] = []
        for upcoming in (True, False):
            rows = repo.of_units(conn, units, now, upcoming=upcoming, limit=limit * 4)
            mine = [m for m in rows if seen is None or seen.sees(m)][:limit]
            found.append([_view(conn, runtime, m, roles, telegram_id, now=now) for m in mine])
        return found[0], found[1]
    return await runtime.db.read(work)


async def details(runtime: Runtime, meeting_id: int, telegram_id: int) -> View:
    """One meeting in full, for whoever may see it."""
    now = runtime.clock.now()

    def work(conn: Conn) -> View:
        meeting = repo.get(conn, meeting_id)
        if meeting is None or meeting.status == "cancelled":
            raise MeetingError("not_found")
        roles = directory.memberships_of(conn, telegram_id)
        seen = _visibility(runtime.config, roles, telegram_id)
        if seen is not None and not seen.sees(meeting) and not is_organizer(
                conn, meeting, telegram_id):
            raise MeetingError("not_found")
        return _view(conn, runtime, meeting, roles, telegram_id, now=now)
    return await runtime.db.read(work)


@dataclass(frozen=True)
class SupervisorLine:
    telegram_id: int
    name: str
    attended: int  # meetings recorded with them present
    recorded: int  # meetings recorded with them on the list


async def supervisor_lists(runtime: Runtime, telegram_id: int, unit_id: str | None
                           ) -> list[tuple[str, list[SupervisorLine]]]:
    """``/supervisors``: per unit, its supervisors with their attendance so far.

    Administrators see every unit, heads their own units and those below
    (``MeetingError('not_allowed')`` for anyone else, ``'not_yours'`` for a unit outside
    theirs, ``'unknown_unit'``). Without ``unit_id`` only units with supervisors are listed.
    """
    config = runtime.config
    if unit_id is not None:
        try:
            config.unit(unit_id)
        except KeyError as exc:
            raise MeetingError("unknown_unit") from exc

    def work(conn: Conn) -> list[tuple[str, list[SupervisorLine]]]:
        roles = directory.memberships_of(conn, telegram_id)
        if any(m.role == "admin" for m in roles):
            allowed = [u.id for u in config.units]
        else:
            allowed = []
            for head in (m.unit_id for m in roles if m.role == "head"):
                try:
                    allowed += [head, *(u.id for u in config.descendants(head))]
                except KeyError:
                    continue
            if not allowed:
                raise MeetingError("not_allowed")
        if unit_id is not None and unit_id not in allowed:
            raise MeetingError("not_yours")
        result: list[tuple[str, list[SupervisorLine]]] = []
        for unit in [unit_id] if unit_id else list(dict.fromkeys(allowed)):
            members = [m for m in directory.all_staff(conn, unit) if m.role == "supervisor"]
            if not members and unit_id is None:
                continue
            stats = repo.presence_of(conn, [m.person_id for m in members])
            result.append((unit, [SupervisorLine(
                m.telegram_id, person_name(m.display_name, m.telegram_id),
                *stats.get(m.person_id, (0, 0))) for m in members]))
        return result
    return await runtime.db.read(work)


async def meeting_figures(runtime: Runtime, unit_ids: Sequence[str], first_day: date,
                          last_day: date) -> dict[str, tuple[int, int, float | None]]:
    """Per unit: (meetings held, meetings scheduled, supervisor attendance rate) for the
    meetings that started from ``first_day`` to ``last_day`` (local dates, inclusive).

    *Scheduled* counts the meetings whose record is in or overdue (one still within its
    record window is not counted yet); *held* those recorded in time (a meeting reported
    as missing its record counts as not held, even if recorded later). The attendance rate
    is the share of supervisors recorded present at the meetings held (``None`` without
    any). Every unit asked for is in the result.
    """
    tz = runtime.config.general.tz
    start = datetime.combine(first_day, time(0), tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    found = await runtime.db.read(repo.figures, list(unit_ids), start, end)
    result: dict[str, tuple[int, int, float | None]] = {}
    for unit_id in unit_ids:
        figures = found.get(unit_id)
        if figures is None:
            result[unit_id] = (0, 0, None)
        else:
            rate = figures.present / figures.expected if figures.expected else None
            result[unit_id] = (figures.held, figures.due, rate)
    return result
