"""Supervisors' meetings: the materialised schedule, attendance, records and issues."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from storage.models import from_db_time, to_db_time
from storage.sql import Conn, Row


@dataclass(frozen=True)
class PlannedMeeting:
    """One meeting as the configured schedule yields it."""

    schedule_key: str
    slot: date  # the date the schedule names, before any shift to a working day
    unit_id: str
    kind: str
    starts_at: datetime
    place: str
    organizer: str


@dataclass(frozen=True)
class Meeting:
    id: int
    schedule_key: str
    slot: date
    unit_id: str
    kind: str
    starts_at: datetime
    place: str
    organizer: str
    status: str  # scheduled | held | cancelled
    created_at: datetime
    recorded_by: int | None = None
    recorded_at: datetime | None = None
    minutes: str | None = None
    minutes_file_kind: str | None = None
    minutes_file_id: str | None = None
    minutes_file_name: str | None = None
    missing_reported_at: datetime | None = None


@dataclass(frozen=True)
class Attendance:
    """A supervisor's answer before a meeting and, once it is recorded, their presence."""

    meeting_id: int
    person_id: int
    telegram_id: int
    answer: str | None  # attend | absent | None (no answer)
    reason: str | None
    attended: bool | None  # None: not recorded
    display_name: str | None


@dataclass(frozen=True)
class Issue:
    """An issue raised at a meeting, filed as a case."""

    meeting_id: int
    case_id: int
    number: str
    person_id: int


def _time(text: str | None) -> datetime | None:
    return from_db_time(text) if text else None


def _meeting(row: Row) -> Meeting:
    return Meeting(
        id=row["id"], schedule_key=row["schedule_key"], slot=date.fromisoformat(row["slot"]),
        unit_id=row["unit_id"], kind=row["kind"], starts_at=from_db_time(row["starts_at"]),
        place=row["place"], organizer=row["organizer"], status=row["status"],
        created_at=from_db_time(row["created_at"]), recorded_by=row["recorded_by"],
        recorded_at=_time(row["recorded_at"]), minutes=row["minutes"],
        minutes_file_kind=row["minutes_file_kind"], minutes_file_id=row["minutes_file_id"],
        minutes_file_name=row["minutes_file_name"],
        missing_reported_at=_time(row["missing_reported_at"]),
    )


def get(conn: Conn, meeting_id: int) -> Meeting | None:
    with conn.execute("SELECT * FROM meetings WHERE id = ?", (meeting_id,)) as cur:
        row = cur.fetchone()
    return _meeting(row) if row else None


def upsert(conn: Conn, planned: PlannedMeeting, now: datetime
                 ) -> tuple[Meeting, str]:
    """Store a planned meeting once per schedule and slot.

    Returns the row and what happened: ``created``, ``changed`` (time, place, organizer or
    unit moved; a cancelled meeting scheduled again) or ``same``. A recorded meeting is
    never changed.
    """
    values = (planned.unit_id, planned.kind, to_db_time(planned.starts_at), planned.place,
              planned.organizer)
    with conn.execute(
        "SELECT * FROM meetings WHERE schedule_key = ? AND slot = ?",
        (planned.schedule_key, planned.slot.isoformat()),
    ) as cur:
        row = cur.fetchone()
    if row is None:
        meeting_id = conn.insert(
            "INSERT INTO meetings (schedule_key, slot, unit_id, kind, starts_at, place, "
            "organizer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (planned.schedule_key, planned.slot.isoformat(), *values, to_db_time(now)),
        )
        meeting = get(conn, meeting_id)
        assert meeting is not None
        return meeting, "created"
    existing = _meeting(row)
    stored = (row["unit_id"], row["kind"], row["starts_at"], row["place"], row["organizer"])
    if existing.status == "held" or (existing.status == "scheduled" and stored == values):
        return existing, "same"
    conn.execute(
        "UPDATE meetings SET unit_id = ?, kind = ?, starts_at = ?, place = ?, organizer = ?, "
        "status = 'scheduled' WHERE id = ?", (*values, existing.id))
    meeting = get(conn, existing.id)
    assert meeting is not None
    return meeting, "changed"


