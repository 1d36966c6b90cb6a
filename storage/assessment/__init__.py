"""What the assessment reads, counted in SQL: no case history is loaded into Python.

The rules of every figure are defined in ``docs/assessment.md`` and applied by
:mod:`bot.services.assessment`; the SQL here applies them to the rows and keeps in step with
both. One report is read by a few connections at once (:func:`reader`, or
:func:`reader_postgres` in one shared snapshot), each counting a share of the cases
(``Window.part``) in scratch tables of its own; :func:`combine` adds the shares up. Per
share:

1. :func:`prepare` fills the scratch tables (:mod:`storage.assessment.scratch`): one row per
   case that may count, and one per arrival of the few cases that moved between units;
2. :func:`read_facts` counts per unit and keeps the few cases the lists name
   (:mod:`storage.assessment.counts`), and counts the disclosure register's obligations,
   disclosures and opinions (:mod:`storage.assessment.disclosure`, plain aggregates over
   its small tables);
3. :func:`finish` drops the scratch tables.

Each engine has its own plan, picked by the connection's dialect: SQLite's
(``scratch``, ``counts``) and PostgreSQL's (``scratch_postgres``, ``counts_postgres``), the
same tables and rows, each in the SQL its engine plans well; both give the same facts.

Every query's SQL is written once per engine, as a constant with named parameters bound
from :meth:`Window.params` (lists of states and ratings as JSON on SQLite, as arrays on
PostgreSQL). The SQL fetches and counts rows only: the working days of times to accept and
to answer, and of how long a case is overdue, are counted by the service on its working-day
clock (:mod:`bot.services.assessment.clock`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.assessment import (
    counts,
    counts_postgres,
    disclosure,
    disclosure_postgres,
    scratch,
    scratch_postgres,
)
from storage.assessment.counts import OVERDUE, RECEIVED_BEFORE
from storage.assessment.facts import Duty, Facts, Item, Window, combine
from storage.assessment.scratch import CASE_TABLE, CASES, reader
from storage.assessment.scratch_postgres import reader as reader_postgres
from storage.sql import Conn


def prepare(conn: Conn, window: Window) -> int:
    """Fill the scratch tables of one share; return how many cases may count."""
    if conn.dialect.postgres:
        return scratch_postgres.prepare(conn, window)
    return scratch.prepare(conn, window)


def time_span(conn: Conn, window: Window) -> tuple[datetime, datetime]:
    """The earliest moment a working-day clock is needed for, and the latest."""
    if conn.dialect.postgres:
        return scratch_postgres.time_span(conn, window)
    return scratch.time_span(conn, window)


def arrivals_without_due(conn: Conn) -> list[tuple[int, int, str, str, datetime]]:
    """Arrivals passed on before their own acceptance deadline was stored."""
    if conn.dialect.postgres:
        return scratch_postgres.arrivals_without_due(conn)
    return scratch.arrivals_without_due(conn)


def set_dues(conn: Conn, dues: Iterable[tuple[int, int, datetime]]) -> None:
    """Store the configured acceptance deadlines of earlier arrivals."""
    if conn.dialect.postgres:
        scratch_postgres.set_dues(conn, dues)
    else:
        scratch.set_dues(conn, dues)


def read_facts(conn: Conn, window: Window, limit: int) -> Facts:
    """Count everything per unit; keep up to ``limit`` listed cases per unit and figure
    (and obligations missed per unit)."""
    if conn.dialect.postgres:
        facts = counts_postgres.read_facts_postgres(conn, window, limit)
        disclosure_postgres.read_disclosure_facts_postgres(
            conn, scratch_postgres.params(window) | {"limit": limit}, facts)
    else:
        facts = counts.read_facts(conn, window, limit)
        disclosure.read_disclosure_facts(conn, window.params() | {"limit": limit}, facts)
    return facts


def finish(conn: Conn) -> None:
    """Drop the scratch tables (on PostgreSQL they go with the report's connection)."""
    if conn.dialect.postgres:
        scratch_postgres.finish(conn)
    else:
        scratch.finish(conn)


# The SQL constants here are those the query-plan test reads (SQLite's).
__all__ = [
    "CASES",
    "CASE_TABLE",
    "OVERDUE",
    "RECEIVED_BEFORE",
    "Duty",
    "Facts",
    "Item",
    "Window",
    "arrivals_without_due",
    "combine",
    "finish",
    "prepare",
    "read_facts",
    "reader",
    "reader_postgres",
    "set_dues",
    "time_span",
]
