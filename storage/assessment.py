"""What the assessment reads, counted in SQL: no case history is loaded into Python.

The rules of every figure are defined in ``docs/assessment.md`` and applied by
:mod:`bot.services.assessment`; the SQL here applies them to the rows and keep in step with
both. One report is read by a few connections at once (:func:`reader`), each counting a
share of the cases (``Window.part``) in scratch tables of its own; :func:`combine` adds the
shares up. Per share:

1. ``asm_case``: one row per case that may count (still open, or changed since the period
   began): its deadlines and, from its events, the filing, the first acceptance, the first
   answer, the first ending before an answer, and how often it arrived somewhere else —
   read from ``case_facts`` (one row per case, kept by a trigger on ``case_events``), or
   replayed from the events for a case with an event after the report's moment.
2. ``asm_seg``: for the few cases that moved between units (transferred, escalated, handed
   to the supervision group by a rating), one row per arrival with its own acceptance;
   ``asm_mev`` holds their events, numbered by the arrival they follow.
3. ``asm_day``: the working-day clock of :func:`bot.services.assessment.clock_rows`, so how
   long a case is overdue in working days is one lookup. (Times to accept and to answer go
   out as moments; the service counts their working days on the same clock.)

Then :func:`read_facts` counts per unit (and keeps the few cases the lists name).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiosqlite

from storage.models import from_db_time, to_db_time

Key = TypeVar("Key")


@dataclass(frozen=True)
class Window:
    """What one report counts: ``[start, end)``, the year before, and the moment."""

    start: datetime
    end: datetime
    before_start: datetime
    before_end: datetime
    as_of: datetime
    supervision: str | None
    open_states: tuple[str, ...]
    satisfied: tuple[str, ...]
    resolved: tuple[str, ...]
    # The share of the cases this read counts: those whose id is ``part`` modulo ``parts``
    # (one read per processor, :func:`combine` adds them up).
    part: int = 0
    parts: int = 1

    def params(self) -> dict[str, Any]:
        whole = self.as_of.replace(microsecond=0)
        # A stored moment (whole seconds) is before ``as_of`` iff it is before this one.
        after = whole + timedelta(seconds=1) if self.as_of.microsecond else whole
        return {"start": to_db_time(self.start), "end": to_db_time(self.end),
                "before_start": to_db_time(self.before_start),
                "before_end": to_db_time(self.before_end),
                "as_of": to_db_time(whole), "as_of_ceil": to_db_time(after),
                "supervision": self.supervision, "part": self.part, "parts": self.parts}


@dataclass(frozen=True)
class Item:
    """One case behind a figure, for one unit, at one moment (as the lists show it).

    ``ok`` says whether it counts in the figure's favour; ``days`` holds working days (how
    long a case is overdue).
    """

    figure: str
    unit_id: str
    case_id: int
    number: str
    at: datetime
    result: str
    ok: bool | None = None
    due: datetime | None = None
    days: float | None = None


@dataclass
class Facts:
    """Everything the figures need, per unit: counts, working days, and the listed cases."""

    cases: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    # Cases received, by the set of units they arrived at in the period (a case that came to
    # two units counts once for both together); the same a year before.
    received: dict[frozenset[str], int] = field(default_factory=dict)
    received_before: dict[frozenset[str], int] = field(default_factory=dict)
    # Per unit, the times to accept and to answer as read: comma-separated pairs of moments
    # (epoch seconds: since, until), a text per share; the service turns them into working
    # days on its clock (``accept_days``, ``answer_days``).
    accept_spans: dict[str, list[str]] = field(default_factory=dict)
    answer_spans: dict[str, list[str]] = field(default_factory=dict)
    accept_days: dict[str, list[float]] = field(default_factory=dict)
    answer_days: dict[str, list[float]] = field(default_factory=dict)
    overdue: list[Item] = field(default_factory=list)
    # (figure, unit) → the most serious cases first, at most ``limit`` of them.
    listed: dict[tuple[str, str], list[Item]] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.cases

    def count(self, unit_id: str, key: str) -> int:
        return self.counts.get((unit_id, key), 0)


@asynccontextmanager
async def reader(path: str) -> AsyncIterator[aiosqlite.Connection]:
    """A connection of the report's own, in one read transaction, so the bot's connection
    is not held while a large report is counted (in WAL mode both read at once). Only its
    scratch (TEMP) tables are written."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA busy_timeout = 5000")
        # Scratch tables on disk: at 1M cases in memory they cost 270 MB more RSS for 2 %.
        await conn.execute("PRAGMA temp_store = FILE")
        await conn.execute("PRAGMA cache_size = -65536")
        await conn.execute("BEGIN")
        try:
            yield conn
        finally:
            await conn.execute("ROLLBACK")
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- the pass