def upcoming_scheduled(conn: Conn, now: datetime) -> list[Meeting]:
    """Meetings still to come that nobody has recorded."""
    with conn.execute(
        "SELECT * FROM meetings WHERE status = 'scheduled' AND starts_at > ? "
        "ORDER BY starts_at, id", (to_db_time(now),),
    ) as cur:
        return [_meeting(r) for r in cur.fetchall()]


def cancel(conn: Conn, meeting_id: int) -> bool:
    """The schedule no longer yields this meeting; False if it was not scheduled."""
    cur = conn.execute(
        "UPDATE meetings SET status = 'cancelled' WHERE id = ? AND status = 'scheduled'",
        (meeting_id,))
    return cur.rowcount == 1


def _attendance(row: Row) -> Attendance:
    attended = row["attended"]
    return Attendance(row["meeting_id"], row["person_id"], row["telegram_id"], row["answer"],
                      row["reason"], None if attended is None else bool(attended),
                      row["display_name"])


def attendance(conn: Conn, meeting_id: int) -> list[Attendance]:
    """Every answer and presence recorded for a meeting."""
    with conn.execute(
        "SELECT a.*, p.telegram_id, p.display_name FROM meeting_attendance a "
        "JOIN people p ON p.id = a.person_id WHERE a.meeting_id = ? ORDER BY p.telegram_id",
        (meeting_id,),
    ) as cur:
        return [_attendance(r) for r in cur.fetchall()]


def set_answer(conn: Conn, meeting_id: int, person_id: int, answer: str,
               reason: str | None, now: datetime) -> None:
    """A supervisor says they will attend or not (the last answer counts)."""
    conn.execute(
        "INSERT INTO meeting_attendance (meeting_id, person_id, answer, reason, answered_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (meeting_id, person_id) DO UPDATE SET "
        "answer = excluded.answer, reason = excluded.reason, answered_at = excluded.answered_at",
        (meeting_id, person_id, answer, reason, to_db_time(now)),
    )


def record(
    conn: Conn, meeting_id: int, person_id: int, now: datetime,
    minutes: str | None, file: tuple[str, str, str | None] | None,
    presence: Iterable[tuple[int, bool]],
) -> bool:
    """Mark a scheduled meeting held, with its minutes and who attended; False if it was
    not scheduled (already recorded, or cancelled)."""
    kind, file_id, file_name = file if file else (None, None, None)
    cur = conn.execute(
        "UPDATE meetings SET status = 'held', recorded_by = ?, recorded_at = ?, minutes = ?, "
        "minutes_file_kind = ?, minutes_file_id = ?, minutes_file_name = ? "
        "WHERE id = ? AND status = 'scheduled'",
        (person_id, to_db_time(now), minutes, kind, file_id, file_name, meeting_id),
    )
    if cur.rowcount != 1:
        return False
    conn.executemany(
        "INSERT INTO meeting_attendance (meeting_id, person_id, attended) VALUES (?, ?, ?) "
        "ON CONFLICT (meeting_id, person_id) DO UPDATE SET attended = excluded.attended",
        [(meeting_id, pid, int(present)) for pid, present in presence],
    )
    return True


def mark_missing(conn: Conn, meeting_id: int, now: datetime) -> bool:
    """No record came in time: mark it (once); False if recorded or already marked."""
    cur = conn.execute(
        "UPDATE meetings SET missing_reported_at = ? WHERE id = ? AND status = 'scheduled' "
        "AND missing_reported_at IS NULL", (to_db_time(now), meeting_id))
    return cur.rowcount == 1


