"""What the assessment reads, counted in SQL: no case history is loaded into Python.

The rules of every figure are defined in ``docs/assessment.md`` and applied by
:mod:`bot.services.assessment`; the SQL here applies them to the rows and keeps in step with
both. One report is read by a few connections at once (:func:`reader`), each counting a
share of the cases (``Window.part``) in scratch tables of its own; :func:`combine` adds the
shares up. Per share:

1. :func:`prepare` fills the scratch tables (:mod:`storage.assessment.scratch`): one row per
   case that may count, and one per arrival of the few cases that moved between units;
2. :func:`read_facts` counts per unit and keeps the few cases the lists name
   (:mod:`storage.assessment.counts`);
3. :func:`finish` drops the scratch tables.

Every query's SQL is written once, as a constant with named parameters bound from
:meth:`Window.params` (lists of states and ratings as JSON). The SQL fetches and counts rows
only: the working days of times to accept and to answer, and of how long a case is overdue,
are counted by the service on its working-day clock (:mod:`bot.services.assessment.clock`).
"""

from storage.assessment.counts import OVERDUE, RECEIVED_BEFORE, read_facts
from storage.assessment.facts import Facts, Item, Window, combine
from storage.assessment.scratch import (
    CASE_TABLE,
    CASES,
    arrivals_without_due,
    finish,
    prepare,
    reader,
    set_dues,
    time_span,
)

# The SQL constants here are those the query-plan test reads.
__all__ = [
    "CASES",
    "CASE_TABLE",
    "OVERDUE",
    "RECEIVED_BEFORE",
    "Facts",
    "Item",
    "Window",
    "arrivals_without_due",
    "combine",
    "finish",
    "prepare",
    "read_facts",
    "reader",
    "set_dues",
    "time_span",
]
