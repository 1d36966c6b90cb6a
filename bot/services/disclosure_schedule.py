"""When the catalog's disclosures are due (公开时限, issue 22): the obligations its schedules
make, as plain values, without the database or Telegram.

- ``regular`` (常规性工作定期公开): every period (a month, a quarter, a half-year, a year)
  makes one obligation, due ``due`` after the period ends;
- ``staged`` (阶段性工作逐段公开): each stage of a matter is due ``within`` of its being
  reached;
- ``temporary`` (临时性工作及时公开): due ``within`` of an event an official records.

A due moment is the end (23:59:59) of the due day in the county's time zone, as a case's
working-day deadline is (:meth:`bot.workdays.WorkCalendar.add_working_days`, through
:func:`bot.durations.add_duration`). The day counts from the period's last day, or from the
local date of the stage or event:

- ``wd``: the n-th working day after it on the official calendar (holidays skipped, swapped
  working weekends counted): a quarter ending Wed 30 September 2026 with ``5wd`` is due
  Tue 13 October, after the National Day holiday;
- ``d``: the n-th calendar day after it, holiday or not: November's finances with ``10d``
  are due 10 December. Counted on the calendar, not as n × 24 hours, so a daylight-saving
  change in between does not move the due moment off the end of its day;
- ``s``, ``m``, ``h``: exact time after the end of the period's last day, or after the stage
  or event (:func:`bot.durations.add_duration`); such a moment ends no day.

A working-day count that runs through a year the calendar does not cover is a Monday–Friday
guess; the obligation's ``guessed_year`` names that year, as ``bot.services.deadlines``
marks a case's deadline (``guessed_year`` there).

Period keys: ``2026-11`` (monthly), ``2026-Q4``, ``2026-H2``, ``2026`` (yearly); a stage's is
``<matter id>:<stage>``; an event's is the event's id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from bot.config.sections_disclosure import PERIODS, DisclosureItemConfig
from bot.durations import Duration, add_duration
from bot.workdays import WorkCalendar, end_of_day

__all__ = [
    "Obligation",
    "obligations_for_year",
    "period_key",
    "regular_obligations",
    "stage_due",
    "stage_key",
    "stage_obligation",
    "temporary_due",
    "temporary_obligation",
]

#: Months in each period; a period starts in a month that is a multiple of it (from January).
_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Obligation:
    """One disclosure a unit owes: ``item_id`` for ``period_key``, by ``due_at``.

    ``period_start`` and ``period_end`` are a regular period's first and last days (both
    included; ``None`` for a stage or an event). ``guessed_year``: the first year the
    calendar does not cover that a working-day count ran through (``None``: none, or the
    due was not in working days).
    """

    item_id: str
    unit_id: str
    period_key: str
    due_at: datetime
    period_start: date | None = None
    period_end: date | None = None
    guessed_year: int | None = None


# --- periods -------------------------------------------------------------------------------


def period_key(period: str, first_day: date) -> str:
    """The key of the ``period`` that starts on ``first_day``: ``2026-11``, ``2026-Q4``,
    ``2026-H2``, ``2026``."""
    year, month = first_day.year, first_day.month
    if period == "monthly":
        return f"{year}-{month:02d}"
    if period == "quarterly":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    if period == "half_yearly":
        return f"{year}-H{(month - 1) // 6 + 1}"
    if period == "yearly":
        return f"{year}"
    raise ValueError(f"unknown period {period!r}; allowed: {', '.join(PERIODS)}")


def _first_of(period: str, day: date) -> date:
    """The first day of the ``period`` containing ``day``."""
    months = _MONTHS[period]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def _after(period: str, first_day: date) -> date:
    """The first day of the period after the one starting on ``first_day``."""
    index = first_day.year * 12 + first_day.month - 1 + _MONTHS[period]
    return date(index // 12, index % 12 + 1, 1)


def _periods(period: str, start: datetime, end: datetime,
             tz: tzinfo) -> Iterator[tuple[date, date]]:
    """(first day, last day) of each ``period`` whose last moment falls within
    ``[start, end)`` in ``tz``: it ends after ``start`` and by ``end``."""
    if period not in _MONTHS:
        raise ValueError(f"unknown period {period!r}; allowed: {', '.join(PERIODS)}")
    first = _first_of(period, start.astimezone(tz).date())  # the first to end after start
    while True:
        following = _after(period, first)
        if datetime.combine(following, time(0), tzinfo=tz) > end:  # its end: the next midnight
            return
        yield first, following - _ONE_DAY
        first = following


# --- due moments ---------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone-aware datetime, got {value!r}")


def _require_kind(item: DisclosureItemConfig, kind: str) -> Duration:
    """The item's due offset (``due`` for regular, ``within`` otherwise), if its schedule is
    of ``kind``."""
    schedule = item.schedule
    if schedule.kind != kind:
        raise ValueError(f"disclosure item {item.id!r} is {schedule.kind}, not {kind}")
    offset = schedule.due if kind == "regular" else schedule.within
    if offset is None:
        raise ValueError(f"disclosure item {item.id!r} has no "
                         f"{'due' if kind == 'regular' else 'within'}")
    return offset


def _due(local: datetime, offset: Duration, calendar: WorkCalendar) -> tuple[datetime, int | None]:
    """(due moment, guessed year) ``offset`` after ``local`` (aware, in the county's zone)."""
    if offset.unit == "d":
        return end_of_day(local.date() + timedelta(days=offset.amount), local.tzinfo), None
    due = add_duration(local, offset, calendar)
    if not offset.working_days:
        return due, None
    guessed = next((year for year in range(local.year, due.year + 1)
                    if not calendar.covers(year)), None)
    return due, guessed


def _event_due(item: DisclosureItemConfig, kind: str, at: datetime, name: str,
               calendar: WorkCalendar, tz: tzinfo) -> tuple[datetime, int | None]:
    offset = _require_kind(item, kind)
    _require_aware(at, name)
    return _due(at.astimezone(tz), offset, calendar)


# --- regular -------------------------------------------------------------------------------


def regular_obligations(item: DisclosureItemConfig, unit_id: str, start: datetime,
                        end: datetime, calendar: WorkCalendar, tz: tzinfo) -> list[Obligation]:
    """One obligation for each of the regular ``item``'s periods whose last moment falls
    within ``[start, end)`` (in ``tz``), due ``schedule.due`` after the period's last day.

    ``[2026-01-01, 2027-01-01)`` gives the periods of 2026; ``[2026-11-01, 2026-12-01)``
    November only, for a monthly item. ``ValueError`` for a naive ``start`` or ``end``, or
    an item that is not regular.
    """
    offset = _require_kind(item, "regular")
    _require_aware(start, "start")
    _require_aware(end, "end")
    period = item.schedule.period
    if period is None:
        raise ValueError(f"disclosure item {item.id!r} has no period")
    found = []
    for first, last in _periods(period, start, end, tz):
        due_at, guessed = _due(end_of_day(last, tz), offset, calendar)
        found.append(Obligation(item.id, unit_id, period_key(period, first), due_at,
                                first, last, guessed))
    return found


def obligations_for_year(items_by_unit: Mapping[str, Sequence[DisclosureItemConfig]],
                         year: int, calendar: WorkCalendar, tz: tzinfo) -> list[Obligation]:
    """Every unit's regular obligations for the periods of ``year`` (those ending in it, in
    ``tz``): by unit, then item, in the order given, then period. Staged and temporary items
    make none ahead of their matters and events, and are passed over."""
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz)
    found: list[Obligation] = []
    for unit_id, items in items_by_unit.items():
        for item in items:
            if item.schedule.kind == "regular":
                found.extend(regular_obligations(item, unit_id, start, end, calendar, tz))
    return found