# A rating that reopened the case (sent it back to the unit, or on to the supervision group):
# the rated event leaves the case 'reopened'. Only such ratings are read for their payload.
REOPENING = "(e.type = 'rated' AND e.state_after = 'reopened')"
# A rating that handed the case to the supervision group: an arrival there.
RATING_ESCALATED = (f"({REOPENING} AND :supervision IS NOT NULL "
                    "AND json_extract(e.payload, '$.then') = 'escalated')")

CASE_TABLE = """
CREATE TEMP TABLE asm_case (
    case_id INTEGER PRIMARY KEY, unit_id TEXT, accept_due TEXT, answer_due TEXT,
    filed_id INTEGER, filed_at TEXT, moves INTEGER, accepted_at TEXT, answer_ev INTEGER,
    answered_at TEXT, ended TEXT, extensions INTEGER, reopened INTEGER,
    acc_ok INTEGER, acc_at TEXT, ans_ok INTEGER, ans_at TEXT,
    answer_unit TEXT, due_holder TEXT)
"""

# The cases that may count: changed since the period began (a change of state or deadline
# always touches ``updated_at``; an open case may fall due in it untouched), filed by the
# report's moment.
MAY_COUNT = """c.created_at < :end AND c.created_at <= :as_of AND c.id % :parts = :part
    AND (c.updated_at >= :start OR (c.state IN ({open})
         AND (c.accept_due >= :start OR c.answer_due >= :start)))"""

# Per case, from its events up to the report's moment: the first filing, acceptance,
# answer and ending (withdrawn, closed), how often it arrived somewhere else, and the
# extensions and reopening ratings of the period. A case whose events all came by then reads
# them from ``case_facts`` (kept by a trigger, storage/migrations.py V6; the two counts of
# the period are looked up in its trail only when it has any); the few with a later event
# replay their trail.
TRAILS = f"""
SELECT c.id AS case_id, c.unit_id, c.accept_due, c.answer_due, f.filed_id, f.filed_at,
       f.moves + CASE WHEN :supervision IS NOT NULL THEN f.rating_moves ELSE 0 END AS moves,
       f.accepted_at, f.answer_ev, f.answered_at, f.end_ev, f.ended_at,
       CASE WHEN f.extensions > 0 THEN (
           SELECT count(*) FROM case_events e WHERE e.case_id = c.id
           AND +e.type = 'extension_granted' AND +e.at >= :start AND +e.at < :end) ELSE 0 END
           AS extensions,
       CASE WHEN f.reopenings > 0 THEN (
           SELECT count(*) FROM case_events e WHERE e.case_id = c.id AND {REOPENING}
           AND +e.at >= :start AND +e.at < :end) ELSE 0 END AS reopened
FROM cases c CROSS JOIN case_facts f ON f.case_id = c.id
WHERE {MAY_COUNT} AND +f.last_at <= :as_of
UNION ALL
SELECT c.id, c.unit_id, c.accept_due, c.answer_due,
       min(CASE WHEN e.type = 'filed' THEN e.id END),
       min(CASE WHEN e.type = 'filed' THEN e.at END),
       sum(CASE WHEN e.type IN ('transferred', 'escalated') OR {RATING_ESCALATED}
           THEN 1 ELSE 0 END),
       min(CASE WHEN e.type = 'accepted' THEN e.at END),
       min(CASE WHEN e.type = 'answered' THEN e.id END),
       min(CASE WHEN e.type = 'answered' THEN e.at END),
       min(CASE WHEN e.type IN ('withdrawn', 'closed') THEN e.id END),
       min(CASE WHEN e.type IN ('withdrawn', 'closed') THEN e.at END),
       sum(CASE WHEN e.type = 'extension_granted' AND e.at >= :start AND e.at < :end
           THEN 1 ELSE 0 END),
       sum(CASE WHEN {REOPENING} AND e.at >= :start AND e.at < :end THEN 1 ELSE 0 END)
FROM case_facts l CROSS JOIN cases c ON c.id = l.case_id
JOIN case_events e ON e.case_id = c.id
WHERE l.last_at > :as_of AND {MAY_COUNT} AND e.at <= :as_of
GROUP BY c.id
"""

