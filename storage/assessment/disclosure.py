"""The disclosure register's counts of one share of a report (公开及时率, 公开完整率,
意见答复率), per unit: :func:`read_disclosure_facts`. The rules are those of
``docs/assessment.md`` (*Disclosure*), applied by :mod:`bot.services.assessment`.

The register's tables are small next to the cases: each figure is one plain aggregate over
its table, no scratch table. A share counts the obligations and the disclosures whose id is
its own, and the opinions whose case is (``Window.part``), so that the shares add up as the
cases' do (:func:`storage.assessment.facts.combine`).

- Obligations due: ``due_at`` in the period and at or before the report's moment (one still
  ahead is pending, counted nowhere); met on time: ``met_at`` at or before ``due_at``. Those
  missed (met late, or not met by the report's moment) are listed, at most ``:limit`` per
  unit, not met at all first, then by their deadline.
- Disclosures published: numbered (published), not a pre-disclosure, published in the period
  by the report's moment; complete: every form the disclosure requires (its ``forms``)
  confirmed by the report's moment.
- Opinions: cases linked in ``disclosure_opinions``, at the unit of the disclosure they are
  on, filed in the period (their first ``filed`` event). Counted as the on-time answer is
  (the same ``answered`` event: the first answer that reached the reporter): once answered,
  or once the answer deadline in force (``cases.answer_due``) passed unanswered; not while
  that deadline is still ahead, nor when the case was withdrawn or closed unanswered by its
  deadline. Answered: an ``answered`` event by the report's moment, on time or late.

The SQL here is SQLite's (:data:`SQLITE`); PostgreSQL's is
:mod:`storage.assessment.disclosure_postgres`, the same :class:`Queries` giving the same rows,
read by the same :func:`read_disclosure_facts`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from storage.assessment.facts import Duty, Facts, duty_order
from storage.models import from_db_time
from storage.sql import Conn

# The obligations of this share due in the period, by the report's moment.
DUE = """disclosure_obligations o
WHERE o.due_at >= :start AND o.due_at < :end AND o.due_at < :as_of_ceil
  AND o.id % :parts = :part"""

# Per unit: obligations due, and met by their deadline.
OBLIGATIONS = f"""
SELECT o.unit_id, count(*), sum(CASE WHEN o.met_at <= o.due_at THEN 1 ELSE 0 END)
FROM {DUE}
GROUP BY o.unit_id
"""

# The obligations missed, at most :limit per unit: not met by the report's moment first.
MISSED = f"""
SELECT id, unit_id, item_id, period_key, title, due_at, met_at
FROM (SELECT o.id, o.unit_id, o.item_id, o.period_key, o.title, o.due_at,
             CASE WHEN o.met_at < :as_of_ceil THEN o.met_at END AS met_at,
             row_number() OVER (
                 PARTITION BY o.unit_id
                 ORDER BY CASE WHEN o.met_at < :as_of_ceil THEN 1 ELSE 0 END, o.due_at, o.id
             ) AS rank
      FROM {DUE}
        AND (o.met_at IS NULL OR o.met_at > o.due_at)) m
WHERE rank <= :limit
"""

# Per unit: disclosures published in the period, and those with every form confirmed.
COMPLETENESS = """
SELECT d.unit_id, count(*),
       sum(CASE WHEN NOT EXISTS (
               SELECT 1 FROM json_each(d.forms) j
               WHERE NOT EXISTS (SELECT 1 FROM disclosure_forms f
                                 WHERE f.disclosure_id = d.id AND f.form = j.value
                                   AND f.confirmed_at < :as_of_ceil))
           THEN 1 ELSE 0 END)
FROM disclosures d
WHERE d.number IS NOT NULL AND d.pre = 0 AND d.published_at >= :start
  AND d.published_at < :end AND d.published_at < :as_of_ceil AND d.id % :parts = :part
GROUP BY d.unit_id
"""

# The opinions of this share, from their cases' events by the report's moment.
OPINION_TRAILS = """
SELECT d.unit_id, c.answer_due,
       min(CASE WHEN e.type = 'filed' THEN e.at END) AS filed_at,
       min(CASE WHEN e.type = 'answered' THEN e.at END) AS answered_at,
       min(CASE WHEN e.type IN ('withdrawn', 'closed') THEN e.at END) AS ended_at
FROM disclosure_opinions o
JOIN disclosures d ON d.id = o.disclosure_id
JOIN cases c ON c.id = o.case_id
JOIN case_events e ON e.case_id = o.case_id AND e.at <= :as_of
WHERE o.case_id % :parts = :part
GROUP BY o.case_id, d.unit_id, c.answer_due
"""

# Per unit: opinions filed in the period that count, and those answered.
OPINIONS = f"""
SELECT unit_id, count(*), count(answered_at)
FROM ({OPINION_TRAILS}) k
WHERE filed_at >= :start AND filed_at < :end
  AND (answered_at IS NOT NULL
       OR (answer_due < :as_of_ceil AND (ended_at IS NULL OR ended_at > answer_due)))
GROUP BY unit_id
"""


class Queries(NamedTuple):
    """One engine's SQL for :func:`read_disclosure_facts` (the same rows on each)."""

    obligations: str
    missed: str
    completeness: str
    opinions: str


SQLITE = Queries(OBLIGATIONS, MISSED, COMPLETENESS, OPINIONS)

# The counts each query gives per unit (after the unit), by their key in ``Facts.counts``.
KEYS = {
    "obligations": ("obligations_due", "obligations_on_time"),
    "completeness": ("disclosures_published", "disclosures_complete"),
    "opinions": ("opinions", "opinions_answered"),
}


def read_disclosure_facts(conn: Conn, params: dict[str, Any], facts: Facts,
                          queries: Queries = SQLITE) -> None:
    """Add the register's counts of one share to ``facts`` (``params``: the window's, as
    the engine binds them, with ``limit``)."""
    counts = facts.counts
    for name, keys in KEYS.items():
        with conn.execute(getattr(queries, name), params) as cur:
            rows = list(cur.fetchall())
        for unit, *values in rows:
            for key, value in zip(keys, values, strict=True):
                if value:
                    counts[(unit, key)] = counts.get((unit, key), 0) + int(value)
    with conn.execute(queries.missed, params) as cur:
        rows = list(cur.fetchall())
    for row in rows:
        facts.duties.setdefault(row["unit_id"], []).append(Duty(
            obligation_id=int(row["id"]), unit_id=row["unit_id"], item_id=row["item_id"],
            period_key=row["period_key"], title=row["title"],
            due=from_db_time(row["due_at"]),
            met=from_db_time(row["met_at"]) if row["met_at"] else None))
    for duties in facts.duties.values():
        duties.sort(key=duty_order)
