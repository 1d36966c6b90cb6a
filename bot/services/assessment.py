"""Assessment (考核): the figures of every unit for a period, computed from the case events.

Every figure is defined once, here, and explained in ``docs/assessment.md`` (keep both in
step). The figures come from the append-only case events; the present ``cases`` row adds
only what no event carries: the deadlines in force (after extensions) and, for *overdue now*,
the present state. No Telegram and no SQL here: :mod:`storage.assessment` reads, the chart and
the workbook (:mod:`bot.reports`) draw.

The core idea: each figure counts items (:class:`Item`) — one acceptance that was due, one
answer, one rating … — each attributed to exactly **one unit** (the unit that held the case
when the item's moment happened) and placed in time by **one moment**. A unit's own figures
count its items in the period; the subtotal of a unit counts the items of its whole subtree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import AssessmentConfig, Config, UnitConfig
from bot.i18n import N_
from bot.runtime import Runtime
from bot.services.deadlines import due_times
from bot.workdays import WorkCalendar
from storage import assessment as assessment_repo
from storage.assessment import AnswerFact, CaseHistory
from storage.models import CaseEvent, Membership

__all__ = [
    "AccountabilityEntry",
    "Assessment",
    "AssessmentConfig",
    "Figures",
    "Item",
    "Period",
    "PeriodError",
    "UnitRow",
    "assess",
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
# Events that hand a case to another unit (payload ``from``, ``to``).
MOVES = ("transferred", "escalated")
# Events that end a case without an answer being needed any more.
ENDINGS = ("withdrawn", "closed")
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
FIGURE_NAMES = dict(FIGURES)
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
    "overdue": N_("A case is overdue by {value} working days, more than {threshold}"),
}
RANK_NOTES = {
    "few_cases": N_("not ranked: fewer than {min} cases"),
    "no_score": N_("not ranked: no score"),
}


@dataclass(frozen=True)
class Item:
    """One thing a figure counts, for one unit, at one moment.

    ``ok`` says whether it counts in the figure's favour (on time, satisfied, resolved);
    ``days`` holds working days (a time to accept or answer, or how long overdue).
    """

    figure: str
    unit_id: str
    case_id: int
    number: str
    at: datetime
    result: str
    ok: bool | None = None
    due: datetime | None = None
    days: float | None = None


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
    accept_days: tuple[float, ...] = ()
    answer_days: tuple[float, ...] = ()
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
    def accept_avg(self) -> float | None:
        return _mean(self.accept_days)

    @property
    def accept_p90(self) -> float | None:
        return percentile(self.accept_days, 0.9)

    @property
    def answer_avg(self) -> float | None:
        return _mean(self.answer_days)

    @property
    def answer_p90(self) -> float | None:
        return percentile(self.answer_days, 0.9)

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


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


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
class AccountabilityEntry:
    """A unit over a threshold, and the cases that put it there."""

    unit_id: str
    reason: str  # answer_on_time | overdue
    value: float
    threshold: float
    items: tuple[Item, ...]


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
    items: tuple[Item, ...]
    cases_read: int = 0
    # Supervisors' meetings per unit: (held, scheduled, attendance rate); see with_meetings.
    meetings: dict[str, tuple[int, int, float | None]] = field(default_factory=dict)
    _by_unit: dict[str, UnitRow] = field(default_factory=dict, repr=False, compare=False)

    def row(self, unit_id: str) -> UnitRow:
        """The row of a unit; ``KeyError`` if it is not in the report."""
        if not self._by_unit:
            self._by_unit.update({row.unit_id: row for row in self.rows})
        return self._by_unit[unit_id]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# ------------------------------------------------------------------------------ one case

@dataclass
class _Segment:
    """A stretch of time a case spent with one unit."""

    unit_id: str
    start: datetime
    how: str  # filed | transferred | escalated | rating_escalated
    needs_acceptance: bool
    end: datetime | None = None
    passed_on: bool = False
    accepted_at: datetime | None = None
    extended_due: datetime | None = None


def _as_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class _CaseWalk:
    """Replays one case's events and yields the items it contributes."""

    def __init__(self, history: CaseHistory, config: Config, calendar: WorkCalendar,
                 as_of: datetime, supervision_id: str | None) -> None:
        self.case = history.case
        self.config = config
        self.calendar = calendar
        self.tz = config.general.tz
        self.as_of = as_of
        self.supervision_id = supervision_id
        self.answers: dict[int, AnswerFact] = {a.id: a for a in history.answers}
        self.events = [e for e in history.events if e.at <= as_of]
        self.items: list[Item] = []

    def wd(self, a: datetime, b: datetime) -> float:
        return self.calendar.working_days_between(a.astimezone(self.tz), b.astimezone(self.tz))

    def item(self, figure: str, unit_id: str, at: datetime, result: str, **more: Any) -> None:
        self.items.append(Item(figure, unit_id, self.case.id, self.case.number, at, result,
                               **more))

    def _answer_unit(self, payload: dict[str, Any], holder: str) -> str:
        answer = self.answers.get(_int(payload.get("answer")) or 0)
        return answer.unit_id if answer is not None else holder

    def run(self) -> list[Item]:
        case = self.case
        segments: list[_Segment] = []
        outcomes: dict[int, str] = {a.id: a.outcome for a in self.answers.values()}
        first_answer: tuple[datetime, str] | None = None
        ended_at: datetime | None = None
        filed_at = case.created_at
        for event in self.events:
            kind, payload = event.type, event.payload
            if kind == "filed":
                if segments:
                    continue
                filed_at = event.at
                unit = str(payload.get("unit") or case.unit_id)
                segments.append(_Segment(unit, event.at, "filed", True))
                continue
            if not segments:
                continue  # a trail without its filing: nothing to attribute
            current = segments[-1]
            holder = current.unit_id
            if kind in MOVES:
                source = str(payload.get("from") or holder)
                target = str(payload.get("to") or holder)
                self.item("transfers", source, event.at, kind)
                current.end, current.passed_on = event.at, True
                segments.append(_Segment(target, event.at, kind, True))
            elif kind == "accepted":
                if current.accepted_at is None:
                    current.accepted_at = event.at
            elif kind == "answered":
                answer_id = _int(payload.get("answer"))
                if answer_id is not None and answer_id not in outcomes and payload.get("outcome"):
                    outcomes[answer_id] = str(payload["outcome"])
                if first_answer is None:
                    first_answer = (event.at, self._answer_unit(payload, holder))
            elif kind == "rated":
                self._rated(event, holder, outcomes, segments)
            elif kind == "extension_granted":
                deadline = str(payload.get("deadline") or "answer")
                self.item("extensions", holder, event.at, f"extension_{deadline}"
                          if deadline in ("accept", "answer") else "extension_answer")
                if deadline == "accept":
                    current.extended_due = _as_time(payload.get("new_due"))
            elif kind in ENDINGS and ended_at is None and first_answer is None:
                ended_at = event.at
        if not segments:
            return []
        self._received(segments)
        self._acceptances(segments, ended_at)
        self._answer(segments, filed_at, first_answer, ended_at)
        self._overdue()
        return self.items

    def _rated(self, event: CaseEvent, holder: str, outcomes: dict[int, str],
               segments: list[_Segment]) -> None:
        payload = event.payload
        unit = self._answer_unit(payload, holder)
        rating = str(payload.get("rating") or "")
        satisfied = rating in SATISFIED
        outcome = outcomes.get(_int(payload.get("answer")) or 0, "")
        self.item("satisfaction", unit, event.at, rating, ok=satisfied)
        self.item("resolution", unit, event.at, outcome or rating,
                  ok=satisfied and outcome in RESOLVED_OUTCOMES)
        then = payload.get("then")
        if then in ("reopened", "escalated"):
            self.item("reopened", unit, event.at,
                      "reopened" if then == "reopened" else "rating_escalated")
        if then == "escalated" and self.supervision_id is not None:
            segments[-1].end = event.at
            segments.append(_Segment(self.supervision_id, event.at, "rating_escalated", False))

    def _received(self, segments: list[_Segment]) -> None:
        for segment in segments:
            self.item("received", segment.unit_id, segment.start, segment.how)

    def _accept_due(self, segment: _Segment, last: bool) -> datetime | None:
        if last:
            return self.case.accept_due
        if segment.extended_due is not None:
            return segment.extended_due
        try:
            return due_times(self.config, self.calendar, self.case.kind, self.case.category_id,
                             segment.start)[0]
        except (KeyError, ValueError):
            return None

    def _acceptances(self, segments: list[_Segment], ended_at: datetime | None) -> None:
        for index, segment in enumerate(segments):
            if not segment.needs_acceptance:
                continue
            due = self._accept_due(segment, index == len(segments) - 1)
            done, how = None, ""
            if segment.accepted_at is not None:
                done, how = segment.accepted_at, "accepted"
                self.item("accept_time", segment.unit_id, segment.accepted_at, "accepted",
                          days=self.wd(segment.start, segment.accepted_at))
            elif segment.passed_on and segment.end is not None:
                done, how = segment.end, "passed_on"
            if due is None:
                continue
            ended = ended_at if ended_at is not None and ended_at >= segment.start and (
                segment.end is None or ended_at <= segment.end) else None
            # The first arrival (the filing) is also the case's response to the reporter.
            figures = ("accepted_on_time", "response") if index == 0 else ("accepted_on_time",)
            if done is not None and done <= due:
                for figure in figures:
                    self.item(figure, segment.unit_id, done, how, ok=True, due=due)
            elif due < self.as_of and (done is not None or ended is None or ended > due):
                for figure in figures:
                    self.item(figure, segment.unit_id, due, how or "not_accepted", ok=False,
                              due=due)

    def _answer(self, segments: list[_Segment], filed_at: datetime,
                first_answer: tuple[datetime, str] | None, ended_at: datetime | None) -> None:
        due = self.case.answer_due
        if first_answer is not None:
            answered_at, unit = first_answer
            self.item("answer_time", unit, answered_at, "answered",
                      days=self.wd(filed_at, answered_at))
            if answered_at <= due:
                self.item("answered_on_time", unit, answered_at, "answered", ok=True, due=due)
                return
        if due >= self.as_of:
            return
        if first_answer is None and ended_at is not None and ended_at <= due:
            return
        holder = next((s for s in reversed(segments) if s.start <= due), segments[0])
        self.item("answered_on_time", holder.unit_id, due,
                  "answered" if first_answer is not None else "not_answered", ok=False, due=due)

    def _overdue(self) -> None:
        case = self.case
        if case.state not in OPEN_STATES:
            return
        which = "accept" if case.state == "new" else "answer"
        due = case.accept_due if which == "accept" else case.answer_due
        if due < self.as_of:
            self.item("overdue_now", case.unit_id, due, f"{which}_overdue", ok=False, due=due,
                      days=self.wd(due, self.as_of))


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


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