# One row per case that may count. ``ended``: the first ending if it came before the first
# answer. For a case that never moved, its one acceptance (``acc_ok``: 1 on time, 0 late,
# NULL not counted; ``acc_at`` its moment); for every case its answer (``ans_ok``,
# ``ans_at``). Cases that moved get their acceptances from ``asm_seg``.
CASES = f"""
INSERT INTO asm_case
SELECT case_id, unit_id, accept_due, answer_due, filed_id, filed_at, moves, accepted_at,
       answer_ev, answered_at, ended, extensions, reopened, acc_ok,
       CASE WHEN acc_ok = 1 THEN accepted_at ELSE accept_due END,
       ans_ok, CASE WHEN ans_ok = 1 THEN answered_at ELSE answer_due END, NULL, NULL
FROM (SELECT *,
        CASE WHEN accepted_at IS NOT NULL AND accepted_at <= accept_due THEN 1
             WHEN accept_due < :as_of_ceil AND (accepted_at IS NOT NULL OR ended IS NULL
                  OR ended < filed_at OR ended > accept_due) THEN 0 END AS acc_ok,
        CASE WHEN answered_at IS NOT NULL AND answered_at <= answer_due THEN 1
             WHEN answer_due >= :as_of_ceil THEN NULL
             WHEN answered_at IS NULL AND ended <= answer_due THEN NULL
             ELSE 0 END AS ans_ok
      FROM (SELECT *, CASE WHEN end_ev IS NOT NULL AND (answer_ev IS NULL OR end_ev < answer_ev)
                           THEN ended_at END AS ended
            FROM ({TRAILS})
            WHERE filed_id IS NOT NULL))
"""

# Events of the cases that moved, each numbered by the arrival it follows (1: the filing);
# the payload only where it is read.
MOVED_EVENTS = f"""
CREATE TEMP TABLE asm_mev AS
SELECT *, sum(arrival) OVER (PARTITION BY case_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS seg
FROM (SELECT e.case_id, e.id, e.at, e.type,
             CASE WHEN e.type IN ('filed', 'transferred', 'escalated', 'extension_granted')
                       OR {REOPENING} OR e.id = k.answer_ev THEN e.payload END AS payload,
             CASE WHEN e.id = k.filed_id OR e.type IN ('transferred', 'escalated')
                       OR {RATING_ESCALATED} THEN 1 ELSE 0 END AS arrival,
             CASE WHEN {REOPENING} THEN 1 ELSE 0 END AS reopening
      FROM asm_case k CROSS JOIN case_events e ON e.case_id = k.case_id
      WHERE k.moves > 0 AND e.id >= k.filed_id AND e.at <= :as_of)
"""

# One row per arrival of a case that moved. ``unit``: the filing's unit, a move's ``to``, or
# the supervision group after a rating; a move that names no unit keeps the one before.
SEGMENTS = """
CREATE TEMP TABLE asm_seg AS
SELECT case_id, seg, arr_id, start, how, needs_acc, end_at, passed_on, is_last,
       substr(max(CASE WHEN target IS NOT NULL THEN printf('%020d', arr_id) || target END)
              OVER (PARTITION BY case_id ORDER BY arr_id ROWS UNBOUNDED PRECEDING), 21) AS unit,
       NULL AS accepted_at, NULL AS ext_due, NULL AS computed_due
FROM (SELECT a.case_id, a.seg, a.id AS arr_id, a.at AS start,
             CASE a.type WHEN 'rated' THEN 'rating_escalated' ELSE a.type END AS how,
             CASE WHEN a.type = 'rated' THEN 0 ELSE 1 END AS needs_acc,
             CASE a.type
                 WHEN 'filed' THEN coalesce(nullif(json_extract(a.payload, '$.unit'), ''),
                                            k.unit_id)
                 WHEN 'rated' THEN :supervision
                 ELSE nullif(json_extract(a.payload, '$.to'), '') END AS target,
             lead(a.at) OVER w AS end_at,
             coalesce(lead(a.type) OVER w IN ('transferred', 'escalated'), 0) AS passed_on,
             lead(a.id) OVER w IS NULL AS is_last
      FROM asm_mev a JOIN asm_case k ON k.case_id = a.case_id
      WHERE a.arrival
      WINDOW w AS (PARTITION BY a.case_id ORDER BY a.id))
"""

# A moment from an event's payload, as stored moments are (UTC, whole seconds), if it names
# its offset; else NULL.
PAYLOAD_TIME = ("CASE WHEN {x} GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR {x} GLOB '*Z' "
                "THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', {x}) END")

# Per arrival: its first acceptance, and the deadline of the last acceptance extension
# granted while the unit held the case.
SEGMENT_DETAILS = f"""
UPDATE asm_seg SET
  accepted_at = (SELECT m.at FROM asm_mev m WHERE m.case_id = asm_seg.case_id
                 AND m.seg = asm_seg.seg AND m.type = 'accepted' ORDER BY m.id LIMIT 1),
  ext_due = (SELECT {PAYLOAD_TIME.format(x="json_extract(m.payload, '$.new_due')")}
             FROM asm_mev m WHERE m.case_id = asm_seg.case_id AND m.seg = asm_seg.seg
             AND m.type = 'extension_granted'
             AND json_extract(m.payload, '$.deadline') = 'accept' ORDER BY m.id DESC LIMIT 1)
"""

