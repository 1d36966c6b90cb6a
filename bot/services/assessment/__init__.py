"""Assessment (考核): the figures of every unit for a period, computed from the case events.

Every figure is explained in ``docs/assessment.md``; :mod:`storage.assessment` counts them in
SQL (keep the three in step). The figures come from the append-only case events; the present
``cases`` row adds only what no event carries: the deadlines in force (after extensions) and,
for *overdue now*, the present state; ratings are read from the answers they rate. No
Telegram and no SQL here: :mod:`storage.assessment` counts, this package adds the counts of
units up, ranks and lists, the chart and the workbook (:mod:`bot.reports`) draw.

The core idea: each figure counts items (:class:`Item`) — one acceptance that was due, one
answer, one rating … — each attributed to exactly **one unit** (the unit that held the case
when the item's moment happened) and placed in time by **one moment**. A unit's own figures
count its items in the period; the subtotal of a unit counts the items of its whole subtree.
Counting happens per unit in the database (:func:`load`), so a report over a million cases
never holds them in memory; the cases that count against a unit are listed, at most
:data:`LIST_LIMIT` per unit and list.

The disclosure register's figures (公开及时率, completeness, opinion response rate) count
obligations, disclosures and opinions, each at the unit that owes or published it, added up
for a subtree as the other figures are; each weighs in the composite score only where it
applies (:attr:`Figures.score`).

Here: the report's steps (:func:`load`, :func:`compute`, :func:`with_meetings`, or
:func:`assess` for all three). The parts:

- :mod:`~bot.services.assessment.period`: periods (``2026H2`` …) and their moments;
- :mod:`~bot.services.assessment.figures`: what is counted, and the report's shape;
- :mod:`~bot.services.assessment.scope`: which units a report covers, who may read it;
- :mod:`~bot.services.assessment.reading`: the database counts a period's cases, in shares;
- :mod:`~bot.services.assessment.clock`: working days of what was read, on one clock;
- :mod:`~bot.services.assessment.tally`: units added up, ranked and listed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from bot.config import AssessmentConfig, Config
from bot.runtime import Runtime
from bot.services.assessment import reading, tally
from bot.services.assessment.clock import clock_at, clock_rows, overdue_days, working_days
from bot.services.assessment.figures import (
    LIST_FIGURES,
    NOT_YET_AVAILABLE,
    OPEN_STATES,
    RESOLVED_OUTCOMES,
    SATISFIED,
    AccountabilityEntry,
    Assessment,
    CaseList,
    Duty,
    Figures,
    Item,
    UnitRow,
    percentile,
)
from bot.services.assessment.period import (
    MSG_PERIOD,
    MSG_PERIOD_ORDER,
    Period,
    PeriodError,
    current_half,
    parse_period,
)
from bot.services.assessment.scope import NotAllowed, reader_scope, scope_units
from bot.workdays import WorkCalendar
from storage import assessment as assessment_repo

__all__ = [
    "LIST_FIGURES",
    "LIST_LIMIT",
    "MSG_PERIOD",
    "MSG_PERIOD_ORDER",
    "NOT_YET_AVAILABLE",
    "OPEN_STATES",
    "READERS",
    "RESOLVED_OUTCOMES",
    "SATISFIED",
    "AccountabilityEntry",
    "Assessment",
    "AssessmentConfig",
    "CaseList",
    "Duty",
    "Figures",
    "Item",
    "NotAllowed",
    "Period",
    "PeriodError",
    "Progress",
    "UnitRow",
    "assess",
    "clock_at",
    "clock_rows",
    "compute",
    "current_half",
    "load",
    "overdue_days",
    "parse_period",
    "percentile",
    "reader_scope",
    "scope_units",
    "settings_of",
    "with_meetings",
    "working_days",
]

# At most this many cases per unit and list (and per accountability entry); the figures
# count them all.
LIST_LIMIT = 200
# Readers counting a report's cases at once: SQLite counts on one processor per connection.
READERS = max(2, min(4, os.cpu_count() or 1))

Progress = Callable[[int, int], None]


def settings_of(config: Config) -> AssessmentConfig:
    """The assessment settings of a configuration."""
    return config.assessment


async def load(runtime: Runtime, period: Period, as_of: datetime | None = None, *,
               readers: int | None = None) -> assessment_repo.Facts:
    """Count everything the figures need for the period, as of ``as_of`` (default: now).

    The counting happens in SQL on read-only connections of its own, ``readers`` of them
    (default :data:`READERS`), each counting a share of the cases at once; an in-memory
    database is read through the bot's connection. ``len()`` of the result is the number of
    cases that may count.
    """
    return await reading.read(runtime, period, as_of or runtime.clock.now(),
                              readers=readers or READERS, limit=LIST_LIMIT)


def compute(
    config: Config, calendar: WorkCalendar, facts: assessment_repo.Facts, period: Period,
    as_of: datetime, *, settings: AssessmentConfig | None = None,
    scope: Iterable[str] | None = None, progress: Progress | None = None,
) -> Assessment:
    """The figures of every unit in scope for the period, from what :func:`load` counted
    as of ``as_of``.

    ``scope``: the units a reader may assess (and everything below them); None: all units.
    ``progress(done, total)`` is called once the figures are done.
    """
    settings = settings or settings_of(config)
    units = scope_units(config, scope)
    unit_ids = [unit.id for unit, _ in units]
    accept, answer = tally.Days(facts.accept_days), tally.Days(facts.answer_days)
    overdue_by_unit: dict[str, list[Item]] = {}
    for item in facts.overdue:
        overdue_by_unit.setdefault(item.unit_id, []).append(item)
    overdue = {unit: len(items) for unit, items in overdue_by_unit.items()}

    def figures_of(units: list[str]) -> Figures:
        return tally.figures_of(units, facts, accept, answer, overdue, settings)

    rows: list[UnitRow] = []
    for unit, depth in units:
        subtree = [unit.id] + [u.id for u in config.descendants(unit.id) if u.id in unit_ids]
        rows.append(UnitRow(
            unit_id=unit.id, depth=depth,
            has_children=any(child.id in unit_ids for child in config.children(unit.id)),
            own=figures_of([unit.id]), subtree=figures_of(subtree),
        ))
    rows = tally.ranked(rows, settings)
    if progress is not None:
        progress(len(facts), len(facts))
    return Assessment(
        period=period, year_before=period.year_before(), as_of=as_of,
        timezone=config.general.timezone, settings=settings, rows=tuple(rows),
        total=figures_of(unit_ids),
        ranking=tuple(sorted((r for r in rows if r.rank is not None),
                             key=lambda r: (r.rank or 0, rows.index(r)))),
        accountability=tuple(tally.accountability(
            rows, facts, overdue_by_unit, settings, LIST_LIMIT,
            config.disclosure.on_time_threshold)),
        lists=tuple(tally.case_lists(rows, facts, overdue_by_unit, LIST_LIMIT)),
        cases_read=len(facts),
        disclosure_threshold=config.disclosure.on_time_threshold,
        duties={unit: tuple(facts.duties[unit][:LIST_LIMIT]) for unit in unit_ids
                if facts.duties.get(unit)},
    )


async def with_meetings(runtime: Runtime, result: Assessment) -> Assessment:
    """The report with each unit's meetings held / scheduled and supervisor attendance."""
    from bot.services import meetings

    figures = await meetings.meeting_figures(
        runtime, [row.unit_id for row in result.rows], result.period.first,
        result.period.last)
    return replace(result, meetings=figures)


async def assess(
    runtime: Runtime, period: Period, *, scope: Iterable[str] | None = None,
    settings: AssessmentConfig | None = None, progress: Progress | None = None,
) -> Assessment:
    """Read and compute in one go, as of the runtime's clock."""
    as_of = runtime.clock.now()
    facts = await load(runtime, period, as_of)
    result = compute(runtime.config, runtime.calendar, facts, period, as_of,
                     settings=settings, scope=scope, progress=progress)
    return await with_meetings(runtime, result)
