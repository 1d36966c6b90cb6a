"""PostgreSQL's plan for the counts of one share (:mod:`storage.assessment.counts` is
SQLite's): the same :class:`~storage.assessment.counts.Queries`, each giving the rows its
SQLite twin gives, read into facts by the same ``read_facts``.

In PostgreSQL's words: ``count(*) FILTER (WHERE …)`` where SQLite sums booleans, flags
compared as integers, ``greatest`` for the scalar ``max``, ``string_agg`` with ``chr(31)``,
lists as arrays, payloads read as ``jsonb``, moments as epoch seconds by
``date_part('epoch', …)``, and the join order left to the planner.
"""

from __future__ import annotations

from storage.assessment.counts import UNITS_SEP, Queries, read_facts
from storage.assessment.facts import Facts, Window
from storage.assessment.scratch_postgres import (
    RATING_ESCALATED,
    one_of,
    params,
    share_of,
)
from storage.sql import Conn

SATISFIED = one_of("satisfied")
RESOLVED = one_of("resolved")

# As SQLite's COUNT_CASES.
COUNT_CASES = """
SELECT unit, count(*) FILTER (WHERE received), count(*) FILTER (WHERE accepts),
       count(*) FILTER (WHERE accepted), count(*) FILTER (WHERE answers),
       count(*) FILTER (WHERE answered), sum(extensions), sum(reopened)
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
      FROM asm_case) k
GROUP BY unit
"""

# As SQLite's MOVED_ACCEPTANCES.
MOVED_ACCEPTANCES = """
SELECT case_id, unit, first, due, how, CASE WHEN ok = 1 THEN done ELSE due END AS moment, ok
FROM (SELECT *, CASE WHEN done IS NOT NULL AND done <= due THEN 1
                     WHEN due < :as_of_ceil AND (done IS NOT NULL OR ended IS NULL
                                                 OR ended > due) THEN 0 END AS ok
      FROM (SELECT s.case_id, s.unit, (s.seg = 1)::int AS first,
                   CASE WHEN s.is_last = 1 THEN k.accept_due
                        ELSE coalesce(s.ext_due, s.computed_due) END AS due,
                   CASE WHEN s.accepted_at IS NOT NULL THEN s.accepted_at
                        WHEN s.passed_on = 1 THEN s.end_at END AS done,
                   CASE WHEN s.accepted_at IS NOT NULL THEN 'accepted'
                        WHEN s.passed_on = 1 THEN 'passed_on' ELSE 'not_accepted' END AS how,
                   CASE WHEN k.ended >= s.start AND (s.end_at IS NULL OR k.ended <= s.end_at)
                        THEN k.ended END AS ended
            FROM asm_seg s JOIN asm_case k ON k.case_id = s.case_id AND k.moves > 0
            WHERE s.needs_acc = 1) d) o
WHERE due IS NOT NULL AND ok IS NOT NULL
  AND CASE WHEN ok = 1 THEN done ELSE due END >= :start
  AND CASE WHEN ok = 1 THEN done ELSE due END < :end
"""

# As SQLite's MOVED_ITEMS.
MOVED_ITEMS = """
SELECT CASE WHEN m.type = 'extension_granted' THEN 'extensions'
            WHEN m.type = 'rated' THEN 'reopened' ELSE 'transfers' END AS figure,
       CASE WHEN m.type = 'extension_granted' THEN s.unit
            WHEN m.type = 'rated' THEN coalesce(a.unit_id, b.unit)
            ELSE coalesce(nullif(m.payload::jsonb ->> 'from', ''), b.unit) END AS unit,
       m.case_id, m.at,
       CASE WHEN m.type = 'rated' AND m.arrival = 1 THEN 'rating_escalated'
            ELSE m.type END AS how
FROM asm_mev m
JOIN asm_seg s ON s.case_id = m.case_id AND s.seg = m.seg
JOIN asm_seg b ON b.case_id = m.case_id AND b.seg = greatest(1, m.seg - m.arrival)
LEFT JOIN answers a ON m.type = 'rated' AND a.id = (m.payload::jsonb ->> 'answer')::bigint
                   AND a.case_id = m.case_id
WHERE m.at >= :start AND m.at < :end
  AND (m.type IN ('extension_granted', 'transferred', 'escalated') OR m.reopening = 1)
"""

# As SQLite's RATINGS.
RATINGS = f"""answers a JOIN asm_case k ON k.case_id = a.case_id
WHERE a.rated_at >= :start AND a.rated_at < :end AND a.rated_at <= :as_of
  AND {share_of("a.case_id")}"""

COUNT_RATINGS = f"""
SELECT a.unit_id, count(*), count(*) FILTER (WHERE a.rating = {SATISFIED}),
       count(*) FILTER (WHERE a.rating = {SATISFIED} AND a.outcome = {RESOLVED})
FROM {RATINGS}
GROUP BY a.unit_id
"""


def _unit_sets(source: str) -> str:
    """SQL: how many cases of ``source`` arrived at each set of units (as SQLite's)."""
    assert UNITS_SEP == chr(31)
    return ("SELECT units, count(*) FROM (SELECT string_agg(coalesce(unit, ''), chr(31)) "
            f"AS units FROM ({source}) AS r GROUP BY case_id) AS s GROUP BY units")


RECEIVED_MOVED = _unit_sets(
    "SELECT case_id, unit FROM asm_seg WHERE start >= :start AND start < :end")