# The unit of a moved case's first answer (the answer's own unit, else the holder then), and
# the unit holding it when its answer was due (the last arrival by then, else the first).
MOVED_ANSWERS = """
UPDATE asm_case SET
  answer_unit = (SELECT coalesce(a.unit_id, s.unit) FROM asm_mev m
                 JOIN asm_seg s ON s.case_id = m.case_id AND s.seg = m.seg
                 LEFT JOIN answers a ON a.id = json_extract(m.payload, '$.answer')
                                    AND a.case_id = m.case_id
                 WHERE m.case_id = asm_case.case_id AND m.id = asm_case.answer_ev),
  due_holder = coalesce(
      (SELECT s.unit FROM asm_seg s WHERE s.case_id = asm_case.case_id
       AND s.start <= asm_case.answer_due ORDER BY s.seg DESC LIMIT 1),
      (SELECT s.unit FROM asm_seg s WHERE s.case_id = asm_case.case_id AND s.seg = 1))
WHERE case_id IN (SELECT case_id FROM asm_seg WHERE seg = 1)
"""

DAY = """
CREATE TEMP TABLE asm_day (
    day INTEGER PRIMARY KEY, split INTEGER,
    a_cum INTEGER, a_work INTEGER, a_start INTEGER, a_len INTEGER,
    b_cum INTEGER, b_work INTEGER, b_start INTEGER, b_len INTEGER)
"""


async def prepare(conn: aiosqlite.Connection, window: Window) -> int:
    """Fill the scratch tables of one report; return how many cases may count."""
    params = window.params()
    marks, states = _marks(window.open_states, "s")
    await conn.execute(CASE_TABLE)
    await conn.execute(CASES.format(open=marks), params | states)
    await conn.execute("CREATE INDEX asm_case_moved ON asm_case(case_id) WHERE moves > 0")
    await conn.execute(MOVED_EVENTS, params)
    await conn.execute("CREATE INDEX asm_mev_seg ON asm_mev(case_id, seg, type, id)")
    await conn.execute(SEGMENTS, params)
    await conn.execute("CREATE UNIQUE INDEX asm_seg_key ON asm_seg(case_id, seg)")
    await conn.execute(SEGMENT_DETAILS)
    await conn.execute(MOVED_ANSWERS)
    await conn.execute(DAY)
    async with conn.execute("SELECT count(*) FROM asm_case") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def time_span(conn: aiosqlite.Connection, window: Window) -> tuple[datetime, datetime]:
    """The earliest moment a working-day clock is needed for (a filing or a deadline), and
    the latest (the report's moment)."""
    params = window.params()
    marks, states = _marks(window.open_states, "s")
    async with conn.execute(
        "SELECT min(m) FROM (SELECT min(filed_at) AS m FROM asm_case UNION ALL "
        "SELECT min(min(c.accept_due, c.answer_due)) FROM units u "
        f"JOIN cases c ON c.unit_id = u.id AND c.state IN ({marks}) "
        "WHERE c.created_at <= :as_of AND c.id % :parts = :part)", params | states,
    ) as cur:
        row = await cur.fetchone()
    first = from_db_time(row[0]) if row and row[0] else window.as_of
    return min(first, window.as_of), window.as_of


async def set_clock(conn: aiosqlite.Connection, rows: Iterable[Sequence[int]]) -> None:
    """The working-day clock: per UTC day (days since the epoch), the local days in it."""
    await conn.executemany("INSERT INTO asm_day VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           list(rows))


async def arrivals_without_due(conn: aiosqlite.Connection
                               ) -> list[tuple[int, int, str, str, datetime]]:
    """Arrivals passed on before their own acceptance deadline was stored: (case id,
    arrival, kind, category, arrival moment); their deadline is the configured one."""
    async with conn.execute(
        "SELECT s.case_id, s.seg, c.kind, c.category_id, s.start FROM asm_seg s "
        "JOIN cases c ON c.id = s.case_id "
        "WHERE s.needs_acc AND NOT s.is_last AND s.ext_due IS NULL"
    ) as cur:
        return [(row[0], row[1], row[2], row[3], from_db_time(row[4]))
                for row in await cur.fetchall()]


async def set_dues(conn: aiosqlite.Connection,
                   dues: Iterable[tuple[int, int, datetime]]) -> None:
    """Store the configured acceptance deadlines of earlier arrivals."""
    await conn.executemany(
        "UPDATE asm_seg SET computed_due = ? WHERE case_id = ? AND seg = ?",
        [(to_db_time(due), case_id, seg) for case_id, seg, due in dues])


def _marks(values: Sequence[str], prefix: str) -> tuple[str, dict[str, str]]:
    names = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in names) or "NULL", names


