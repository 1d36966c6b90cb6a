"""Periods of a report: parse ``2026-11``, ``2026Q4``, ``2026H2``, ``2026`` or a range of
dates, and the period maths a report needs (its moments, the same period a year before, the
current half year)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import N_

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