def _figures(items: Iterable[Item], settings: AssessmentConfig) -> Figures:
    received: set[int] = set()
    before: set[int] = set()
    counts: dict[str, int] = {}
    accept_days: list[float] = []
    answer_days: list[float] = []

    def bump(name: str, by: int = 1) -> None:
        counts[name] = counts.get(name, 0) + by

    for item in items:
        figure = item.figure
        if figure == "received":
            received.add(item.case_id)
        elif figure == "received_year_before":
            before.add(item.case_id)
        elif figure == "accept_time" and item.days is not None:
            accept_days.append(item.days)
        elif figure == "answer_time" and item.days is not None:
            answer_days.append(item.days)
        else:
            bump(figure)
            if item.ok:
                bump(figure + ":ok")
    return Figures(
        received=len(received),
        received_year_before=len(before),
        accept_total=counts.get("accepted_on_time", 0),
        accepted_on_time=counts.get("accepted_on_time:ok", 0),
        answer_total=counts.get("answered_on_time", 0),
        answered_on_time=counts.get("answered_on_time:ok", 0),
        overdue_now=counts.get("overdue_now", 0),
        accept_days=tuple(sorted(accept_days)),
        answer_days=tuple(sorted(answer_days)),
        extensions=counts.get("extensions", 0),
        transfers=counts.get("transfers", 0),
        reopened=counts.get("reopened", 0),
        rated=counts.get("satisfaction", 0),
        satisfied=counts.get("satisfaction:ok", 0),
        response_total=counts.get("response", 0),
        responded_on_time=counts.get("response:ok", 0),
        resolved=counts.get("resolution:ok", 0),
        weights=(settings.weight_response, settings.weight_resolution,
                 settings.weight_satisfaction),
    )


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

