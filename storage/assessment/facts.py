"""What one report reads and what it gets back: the window it counts (:class:`Window`),
the facts it counts (:class:`Facts`, with the cases behind them as :class:`Item` and the
disclosure obligations missed as :class:`Duty`), and :func:`combine`, which adds up the
facts of the shares a report is read in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from storage.models import to_db_time

Key = TypeVar("Key")


@dataclass(frozen=True)
class Window:
    """What one report counts: ``[start, end)``, the year before, and the moment."""

    start: datetime
    end: datetime
    before_start: datetime
    before_end: datetime
    as_of: datetime
    supervision: str | None
    open_states: tuple[str, ...]
    satisfied: tuple[str, ...]
    resolved: tuple[str, ...]
    # The share of the cases this read counts: those whose id is ``part`` modulo ``parts``
    # (one read per processor, :func:`combine` adds them up).
    part: int = 0
    parts: int = 1

    def params(self) -> dict[str, Any]:
        whole = self.as_of.replace(microsecond=0)
        # A stored moment (whole seconds) is before ``as_of`` iff it is before this one.
        after = whole + timedelta(seconds=1) if self.as_of.microsecond else whole
        return {"start": to_db_time(self.start), "end": to_db_time(self.end),
                "before_start": to_db_time(self.before_start),
                "before_end": to_db_time(self.before_end),
                "as_of": to_db_time(whole), "as_of_ceil": to_db_time(after),
                "supervision": self.supervision, "part": self.part, "parts": self.parts,
                # The states, ratings and outcomes the queries test for, as JSON lists: each
                # query reads them as a table (``json_each``), so its SQL is written once.
                "open_states": json.dumps(self.open_states),
                "satisfied": json.dumps(self.satisfied),
                "resolved": json.dumps(self.resolved)}


@dataclass(frozen=True)
class Item:
    """One case behind a figure, for one unit, at one moment (as the lists show it).

    ``ok`` says whether it counts in the figure's favour; ``days`` holds working days (how
    long a case is overdue: the service counts them on its working-day clock; None as read).
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
class Duty:
    """One disclosure obligation (公开时限) due in the period and not met by its deadline:
    met later (``met``: when, by the report's moment) or not met (None)."""

    obligation_id: int
    unit_id: str
    item_id: str
    period_key: str
    title: str | None
    due: datetime
    met: datetime | None


def duty_order(duty: Duty) -> tuple[Any, ...]:
    """The order the obligations missed are listed in: not met at all first, then by their
    deadline (as their SQL ranks them)."""
    return (duty.met is not None, duty.due, duty.obligation_id)


@dataclass
class Facts:
    """Everything the figures need, per unit: counts, working days, and the listed cases."""

    cases: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    # Cases received, by the set of units they arrived at in the period (a case that came to
    # two units counts once for both together); the same a year before.
    received: dict[frozenset[str], int] = field(default_factory=dict)
    received_before: dict[frozenset[str], int] = field(default_factory=dict)
    # Per unit, the times to accept and to answer as read: comma-separated pairs of moments
    # (epoch seconds: since, until), a text per share; the service turns them into working
    # days on its clock (``accept_days``, ``answer_days``).
    accept_spans: dict[str, list[str]] = field(default_factory=dict)
    answer_spans: dict[str, list[str]] = field(default_factory=dict)
    accept_days: dict[str, list[float]] = field(default_factory=dict)
    answer_days: dict[str, list[float]] = field(default_factory=dict)
    overdue: list[Item] = field(default_factory=list)
    # (figure, unit) → the most serious cases first, at most ``limit`` of them.
    listed: dict[tuple[str, str], list[Item]] = field(default_factory=dict)
    # Per unit: the disclosure obligations due in the period and not met by their deadline,
    # in :func:`duty_order`, at most ``limit`` of them.
    duties: dict[str, list[Duty]] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.cases

    def count(self, unit_id: str, key: str) -> int:
        return self.counts.get((unit_id, key), 0)


# The lists capped at ``:limit`` cases per unit, and the order they are ranked in (as their
# SQL ranks them, so that lists read in parts merge into the same list).
CAPPED = ("accepted_on_time", "answered_on_time", "satisfaction")


def list_order(item: Item) -> tuple[Any, ...]:
    """The order a capped list ranks its cases in (the same as its SQL ranks them)."""
    if item.figure == "accepted_on_time":
        return (item.due, item.case_id)
    if item.figure == "answered_on_time":  # not answered at all first
        return (item.result != "not_answered", item.due, item.case_id)
    return (item.at, item.case_id)


def _add_up(into: dict[Key, int], found: dict[Key, int]) -> None:
    for key, value in found.items():
        into[key] = into.get(key, 0) + value


def combine(parts: Sequence[Facts], limit: int) -> Facts:
    """The facts of the whole report from those of its parts (each read a share of the
    cases: everything counted is a sum over cases, so the parts add up)."""
    if len(parts) == 1:
        return parts[0]
    facts = Facts()
    for part in parts:
        facts.cases += part.cases
        _add_up(facts.counts, part.counts)
        _add_up(facts.received, part.received)
        _add_up(facts.received_before, part.received_before)
        for spans, more in ((facts.accept_spans, part.accept_spans),
                            (facts.answer_spans, part.answer_spans)):
            for unit, texts in more.items():
                spans.setdefault(unit, []).extend(texts)
        facts.overdue.extend(part.overdue)
        for key, items in part.listed.items():
            facts.listed.setdefault(key, []).extend(items)
        for unit, duties in part.duties.items():
            facts.duties.setdefault(unit, []).extend(duties)
    for key, items in facts.listed.items():
        items.sort(key=list_order)
        if key[0] in CAPPED:
            del items[limit:]
    for duties in facts.duties.values():
        duties.sort(key=duty_order)
        del duties[limit:]
    return facts

