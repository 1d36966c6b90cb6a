"""The counts of one share of a report, per unit, from its scratch tables
(:mod:`storage.assessment.scratch`): :func:`read_facts`. The SQL only counts and fetches
rows; working days are counted by the service (:mod:`bot.services.assessment.clock`).

The SQL here is SQLite's plan (:data:`SQLITE`); PostgreSQL's is
:mod:`storage.assessment.counts_postgres`, the same :class:`Queries` in its own words, read
into facts by the same :func:`read_facts`, so both engines turn rows into facts alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, NamedTuple

from storage.assessment.facts import Facts, Item, Window, list_order
from storage.assessment.scratch import OPEN_CASES, RATING_ESCALATED, one_of
from storage.models import from_db_time
from storage.sql import Conn

SATISFIED = one_of("satisfied")
RESOLVED = one_of("resolved")

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

# Ratings are stored on the answers they rate (``a``): those of the period, of this share's
# cases.
RATINGS = """answers a JOIN asm_case k ON k.case_id = a.case_id
WHERE a.rated_at >= :start AND a.rated_at < :end AND a.rated_at <= :as_of
  AND a.case_id % :parts = :part  -- this share's cases only: fewer lookups in asm_case"""

# Per unit: rated, satisfied (满意, 基本满意), and resolved.
COUNT_RATINGS = f"""
SELECT a.unit_id, count(*), sum(a.rating IN {SATISFIED}),
       sum(a.rating IN {SATISFIED} AND a.outcome IN {RESOLVED})
FROM {RATINGS}
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

# The open cases overdue now, with the deadline they missed (the service counts how many
# working days ago).
DUE_NOW = "CASE WHEN c.state = 'new' THEN c.accept_due ELSE c.answer_due END"
OVERDUE = f"""
SELECT c.id AS case_id, c.number, c.unit_id, {DUE_NOW} AS due,
       CASE WHEN c.state = 'new' THEN 'accept' ELSE 'answer' END AS which
FROM {OPEN_CASES}
  AND {DUE_NOW} < :as_of_ceil
  AND EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND +e.type = 'filed'
              AND e.at <= :as_of)
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
    "SELECT a.unit_id AS unit, a.case_id, a.rated_at AS moment, a.rating "
    f"FROM {RATINGS}\n  AND a.rating NOT IN {SATISFIED}", "moment, case_id")


# The cases behind the escalations listed, by id: their numbers.
NUMBERS = "SELECT id, number FROM cases WHERE id IN (SELECT value FROM json_each(:ids))"


class Queries(NamedTuple):
    """One engine's SQL for :func:`read_facts`: each statement gives the same rows (the same
    columns, in the same order) on its engine; ``numbers`` takes the case ids as ``ids``,
    in the form :attr:`ids` makes of a list."""

    count_cases: str
    moved_acceptances: str
    moved_items: str
    count_ratings: str
    received_moved: str
    received_before: str
    accept_spans: str
    answer_spans: str
    overdue: str
    late_acceptances: str
    late_answers: str
    not_satisfied: str
    numbers: str
    ids: Callable[[list[int]], Any]


SQLITE = Queries(COUNT_CASES, MOVED_ACCEPTANCES, MOVED_ITEMS, COUNT_RATINGS, RECEIVED_MOVED,
                 RECEIVED_BEFORE, ACCEPT_SPANS, ANSWER_SPANS, OVERDUE, LATE_ACCEPTANCES,
                 LATE_ANSWERS, NOT_SATISFIED, NUMBERS, json.dumps)


def _rows(conn: Conn, sql: str, params: dict[str, Any]) -> list[Any]:
    with conn.execute(sql, params) as cur:
        return list(cur.fetchall())