# ----------------------------------------------------------------------------- the counts

# Every case, grouped by the unit each figure is counted at: a case that never moved at its
# unit; a moved case only for its answer, at the unit that answered it on time or held it
# when the answer fell due (its acceptances come from asm_seg).
COUNT_CASES = """
SELECT unit, sum(received), sum(accepts), sum(accepted), sum(answers), sum(answered),
       sum(extensions), sum(reopened)
FROM (SELECT CASE WHEN moves = 0 THEN unit_id
                  WHEN ans_ok = 1 THEN coalesce(answer_unit, unit_id)
                  ELSE coalesce(due_holder, unit_id) END AS unit,
             moves = 0 AND filed_at >= :start AND filed_at < :end AS received,
             moves = 0 AND acc_ok IS NOT NULL AND acc_at >= :start AND acc_at < :end
                 AS accepts,
             moves = 0 AND acc_ok = 1 AND acc_at >= :start AND acc_at < :end AS accepted,
             ans_ok IS NOT NULL AND ans_at >= :start AND ans_at < :end AS answers,
             ans_ok = 1 AND ans_at >= :start AND ans_at < :end AS answered,
             CASE WHEN moves = 0 THEN extensions ELSE 0 END AS extensions,
             CASE WHEN moves = 0 THEN reopened ELSE 0 END AS reopened
      FROM asm_case LIMIT -1)  -- LIMIT: only the unit and the flags go through the sorter
GROUP BY unit
"""

# The arrivals of moved cases that wait for acceptance, met by the first acceptance there or
# by passing the case on; ok 1 on time (moment: when met), 0 late (moment: the deadline).
MOVED_ACCEPTANCES = """
SELECT case_id, unit, first, due, how, CASE WHEN ok = 1 THEN done ELSE due END AS moment, ok
FROM (SELECT *, CASE WHEN done IS NOT NULL AND done <= due THEN 1
                     WHEN due < :as_of_ceil AND (done IS NOT NULL OR ended IS NULL
                                                 OR ended > due) THEN 0 END AS ok
      FROM (SELECT s.case_id, s.unit, s.seg = 1 AS first,
                   CASE WHEN s.is_last THEN k.accept_due
                        ELSE coalesce(s.ext_due, s.computed_due) END AS due,
                   CASE WHEN s.accepted_at IS NOT NULL THEN s.accepted_at
                        WHEN s.passed_on THEN s.end_at END AS done,
                   CASE WHEN s.accepted_at IS NOT NULL THEN 'accepted'
                        WHEN s.passed_on THEN 'passed_on' ELSE 'not_accepted' END AS how,
                   CASE WHEN k.ended >= s.start AND (s.end_at IS NULL OR k.ended <= s.end_at)
                        THEN k.ended END AS ended
            FROM asm_seg s JOIN asm_case k ON k.case_id = s.case_id
            WHERE s.needs_acc))
WHERE due IS NOT NULL AND ok IS NOT NULL AND moment >= :start AND moment < :end
"""

# Events of moved cases that count: extensions (at the holder), moves (at the unit left,
# ``from``), reopening ratings (at the unit whose answer was rated); arrivals for receipt.
MOVED_ITEMS = """
SELECT CASE WHEN m.type = 'extension_granted' THEN 'extensions'
            WHEN m.type = 'rated' THEN 'reopened' ELSE 'transfers' END AS figure,
       CASE WHEN m.type = 'extension_granted' THEN s.unit
            WHEN m.type = 'rated' THEN coalesce(a.unit_id, b.unit)
            ELSE coalesce(nullif(json_extract(m.payload, '$.from'), ''), b.unit) END AS unit,
       m.case_id, m.at,
       CASE WHEN m.type = 'rated' AND m.arrival THEN 'rating_escalated' ELSE m.type END AS how
FROM asm_mev m
JOIN asm_seg s ON s.case_id = m.case_id AND s.seg = m.seg
JOIN asm_seg b ON b.case_id = m.case_id AND b.seg = max(1, m.seg - m.arrival)
LEFT JOIN answers a ON m.type = 'rated' AND a.id = json_extract(m.payload, '$.answer')
                   AND a.case_id = m.case_id
WHERE m.at >= :start AND m.at < :end
  AND (m.type IN ('extension_granted', 'transferred', 'escalated') OR m.reopening)
"""

