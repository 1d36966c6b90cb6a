"""Assessment (考核): the figures of every unit for a period, computed from the case events.

Every figure is explained in ``docs/assessment.md``; :mod:`storage.assessment` counts them in
SQL (keep the three in step). The figures come from the append-only case events; the present
``cases`` row adds only what no event carries: the deadlines in force (after extensions) and,
for *overdue now*, the present state; ratings are read from the answers they rate. No
Telegram and no SQL here: :mod:`storage.assessment` counts, this module adds the counts of
units up, ranks and lists, the chart and the workbook (:mod:`bot.reports`) draw.

The core idea: each figure counts items (:class:`Item`) — one acceptance that was due, one
answer, one rating … — each attributed to exactly **one unit** (the unit that held the case
when the item's moment happened) and placed in time by **one moment**. A unit's own figures
count its items in the period; the subtotal of a unit counts the items of its whole subtree.
Counting happens per unit in the database (:func:`load`), so a report over a million cases
never holds them in memory; the cases that count against a unit are listed, at most
:data:`LIST_LIMIT` per unit and list.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import AssessmentConfig, Config, UnitConfig
from bot.i18n import N_, NP_
from bot.runtime import Runtime
from bot.services.deadlines import AcceptanceMemo, acceptance_due
from bot.workdays import WorkCalendar
from storage import assessment as assessment_repo
from storage.models import Membership

__all__ = [
    "AccountabilityEntry",
    "Assessment",
    "AssessmentConfig",
    "CaseList",
    "Figures",
    "Item",
    "Period",
    "PeriodError",
    "UnitRow",
    "assess",
    "clock_rows",
    "compute",
    "current_half",
    "load",
    "parse_period",
    "reader_scope",
    "scope_units",
    "settings_of",
]

# Cases in these states are still with a unit: they can be overdue now.
OPEN_STATES = ("new", "accepted", "info_requested", "reopened", "transferred")
# Ratings that count as satisfied (满意 and 基本满意).
SATISFIED = ("satisfied", "basically")
# Outcomes that count as resolved, when the reporter confirmed them by a satisfied rating.
RESOLVED_OUTCOMES = ("resolved", "partly_resolved")
# Figures that do not come from the case events: supervisors' meetings (per unit, from
# bot.services.meetings; see ``with_meetings``).
NOT_YET_AVAILABLE = ("meetings", "attendance")

Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------ settings

def settings_of(config: Config) -> AssessmentConfig:
    """The assessment settings of a configuration."""
    return config.assessment


# ------------------------------------------------------------------------------ periods

MSG_PERIOD = N_(
    'not a period: "{value}". Use a month (2026-11), a quarter (2026Q4), a half year '
    "(2026H2), a year (2026) or a range of dates (2026-07-01..2026-12-31)"
)
MSG_PERIOD_ORDER = N_("the period ends before it starts: {value}")

_YEAR = re.compile(r"([0-9]{4})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})[Qq]([1-4])")
_HALF = re.compile(r"([0-9]{4})[Hh]([12])")
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_RANGE = re.compile(rf"({_DAY})\.\.({_DAY})")
_MIN_YEAR, _MAX_YEAR = 2000, 2999


class PeriodError(ValueError):
    """A period that cannot be read; ``message`` is a msgid filled from ``params``."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message.format(**params))
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` … ``last`` (inclusive), named by ``code``."""

    kind: str  # year | half | quarter | month | range
    code: str
    first: date
    last: date

    def start(self, tz: ZoneInfo) -> datetime:
        """Local midnight at the start of ``first``."""
        return datetime.combine(self.first, time(0), tzinfo=tz)

    def end(self, tz: ZoneInfo) -> datetime:
        """Local midnight after ``last`` (the period excludes it)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz)

    def year_before(self) -> Period:
        """The same period one year earlier (29 February becomes the 28th)."""
        if self.kind == "range":
            first, last = _year_earlier(self.first), _year_earlier(self.last)
            return Period("range", f"{first.isoformat()}..{last.isoformat()}", first, last)
        year = self.first.year - 1
        suffix = self.code[4:]
        return _fixed(self.kind, f"{year}{suffix}")


def _year_earlier(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def _check_year(year: int, value: str) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise PeriodError(MSG_PERIOD, value=value)


def _fixed(kind: str, code: str) -> Period:
    year = int(code[:4])
    if kind == "year":
        return Period(kind, code, date(year, 1, 1), date(year, 12, 31))
    if kind == "half":
        half = int(code[5])
        first = date(year, 1 if half == 1 else 7, 1)
        last = date(year, 6, 30) if half == 1 else date(year, 12, 31)
        return Period(kind, code, first, last)
    if kind == "quarter":
        quarter = int(code[5])
        first = date(year, 3 * quarter - 2, 1)
        return Period(kind, code, first, _month_end(year, 3 * quarter))
    month = int(code[5:7])
    return Period(kind, code, date(year, month, 1), _month_end(year, month))


def _month_end(year: int, month: int) -> date:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_period(text: str) -> Period:
    """``2026-11``, ``2026Q4``, ``2026H2``, ``2026`` or ``2026-07-01..2026-12-31``."""
    value = text.strip()
    if match := _YEAR.fullmatch(value):
        _check_year(int(match.group(1)), value)
        return _fixed("year", value)
    if match := _HALF.fullmatch(value):
        _check_year(int(match.group(1)), value)
        return _fixed("half", f"{match.group(1)}H{match.group(2)}")
    if match := _QUARTER.fullmatch(value):
        _check_year(int(match.group(1)), value)
        return _fixed("quarter", f"{match.group(1)}Q{match.group(2)}")
    if match := _MONTH.fullmatch(value):
        _check_year(int(match.group(1)), value)
        if not 1 <= int(match.group(2)) <= 12:
            raise PeriodError(MSG_PERIOD, value=value)
        return _fixed("month", value)
    if match := _RANGE.fullmatch(value):
        try:
            first = date.fromisoformat(match.group(1))
            last = date.fromisoformat(match.group(2))
        except ValueError:
            raise PeriodError(MSG_PERIOD, value=value) from None
        _check_year(first.year, value)
        _check_year(last.year, value)
        if last < first:
            raise PeriodError(MSG_PERIOD_ORDER, value=value)
        return Period("range", f"{first.isoformat()}..{last.isoformat()}", first, last)
    raise PeriodError(MSG_PERIOD, value=value)


def current_half(moment: datetime, tz: ZoneInfo) -> Period:
    """The half year that contains ``moment`` (local time): the default period."""
    local = moment.astimezone(tz)
    return _fixed("half", f"{local.year}H{1 if local.month <= 6 else 2}")


# ------------------------------------------------------------------------------ results

# The figures, in the order of the workbook's columns; each one is defined in
# docs/assessment.md under the same name.
FIGURES: tuple[tuple[str, str], ...] = (
    ("received", N_("Cases received")),
    ("received_year_before", N_("Received a year before")),
    ("volume_change", N_("Change against a year before")),
    ("accept_total", N_("Acceptances due")),
    ("accepted_on_time", N_("Accepted on time")),
    ("accept_rate", N_("On-time acceptance rate")),
    ("answer_total", N_("Answers due")),
    ("answered_on_time", N_("Answered on time")),
    ("answer_rate", N_("On-time answer rate")),
    ("overdue_now", N_("Overdue now")),
    ("accept_avg", N_("Average time to accept (working days)")),
    ("accept_p90", N_("90th percentile time to accept (working days)")),
    ("answer_avg", N_("Average time to answer (working days)")),
    ("answer_p90", N_("90th percentile time to answer (working days)")),
    ("extensions", N_("Extensions")),
    ("transfers", N_("Transfers")),
    ("reopened", N_("Reopened")),
    ("rated", N_("Rated answers")),
    ("satisfied", N_("Satisfied")),
    ("satisfaction_rate", N_("Satisfaction rate")),
    ("response_rate", N_("Response rate")),
    ("resolution_rate", N_("Resolution rate")),
    ("score", N_("Composite score")),
    ("rank", N_("Rank")),
    ("meetings", N_("Meetings held / scheduled")),
    ("attendance", N_("Supervisor attendance")),
)
RATE_FIGURES = ("volume_change", "accept_rate", "answer_rate", "satisfaction_rate",
                "response_rate", "resolution_rate")
DAY_FIGURES = ("accept_avg", "accept_p90", "answer_avg", "answer_p90")
# Item lists behind the figures (the workbook's second sheet), by item figure.
ITEM_FIGURES: dict[str, str] = {
    "received": N_("Cases received"),
    "received_year_before": N_("Received a year before"),
    "accepted_on_time": N_("Accepted on time"),
    "answered_on_time": N_("Answered on time"),
    "overdue_now": N_("Overdue now"),
    "accept_time": N_("Time to accept"),
    "answer_time": N_("Time to answer"),
    "extensions": N_("Extensions"),
    "transfers": N_("Transfers"),
    "reopened": N_("Reopened"),
    "satisfaction": N_("Satisfaction rate"),
    "response": N_("Response rate"),
    "resolution": N_("Resolution rate"),
}
RESULTS = {
    "filed": N_("filed with the unit"),
    "transferred": N_("transferred"),
    "escalated": N_("passed to the supervision group"),
    "rating_escalated": N_("passed to the supervision group after two unsatisfied ratings"),
    "accepted": N_("accepted"),
    "passed_on": N_("passed on to another unit"),
    "not_accepted": N_("not accepted"),
    "answered": N_("answered"),
    "not_answered": N_("not answered"),
    "accept_overdue": N_("acceptance overdue"),
    "answer_overdue": N_("answer overdue"),
    "extension_accept": N_("more time to accept"),
    "extension_answer": N_("more time to answer"),
    "reopened": N_("reopened at the unit"),
    "satisfied": N_("satisfied"),
    "basically": N_("basically satisfied"),
    "unsatisfied": N_("not satisfied"),
    "resolved": N_("resolved"),
    "partly_resolved": N_("partly resolved"),
    "explained": N_("explained: cannot be done"),
    "not_ours": N_("not our responsibility"),
}
REASONS = {
    "answer_on_time": N_("On-time answer rate {value} is below {threshold}"),
}
OVERDUE_REASON = NP_("A case is overdue by {value} working day, more than {threshold}",
                     "A case is overdue by {value} working days, more than {threshold}")
RANK_NOTES = {
    "no_score": N_("not ranked: no score"),
}
FEW_CASES = NP_("not ranked: fewer than {min} case", "not ranked: fewer than {min} cases")


# The lists of cases that count against a unit (the workbook's second sheet), in this order:
# overdue now (most overdue first), late answers (unanswered first), late acceptances,
# ratings not satisfied, and cases passed to the supervision group.
LIST_FIGURES = ("overdue_now", "answered_on_time", "accepted_on_time", "satisfaction",
                "transfers", "reopened")
# At most this many cases per unit and list (and per accountability entry); the figures
# count them all.
LIST_LIMIT = 200

Item = assessment_repo.Item


@dataclass(frozen=True)
class Figures:
    """The figures of one unit (own) or one subtree, for the period."""

    received: int = 0
    received_year_before: int = 0
    accept_total: int = 0
    accepted_on_time: int = 0
    answer_total: int = 0
    answered_on_time: int = 0
    overdue_now: int = 0
    accept_avg: float | None = None
    accept_p90: float | None = None
    answer_avg: float | None = None
    answer_p90: float | None = None
    extensions: int = 0
    transfers: int = 0
    reopened: int = 0
    rated: int = 0
    satisfied: int = 0
    response_total: int = 0
    responded_on_time: int = 0
    resolved: int = 0
    weights: tuple[float, float, float] = (30, 35, 35)

    @property
    def volume_change(self) -> float | None:
        """(received − received a year before) / received a year before."""
        if not self.received_year_before:
            return None
        return (self.received - self.received_year_before) / self.received_year_before

    @property
    def accept_rate(self) -> float | None:
        return _rate(self.accepted_on_time, self.accept_total)

    @property
    def answer_rate(self) -> float | None:
        return _rate(self.answered_on_time, self.answer_total)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.rated)

    @property
    def response_rate(self) -> float | None:
        return _rate(self.responded_on_time, self.response_total)

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self.resolved, self.rated)

    @property
    def score(self) -> float | None:
        """100 × weighted mean of response, resolution and satisfaction rates."""
        rates = (self.response_rate, self.resolution_rate, self.satisfaction_rate)
        if any(rate is None for rate in rates) or not sum(self.weights):
            return None
        total = sum(w * r for w, r in zip(self.weights, rates, strict=True) if r is not None)
        return 100 * total / sum(self.weights)

    def value(self, key: str) -> Any:
        """A figure by its key in :data:`FIGURES` (None: no data; rank is the row's)."""
        if key in NOT_YET_AVAILABLE or key == "rank":
            return None
        return getattr(self, key)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest rank: the smallest value with at least ``fraction`` of all values ≤ it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered) - 1e-9))
    return ordered[rank - 1]


@dataclass(frozen=True)
class UnitRow:
    """A unit's own figures, its subtree's, and its place in the ranking."""

    unit_id: str
    depth: int
    has_children: bool
    own: Figures
    subtree: Figures
    rank: int | None = None
    rank_note: str | None = None


@dataclass(frozen=True)
class CaseList:
    """Cases behind one figure of one unit that count against it, most serious first:
    ``items`` lists at most :data:`LIST_LIMIT` of the ``total``."""

    figure: str
    unit_id: str
    items: tuple[Item, ...]
    total: int

    @property
    def left_out(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class AccountabilityEntry:
    """A unit over a threshold, and the cases that put it there (at most
    :data:`LIST_LIMIT` of ``total``)."""

    unit_id: str
    reason: str  # answer_on_time | overdue
    value: float
    threshold: float
    items: tuple[Item, ...]
    total: int = 0

    @property
    def left_out(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class Assessment:
    """Everything the chart and the workbook show."""

    period: Period
    year_before: Period
    as_of: datetime
    timezone: str
    settings: AssessmentConfig
    rows: tuple[UnitRow, ...]
    total: Figures
    ranking: tuple[UnitRow, ...]
    accountability: tuple[AccountabilityEntry, ...]
    lists: tuple[CaseList, ...]
    cases_read: int = 0
    # Supervisors' meetings per unit: (held, scheduled, attendance rate); see with_meetings.
    meetings: dict[str, tuple[int, int, float | None]] = field(default_factory=dict)
    _by_unit: dict[str, UnitRow] = field(default_factory=dict, repr=False, compare=False)

    def row(self, unit_id: str) -> UnitRow:
        """The row of a unit; ``KeyError`` if it is not in the report."""
        if not self._by_unit:
            self._by_unit.update({row.unit_id: row for row in self.rows})
        return self._by_unit[unit_id]

    def listed(self, figure: str) -> list[Item]:
        """Every listed case of one figure, all units."""
        return [item for cases in self.lists if cases.figure == figure for item in cases.items]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# ------------------------------------------------------------------------------ working days

def clock_rows(calendar: WorkCalendar, tz: ZoneInfo, first: datetime, last: datetime
               ) -> list[tuple[int, ...]]:
    """The working-day clock from ``first`` to ``last``, for :mod:`storage.assessment`.

    The clock reads, at any moment, the working days elapsed since an origin: each local day
    adds its working part (the day's length counts 1 on a working day, 0 otherwise), so the
    working days between two moments are the difference of two readings — exactly
    ``WorkCalendar.working_days_between`` in ``tz``. One row per UTC day (days since the
    epoch): ``split``, the local midnight inside it, and for the local day before and after
    it (working days before it, working or not, start and length in epoch seconds).
    """
    day = first.astimezone(tz).date() - timedelta(days=2)
    end_day = last.astimezone(tz).date() + timedelta(days=2)
    local: list[tuple[int, int, int, int]] = []  # start, end, working, working days before
    before = 0
    while day <= end_day:
        start = int(datetime.combine(day, time(0), tzinfo=tz).timestamp())
        end = int(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).timestamp())
        working = int(calendar.is_workday(day))
        local.append((start, end, working, before))
        before += working
        day += timedelta(days=1)
    rows: list[tuple[int, ...]] = []
    index = 0
    for utc_day in range(local[0][0] // 86400 + 1, local[-1][0] // 86400):
        midnight = utc_day * 86400
        while local[index][1] <= midnight:
            index += 1
        a = local[index]
        b = local[index + 1] if a[1] < midnight + 86400 else a
        split = a[1] if b is not a else midnight + 86400
        rows.append((utc_day, split, a[3], a[2], a[0], a[1] - a[0],
                     b[3], b[2], b[0], b[1] - b[0]))
    return rows


def clock_at(rows: Sequence[tuple[int, ...]], moment: datetime) -> float:
    """The clock of :func:`clock_rows` at ``moment`` (within its span)."""
    epoch = moment.timestamp()
    row = rows[int(epoch // 86400) - rows[0][0]]
    _, split, a_cum, a_work, a_start, a_len, b_cum, b_work, b_start, b_len = row
    if epoch < split:
        return a_cum + a_work * (epoch - a_start) / a_len
    return b_cum + b_work * (epoch - b_start) / b_len


def working_days(rows: Sequence[tuple[int, ...]], spans: dict[str, list[str]]
                 ) -> dict[str, list[float]]:
    """Per unit, the working days of each span that :mod:`storage.assessment` read (texts of
    comma-separated pairs of epoch seconds: since, until), on the clock of :func:`clock_rows`
    — as :func:`clock_at` reads it, for a million spans at once (numpy)."""
    import numpy as np

    table = np.array(rows, dtype=np.int64)
    result: dict[str, list[float]] = {}
    for unit, texts in spans.items():
        pairs = np.fromstring(",".join(texts), dtype=np.int64, sep=",").reshape(-1, 2)
        days = pairs // 86400 - rows[0][0]
        # The clock covers every moment read; one outside it counts nothing (as in SQL).
        inside = ((days >= 0) & (days < len(table))).all(axis=1)
        pairs, days = pairs[inside], days[inside]
        since, until = (_clock_many(table, pairs[:, i], days[:, i]) for i in (0, 1))
        result[unit] = (until - since).tolist()
    return result


def _clock_many(table: Any, epochs: Any, days: Any) -> Any:
    import numpy as np

    row = table[days]
    return np.where(epochs < row[:, 1],
                    row[:, 2] + row[:, 3] * (epochs - row[:, 4]) / row[:, 5],
                    row[:, 6] + row[:, 7] * (epochs - row[:, 8]) / row[:, 9])


# ------------------------------------------------------------------------------ units

def scope_units(config: Config, tops: Iterable[str] | None = None
                ) -> list[tuple[UnitConfig, int]]:
    """Units in the report, depth first in file order, with their depth in it.

    ``tops``: the units a reader may assess (with everything below them); None: all.
    """
    if tops is None:
        roots = list(config.roots())
        allowed = {unit.id for unit in config.units}
    else:
        allowed = set()
        known = {unit.id for unit in config.units}
        for unit_id in tops:
            if unit_id in known:  # a role in a unit no longer configured shows nothing
                allowed.add(unit_id)
                allowed.update(unit.id for unit in config.descendants(unit_id))
        roots = [unit for unit in config.units
                 if unit.id in allowed and unit.parent not in allowed]
    ordered: list[tuple[UnitConfig, int]] = []
    seen: set[str] = set()

    def visit(unit: UnitConfig, depth: int) -> None:
        if unit.id in seen:
            return
        seen.add(unit.id)
        ordered.append((unit, depth))
        for child in config.children(unit.id):
            if child.id in allowed:
                visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    return ordered


class NotAllowed(Exception):
    """The reader may not see any assessment."""


def reader_scope(memberships: Iterable[Membership]) -> list[str] | None:
    """What a reader may assess: None for every unit (supervision group, administrators),
    else the units they head (each with everything below it); ``NotAllowed`` otherwise."""
    memberships = list(memberships)
    if any(m.role in ("supervision", "admin") for m in memberships):
        return None
    heads = sorted({m.unit_id for m in memberships if m.role == "head"})
    if not heads:
        raise NotAllowed
    return heads


# ------------------------------------------------------------------------------ the report

async def load(runtime: Runtime, period: Period, as_of: datetime | None = None, *,
               readers: int | None = None) -> assessment_repo.Facts:
    """Count everything the figures need for the period, as of ``as_of`` (default: now).

    The counting happens in SQL on read-only connections of its own, ``readers`` of them
    (default :data:`READERS`), each counting a share of the cases at once; an in-memory
    database is read through the bot's connection. ``len()`` of the result is the number of
    cases that may count.
    """
    config = runtime.config
    tz = config.general.tz
    as_of = as_of or runtime.clock.now()
    before = period.year_before()
    supervision = config.supervision_unit()
    window = assessment_repo.Window(
        start=period.start(tz), end=period.end(tz), before_start=before.start(tz),
        before_end=before.end(tz), as_of=as_of,
        supervision=supervision.id if supervision else None, open_states=OPEN_STATES,
        satisfied=SATISFIED, resolved=RESOLVED_OUTCOMES)
    path = runtime.db.path
    async with AsyncExitStack() as stack:
        if path == ":memory:" or path.startswith("file:"):
            conns = [await stack.enter_async_context(runtime.db.read())]
        else:
            # Each share reads in a snapshot of its own: every figure is a sum over cases
            # and each case is read whole by one share, so the shares add up to a report
            # of one moment however the bot writes meanwhile.
            conns = list(await asyncio.gather(*(
                stack.enter_async_context(assessment_repo.reader(path))
                for _ in range(readers or READERS))))
        shares = [(conn, replace(window, part=part, parts=len(conns)))
                  for part, conn in enumerate(conns)]
        spans = await asyncio.gather(*(_prepare(*share) for share in shares))
        clock = clock_rows(runtime.calendar, tz, min(first for _, first in spans), as_of)
        memo: AcceptanceMemo = {}
        parts = await asyncio.gather(*(
            _count(runtime, *share, clock, cases, memo)
            for share, (cases, _) in zip(shares, spans, strict=True)))
    facts = assessment_repo.combine(parts, LIST_LIMIT)
    facts.accept_days = working_days(clock, facts.accept_spans)
    facts.answer_days = working_days(clock, facts.answer_spans)
    return facts


# Readers counting a report's cases at once: SQLite counts on one processor per connection.
READERS = max(2, min(4, os.cpu_count() or 1))


async def _prepare(conn: Any, window: assessment_repo.Window) -> tuple[int, datetime]:
    """Scratch tables of one share; how many cases may count, and the first moment its
    working-day clock is needed for."""
    cases = await assessment_repo.prepare(conn, window)
    first, _ = await assessment_repo.time_span(conn, window)
    return cases, first


async def _count(runtime: Runtime, conn: Any, window: assessment_repo.Window,
                 clock: list[tuple[int, ...]], cases: int, memo: AcceptanceMemo
                 ) -> assessment_repo.Facts:
    """The facts of one share, on the clock all shares read."""
    config = runtime.config
    await assessment_repo.set_clock(conn, clock)
    dues = []
    for case_id, seg, kind, category, start in await assessment_repo.arrivals_without_due(conn):
        try:
            dues.append((case_id, seg, acceptance_due(config, runtime.calendar, kind,
                                                      category, start, memo)))
        except (KeyError, ValueError):
            continue  # a rule no longer configured: that acceptance is not counted
    await assessment_repo.set_dues(conn, dues)
    facts = await assessment_repo.read_facts(conn, window, clock_at(clock, window.as_of),
                                             LIST_LIMIT)
    await assessment_repo.finish(conn)
    facts.cases = cases
    return facts


class _Days:
    """Working days per unit (sorted once), merged for a set of units on demand."""

    def __init__(self, per_unit: dict[str, list[float]]) -> None:
        self.per_unit = {unit: sorted(values) for unit, values in per_unit.items()}
        self.sums = {unit: math.fsum(values) for unit, values in self.per_unit.items()}

    def average_and_p90(self, units: Sequence[str]) -> tuple[float | None, float | None]:
        runs = [self.per_unit[u] for u in units if self.per_unit.get(u)]
        count = sum(len(run) for run in runs)
        if not count:
            return None, None
        merged = runs[0] if len(runs) == 1 else sorted(v for run in runs for v in run)
        rank = max(1, math.ceil(0.9 * count - 1e-9))
        return sum(self.sums[u] for u in units if u in self.sums) / count, merged[rank - 1]


def _figures(units: Sequence[str], facts: assessment_repo.Facts, accept: _Days,
             answer: _Days, overdue: dict[str, int], settings: AssessmentConfig) -> Figures:
    """The figures of a set of units together."""
    chosen = set(units)

    def total(key: str) -> int:
        return sum(facts.count(unit, key) for unit in units)

    def received(sets: dict[frozenset[str], int]) -> int:
        return sum(count for key, count in sets.items() if key & chosen)

    accept_avg, accept_p90 = accept.average_and_p90(units)
    answer_avg, answer_p90 = answer.average_and_p90(units)
    return Figures(
        received=received(facts.received), received_year_before=received(facts.received_before),
        accept_total=total("accept_total"), accepted_on_time=total("accepted_on_time"),
        answer_total=total("answer_total"), answered_on_time=total("answered_on_time"),
        overdue_now=sum(overdue.get(unit, 0) for unit in units),
        accept_avg=accept_avg, accept_p90=accept_p90, answer_avg=answer_avg,
        answer_p90=answer_p90, extensions=total("extensions"), transfers=total("transfers"),
        reopened=total("reopened"), rated=total("rated"), satisfied=total("satisfied"),
        response_total=total("response_total"), responded_on_time=total("responded_on_time"),
        resolved=total("resolved"),
        weights=(settings.weight_response, settings.weight_resolution,
                 settings.weight_satisfaction),
    )


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
    accept, answer = _Days(facts.accept_days), _Days(facts.answer_days)
    overdue_by_unit: dict[str, list[Item]] = {}
    for item in facts.overdue:
        overdue_by_unit.setdefault(item.unit_id, []).append(item)
    overdue = {unit: len(items) for unit, items in overdue_by_unit.items()}
    rows: list[UnitRow] = []
    for unit, depth in units:
        subtree = [unit.id] + [u.id for u in config.descendants(unit.id) if u.id in unit_ids]
        rows.append(UnitRow(
            unit_id=unit.id, depth=depth,
            has_children=any(child.id in unit_ids for child in config.children(unit.id)),
            own=_figures([unit.id], facts, accept, answer, overdue, settings),
            subtree=_figures(subtree, facts, accept, answer, overdue, settings),
        ))
    rows = _ranked(rows, settings)
    if progress is not None:
        progress(len(facts), len(facts))
    return Assessment(
        period=period, year_before=period.year_before(), as_of=as_of,
        timezone=config.general.timezone, settings=settings, rows=tuple(rows),
        total=_figures(unit_ids, facts, accept, answer, overdue, settings),
        ranking=tuple(sorted((r for r in rows if r.rank is not None),
                             key=lambda r: (r.rank or 0, rows.index(r)))),
        accountability=tuple(_accountability(rows, facts, overdue_by_unit, settings)),
        lists=tuple(_lists(rows, facts, overdue_by_unit)),
        cases_read=len(facts),
    )


def _ranked(rows: list[UnitRow], settings: AssessmentConfig) -> list[UnitRow]:
    """Rank units by their own score; too few cases or no score: not ranked."""
    scores: dict[str, float] = {}
    notes: dict[str, str] = {}
    for row in rows:
        score = row.own.score
        if row.own.received < settings.min_cases:
            notes[row.unit_id] = "few_cases"
        elif score is None:
            notes[row.unit_id] = "no_score"
        else:
            scores[row.unit_id] = round(score, 9)
    result = []
    for row in rows:
        score = scores.get(row.unit_id)
        rank = None if score is None else 1 + sum(1 for s in scores.values() if s > score)
        result.append(UnitRow(row.unit_id, row.depth, row.has_children, row.own, row.subtree,
                              rank, notes.get(row.unit_id)))
    return result


def _most_overdue(items: Iterable[Item]) -> list[Item]:
    return sorted(items, key=lambda i: (-(i.days or 0), i.case_id))


def _accountability(rows: Sequence[UnitRow], facts: assessment_repo.Facts,
                    overdue: dict[str, list[Item]], settings: AssessmentConfig
                    ) -> list[AccountabilityEntry]:
    entries: list[AccountabilityEntry] = []
    for row in rows:
        rate = row.own.answer_rate
        if rate is not None and rate < settings.answer_on_time_below:
            late = facts.listed.get(("answered_on_time", row.unit_id), [])
            entries.append(AccountabilityEntry(
                row.unit_id, "answer_on_time", rate, settings.answer_on_time_below,
                tuple(late[:LIST_LIMIT]), row.own.answer_total - row.own.answered_on_time))
        over = _most_overdue(i for i in overdue.get(row.unit_id, ())
                             if (i.days or 0) > settings.overdue_over_working_days)
        if over:
            entries.append(AccountabilityEntry(
                row.unit_id, "overdue", over[0].days or 0, settings.overdue_over_working_days,
                tuple(over[:LIST_LIMIT]), len(over)))
    return entries


def _lists(rows: Sequence[UnitRow], facts: assessment_repo.Facts,
           overdue: dict[str, list[Item]]) -> list[CaseList]:
    """Per unit and :data:`LIST_FIGURES`: the cases that count against the unit."""
    lists: list[CaseList] = []
    for row in rows:
        own = row.own
        unit = row.unit_id
        totals = {
            "overdue_now": own.overdue_now,
            "answered_on_time": own.answer_total - own.answered_on_time,
            "accepted_on_time": own.accept_total - own.accepted_on_time,
            "satisfaction": own.rated - own.satisfied,
        }
        for figure in LIST_FIGURES:
            if figure == "overdue_now":
                found = _most_overdue(overdue.get(unit, ()))
            else:
                found = facts.listed.get((figure, unit), [])
            total = totals.get(figure, len(found))
            if total:
                lists.append(CaseList(figure, unit, tuple(found[:LIST_LIMIT]), total))
    return lists


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
