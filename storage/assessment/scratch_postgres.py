"""PostgreSQL's plan for the scratch pass of one share (:mod:`storage.assessment.scratch` is
SQLite's): the same tables, filled with the same rows, in PostgreSQL's own words.

What differs from SQLite's plan, and why:

- The report's connection (:func:`reader`) reads in a ``REPEATABLE READ READ ONLY``
  transaction, the first share's snapshot exported and the others' importing it, so all
  shares see one moment. A read-only transaction may write temporary tables but not create
  them, nor their indexes: they are made before it begins (empty), and go with the
  connection.
- No hints: SQLite needs ``+col`` and ``CROSS JOIN`` to keep its join order; PostgreSQL's
  planner chooses, from the tables' statistics (``asm_case`` is analysed once filled:
  nothing else analyses temporary tables). The SQL is written so that it estimates well:
  a share's cases by an inequality (:func:`share_of`), a looked-up column as a scalar
  subquery where few rows are kept.
- Lists of states and ratings are arrays (``= ANY``), flags are compared as integers,
  payloads are read as ``jsonb`` where they are read, a moment in a payload by
  ``to_char`` in UTC once a regular expression says it is one (SQLite: GLOB and
  ``strftime``), and a per-arrival detail is an aggregate joined in rather than a
  correlated UPDATE.
- The open cases of the share are kept (``asm_open``): the clock's span and the cases
  overdue read them, and the cases table is scanned once for both.

Times are ISO-8601 UTC text on both engines and are compared as text (``COLLATE "C"``, as
the schema's columns are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from storage.assessment.facts import Window
from storage.migrations.postgres_baseline import bytewise
from storage.models import from_db_time, to_db_time
from storage.sql import Conn
from storage.sql_postgres import connect

# A snapshot's id as pg_export_snapshot() gives it (it is written into SET TRANSACTION
# SNAPSHOT, which takes no parameters).
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")

# The report's own settings: room for its sorts and hashes; its scratch tables kept in
# memory (temp_buffers must be set before the session's first temporary table); no
# parallel workers, as the shares are already read at once, one per processor; no JIT,
# whose compiling costs more than it saves on statements of a second.
SESSION = ("SET work_mem = '64MB'", "SET temp_buffers = '256MB'",
           "SET max_parallel_workers_per_gather = 0", "SET jit = off")


SCRATCH_TABLES = tuple(bytewise(ddl) for ddl in (
    """CREATE TEMP TABLE asm_case (
    case_id BIGINT, unit_id TEXT, accept_due TEXT, answer_due TEXT, filed_id BIGINT,
    filed_at TEXT, moves BIGINT, accepted_at TEXT, answer_ev BIGINT, answered_at TEXT,
    ended TEXT, extensions BIGINT, reopened BIGINT, acc_ok INTEGER, acc_at TEXT,
    ans_ok INTEGER, ans_at TEXT, answer_unit TEXT, due_holder TEXT)""",
    """CREATE TEMP TABLE asm_mev (
    case_id BIGINT, id BIGINT, at TEXT, type TEXT, payload TEXT, arrival INTEGER,
    reopening INTEGER, seg BIGINT)""",
    "CREATE INDEX asm_mev_seg ON asm_mev(case_id, seg, type, id)",
    """CREATE TEMP TABLE asm_seg (
    case_id BIGINT, seg BIGINT, arr_id BIGINT, start TEXT, how TEXT, needs_acc INTEGER,
    end_at TEXT, passed_on INTEGER, is_last INTEGER, unit TEXT, accepted_at TEXT,
    ext_due TEXT, computed_due TEXT)""",
    "CREATE UNIQUE INDEX asm_seg_key ON asm_seg(case_id, seg)",
    """CREATE TEMP TABLE asm_open (
    case_id BIGINT, number TEXT, unit_id TEXT, state TEXT, accept_due TEXT,
    answer_due TEXT)""",
))

_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


@contextmanager
def reader(url: str, snapshot: str | None = None) -> Iterator[tuple[Conn, str]]:
    """A connection of the report's own to the PostgreSQL database at ``url``, in a
    read-only transaction of one snapshot: ``snapshot`` (the id another reader exported,
    while its transaction is still open), or, without one, a new snapshot this reader
    exports. Yields the connection and the snapshot's id. Only its scratch (temporary)
    tables are written; they go with the connection. Used on the thread that opens it."""
    conn = connect(url, application="sunbox-assessment")
    try:
        for statement in SESSION + SCRATCH_TABLES:
            conn.script(statement)
        conn.script(_BEGIN)
        try:
            if snapshot is None:
                with conn.execute("SELECT pg_export_snapshot()") as cur:
                    row = cur.fetchone()
                assert row is not None
                snapshot = str(row[0])
            else:
                if not _SNAPSHOT_ID.fullmatch(snapshot):
                    raise ValueError(f"not a snapshot id: {snapshot!r}")
                conn.script(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            yield conn, snapshot
        finally:
            if conn.in_transaction and not conn.broken:
                conn.script("ROLLBACK")
    finally:
        conn.close()


def params(window: Window) -> dict[str, Any]:
    """The window's parameters as PostgreSQL's plan binds them: lists as arrays."""
    return window.params() | {"open_states": list(window.open_states),
                              "satisfied": list(window.satisfied),
                              "resolved": list(window.resolved)}


# ----------------------------------------------------------------------------- shared SQL

def one_of(name: str) -> str:
    """SQL for ``x = ANY …``: the list bound to ``:name`` (see :func:`params`)."""
    return f"ANY(:{name}::text[])"


def share_of(column: str) -> str:
    """SQL: the id in ``column`` is this share's (``Window.part`` modulo ``parts``). Written
    as an inequality: PostgreSQL estimates an equality on an expression at 0.5 % of the
    rows, and would then look a share's 300,000 cases up one by one where a hash join reads
    them at once; an inequality it estimates at a third, near a share's true half or
    quarter."""
    return f"abs({column} % :parts - :part) < 1"


OPEN = one_of("open_states")
REOPENING = "(e.type = 'rated' AND e.state_after = 'reopened')"
RATING_ESCALATED = (f"({REOPENING} AND :supervision::text IS NOT NULL "
                    "AND (e.payload::jsonb ->> 'then') = 'escalated')")
OPEN_CASES = f"""units u JOIN cases c ON c.unit_id = u.id AND c.state = {OPEN}
WHERE c.created_at <= :as_of AND {share_of("c.id")}"""


# ----------------------------------------------------------------------------- the pass

MAY_COUNT = f"""c.created_at < :end AND c.created_at <= :as_of AND {share_of("c.id")}
    AND (c.updated_at >= :start OR (c.state = {OPEN}
         AND (c.accept_due >= :start OR c.answer_due >= :start)))"""

# As SQLite's TRAILS: from case_facts for a case whose events all came by the report's
# moment, replayed from its trail otherwise.
TRAILS = f"""
SELECT c.id AS case_id, c.unit_id, c.accept_due, c.answer_due, f.filed_id, f.filed_at,
       f.moves + CASE WHEN :supervision::text IS NOT NULL THEN f.rating_moves ELSE 0 END
           AS moves,
       f.accepted_at, f.answer_ev, f.answered_at, f.end_ev, f.ended_at,
       CASE WHEN f.extensions > 0 THEN (
           SELECT count(*) FROM case_events e WHERE e.case_id = c.id
           AND e.type = 'extension_granted' AND e.at >= :start AND e.at < :end) ELSE 0 END
           AS extensions,
       CASE WHEN f.reopenings > 0 THEN (
           SELECT count(*) FROM case_events e WHERE e.case_id = c.id AND {REOPENING}
           AND e.at >= :start AND e.at < :end) ELSE 0 END AS reopened
