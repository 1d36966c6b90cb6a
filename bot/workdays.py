"""Working days on the official Chinese calendar (holidays and swapped working weekends).

The ``chinese_calendar`` package (pip name ``chinesecalendar``) knows the State Council's
holiday arrangements year by year. For a year it does not know yet it raises
``NotImplementedError``; then Monday to Friday are working days. Dates listed in the
configuration (``[calendar] holidays`` / ``workdays``) override both. A year is *covered*
when the package knows it or ``[calendar] complete_years`` says its days are all listed;
:meth:`WorkCalendar.covers` tells, and nothing about an uncovered year is silent
(``bot.services.deadlines.uncovered_years``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar

__all__ = ["WorkCalendar", "end_of_day", "official_covers"]

_ONE_DAY = timedelta(days=1)
_END_OF_DAY = time(23, 59, 59)


def _require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime: deadlines are instants in a definite time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone-aware datetime, got {value!r}")


def end_of_day(day: date, tzinfo: object) -> datetime:
    """23:59:59 (microsecond 0) of ``day`` in ``tzinfo``."""
    return datetime.combine(day, _END_OF_DAY, tzinfo=tzinfo)  # type: ignore[arg-type]


def official_covers(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` has the State Council's data for ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _start_of_day(day: date, tzinfo: object) -> datetime:
    """Local midnight of ``day`` in ``tzinfo``."""
    return datetime.combine(day, time(0), tzinfo=tzinfo)  # type: ignore[arg-type]


class WorkCalendar:
    """Decides whether a date is a working day, with configured overrides.

    ``extra_holidays`` are days off even if the official calendar says otherwise;
    ``extra_workdays`` are working days even on a weekend or holiday. A date in both
    lists counts as a holiday (the configuration loader refuses such a file anyway).
    """

    def __init__(
        self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = (),
        complete_years: Iterable[int] = (),
    ) -> None:
        self._holidays = frozenset(_as_date(d) for d in extra_holidays)
        self._workdays = frozenset(_as_date(d) for d in extra_workdays)
        self._complete = frozenset(complete_years)
        self._cache: dict[date, bool] = {}
        self._covered: dict[int, bool] = {}

    def __repr__(self) -> str:
        return (
            f"WorkCalendar(extra_holidays={sorted(self._holidays)!r}, "
            f"extra_workdays={sorted(self._workdays)!r}, "
            f"complete_years={sorted(self._complete)!r})"
        )

    def covers(self, year: int) -> bool:
        """Whether ``year``'s working days are known: from the package, or declared
        complete in ``[calendar] complete_years``. Otherwise they are a Monday–Friday guess
        (plus whatever ``[calendar]`` lists)."""
        known = self._covered.get(year)
        if known is None:
            known = self._covered[year] = year in self._complete or official_covers(year)
        return known

    def is_workday(self, day: date) -> bool:
        """True if ``day`` is a working day (overrides, then the official calendar).

        Years the ``chinese_calendar`` package has no data for fall back to Monday–Friday.
        """
        day = _as_date(day)
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        if day in self._holidays:
            result = False
        elif day in self._workdays:
            result = True
        else:
            try:
                result = bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                result = day.weekday() < 5
        self._cache[day] = result
        return result

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The deadline ``n`` working days after ``start``.

        It is the end (23:59:59, microsecond 0) of the ``n``-th working day strictly after
        ``start``'s local date, in ``start``'s own time zone. The day of ``start`` never
        counts, whatever the hour, and neither do holidays or weekends; swapped working
        weekend days do. ``n == 0`` gives the end of ``start``'s date itself.

        Example: filed Wed 2026-09-30 10:00 +08:00 with ``n=1``: Oct 1–7 is the National
        Day holiday, so the deadline is Thu 2026-10-08 23:59:59 +08:00; with ``n=2`` it is
        Fri Oct 9, with ``n=3`` the swapped working Saturday Oct 10, with ``n=4`` Mon Oct 12.

        Raises ``ValueError`` for a naive ``start`` or a negative ``n``.
        """
        _require_aware(start, "start")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = start.date()
        remaining = n
        while remaining > 0:
            day += _ONE_DAY
            if self.is_workday(day):
                remaining -= 1
        return end_of_day(day, start.tzinfo)

    def working_days_between(self, a: datetime, b: datetime) -> float:
        """Working days elapsed from ``a`` to ``b``, as a fraction.

        Definition: the time between ``a`` and ``b`` that falls on working days, measured
        in days. Each local calendar day (in ``a``'s time zone) contributes the part of it
        that lies inside ``[a, b]`` divided by that day's length (24 h, or 23/25 h on a DST
        change), and only if it is a working day. So Mon 09:00 → Mon 21:00 is 0.5, Fri
        12:00 → Mon 12:00 across an ordinary weekend is 1.0 (half of Friday plus half of
        Monday), and a span lying wholly inside a holiday is 0.0. If ``b`` is before
        ``a`` the result is negative (``-working_days_between(b, a)``).

        Raises ``ValueError`` for naive datetimes.
        """
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.working_days_between(b, a)
        tz = a.tzinfo
        a_utc = a.astimezone(UTC)
        b_utc = b.astimezone(UTC)
        day = a.date()
        last = b.astimezone(tz).date()
        total = 0.0
        while day <= last:
            if self.is_workday(day):
                # Convert to UTC before subtracting: aware datetimes sharing a tzinfo
                # subtract as wall-clock times, which is wrong across a DST change.
                day_start = _start_of_day(day, tz).astimezone(UTC)
                day_end = _start_of_day(day + _ONE_DAY, tz).astimezone(UTC)
                overlap = min(b_utc, day_end) - max(a_utc, day_start)
                if overlap > timedelta(0):
                    total += overlap / (day_end - day_start)
            day += _ONE_DAY
        return total


def _as_date(value: date) -> date:
    """Reduce a datetime to its date, so the cache and the overrides compare dates."""
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"expected a date, got {value!r}")
    return value
