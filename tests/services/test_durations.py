"""Durations: parsing and adding, including working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.durations import (
    DURATION_FORMAT_HELP,
    DURATION_TOO_LONG,
    Duration,
    DurationError,
    add_duration,
    parse_duration,
)
from bot.workdays import WorkCalendar

CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("30s", 30, "s"),
        ("15m", 15, "m"),
        ("2h", 2, "h"),
        ("3d", 3, "d"),
        ("15wd", 15, "wd"),
        ("  1wd\n", 1, "wd"),
        ("007d", 7, "d"),
    ],
)
def test_parse(text: str, amount: int, unit: str) -> None:
    assert parse_duration(text) == Duration(amount, unit)


@pytest.mark.parametrize("text", ["15wd", "1s", "30d"])
def test_str_round_trips(text: str) -> None:
    assert str(parse_duration(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "0d",
        "0wd",
        "-1d",
        "1.5h",
        "15 wd",
        "wd",
        "15",
        "1w",
        "1D",
        "1WD",
        "1dd",
        "١٢d",
        "1d2h",
        "+1d",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    message = str(info.value)
    assert "wd (working days)" in message and "15wd" in message
    assert isinstance(info.value, DurationError)
    assert info.value.msgid == DURATION_FORMAT_HELP
    assert info.value.params == {"value": text}


def test_parse_rejects_non_string() -> None:
    with pytest.raises(DurationError):
        parse_duration(15)  # type: ignore[arg-type]


def test_parse_rejects_absurdly_long() -> None:
    with pytest.raises(DurationError) as info:
        parse_duration("100000wd")
    assert info.value.msgid == DURATION_TOO_LONG
    assert parse_duration("3660d") == Duration(3660, "d")


def test_duration_validates_fields() -> None:
    with pytest.raises(ValueError):
        Duration(1, "w")
    with pytest.raises(ValueError):
        Duration(0, "d")


def test_add_exact_units() -> None:
    cal = WorkCalendar()
    start = datetime(2026, 9, 30, 10, 0, tzinfo=CST)
    assert add_duration(start, Duration(30, "s"), cal) == start + timedelta(seconds=30)
    assert add_duration(start, Duration(15, "m"), cal) == start + timedelta(minutes=15)
    assert add_duration(start, Duration(2, "h"), cal) == start + timedelta(hours=2)
    # d is exactly 24 hours, holidays or not
    assert add_duration(start, Duration(1, "d"), cal) == datetime(2026, 10, 1, 10, 0, tzinfo=CST)


def test_add_days_is_elapsed_time_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2027, 3, 27, 12, 0, tzinfo=berlin)  # DST starts on the 28th
    result = add_duration(start, Duration(1, "d"), WorkCalendar())
    utc = UTC
    assert result.astimezone(utc) - start.astimezone(utc) == timedelta(hours=24)
    assert result.astimezone(berlin).hour == 13


def test_add_working_days_skips_national_day() -> None:
    start = datetime(2026, 9, 30, 10, 0, tzinfo=CST)
    result = add_duration(start, parse_duration("1wd"), WorkCalendar())
    assert result == datetime.combine(date(2026, 10, 8), time(23, 59, 59), tzinfo=CST)


def test_add_refuses_naive() -> None:
    with pytest.raises(ValueError):
        add_duration(datetime(2026, 9, 30, 10, 0), Duration(1, "h"), WorkCalendar())