def read_facts(conn: Conn, window: Window, limit: int, queries: Queries = SQLITE,
               params: dict[str, Any] | None = None) -> Facts:
    """Count everything per unit; keep up to ``limit`` listed cases per unit and figure.
    ``queries``: the engine's SQL, with its ``params`` of the window (default: SQLite's).

    The cases overdue now come without their working days (``Item.days``: None).
    """
    params = (window.params() if params is None else params) | {"limit": limit}
    q = queries
    facts = Facts()
    counts = facts.counts

    def add(unit: str, key: str, value: int | None) -> None:
        if value:
            counts[(unit, key)] = counts.get((unit, key), 0) + int(value)

    for unit, received, accepts, accepted, answers, answered, extensions, reopened in (
            _rows(conn, q.count_cases, params)):
        if received:
            key = frozenset((unit,))
            facts.received[key] = facts.received.get(key, 0) + received
        for name, value in (("accept_total", accepts), ("accepted_on_time", accepted),
                            ("response_total", accepts), ("responded_on_time", accepted),
                            ("answer_total", answers), ("answered_on_time", answered),
                            ("extensions", extensions), ("reopened", reopened)):
            add(unit, name, value)
    for _, unit, first, _, _, _, ok in _rows(conn, q.moved_acceptances, params):
        add(unit, "accept_total", 1)
        add(unit, "accepted_on_time", ok)
        if first:
            add(unit, "response_total", 1)
            add(unit, "responded_on_time", ok)
    for figure, unit, case_id, at, how in _rows(conn, q.moved_items, params):
        add(unit, figure, 1)
        if how in ("escalated", "rating_escalated"):
            facts.listed.setdefault((figure, unit), []).append(
                Item(figure, unit, case_id, "", from_db_time(at), how, ok=False))
    for unit, rated, happy, fixed in _rows(conn, q.count_ratings, params):
        add(unit, "rated", rated)
        add(unit, "satisfied", happy)
        add(unit, "resolved", fixed)
    _add_sets(facts.received, _rows(conn, q.received_moved, params))
    _add_sets(facts.received_before, _rows(conn, q.received_before, params))
    for source, into in ((q.accept_spans, facts.accept_spans),
                         (q.answer_spans, facts.answer_spans)):
        for unit, spans in _rows(conn, source, params):
            into[unit] = [spans]
    for case_id, number, unit, due, which in _rows(conn, q.overdue, params):
        moment = from_db_time(due)
        facts.overdue.append(Item("overdue_now", unit, case_id, number, moment,
                                  f"{which}_overdue", ok=False, due=moment))
    _listed(conn, facts, params, q)
    return facts


def _add_sets(into: dict[frozenset[str], int], rows: Iterable[Any]) -> None:
    for units, count in rows:
        key = frozenset(str(units or "").split(UNITS_SEP))
        into[key] = into.get(key, 0) + count


def _listed(conn: Conn, facts: Facts, params: dict[str, Any], q: Queries) -> None:
    """The cases that count against a unit: late acceptances and answers, ratings not
    satisfied (the escalations came with the moved cases), with their numbers."""
    listed = facts.listed
    for figure, sql in (("accepted_on_time", q.late_acceptances),
                        ("answered_on_time", q.late_answers)):
        for row in _rows(conn, sql, params):
            due = from_db_time(row["due"])
            listed.setdefault((figure, row["unit"]), []).append(Item(
                figure, row["unit"], row["case_id"], row["number"], due, row["how"],
                ok=False, due=due))
    for row in _rows(conn, q.not_satisfied, params):
        listed.setdefault(("satisfaction", row["unit"]), []).append(Item(
            "satisfaction", row["unit"], row["case_id"], row["number"],
            from_db_time(row["moment"]), row["rating"], ok=False))
    escalations = [item for key, items in listed.items() if key[0] in ("transfers", "reopened")
                   for item in items]
    numbers: dict[int, str] = {}
    if escalations:
        ids = sorted({item.case_id for item in escalations})
        numbers = dict(_rows(conn, q.numbers, {"ids": q.ids(ids)}))
    for key, items in listed.items():
        if key[0] in ("transfers", "reopened"):
            items = [replace(item, number=numbers.get(item.case_id, "")) for item in items]
        listed[key] = sorted(items, key=list_order)
