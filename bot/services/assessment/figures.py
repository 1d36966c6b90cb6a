"""What is counted: the figures of a unit (:class:`Figures`), the rows, lists and
accountability entries of a report, and the :class:`Assessment` the chart and the workbook
draw. Each figure is defined in ``docs/assessment.md`` under the same name."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import AssessmentConfig
from bot.services.assessment.period import Period
from storage import assessment as assessment_repo

# Cases in these states are still with a unit: they can be overdue now.
OPEN_STATES = ("new", "accepted", "info_requested", "reopened", "transferred")
# Ratings that count as satisfied (满意 and 基本满意).
SATISFIED = ("satisfied", "basically")
# Outcomes that count as resolved, when the reporter confirmed them by a satisfied rating.
RESOLVED_OUTCOMES = ("resolved", "partly_resolved")
# Figures that do not come from the case events: supervisors' meetings (per unit, from
# bot.services.meetings; see ``with_meetings``).
NOT_YET_AVAILABLE = ("meetings", "attendance")


# The lists of cases that count against a unit (the workbook's second sheet), in this order:
# overdue now (most overdue first), late answers (unanswered first), late acceptances,
# ratings not satisfied, and cases passed to the supervision group.
LIST_FIGURES = ("overdue_now", "answered_on_time", "accepted_on_time", "satisfaction",
                "transfers", "reopened")

Item = assessment_repo.Item
Duty = assessment_repo.Duty


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
    # The disclosure register (党务公开): obligations due and met on time, disclosures
    # published and complete, opinions that count and answered.
    obligations_due: int = 0
    obligations_on_time: int = 0
    disclosures_published: int = 0
    disclosures_complete: int = 0
    opinions: int = 0
    opinions_answered: int = 0
    weights: tuple[float, float, float] = (30, 35, 35)
    # Of the on-time rate, the completeness and the opinion response rate, each weighed
    # only where it applies (see ``score``).
    disclosure_weights: tuple[float, float, float] = (10, 5, 5)

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
    def disclosure_on_time_rate(self) -> float | None:
        """公开及时率: obligations met by their deadline / obligations due."""
        return _rate(self.obligations_on_time, self.obligations_due)

    @property
    def disclosure_completeness(self) -> float | None:
        """Disclosures with every required form confirmed / disclosures published."""
        return _rate(self.disclosures_complete, self.disclosures_published)

    @property
    def opinion_response_rate(self) -> float | None:
        """Opinions answered / opinions that count."""
        return _rate(self.opinions_answered, self.opinions)

    @property
    def score(self) -> float | None:
        """100 × weighted mean of response, resolution and satisfaction rates, and of the
        disclosure rates that apply: one without items (nothing due, published or given in
        the period) is left out with its weight, so a unit is not penalised for it and a
        unit without any keeps the score of the three rates alone."""
        rates = (self.response_rate, self.resolution_rate, self.satisfaction_rate)
        if any(rate is None for rate in rates) or not sum(self.weights):
            return None
        pairs = list(zip(self.weights, rates, strict=True)) + [
            (w, r) for w, r in zip(self.disclosure_weights, self.disclosure_rates, strict=True)
            if r is not None]
        total = sum(w * r for w, r in pairs if r is not None)
        return 100 * total / sum(w for w, _ in pairs)

    @property
    def disclosure_rates(self) -> tuple[float | None, float | None, float | None]:
        """The on-time rate, the completeness and the opinion response rate."""
        return (self.disclosure_on_time_rate, self.disclosure_completeness,
                self.opinion_response_rate)

    def value(self, key: str) -> Any:
        """A figure by its key in the workbook's columns (:data:`bot.reports.workbook.FIGURES`;
        None: no data; rank is the row's)."""
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
    ``items`` lists at most :data:`~bot.services.assessment.LIST_LIMIT` of the ``total``."""

    figure: str
    unit_id: str
    items: tuple[Item, ...]
    total: int

    @property
    def left_out(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class AccountabilityEntry:
    """A unit over a threshold, and the cases (or, for the disclosure on-time rate, the
    obligations) that put it there (at most :data:`~bot.services.assessment.LIST_LIMIT` of
    ``total``)."""

    unit_id: str
    reason: str  # answer_on_time | overdue | disclosure_on_time
    value: float
    threshold: float
    items: tuple[Item, ...]
    total: int = 0
    # disclosure_on_time: the obligations missed (no cases).
    duties: tuple[Duty, ...] = ()

    @property
    def left_out(self) -> int:
        return self.total - len(self.items) - len(self.duties)


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
    # The disclosure on-time rate under which a unit is listed (``[disclosure]
    # on_time_threshold``), and per unit the obligations it missed (at most
    # :data:`~bot.services.assessment.LIST_LIMIT`; the figures count them all).
    disclosure_threshold: float = 0.9
    duties: dict[str, tuple[Duty, ...]] = field(default_factory=dict)
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