def add_issue(conn: Conn, meeting_id: int, case_id: int, person_id: int,
              now: datetime) -> None:
    conn.execute(
        "INSERT INTO meeting_issues (meeting_id, case_id, person_id, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (meeting_id, case_id, person_id, to_db_time(now)))


def issues(conn: Conn, meeting_id: int) -> list[Issue]:
    with conn.execute(
        "SELECT i.meeting_id, i.case_id, c.number, i.person_id FROM meeting_issues i "
        "JOIN cases c ON c.id = i.case_id WHERE i.meeting_id = ? ORDER BY i.rowid",
        (meeting_id,),
    ) as cur:
        return [Issue(r[0], r[1], r[2], r[3]) for r in cur.fetchall()]


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def of_units(
    conn: Conn, unit_ids: Sequence[str], now: datetime, *, upcoming: bool,
    limit: int,
) -> list[Meeting]:
    """The next (or the latest past) meetings of some units, not cancelled."""
    if not unit_ids:
        return []
    if upcoming:
        where, order = "starts_at > ?", "starts_at, id"
    else:
        where, order = "starts_at <= ?", "starts_at DESC, id DESC"
    with conn.execute(
        f"SELECT * FROM meetings WHERE status != 'cancelled' AND unit_id IN "
        f"({_marks(unit_ids)}) AND {where} ORDER BY {order} LIMIT ?",
        (*unit_ids, to_db_time(now), limit),
    ) as cur:
        return [_meeting(r) for r in cur.fetchall()]


def later_reminder_due(conn: Conn, meeting_id: int, fire_at: datetime,
                       now: datetime) -> bool:
    """Whether a later reminder of the same meeting is due too (found late, after a stop)."""
    with conn.execute(
        "SELECT 1 FROM alarms WHERE subject = 'meeting' AND subject_id = ? "
        "AND kind = 'reminder' AND fire_at > ? AND fire_at <= ? LIMIT 1",
        (meeting_id, to_db_time(fire_at), to_db_time(now)),
    ) as cur:
        return cur.fetchone() is not None


@dataclass(frozen=True)
class Figures:
    """Meetings of one unit in a period, for the assessment."""

    due: int  # scheduled meetings whose record is in, or overdue
    held: int  # recorded in time
    present: int  # supervisors recorded present at meetings held
    expected: int  # supervisors recorded (present or not) at meetings held


def figures(conn: Conn, unit_ids: Sequence[str], start: datetime,
            end: datetime) -> dict[str, Figures]:
    """Per unit, meetings starting in ``[start, end)`` (see :class:`Figures`)."""
    if not unit_ids:
        return {}
    with conn.execute(
        "SELECT m.unit_id, "
        "SUM(CASE WHEN m.status = 'held' OR m.missing_reported_at IS NOT NULL THEN 1 ELSE 0 "
        "END) AS due, "
        "SUM(CASE WHEN m.status = 'held' AND m.missing_reported_at IS NULL THEN 1 ELSE 0 END) "
        "AS held, "
        "SUM(CASE WHEN m.status = 'held' AND m.missing_reported_at IS NULL THEN (SELECT "
        "COUNT(*) FROM meeting_attendance a WHERE a.meeting_id = m.id AND a.attended = 1) "
        "ELSE 0 END) AS present, "
        "SUM(CASE WHEN m.status = 'held' AND m.missing_reported_at IS NULL THEN (SELECT "
        "COUNT(*) FROM meeting_attendance a WHERE a.meeting_id = m.id AND a.attended IS NOT "
        "NULL) ELSE 0 END) AS expected "
        f"FROM meetings m WHERE m.status != 'cancelled' AND m.unit_id IN ({_marks(unit_ids)}) "
        "AND m.starts_at >= ? AND m.starts_at < ? GROUP BY m.unit_id",
        (*unit_ids, to_db_time(start), to_db_time(end)),
    ) as cur:
        rows = cur.fetchall()
    return {r["unit_id"]: Figures(r["due"], r["held"], r["present"], r["expected"])
            for r in rows}


def presence_of(conn: Conn, person_ids: Sequence[int]
                      ) -> dict[int, tuple[int, int]]:
    """Per supervisor: (meetings attended, meetings recorded with them on the list)."""
    if not person_ids:
        return {}
    with conn.execute(
        "SELECT person_id, SUM(attended), COUNT(*) FROM meeting_attendance "
        f"WHERE attended IS NOT NULL AND person_id IN ({_marks(person_ids)}) "
        "GROUP BY person_id", tuple(person_ids),
    ) as cur:
        return {r[0]: (int(r[1]), int(r[2])) for r in cur.fetchall()}