# Ratings are stored on the answers they rate: satisfied (满意, 基本满意), and resolved.
COUNT_RATINGS = """
SELECT a.unit_id, count(*), sum(a.rating IN ({satisfied})),
       sum(a.rating IN ({satisfied}) AND a.outcome IN ({resolved}))
FROM answers a JOIN asm_case k ON k.case_id = a.case_id
WHERE a.rated_at >= :start AND a.rated_at < :end AND a.rated_at <= :as_of
  AND a.case_id % :parts = :part  -- this share's cases only: fewer lookups in asm_case
GROUP BY a.unit_id
"""

# A case counts once for the set of units it arrived at: per set (its units joined by
# ``UNITS_SEP``, in any order), how many cases arrived at just those units.
UNITS_SEP = "\x1f"


def _unit_sets(source: str) -> str:
    """SQL: how many cases of ``source`` (rows of a case id and a unit) arrived at each set
    of units."""
    return ("SELECT units, count(*) FROM (SELECT group_concat(ifnull(unit, ''), char(31)) "
            f"AS units FROM ({source}) GROUP BY case_id) GROUP BY units")


RECEIVED_MOVED = _unit_sets(
    "SELECT case_id, unit FROM asm_seg WHERE start >= :start AND start < :end")

# A year before: arrivals straight from the events (those cases are mostly not in asm_case):
# the first filing (``case_facts`` knows which it is, and its unit), then moves and ratings
# that handed the case to the supervision group.
RECEIVED_BEFORE = _unit_sets(f"""
SELECT e.case_id,
       CASE e.type WHEN 'filed' THEN coalesce(nullif(f.filed_unit, ''), c.unit_id)
                   WHEN 'rated' THEN :supervision
                   ELSE coalesce(nullif(json_extract(e.payload, '$.to'), ''), c.unit_id) END
           AS unit
FROM case_events e CROSS JOIN case_facts f ON f.case_id = e.case_id
JOIN cases c ON c.id = e.case_id
WHERE e.type IN ('filed', 'transferred', 'escalated', 'rated')
  AND e.at >= :before_start AND e.at < :before_end AND e.at <= :as_of
  AND c.created_at <= :as_of AND e.case_id % :parts = :part
  AND (e.type <> 'rated' OR {RATING_ESCALATED})
  AND CASE WHEN e.type = 'filed' THEN e.id = f.filed_id ELSE e.id > f.filed_id END
""")


def _epoch(moment: str) -> str:
    return f"CAST(round((julianday({moment}) - 2440587.5) * 86400.0) AS INTEGER)"


def _clock(day: str, epoch: str) -> str:
    """SQL: working days since the clock's origin at ``epoch`` (``day``: its asm_day row)."""
    return (f"(CASE WHEN {epoch} < {day}.split "
            f"THEN {day}.a_cum + {day}.a_work * ({epoch} - {day}.a_start) * 1.0 / {day}.a_len "
            f"ELSE {day}.b_cum + {day}.b_work * ({epoch} - {day}.b_start) * 1.0 / {day}.b_len "
            "END)")


def _spans(source: str, unit: str, since: str, until: str) -> str:
    """SQL: per unit, the moments (epoch seconds) ``since`` and ``until`` of the rows of
    ``source``, as one text of comma-separated pairs: a million values travel faster so than
    as rows, and the working days between them are counted faster outside SQL."""
    return (f"SELECT unit, group_concat(t1 || ',' || t2) FROM (SELECT {unit} AS unit, "
            f"{_epoch(since)} AS t1, {_epoch(until)} AS t2 FROM {source} LIMIT -1) "
            "GROUP BY unit")


# Time to accept: per acceptance in the period, from the arrival at the accepting unit.
ACCEPT_SPANS = _spans(
    "(SELECT unit_id AS unit, filed_at AS start, accepted_at FROM asm_case WHERE moves = 0 "
    "UNION ALL SELECT unit, start, accepted_at FROM asm_seg WHERE needs_acc) "
    "WHERE accepted_at >= :start AND accepted_at < :end",
    "unit", "start", "accepted_at")
# Time to answer: per first answer in the period, from the filing.
ANSWER_SPANS = _spans(
    "asm_case WHERE answered_at >= :start AND answered_at < :end",
    "coalesce(answer_unit, unit_id)", "filed_at", "answered_at")

