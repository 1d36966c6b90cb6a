"""Adding the units' counts up: a unit's own figures and its subtree's, the ranking, the
accountability list and the lists of cases that count against a unit."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from bot.config import AssessmentConfig
from bot.services.assessment.figures import (
    LIST_FIGURES,
    AccountabilityEntry,
    CaseList,
    Figures,
    Item,
    UnitRow,
)
from storage import assessment as assessment_repo


class Days:
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


def figures_of(units: Sequence[str], facts: assessment_repo.Facts, accept: Days,
             answer: Days, overdue: dict[str, int], settings: AssessmentConfig) -> Figures:
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
        obligations_due=total("obligations_due"),
        obligations_on_time=total("obligations_on_time"),
        disclosures_published=total("disclosures_published"),
        disclosures_complete=total("disclosures_complete"),
        opinions=total("opinions"), opinions_answered=total("opinions_answered"),
        weights=(settings.weight_response, settings.weight_resolution,
                 settings.weight_satisfaction),
        disclosure_weights=(settings.weight_disclosure_on_time,
                            settings.weight_disclosure_completeness,
                            settings.weight_opinion_response),
    )


def ranked(rows: list[UnitRow], settings: AssessmentConfig) -> list[UnitRow]:
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


def most_overdue(items: Iterable[Item]) -> list[Item]:
    """Most overdue first."""
    return sorted(items, key=lambda i: (-(i.days or 0), i.case_id))


def accountability(rows: Sequence[UnitRow], facts: assessment_repo.Facts,
                   overdue: dict[str, list[Item]], settings: AssessmentConfig, limit: int,
                   disclosure_threshold: float) -> list[AccountabilityEntry]:
    """The units over a threshold, each with at most ``limit`` of the cases (or the
    disclosure obligations) that put it there: on-time answer rate, a case overdue too
    long, and a disclosure on-time rate under ``disclosure_threshold`` (only a unit that
    had obligations due)."""
    entries: list[AccountabilityEntry] = []
    for row in rows:
        rate = row.own.answer_rate
        if rate is not None and rate < settings.answer_on_time_below:
            late = facts.listed.get(("answered_on_time", row.unit_id), [])
            entries.append(AccountabilityEntry(
                row.unit_id, "answer_on_time", rate, settings.answer_on_time_below,
                tuple(late[:limit]), row.own.answer_total - row.own.answered_on_time))
        over = most_overdue(i for i in overdue.get(row.unit_id, ())
                             if (i.days or 0) > settings.overdue_over_working_days)
        if over:
            entries.append(AccountabilityEntry(
                row.unit_id, "overdue", over[0].days or 0, settings.overdue_over_working_days,
                tuple(over[:limit]), len(over)))
        on_time = row.own.disclosure_on_time_rate
        if on_time is not None and on_time < disclosure_threshold:
            entries.append(AccountabilityEntry(
                row.unit_id, "disclosure_on_time", on_time, disclosure_threshold, (),
                row.own.obligations_due - row.own.obligations_on_time,
                tuple(facts.duties.get(row.unit_id, [])[:limit])))
    return entries


def case_lists(rows: Sequence[UnitRow], facts: assessment_repo.Facts,
               overdue: dict[str, list[Item]], limit: int) -> list[CaseList]:
    """Per unit and :data:`LIST_FIGURES`: the cases that count against the unit, at most
    ``limit`` of them."""
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
                found = most_overdue(overdue.get(unit, ()))
            else:
                found = facts.listed.get((figure, unit), [])
            total = totals.get(figure, len(found))
            if total:
                lists.append(CaseList(figure, unit, tuple(found[:limit]), total))
    return lists
