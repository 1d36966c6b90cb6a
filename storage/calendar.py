"""What the working-day calendar must know: the latest live moment, and the deadlines
counted on Monday to Friday in a year it did not cover (``calendar_flags``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from storage.models import from_db_time, to_db_time
from storage.sql import Conn, Row

#: States whose answer deadline is live: ``bot.services.case_states.LIVE``, which storage
#: does not import (tests/services/test_case_properties.py holds the two equal).
LIVE_STATES = ("new", "accepted", "info_requested", "reopened")


@dataclass(frozen=True)
class CalendarFlag:
    case_id: int
    deadline: str
    due: datetime
    set_at: datetime
    days: int
    year: int


def _flag(row: Row) -> CalendarFlag:
    return CalendarFlag(row["case_id"], row["deadline"], from_db_time(row["due"]),
                        from_db_time(row["set_at"]), int(row["days"]), int(row["year"]))


def latest_live(conn: Conn) -> datetime | None:
    """The latest live moment: an open case's deadline or an unfired alarm (meetings'
    alarms among them). Times are kept in UTC text, which sorts."""
    marks = ", ".join("?" for _ in LIVE_STATES)
    with conn.execute(
        "SELECT MAX(m) FROM ("
        "SELECT MAX(accept_due) AS m FROM cases WHERE state = 'new' "
        f"UNION ALL SELECT MAX(answer_due) FROM cases WHERE state IN ({marks}) "
        "UNION ALL SELECT MAX(CASE WHEN due > fire_at THEN due ELSE fire_at END) "
        "FROM alarms WHERE fired_at IS NULL) AS live",
        LIVE_STATES,
    ) as cur:
        row = cur.fetchone()
    return from_db_time(row[0]) if row and row[0] else None


def flags_of_case(conn: Conn, case_id: int) -> list[CalendarFlag]:
    with conn.execute(
        "SELECT * FROM calendar_flags WHERE case_id = ? ORDER BY deadline", (case_id,)
    ) as cur:
        return [_flag(r) for r in cur.fetchall()]


def set_flag(conn: Conn, flag: CalendarFlag) -> None:
    """Mark one deadline (replacing an earlier mark of the same deadline)."""
    conn.execute(
        "INSERT INTO calendar_flags (case_id, deadline, due, set_at, days, year) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, deadline) DO UPDATE SET "
        "due = excluded.due, set_at = excluded.set_at, days = excluded.days, "
        "year = excluded.year",
        (flag.case_id, flag.deadline, to_db_time(flag.due), to_db_time(flag.set_at),
         flag.days, flag.year),
    )


def clear_flag(conn: Conn, case_id: int, deadline: str) -> None:
    conn.execute(
        "DELETE FROM calendar_flags WHERE case_id = ? AND deadline = ?", (case_id, deadline))


def all_flags(conn: Conn) -> list[CalendarFlag]:
    with conn.execute(
        "SELECT * FROM calendar_flags ORDER BY case_id, deadline"
    ) as cur:
        return [_flag(r) for r in cur.fetchall()]


def live_flags_count(conn: Conn) -> int:
    """Marked deadlines that still matter (the case is open and the deadline unchanged)."""
    marks = ", ".join("?" for _ in LIVE_STATES)
    with conn.execute(
        "SELECT COUNT(*) FROM calendar_flags f JOIN cases c ON c.id = f.case_id WHERE "
        "(f.deadline = 'accept' AND c.state = 'new' AND c.accept_due = f.due) OR "
        f"(f.deadline = 'answer' AND c.state IN ({marks}) AND c.answer_due = f.due)",
        LIVE_STATES,
    ) as cur:
        row = cur.fetchone()
    return int(row[0]) if row else 0


def flagged_cases(conn: Conn, case_ids: Iterable[int]) -> set[int]:
    """Which of ``case_ids`` have a marked deadline that still matters."""
    ids = list(case_ids)
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    states = ", ".join("?" for _ in LIVE_STATES)
    with conn.execute(
        "SELECT DISTINCT f.case_id FROM calendar_flags f JOIN cases c ON c.id = f.case_id "
        f"WHERE f.case_id IN ({marks}) AND ("
        "(f.deadline = 'accept' AND c.state = 'new' AND c.accept_due = f.due) OR "
        f"(f.deadline = 'answer' AND c.state IN ({states}) AND c.answer_due = f.due))",
        (*ids, *LIVE_STATES),
    ) as cur:
        return {int(r[0]) for r in cur.fetchall()}


def unmarked_open_cases(conn: Conn, due_from: datetime) -> list[int]:
    """Open cases with a live deadline at or after ``due_from`` and no mark yet."""
    marks = ", ".join("?" for _ in LIVE_STATES)
    moment = to_db_time(due_from)
    with conn.execute(
        "SELECT id FROM cases c WHERE ((c.state = 'new' AND c.accept_due >= ?) OR "
        f"(c.state IN ({marks}) AND c.answer_due >= ?)) AND NOT EXISTS "
        "(SELECT 1 FROM calendar_flags f WHERE f.case_id = c.id) ORDER BY id",
        (moment, *LIVE_STATES, moment),
    ) as cur:
        return [int(r[0]) for r in cur.fetchall()]