FROM cases c JOIN case_facts f ON f.case_id = c.id
WHERE {MAY_COUNT} AND f.last_at <= :as_of
UNION ALL
SELECT c.id, c.unit_id, c.accept_due, c.answer_due,
       min(e.id) FILTER (WHERE e.type = 'filed'),
       min(e.at) FILTER (WHERE e.type = 'filed'),
       count(*) FILTER (WHERE e.type IN ('transferred', 'escalated') OR {RATING_ESCALATED}),
       min(e.at) FILTER (WHERE e.type = 'accepted'),
       min(e.id) FILTER (WHERE e.type = 'answered'),
       min(e.at) FILTER (WHERE e.type = 'answered'),
       min(e.id) FILTER (WHERE e.type IN ('withdrawn', 'closed')),
       min(e.at) FILTER (WHERE e.type IN ('withdrawn', 'closed')),
       count(*) FILTER (WHERE e.type = 'extension_granted' AND e.at >= :start
                        AND e.at < :end),
       count(*) FILTER (WHERE {REOPENING} AND e.at >= :start AND e.at < :end)
FROM case_facts l JOIN cases c ON c.id = l.case_id
JOIN case_events e ON e.case_id = c.id
WHERE l.last_at > :as_of AND {MAY_COUNT} AND e.at <= :as_of
GROUP BY c.id
"""

# As SQLite's CASES.
CASES = f"""
INSERT INTO asm_case
SELECT case_id, unit_id, accept_due, answer_due, filed_id, filed_at, moves, accepted_at,
       answer_ev, answered_at, ended, extensions, reopened, acc_ok,
       CASE WHEN acc_ok = 1 THEN accepted_at ELSE accept_due END,
       ans_ok, CASE WHEN ans_ok = 1 THEN answered_at ELSE answer_due END, NULL, NULL
