"""The scratch tables one share of a report counts from, filled in SQL: no case history is
loaded into Python.

1. ``asm_case``: one row per case that may count (still open, or changed since the period
   began): its deadlines and, from its events, the filing, the first acceptance, the first
   answer, the first ending before an answer, and how often it arrived somewhere else —
   read from ``case_facts`` (one row per case, kept by a trigger on ``case_events``), or
   replayed from the events for a case with an event after the report's moment.
2. ``asm_seg``: for the few cases that moved between units (transferred, escalated, handed
   to the supervision group by a rating), one row per arrival with its own acceptance;
   ``asm_mev`` holds their events, numbered by the arrival they follow.

Also the report's own connection (:func:`reader`), and the SQL the counts
(:mod:`storage.assessment.counts`) share with this pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from storage.assessment.facts import Window
from storage.models import from_db_time, to_db_time
from storage.sql import Conn, connect


@contextmanager
def reader(path: str) -> Iterator[Conn]:
    """A connection of the report's own, in one read transaction, so the bot's connections
    are not held while a large report is counted (in WAL mode all read at once). Only its
    scratch (TEMP) tables are written. Used on the thread that opens it."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        # Scratch tables on disk: at 1M cases in memory they cost 270 MB more RSS for 2 %.
        conn.execute("PRAGMA temp_store = FILE")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()


# ----------------------------------------------------------------------------- shared SQL

def one_of(name: str) -> str:
    """SQL for ``x IN …``: the values of the JSON list bound to ``:name`` (``Window.params``
    binds the open states, the satisfied ratings and the resolved outcomes so)."""
    return f"(SELECT value FROM json_each(:{name}))"


OPEN = one_of("open_states")
# A rating that reopened the case (sent it back to the unit, or on to the supervision group):
# the rated event leaves the case 'reopened'. Only such ratings are read for their payload.
REOPENING = "(e.type = 'rated' AND e.state_after = 'reopened')"
# A rating that handed the case to the supervision group: an arrival there.
RATING_ESCALATED = (f"({REOPENING} AND :supervision IS NOT NULL "
                    "AND json_extract(e.payload, '$.then') = 'escalated')")
# The open cases of this share filed by the report's moment: the ones that may be overdue
# now (``c``: the case).
OPEN_CASES = f"""units u JOIN cases c ON c.unit_id = u.id AND c.state IN {OPEN}
WHERE c.created_at <= :as_of AND c.id % :parts = :part"""


# ----------------------------------------------------------------------------- the pass

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
MAY_COUNT = f"""c.created_at < :end AND c.created_at <= :as_of AND c.id % :parts = :part
    AND (c.updated_at >= :start OR (c.state IN {OPEN}
         AND (c.accept_due >= :start OR c.answer_due >= :start)))"""

# Per case, from its events up to the report's moment: the first filing, acceptance,
# answer and ending (withdrawn, closed), how often it arrived somewhere else, and the
# extensions and reopening ratings of the period. A case whose events all came by then reads
# them from ``case_facts`` (kept by a trigger, storage/migrations/v1_to_v6.py V6; the two counts of
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
def _payload_time(x: str) -> str:
    return (f"CASE WHEN {x} GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR {x} GLOB '*Z' "
            f"THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', {x}) END")


# Per arrival: its first acceptance, and the deadline of the last acceptance extension
# granted while the unit held the case.
SEGMENT_DETAILS = f"""
UPDATE asm_seg SET
  accepted_at = (SELECT m.at FROM asm_mev m WHERE m.case_id = asm_seg.case_id
                 AND m.seg = asm_seg.seg AND m.type = 'accepted' ORDER BY m.id LIMIT 1),
  ext_due = (SELECT {_payload_time("json_extract(m.payload, '$.new_due')")}
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

def prepare(conn: Conn, window: Window) -> int:
    """Fill the scratch tables of one report; return how many cases may count."""
    params = window.params()
    conn.execute(CASE_TABLE)
    conn.execute(CASES, params)
    conn.execute("CREATE INDEX asm_case_moved ON asm_case(case_id) WHERE moves > 0")
    conn.execute(MOVED_EVENTS, params)
    conn.execute("CREATE INDEX asm_mev_seg ON asm_mev(case_id, seg, type, id)")
    conn.execute(SEGMENTS, params)
    conn.execute("CREATE UNIQUE INDEX asm_seg_key ON asm_seg(case_id, seg)")
    conn.execute(SEGMENT_DETAILS)
    conn.execute(MOVED_ANSWERS)
    with conn.execute("SELECT count(*) FROM asm_case") as cur:
        row = cur.fetchone()
    return int(row[0]) if row else 0


TIME_SPAN = ("SELECT min(m) FROM (SELECT min(filed_at) AS m FROM asm_case UNION ALL "
             f"SELECT min(min(c.accept_due, c.answer_due)) FROM {OPEN_CASES})")


def time_span(conn: Conn, window: Window) -> tuple[datetime, datetime]:
    """The earliest moment a working-day clock is needed for (a filing or a deadline), and
    the latest (the report's moment)."""
    with conn.execute(TIME_SPAN, window.params()) as cur:
        row = cur.fetchone()
    first = from_db_time(row[0]) if row and row[0] else window.as_of
    return min(first, window.as_of), window.as_of


def arrivals_without_due(conn: Conn
                               ) -> list[tuple[int, int, str, str, datetime]]:
    """Arrivals passed on before their own acceptance deadline was stored: (case id,
    arrival, kind, category, arrival moment); their deadline is the configured one."""
    with conn.execute(
        "SELECT s.case_id, s.seg, c.kind, c.category_id, s.start FROM asm_seg s "
        "JOIN cases c ON c.id = s.case_id "
        "WHERE s.needs_acc AND NOT s.is_last AND s.ext_due IS NULL"
    ) as cur:
        return [(row[0], row[1], row[2], row[3], from_db_time(row[4]))
                for row in cur.fetchall()]


def set_dues(conn: Conn,
             dues: Iterable[tuple[int, int, datetime]]) -> None:
    """Store the configured acceptance deadlines of earlier arrivals."""
    conn.executemany(
        "UPDATE asm_seg SET computed_due = ? WHERE case_id = ? AND seg = ?",
        [(to_db_time(due), case_id, seg) for case_id, seg, due in dues])


SCRATCH = ("asm_case", "asm_mev", "asm_seg")


def finish(conn: Conn) -> None:
    """Drop the scratch tables."""
    for table in SCRATCH:
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")

