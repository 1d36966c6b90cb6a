"""Working days on the official Chinese calendar (dates checked against chinesecalendar 1.11)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.workdays import WorkCalendar

CST = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0, tz: object = CST) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)  # type: ignore[arg-type]


def end(y: int, m: int, d: int, tz: object = CST) -> datetime:
    return datetime.combine(date(y, m, d), time(23, 59, 59), tzinfo=tz)  # type: ignore[arg-type]


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


# --- is_workday -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 9, 30), True),  # Wednesday before National Day
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # last day of the Golden Week
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, swapped working day
        (date(2026, 10, 11), False),  # ordinary Sunday
        (date(2026, 9, 20), True),  # Sunday, swapped working day (Mid-Autumn)
        (date(2026, 9, 25), False),  # Friday, Mid-Autumn Festival
        (date(2026, 2, 14), True),  # Saturday, swapped working day (Spring Festival)
        (date(2026, 2, 16), False),  # Monday, Spring Festival
        (date(2026, 2, 23), False),  # Monday, last day of Spring Festival
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, swapped working day (Spring Festival)
        (date(2026, 1, 4), True),  # Sunday, swapped working day (New Year)
        (date(2026, 1, 1), False),
    ],
)
def test_official_calendar(cal: WorkCalendar, day: date, expected: bool) -> None:
    assert cal.is_workday(day) is expected


def test_unknown_year_falls_back_to_monday_to_friday(cal: WorkCalendar) -> None:
    # chinese_calendar 1.11 has no data for 2027: 2027-01-01 is a Friday -> a working day
    assert cal.is_workday(date(2027, 1, 1)) is True
    assert cal.is_workday(date(2027, 1, 2)) is False  # Saturday
    assert cal.is_workday(date(2027, 1, 3)) is False  # Sunday
    assert cal.is_workday(date(2027, 1, 4)) is True  # Monday
    assert cal.is_workday(date(1999, 6, 1)) is True  # before the package's data: Tuesday


def test_overrides_win() -> None:
    cal = WorkCalendar(
        extra_holidays=[date(2027, 1, 1), date(2026, 10, 9)],
        extra_workdays=[date(2027, 1, 2), date(2026, 10, 4)],
    )
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.is_workday(date(2027, 1, 2)) is True
    assert cal.is_workday(date(2026, 10, 9)) is False  # official working day, overridden
    assert cal.is_workday(date(2026, 10, 4)) is True  # official holiday, overridden


def test_datetime_is_treated_as_its_date(cal: WorkCalendar) -> None:
    assert cal.is_workday(datetime(2026, 10, 1, 12, 0)) is False


# --- add_working_days -----------------------------------------------------------------------


def test_national_day_is_skipped(cal: WorkCalendar) -> None:
    filed = at(2026, 9, 30, 10, 0)
    assert cal.add_working_days(filed, 1) == end(2026, 10, 8)
    assert cal.add_working_days(filed, 2) == end(2026, 10, 9)
    assert cal.add_working_days(filed, 3) == end(2026, 10, 10)  # swapped working Saturday
    assert cal.add_working_days(filed, 4) == end(2026, 10, 12)  # Sunday 11th skipped


def test_filed_during_holiday(cal: WorkCalendar) -> None:
    assert cal.add_working_days(at(2026, 10, 3, 22, 30), 1) == end(2026, 10, 8)


def test_spring_festival_2026(cal: WorkCalendar) -> None:
    # Friday 13 Feb: next working day is the swapped Saturday 14 Feb; then the holiday
    # 15-23 Feb; then Tue 24 Feb onwards.
    filed = at(2026, 2, 13, 16, 0)
    assert cal.add_working_days(filed, 1) == end(2026, 2, 14)
    assert cal.add_working_days(filed, 2) == end(2026, 2, 24)
    assert cal.add_working_days(filed, 5) == end(2026, 2, 27)
    assert cal.add_working_days(filed, 6) == end(2026, 2, 28)  # swapped working Saturday
    assert cal.add_working_days(filed, 7) == end(2026, 3, 2)


def test_fifteen_working_days_across_national_day(cal: WorkCalendar) -> None:
    # Sep 28 (Mon) -> Sep 29, 30, Oct 8, 9, 10 (5), Oct 12..16 (10), Oct 19..23 (15)
    assert cal.add_working_days(at(2026, 9, 28), 15) == end(2026, 10, 23)


def test_zero_is_end_of_start_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(at(2026, 10, 1, 0, 1), 0) == end(2026, 10, 1)


def test_time_of_day_does_not_matter(cal: WorkCalendar) -> None:
    assert cal.add_working_days(at(2026, 9, 28, 0, 0), 1) == end(2026, 9, 29)
    assert cal.add_working_days(at(2026, 9, 28, 23, 59), 1) == end(2026, 9, 29)


def test_fallback_year_2027(cal: WorkCalendar) -> None:
    # Fri 2026-12-31 -> 2027 has no data: Fri 1 Jan is a weekday, then Mon 4 Jan
    filed = at(2026, 12, 31, 9, 0)
    assert cal.add_working_days(filed, 1) == end(2027, 1, 1)
    assert cal.add_working_days(filed, 2) == end(2027, 1, 4)
    with_holiday = WorkCalendar(extra_holidays=[date(2027, 1, 1)])
    assert with_holiday.add_working_days(filed, 1) == end(2027, 1, 4)


def test_extra_workday_counts() -> None:
    cal = WorkCalendar(extra_workdays=[date(2026, 10, 3)])
    assert cal.add_working_days(at(2026, 9, 30), 1) == end(2026, 10, 3)


def test_result_keeps_start_time_zone(cal: WorkCalendar) -> None:
    result = cal.add_working_days(at(2026, 9, 30, tz=SHANGHAI), 1)
    assert result.tzinfo is SHANGHAI
    assert result == end(2026, 10, 8, tz=SHANGHAI)
    assert result.microsecond == 0


def test_local_date_is_the_start_time_zone_date(cal: WorkCalendar) -> None:
    # 2026-09-30 20:00 UTC is already Oct 1 in China, but in UTC the start date is Sep 30
    start = datetime(2026, 9, 30, 20, 0, tzinfo=UTC)
    assert cal.add_working_days(start, 1) == end(2026, 10, 8, tz=UTC)
    assert cal.add_working_days(start.astimezone(CST), 0) == end(2026, 10, 1)


def test_naive_datetime_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        cal.add_working_days(datetime(2026, 9, 30, 10, 0), 1)
    with pytest.raises(ValueError, match="time-zone-aware"):
        cal.working_days_between(datetime(2026, 9, 30), at(2026, 10, 1))


def test_negative_n_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(at(2026, 9, 30), -1)


def test_cache_is_used(cal: WorkCalendar, monkeypatch: pytest.MonkeyPatch) -> None:
    import chinese_calendar

    calls: list[date] = []
    real = chinese_calendar.is_workday

    def counting(day: date) -> bool:
        calls.append(day)
        return real(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", counting)
    cal.is_workday(date(2026, 10, 1))
    cal.is_workday(date(2026, 10, 1))
    assert calls == [date(2026, 10, 1)]


# --- working_days_between -------------------------------------------------------------------


def test_between_same_working_day(cal: WorkCalendar) -> None:
    assert cal.working_days_between(at(2026, 9, 28, 9), at(2026, 9, 28, 21)) == pytest.approx(0.5)


def test_between_over_ordinary_weekend(cal: WorkCalendar) -> None:
    # Fri 12:00 -> Mon 12:00, weekend 2026-10-17/18 is ordinary
    assert cal.working_days_between(at(2026, 10, 16, 12), at(2026, 10, 19, 12)) == pytest.approx(
        1.0
    )


def test_between_inside_holiday_is_zero(cal: WorkCalendar) -> None:
    assert cal.working_days_between(at(2026, 10, 2, 0), at(2026, 10, 6, 12)) == 0.0


def test_between_across_national_day(cal: WorkCalendar) -> None:
    # Sep 30 12:00 -> Oct 8 12:00: half of Sep 30 + half of Oct 8
    assert cal.working_days_between(at(2026, 9, 30, 12), at(2026, 10, 8, 12)) == pytest.approx(1.0)
    # whole days: Sep 28 00:00 -> Oct 13 00:00 = Sep 28, 29, 30, Oct 8, 9, 10, 12
    assert cal.working_days_between(at(2026, 9, 28, 0), at(2026, 10, 13, 0)) == pytest.approx(7.0)


def test_between_reversed_is_negative(cal: WorkCalendar) -> None:
    a, b = at(2026, 9, 28, 9), at(2026, 9, 28, 21)
    assert cal.working_days_between(b, a) == pytest.approx(-0.5)
    assert cal.working_days_between(a, a) == 0.0


def test_between_mixed_time_zones(cal: WorkCalendar) -> None:
    a = at(2026, 9, 28, 9)
    b = at(2026, 9, 28, 21).astimezone(UTC)
    assert cal.working_days_between(a, b) == pytest.approx(0.5)


def test_between_respects_dst_day_length() -> None:
    # Europe/Berlin, Sunday 2027-03-28 has 23 hours; with it declared a working day the
    # whole day counts as exactly 1.0.
    berlin = ZoneInfo("Europe/Berlin")
    cal = WorkCalendar(extra_workdays=[date(2027, 3, 28)])
    a = datetime(2027, 3, 28, 0, 0, tzinfo=berlin)
    b = datetime(2027, 3, 29, 0, 0, tzinfo=berlin)
    assert cal.working_days_between(a, b) == pytest.approx(1.0)