# As SQLite's RECEIVED_BEFORE.
RECEIVED_BEFORE = _unit_sets(f"""
SELECT e.case_id,
       CASE e.type WHEN 'filed' THEN coalesce(nullif(f.filed_unit, ''), c.unit_id)
                   WHEN 'rated' THEN :supervision::text
                   ELSE coalesce(nullif(e.payload::jsonb ->> 'to', ''), c.unit_id) END
           AS unit
FROM case_events e JOIN case_facts f ON f.case_id = e.case_id
JOIN cases c ON c.id = e.case_id
WHERE e.type IN ('filed', 'transferred', 'escalated', 'rated')
  AND e.at >= :before_start AND e.at < :before_end AND e.at <= :as_of
  AND c.created_at <= :as_of AND {share_of("e.case_id")}
  AND (e.type <> 'rated' OR {RATING_ESCALATED})
  AND CASE WHEN e.type = 'filed' THEN e.id = f.filed_id ELSE e.id > f.filed_id END
""")


def _epoch(moment: str) -> str:
    """SQL: a stored moment as epoch seconds, by ``date_part`` (a float: ``extract`` gives
    a ``numeric``, a sixth slower over the million moments a report reads)."""
    return f"date_part('epoch', ({moment})::timestamptz)::bigint"


def _spans(source: str, unit: str, since: str, until: str) -> str:
    """SQL: per unit, the moments (epoch seconds) ``since`` and ``until`` of the rows of
    ``source`` as one text of comma-separated pairs (as SQLite's)."""
    return (f"SELECT unit, string_agg(t1::text || ',' || t2::text, ',') FROM "
            f"(SELECT {unit} AS unit, {_epoch(since)} AS t1, {_epoch(until)} AS t2 "
            f"FROM {source}) AS p GROUP BY unit")


ACCEPT_SPANS = _spans(
    "(SELECT unit_id AS unit, filed_at AS start, accepted_at FROM asm_case WHERE moves = 0 "
    "UNION ALL SELECT unit, start, accepted_at FROM asm_seg WHERE needs_acc = 1) AS a "
    "WHERE accepted_at >= :start AND accepted_at < :end",
    "unit", "start", "accepted_at")
ANSWER_SPANS = _spans(
    "asm_case WHERE answered_at >= :start AND answered_at < :end",
    "coalesce(answer_unit, unit_id)", "filed_at", "answered_at")

# As SQLite's OVERDUE, from this share's open cases (asm_open).
DUE_NOW = "CASE WHEN o.state = 'new' THEN o.accept_due ELSE o.answer_due END"
OVERDUE = f"""
SELECT o.case_id, o.number, o.unit_id, {DUE_NOW} AS due,
       CASE WHEN o.state = 'new' THEN 'accept' ELSE 'answer' END AS which
FROM asm_open o
WHERE {DUE_NOW} < :as_of_ceil
  AND EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = o.case_id AND e.type = 'filed'
              AND e.at <= :as_of)
"""


def _capped(source: str, order: str) -> str:
    """SQL: the rows of ``source`` (with a ``unit``), at most ``:limit`` per unit, with the
    case's number (as SQLite's). The number is looked up for the rows kept only: joined,
    the planner (which cannot tell how few are kept) would hash every case."""
    return ("SELECT x.*, (SELECT c.number FROM cases c WHERE c.id = x.case_id) AS number "
            f"FROM (SELECT r.*, row_number() OVER (PARTITION BY unit ORDER BY {order}) "
            f"AS rank FROM ({source}) AS r) x WHERE x.rank <= :limit")


LATE_ACCEPTANCES = _capped(
    "SELECT case_id, unit_id AS unit, accept_due AS due, CASE WHEN accepted_at IS NULL "
    "THEN 'not_accepted' ELSE 'accepted' END AS how FROM asm_case WHERE moves = 0 "
    "AND acc_ok = 0 AND acc_at >= :start AND acc_at < :end "
    f"UNION ALL SELECT case_id, unit, due, how FROM ({MOVED_ACCEPTANCES}) AS m WHERE ok = 0",
    "due, case_id")
LATE_ANSWERS = _capped(
    "SELECT case_id, coalesce(due_holder, unit_id) AS unit, answer_due AS due, "
    "CASE WHEN answered_at IS NULL THEN 'not_answered' ELSE 'answered' END AS how "
    "FROM asm_case WHERE ans_ok = 0 AND ans_at >= :start AND ans_at < :end",
    'how COLLATE "C" DESC, due, case_id')
NOT_SATISFIED = _capped(
    "SELECT a.unit_id AS unit, a.case_id, a.rated_at AS moment, a.rating "
    f"FROM {RATINGS}\n  AND NOT (a.rating = {SATISFIED})", "moment, case_id")

NUMBERS = "SELECT id, number FROM cases WHERE id = ANY(:ids::bigint[])"

POSTGRES = Queries(COUNT_CASES, MOVED_ACCEPTANCES, MOVED_ITEMS, COUNT_RATINGS,
                   RECEIVED_MOVED, RECEIVED_BEFORE, ACCEPT_SPANS, ANSWER_SPANS, OVERDUE,
                   LATE_ACCEPTANCES, LATE_ANSWERS, NOT_SATISFIED, NUMBERS, list)


def read_facts_postgres(conn: Conn, window: Window, limit: int) -> Facts:
    """Count everything per unit on PostgreSQL (see ``read_facts``)."""
    return read_facts(conn, window, limit, POSTGRES, params(window))