FROM (SELECT t.*,
        CASE WHEN accepted_at IS NOT NULL AND accepted_at <= accept_due THEN 1
             WHEN accept_due < :as_of_ceil AND (accepted_at IS NOT NULL OR ended IS NULL
                  OR ended < filed_at OR ended > accept_due) THEN 0 END AS acc_ok,
        CASE WHEN answered_at IS NOT NULL AND answered_at <= answer_due THEN 1
             WHEN answer_due >= :as_of_ceil THEN NULL
             WHEN answered_at IS NULL AND ended <= answer_due THEN NULL
             ELSE 0 END AS ans_ok
      FROM (SELECT r.*, CASE WHEN end_ev IS NOT NULL
                                  AND (answer_ev IS NULL OR end_ev < answer_ev)
                             THEN ended_at END AS ended
            FROM ({TRAILS}) r
            WHERE filed_id IS NOT NULL) t) k
"""

# As SQLite's MOVED_EVENTS: events of the cases that moved, numbered by the arrival they
# follow; the payload only where it is read.
MOVED_EVENTS = f"""
INSERT INTO asm_mev
SELECT *, sum(arrival) OVER (PARTITION BY case_id ORDER BY id ROWS UNBOUNDED PRECEDING)
FROM (SELECT e.case_id, e.id, e.at, e.type,
             CASE WHEN e.type IN ('filed', 'transferred', 'escalated', 'extension_granted')
                       OR {REOPENING} OR e.id = k.answer_ev THEN e.payload END AS payload,
             CASE WHEN e.id = k.filed_id OR e.type IN ('transferred', 'escalated')
                       OR {RATING_ESCALATED} THEN 1 ELSE 0 END AS arrival,
             CASE WHEN {REOPENING} THEN 1 ELSE 0 END AS reopening
      FROM asm_case k JOIN case_events e ON e.case_id = k.case_id
      WHERE k.moves > 0 AND e.id >= k.filed_id AND e.at <= :as_of) m
"""

# A moment from a payload, as stored moments are (UTC, whole seconds), if it is an ISO
# moment that names its offset (what SQLite's GLOB and strftime accept); else NULL.
_MOMENT = (r"'^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
           r"([+-][0-9]{2}:[0-9]{2}|Z)$'")


def _payload_time(x: str) -> str:
    return (f"CASE WHEN {x} ~ {_MOMENT} THEN to_char(({x})::timestamptz AT TIME ZONE 'UTC', "
            """'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00' END""")


# As SQLite's SEGMENTS and SEGMENT_DETAILS: one row per arrival of a case that moved, with
# its first acceptance and the deadline of the last acceptance extension granted there.
SEGMENTS = f"""
INSERT INTO asm_seg
SELECT a.case_id, a.seg, a.arr_id, a.start, a.how, a.needs_acc, a.end_at, a.passed_on,
       a.is_last,
       substr(max(CASE WHEN a.target IS NOT NULL
                       THEN lpad(a.arr_id::text, 20, '0') || a.target END COLLATE "C")
              OVER (PARTITION BY a.case_id ORDER BY a.arr_id ROWS UNBOUNDED PRECEDING), 21),
       d.accepted_at, d.ext_due, NULL
FROM (SELECT a.case_id, a.seg, a.id AS arr_id, a.at AS start,
             CASE a.type WHEN 'rated' THEN 'rating_escalated' ELSE a.type END AS how,
             CASE WHEN a.type = 'rated' THEN 0 ELSE 1 END AS needs_acc,
             CASE a.type
                 WHEN 'filed' THEN coalesce(nullif(a.payload::jsonb ->> 'unit', ''),
                                            k.unit_id)
                 WHEN 'rated' THEN :supervision::text
                 ELSE nullif(a.payload::jsonb ->> 'to', '') END AS target,
             lead(a.at) OVER w AS end_at,
             coalesce((lead(a.type) OVER w IN ('transferred', 'escalated'))::int, 0)
                 AS passed_on,
             (lead(a.id) OVER w IS NULL)::int AS is_last
      FROM asm_mev a JOIN asm_case k ON k.case_id = a.case_id AND k.moves > 0
      WHERE a.arrival = 1
      WINDOW w AS (PARTITION BY a.case_id ORDER BY a.id)) a