async def load(runtime: Runtime, period: Period) -> list[CaseHistory]:
    """Read every case that may count for the period or the same period a year before."""
    tz = runtime.config.general.tz
    async with runtime.db.read() as conn:
        return await assessment_repo.case_histories(
            conn, period.year_before().start(tz), period.end(tz), OPEN_STATES)


def compute(
    config: Config, calendar: WorkCalendar, histories: Sequence[CaseHistory], period: Period,
    as_of: datetime, *, settings: AssessmentConfig | None = None,
    scope: Iterable[str] | None = None, progress: Progress | None = None,
) -> Assessment:
    """The figures of every unit in scope for the period, as of ``as_of``.

    ``scope``: the units a reader may assess (and everything below them); None: all units.
    ``progress(done, total)`` is called as cases are replayed.
    """
    settings = settings or settings_of(config)
    tz = config.general.tz
    start, end = period.start(tz), period.end(tz)
    before = period.year_before()
    before_start, before_end = before.start(tz), before.end(tz)
    units = scope_units(config, scope)
    unit_ids = {unit.id for unit, _ in units}
    supervision = config.supervision_unit()
    kept: list[Item] = []
    total = len(histories)
    step = max(1, total // 50)
    for done, history in enumerate(histories, start=1):
        if history.case.created_at <= as_of:
            walk = _CaseWalk(history, config, calendar, as_of,
                             supervision.id if supervision else None)
            for item in walk.run():
                if item.unit_id not in unit_ids:
                    continue
                if item.figure == "overdue_now":
                    kept.append(item)
                elif item.figure == "received" and before_start <= item.at < before_end:
                    kept.append(replace(item, figure="received_year_before"))
                if item.figure != "overdue_now" and start <= item.at < end:
                    kept.append(item)
        if progress is not None and (done % step == 0 or done == total):
            progress(done, total)
    by_unit: dict[str, list[Item]] = {}
    for item in kept:
        by_unit.setdefault(item.unit_id, []).append(item)
    rows: list[UnitRow] = []
    for unit, depth in units:
        subtree = [unit.id] + [u.id for u in config.descendants(unit.id) if u.id in unit_ids]
        rows.append(UnitRow(
            unit_id=unit.id, depth=depth,
            has_children=any(child.id in unit_ids for child in config.children(unit.id)),
            own=_figures(by_unit.get(unit.id, ()), settings),
            subtree=_figures((i for u in subtree for i in by_unit.get(u, ())), settings),
        ))
    rows = _ranked(rows, settings)
    return Assessment(
        period=period, year_before=before, as_of=as_of, timezone=config.general.timezone,
        settings=settings, rows=tuple(rows), total=_figures(kept, settings),
        ranking=tuple(sorted((r for r in rows if r.rank is not None),
                             key=lambda r: (r.rank or 0, rows.index(r)))),
        accountability=tuple(_accountability(rows, by_unit, settings)),
        items=tuple(sorted(kept, key=lambda i: (i.figure, i.unit_id, i.at, i.case_id))),
        cases_read=total,
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


def _accountability(rows: Sequence[UnitRow], by_unit: dict[str, list[Item]],
                    settings: AssessmentConfig) -> list[AccountabilityEntry]:
    entries: list[AccountabilityEntry] = []
    for row in rows:
        items = by_unit.get(row.unit_id, [])
        rate = row.own.answer_rate
        if rate is not None and rate < settings.answer_on_time_below:
            late = tuple(i for i in items if i.figure == "answered_on_time" and not i.ok)
            entries.append(AccountabilityEntry(row.unit_id, "answer_on_time", rate,
                                               settings.answer_on_time_below, late))
        overdue = tuple(sorted(
            (i for i in items if i.figure == "overdue_now"
             and (i.days or 0) > settings.overdue_over_working_days),
            key=lambda i: -(i.days or 0)))
        if overdue:
            entries.append(AccountabilityEntry(row.unit_id, "overdue", overdue[0].days or 0,
                                               settings.overdue_over_working_days, overdue))
    return entries


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
    histories = await load(runtime, period)
    result = compute(runtime.config, runtime.calendar, histories, period, as_of,
                     settings=settings, scope=scope, progress=progress)
    return await with_meetings(runtime, result)
