"""What the assessment reads: cases, their whole event trail and their answers.

One read for a report: every case that may matter for a period (and the same period a year
before) comes back with all its events and answers, as plain dataclasses. The figures
themselves are computed in :mod:`bot.services.assessment`; nothing here decides what counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.cases import _case, _event
from storage.models import Case, CaseEvent, from_db_time, to_db_time


@dataclass(frozen=True)
class AnswerFact:
    """An answer as the assessment needs it: whose, what outcome, how it was rated."""

    id: int
    case_id: int
    unit_id: str
    outcome: str
    status: str
    rating: str | None
    created_at: datetime


@dataclass(frozen=True)
class CaseHistory:
    """One case (its present row), its events oldest first, and its answers."""

    case: Case
    events: tuple[CaseEvent, ...]
    answers: tuple[AnswerFact, ...]


def _chosen(open_states: Sequence[str]) -> tuple[str, list[object]]:
    marks = ", ".join("?" for _ in open_states) or "NULL"
    sql = (
        "SELECT id FROM cases WHERE state IN (" + marks + ") OR (created_at < ? AND ("
        "accept_due >= ? OR answer_due >= ? OR updated_at >= ? OR EXISTS ("
        "SELECT 1 FROM case_events e WHERE e.case_id = cases.id AND e.at >= ?)))"
    )
    return sql, list(open_states)


async def case_histories(
    conn: aiosqlite.Connection, since: datetime, until: datetime,
    open_states: Sequence[str],
) -> list[CaseHistory]:
    """Every case that may count for ``[since, until)``, with events and answers.

    That is: cases still open (``open_states``: they may be overdue now), and cases created
    before ``until`` that had an event, a deadline or a change at or after ``since``. More
    may come back than counts; the service decides.
    """
    chosen, params = _chosen(open_states)
    bounds = [to_db_time(until)] + [to_db_time(since)] * 4
    params = params + bounds
    async with conn.execute(
        f"SELECT * FROM cases WHERE id IN ({chosen}) ORDER BY id", params
    ) as cur:
        cases = [_case(row) for row in await cur.fetchall()]
    events: dict[int, list[CaseEvent]] = {}
    async with conn.execute(
        f"SELECT * FROM case_events WHERE case_id IN ({chosen}) ORDER BY case_id, id", params
    ) as cur:
        async for row in cur:
            event = _event(row)
            events.setdefault(event.case_id, []).append(event)
    answers: dict[int, list[AnswerFact]] = {}
    async with conn.execute(
        "SELECT id, case_id, unit_id, outcome, status, rating, created_at FROM answers "
        f"WHERE case_id IN ({chosen}) ORDER BY case_id, id", params
    ) as cur:
        async for row in cur:
            answers.setdefault(row["case_id"], []).append(AnswerFact(
                id=row["id"], case_id=row["case_id"], unit_id=row["unit_id"],
                outcome=row["outcome"], status=row["status"], rating=row["rating"],
                created_at=from_db_time(row["created_at"]),
            ))
    return [CaseHistory(case, tuple(events.get(case.id, ())), tuple(answers.get(case.id, ())))
            for case in cases]