LEFT JOIN (
    SELECT m.case_id, m.seg,
           (array_agg(m.at ORDER BY m.id) FILTER (WHERE m.type = 'accepted'))[1]
               AS accepted_at,
           (array_agg({_payload_time("m.payload::jsonb ->> 'new_due'")}
                      ORDER BY m.id DESC)
               FILTER (WHERE m.type = 'extension_granted'
                       AND m.payload::jsonb ->> 'deadline' = 'accept'))[1] AS ext_due
    FROM asm_mev m WHERE m.type IN ('accepted', 'extension_granted')
    GROUP BY m.case_id, m.seg) d ON d.case_id = a.case_id AND d.seg = a.seg
"""

# As SQLite's MOVED_ANSWERS.
MOVED_ANSWERS = """
UPDATE asm_case SET
  answer_unit = (SELECT coalesce(a.unit_id, s.unit) FROM asm_mev m
                 JOIN asm_seg s ON s.case_id = m.case_id AND s.seg = m.seg
                 LEFT JOIN answers a ON a.id = (m.payload::jsonb ->> 'answer')::bigint
                                    AND a.case_id = m.case_id
                 WHERE m.case_id = asm_case.case_id AND m.id = asm_case.answer_ev),
  due_holder = coalesce(
      (SELECT s.unit FROM asm_seg s WHERE s.case_id = asm_case.case_id
       AND s.start <= asm_case.answer_due ORDER BY s.seg DESC LIMIT 1),
      (SELECT s.unit FROM asm_seg s WHERE s.case_id = asm_case.case_id AND s.seg = 1))
WHERE moves > 0 AND case_id IN (SELECT case_id FROM asm_seg WHERE seg = 1)
"""

# The open cases of this share (the ones that may be overdue now), read once for the
# clock's span and for the cases overdue.
OPEN_NOW = ("INSERT INTO asm_open SELECT c.id, c.number, c.unit_id, c.state, c.accept_due, "
            f"c.answer_due FROM {OPEN_CASES}")


def _count(conn: Conn, sql: str, values: dict[str, Any] | None = None) -> int:
    with conn.execute(sql, values or {}) as cur:
        row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def prepare(conn: Conn, window: Window) -> int:
    """Fill the scratch tables of one report; return how many cases may count."""
    values = params(window)
    conn.execute(CASES, values)
    conn.execute("ANALYZE asm_case (moves)")  # the count is what the plans need
    conn.execute(MOVED_EVENTS, values)
    conn.execute("ANALYZE asm_mev")
    conn.execute(SEGMENTS, values)
    conn.execute("ANALYZE asm_seg")
    conn.execute(MOVED_ANSWERS)
    conn.execute(OPEN_NOW, values)
    return _count(conn, "SELECT count(*) FROM asm_case")


TIME_SPAN = ("SELECT min(m) FROM (SELECT min(filed_at) AS m FROM asm_case UNION ALL "
             "SELECT min(least(accept_due, answer_due)) FROM asm_open) AS t")


def time_span(conn: Conn, window: Window) -> tuple[datetime, datetime]:
    """As :func:`storage.assessment.scratch.time_span`."""
    with conn.execute(TIME_SPAN, params(window)) as cur:
        row = cur.fetchone()
    first = from_db_time(row[0]) if row and row[0] else window.as_of
    return min(first, window.as_of), window.as_of


def arrivals_without_due(conn: Conn) -> list[tuple[int, int, str, str, datetime]]:
    """As :func:`storage.assessment.scratch.arrivals_without_due`."""
    with conn.execute(
        "SELECT s.case_id, s.seg, c.kind, c.category_id, s.start FROM asm_seg s "
        "JOIN cases c ON c.id = s.case_id "
        "WHERE s.needs_acc = 1 AND s.is_last = 0 AND s.ext_due IS NULL"
    ) as cur:
        return [(row[0], row[1], row[2], row[3], from_db_time(row[4]))
                for row in cur.fetchall()]


SET_DUES = """
UPDATE asm_seg s SET computed_due = d.due
FROM unnest(:dues::text[], :cases::bigint[], :segs::bigint[]) AS d(due, case_id, seg)
WHERE s.case_id = d.case_id AND s.seg = d.seg
"""


def set_dues(conn: Conn, dues: Iterable[tuple[int, int, datetime]]) -> None:
    """Store the configured acceptance deadlines of earlier arrivals, in one statement
    (a share has some 20,000 of them at a million cases: one statement each took 0.3 s)."""
    rows = list(dues)
    if rows:
        conn.execute(SET_DUES, {"dues": [to_db_time(due) for _, _, due in rows],
                                "cases": [case_id for case_id, _, _ in rows],
                                "segs": [seg for _, seg, _ in rows]})


def finish(conn: Conn) -> None:
    """Nothing to drop: the scratch tables' rows go with the read-only transaction, and the
    tables with the report's connection (:func:`reader`)."""