OVERDUE = f"""
SELECT x.case_id, x.number, x.unit_id, x.due, x.which,
       :clock_now - {_clock('d', 'x.t')} AS days
FROM (SELECT c.id AS case_id, c.number, c.unit_id,
             CASE WHEN c.state = 'new' THEN c.accept_due ELSE c.answer_due END AS due,
             CASE WHEN c.state = 'new' THEN 'accept' ELSE 'answer' END AS which,
             {_epoch("CASE WHEN c.state = 'new' THEN c.accept_due ELSE c.answer_due END")} AS t
      FROM units u JOIN cases c ON c.unit_id = u.id AND c.state IN ({{open}})
      WHERE c.created_at <= :as_of AND c.id % :parts = :part
        AND (CASE WHEN c.state = 'new' THEN c.accept_due ELSE c.answer_due END) < :as_of_ceil
        AND EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND +e.type = 'filed'
                    AND e.at <= :as_of)
      LIMIT -1) x
JOIN asm_day d ON d.day = x.t / 86400
"""


def _capped(source: str, order: str) -> str:
    """SQL: the rows of ``source`` (with a ``unit``), at most ``:limit`` per unit, with the
    case's number."""
    return (f"SELECT x.*, c.number FROM (SELECT *, row_number() OVER (PARTITION BY unit "
            f"ORDER BY {order}) AS rank FROM ({source})) x JOIN cases c ON c.id = x.case_id "
            "WHERE x.rank <= :limit")


LATE_ACCEPTANCES = _capped(
    "SELECT case_id, unit_id AS unit, accept_due AS due, CASE WHEN accepted_at IS NULL "
    "THEN 'not_accepted' ELSE 'accepted' END AS how FROM asm_case WHERE moves = 0 "
    "AND acc_ok = 0 AND acc_at >= :start AND acc_at < :end "
    f"UNION ALL SELECT case_id, unit, due, how FROM ({MOVED_ACCEPTANCES}) WHERE ok = 0",
    "due, case_id")
LATE_ANSWERS = _capped(
    "SELECT case_id, coalesce(due_holder, unit_id) AS unit, answer_due AS due, "
    "CASE WHEN answered_at IS NULL THEN 'not_answered' ELSE 'answered' END AS how "
    "FROM asm_case WHERE ans_ok = 0 AND ans_at >= :start AND ans_at < :end",
    "how DESC, due, case_id")
NOT_SATISFIED = _capped(
    "SELECT a.unit_id AS unit, a.case_id, a.rated_at AS moment, a.rating FROM answers a "
    "JOIN asm_case k ON k.case_id = a.case_id WHERE a.rating NOT IN ({satisfied}) "
    "AND a.rated_at >= :start AND a.rated_at < :end AND a.rated_at <= :as_of "
    "AND a.case_id % :parts = :part", "moment, case_id")