# --- staged and temporary ------------------------------------------------------------------


def stage_key(matter_id: int | str, stage: str) -> str:
    """The period key of a matter's stage: ``<matter id>:<stage>``."""
    return f"{matter_id}:{stage}"


def stage_due(item: DisclosureItemConfig, reached_at: datetime, calendar: WorkCalendar,
              tz: tzinfo) -> datetime:
    """When a stage of the staged ``item``'s matter reached at ``reached_at`` is due:
    ``schedule.within`` after it, counted from its local date in ``tz``."""
    return _event_due(item, "staged", reached_at, "reached_at", calendar, tz)[0]


def stage_obligation(item: DisclosureItemConfig, unit_id: str, matter_id: int | str,
                     stage: str, reached_at: datetime, calendar: WorkCalendar,
                     tz: tzinfo) -> Obligation:
    """The obligation a matter's ``stage`` makes once reached (``ValueError`` for a stage the
    item does not name)."""
    if stage not in item.schedule.stages:
        raise ValueError(f"disclosure item {item.id!r} has no stage {stage!r}")
    due_at, guessed = _event_due(item, "staged", reached_at, "reached_at", calendar, tz)
    return Obligation(item.id, unit_id, stage_key(matter_id, stage), due_at,
                      guessed_year=guessed)


def temporary_due(item: DisclosureItemConfig, recorded_at: datetime, calendar: WorkCalendar,
                  tz: tzinfo) -> datetime:
    """When the temporary ``item``'s disclosure of an event recorded at ``recorded_at`` is
    due: ``schedule.within`` after it, counted from its local date in ``tz``."""
    return _event_due(item, "temporary", recorded_at, "recorded_at", calendar, tz)[0]


def temporary_obligation(item: DisclosureItemConfig, unit_id: str, event_id: int | str,
                         recorded_at: datetime, calendar: WorkCalendar,
                         tz: tzinfo) -> Obligation:
    """The obligation an event recorded at ``recorded_at`` makes."""
    due_at, guessed = _event_due(item, "temporary", recorded_at, "recorded_at", calendar, tz)
    return Obligation(item.id, unit_id, str(event_id), due_at, guessed_year=guessed)
