"""PostgreSQL's plan for the register's counts of one share
(:mod:`storage.assessment.disclosure` is SQLite's): the same
:class:`~storage.assessment.disclosure.Queries`, each giving the rows its SQLite twin gives,
read by the same ``read_disclosure_facts``.

In PostgreSQL's words: a share by :func:`~storage.assessment.scratch_postgres.share_of`, a
disclosure's forms read as ``jsonb`` (SQLite: ``json_each``), every derived table named.
"""

from __future__ import annotations

from typing import Any

from storage.assessment.disclosure import Queries, read_disclosure_facts
from storage.assessment.facts import Facts
from storage.assessment.scratch_postgres import share_of
from storage.sql import Conn

# As SQLite's DUE, OBLIGATIONS and MISSED.
DUE = f"""disclosure_obligations o
WHERE o.due_at >= :start AND o.due_at < :end AND o.due_at < :as_of_ceil
  AND {share_of("o.id")}"""

OBLIGATIONS = f"""
SELECT o.unit_id, count(*), count(*) FILTER (WHERE o.met_at <= o.due_at)
FROM {DUE}
GROUP BY o.unit_id
"""

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

# As SQLite's COMPLETENESS.
COMPLETENESS = f"""
SELECT d.unit_id, count(*),
       count(*) FILTER (WHERE NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements_text(d.forms::jsonb) AS j(value)
           WHERE NOT EXISTS (SELECT 1 FROM disclosure_forms f
                             WHERE f.disclosure_id = d.id AND f.form = j.value
                               AND f.confirmed_at < :as_of_ceil)))
FROM disclosures d
WHERE d.number IS NOT NULL AND d.pre = 0 AND d.published_at >= :start
  AND d.published_at < :end AND d.published_at < :as_of_ceil
  AND {share_of("d.id")}
GROUP BY d.unit_id
"""

# As SQLite's OPINION_TRAILS and OPINIONS.
OPINION_TRAILS = f"""
SELECT d.unit_id, c.answer_due,
       min(e.at) FILTER (WHERE e.type = 'filed') AS filed_at,
       min(e.at) FILTER (WHERE e.type = 'answered') AS answered_at,
       min(e.at) FILTER (WHERE e.type IN ('withdrawn', 'closed')) AS ended_at
FROM disclosure_opinions o
JOIN disclosures d ON d.id = o.disclosure_id
JOIN cases c ON c.id = o.case_id
JOIN case_events e ON e.case_id = o.case_id AND e.at <= :as_of
WHERE {share_of("o.case_id")}
GROUP BY o.case_id, d.unit_id, c.answer_due
"""

OPINIONS = f"""
SELECT unit_id, count(*), count(answered_at)
FROM ({OPINION_TRAILS}) k
WHERE filed_at >= :start AND filed_at < :end
  AND (answered_at IS NOT NULL
       OR (answer_due < :as_of_ceil AND (ended_at IS NULL OR ended_at > answer_due)))
GROUP BY unit_id
"""

POSTGRES = Queries(OBLIGATIONS, MISSED, COMPLETENESS, OPINIONS)


def read_disclosure_facts_postgres(conn: Conn, params: dict[str, Any], facts: Facts) -> None:
    """The register's counts of one share on PostgreSQL (see ``read_disclosure_facts``)."""
    read_disclosure_facts(conn, params, facts, POSTGRES)