async def _rows(conn: aiosqlite.Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def read_facts(conn: aiosqlite.Connection, window: Window, clock_now: float,
                     limit: int) -> Facts:
    """Count everything per unit; keep up to ``limit`` listed cases per unit and figure.

    ``clock_now``: the working-day clock at the report's moment (for *overdue now*).
    """
    params = window.params() | {"clock_now": clock_now, "limit": limit}
    satisfied, ratings = _marks(window.satisfied, "r")
    resolved, outcomes = _marks(window.resolved, "o")
    opened, states = _marks(window.open_states, "s")
    facts = Facts()
    counts = facts.counts

    def add(unit: str, key: str, value: int | None) -> None:
        if value:
            counts[(unit, key)] = counts.get((unit, key), 0) + int(value)

    for unit, received, accepts, accepted, answers, answered, extensions, reopened in (
            await _rows(conn, COUNT_CASES, params)):
        if received:
            key = frozenset((unit,))
            facts.received[key] = facts.received.get(key, 0) + received
        for name, value in (("accept_total", accepts), ("accepted_on_time", accepted),
                            ("response_total", accepts), ("responded_on_time", accepted),
                            ("answer_total", answers), ("answered_on_time", answered),
                            ("extensions", extensions), ("reopened", reopened)):
            add(unit, name, value)
    for _, unit, first, _, _, _, ok in await _rows(conn, MOVED_ACCEPTANCES, params):
        add(unit, "accept_total", 1)
        add(unit, "accepted_on_time", ok)
        if first:
            add(unit, "response_total", 1)
            add(unit, "responded_on_time", ok)
    for figure, unit, case_id, at, how in await _rows(conn, MOVED_ITEMS, params):
        add(unit, figure, 1)
        if how in ("escalated", "rating_escalated"):
            facts.listed.setdefault((figure, unit), []).append(
                Item(figure, unit, case_id, "", from_db_time(at), how, ok=False))
    for unit, rated, happy, fixed in await _rows(
            conn, COUNT_RATINGS.format(satisfied=satisfied, resolved=resolved),
            params | ratings | outcomes):
        add(unit, "rated", rated)
        add(unit, "satisfied", happy)
        add(unit, "resolved", fixed)
    _add_sets(facts.received, await _rows(conn, RECEIVED_MOVED, params))
    _add_sets(facts.received_before, await _rows(conn, RECEIVED_BEFORE, params))
    for source, into in ((ACCEPT_SPANS, facts.accept_spans),
                         (ANSWER_SPANS, facts.answer_spans)):
        for unit, spans in await _rows(conn, source, params):
            into[unit] = [spans]
    for case_id, number, unit, due, which, days in await _rows(
            conn, OVERDUE.format(open=opened), params | states):
        moment = from_db_time(due)
        facts.overdue.append(Item("overdue_now", unit, case_id, number, moment,
                                  f"{which}_overdue", ok=False, due=moment, days=days))
    await _listed(conn, facts, params | ratings, satisfied)
    return facts


def _add_sets(into: dict[frozenset[str], int], rows: Iterable[Any]) -> None:
    for units, count in rows:
        key = frozenset(str(units or "").split(UNITS_SEP))
        into[key] = into.get(key, 0) + count


async def _listed(conn: aiosqlite.Connection, facts: Facts, params: dict[str, Any],
                  satisfied: str) -> None:
    """The cases that count against a unit: late acceptances and answers, ratings not
    satisfied (the escalations came with the moved cases), with their numbers."""
    listed = facts.listed
    for figure, sql in (("accepted_on_time", LATE_ACCEPTANCES),
                        ("answered_on_time", LATE_ANSWERS)):
        for row in await _rows(conn, sql, params):
            due = from_db_time(row["due"])
            listed.setdefault((figure, row["unit"]), []).append(Item(
                figure, row["unit"], row["case_id"], row["number"], due, row["how"],
                ok=False, due=due))
    for row in await _rows(conn, NOT_SATISFIED.format(satisfied=satisfied), params):
        listed.setdefault(("satisfaction", row["unit"]), []).append(Item(
            "satisfaction", row["unit"], row["case_id"], row["number"],
            from_db_time(row["moment"]), row["rating"], ok=False))
    escalations = [item for key, items in listed.items() if key[0] in ("transfers", "reopened")
                   for item in items]
    numbers: dict[int, str] = {}
    if escalations:
        ids = sorted({item.case_id for item in escalations})
        numbers = dict(await _rows(conn, "SELECT id, number FROM cases WHERE id IN (SELECT "
                                   "value FROM json_each(:ids))", {"ids": json.dumps(ids)}))
    for key, items in listed.items():
        if key[0] in ("transfers", "reopened"):
            items = [replace(item, number=numbers.get(item.case_id, "")) for item in items]
        listed[key] = sorted(items, key=_list_order)


# The lists capped at ``:limit`` cases per unit, and the order they are ranked in (as their
# SQL ranks them, so that lists read in parts merge into the same list).
CAPPED = ("accepted_on_time", "answered_on_time", "satisfaction")


def _list_order(item: Item) -> tuple[Any, ...]:
    if item.figure == "accepted_on_time":
        return (item.due, item.case_id)
    if item.figure == "answered_on_time":  # not answered at all first
        return (item.result != "not_answered", item.due, item.case_id)
    return (item.at, item.case_id)


def _add_up(into: dict[Key, int], found: dict[Key, int]) -> None:
    for key, value in found.items():
        into[key] = into.get(key, 0) + value


def combine(parts: Sequence[Facts], limit: int) -> Facts:
    """The facts of the whole report from those of its parts (each read a share of the
    cases: everything counted is a sum over cases, so the parts add up)."""
    if len(parts) == 1:
        return parts[0]
    facts = Facts()
    for part in parts:
        facts.cases += part.cases
        _add_up(facts.counts, part.counts)
        _add_up(facts.received, part.received)
        _add_up(facts.received_before, part.received_before)
        for spans, more in ((facts.accept_spans, part.accept_spans),
                            (facts.answer_spans, part.answer_spans)):
            for unit, texts in more.items():
                spans.setdefault(unit, []).extend(texts)
        facts.overdue.extend(part.overdue)
        for key, items in part.listed.items():
            facts.listed.setdefault(key, []).extend(items)
    for key, items in facts.listed.items():
        items.sort(key=_list_order)
        if key[0] in CAPPED:
            del items[limit:]
    return facts


SCRATCH = ("asm_case", "asm_mev", "asm_seg", "asm_day")


async def finish(conn: aiosqlite.Connection) -> None:
    """Drop the scratch tables."""
    for table in SCRATCH:
        await conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
