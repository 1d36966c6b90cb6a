"""The disclosure catalog's obligations (issue 22): periods, keys and due moments.

Dates on the official 2026 calendar as chinesecalendar 1.11 has them: the Spring Festival
is 15–23 February (Saturdays 14 and 28 February are working days), National Day and
Mid-Autumn 1–7 October (Saturday 10 October is a working day). 2027 is not covered: the
package counts Monday to Friday there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.config.sections_disclosure import PERIODS, DisclosureItemConfig, ScheduleConfig
from bot.durations import parse_duration
from bot.services.disclosure_schedule import (
    Obligation,
    obligations_for_year,
    period_key,
    regular_obligations,
    stage_due,
    stage_key,
    stage_obligation,
    temporary_due,
    temporary_obligation,
)
from bot.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def item(kind: str = "regular", period: str | None = "monthly", due: str | None = "10d",
         within: str | None = None, stages: tuple[str, ...] = (),
         item_id: str = "finances") -> DisclosureItemConfig:
    schedule = ScheduleConfig(
        kind, period=period if kind == "regular" else None,
        due=parse_duration(due) if due and kind == "regular" else None,
        within=parse_duration(within) if within else None, stages=stages)
    return DisclosureItemConfig(item_id, "村级财务收支", "Village finances", "party_building",
                                "public", ("channel",), schedule, units_of_level="village")


def staged(within: str = "3wd") -> DisclosureItemConfig:
    return item("staged", within=within, stages=("立项", "招标", "验收"), item_id="project")


def temporary(within: str = "1wd") -> DisclosureItemConfig:
    return item("temporary", within=within, item_id="decision")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, tz: object = TZ) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)  # type: ignore[arg-type]


def end(y: int, m: int, d: int, tz: object = TZ) -> datetime:
    return datetime.combine(date(y, m, d), time(23, 59, 59), tzinfo=tz)  # type: ignore[arg-type]


def year_of(schedule_item: DisclosureItemConfig, year: int = 2026,
            cal: WorkCalendar | None = None, tz: ZoneInfo = TZ) -> list[Obligation]:
    return regular_obligations(schedule_item, "v1", at(year, 1, 1, tz=tz),
                               at(year + 1, 1, 1, tz=tz), cal or WorkCalendar(), tz)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


# --- regular: the periods and their keys ---------------------------------------------------


def test_november_finances_are_due_at_the_end_of_10_december(cal: WorkCalendar) -> None:
    found = regular_obligations(item(due="10d"), "v1", at(2026, 11, 1), at(2026, 12, 1),
                                cal, TZ)
    assert found == [Obligation("finances", "v1", "2026-11", end(2026, 12, 10),
                                date(2026, 11, 1), date(2026, 11, 30))]
    assert found[0].due_at.tzinfo is TZ


def test_a_monthly_item_makes_twelve_obligations_each_due_on_the_10th() -> None:
    found = year_of(item(due="10d"))
    assert [o.period_key for o in found] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert [o.period_start for o in found] == [date(2026, m, 1) for m in range(1, 13)]
    assert [o.period_end.day for o in found if o.period_end] == [
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert [o.due_at for o in found] == [end(2026, m, 10) for m in range(2, 13)] + [
        end(2027, 1, 10)]
    assert {o.guessed_year for o in found} == {None}  # calendar days need no calendar


def test_month_ends_and_february_count_calendar_days_from_the_last_day() -> None:
    # From 31 January: 31 days is 3 March in 2026, 2 March in the leap year 2024.
    assert year_of(item(due="31d"))[0].due_at == end(2026, 3, 3)
    leap = year_of(item(due="31d"), 2024)
    assert leap[0].due_at == end(2024, 3, 2)
    assert (leap[1].period_key, leap[1].period_end) == ("2024-02", date(2024, 2, 29))
    assert leap[1].due_at == end(2024, 3, 31)  # 29 February + 31 days
    assert year_of(item(due="31d"))[1].due_at == end(2026, 3, 31)  # 28 February + 31 days
    assert year_of(item(due="1d"))[2].due_at == end(2026, 4, 1)  # after 31 March


@pytest.mark.parametrize(("period", "keys", "bounds", "dues"), [
    ("quarterly", ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"],
     [(date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 6, 30)),
      (date(2026, 7, 1), date(2026, 9, 30)), (date(2026, 10, 1), date(2026, 12, 31))],
     [end(2026, 4, 15), end(2026, 7, 15), end(2026, 10, 15), end(2027, 1, 15)]),
    ("half_yearly", ["2026-H1", "2026-H2"],
     [(date(2026, 1, 1), date(2026, 6, 30)), (date(2026, 7, 1), date(2026, 12, 31))],
     [end(2026, 7, 15), end(2027, 1, 15)]),
    ("yearly", ["2026"], [(date(2026, 1, 1), date(2026, 12, 31))], [end(2027, 1, 15)]),
])
def test_quarters_halves_and_years(period: str, keys: list[str],
                                   bounds: list[tuple[date, date]],
                                   dues: list[datetime]) -> None:
    found = year_of(item(period=period, due="15d"))
    assert [o.period_key for o in found] == keys
    assert [(o.period_start, o.period_end) for o in found] == bounds
    assert [o.due_at for o in found] == dues


@pytest.mark.parametrize(("period", "first_day", "key"), [
    ("monthly", date(2026, 1, 1), "2026-01"),
    ("monthly", date(2026, 11, 1), "2026-11"),
    ("quarterly", date(2026, 1, 1), "2026-Q1"),
    ("quarterly", date(2026, 4, 1), "2026-Q2"),
    ("quarterly", date(2026, 10, 1), "2026-Q4"),
    ("half_yearly", date(2026, 1, 1), "2026-H1"),
    ("half_yearly", date(2026, 7, 1), "2026-H2"),
    ("yearly", date(2026, 1, 1), "2026"),
    ("monthly", date(987, 3, 1), "987-03"),
])
def test_period_keys(period: str, first_day: date, key: str) -> None:
    assert period_key(period, first_day) == key


def test_an_unknown_period_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="weekly"):
        period_key("weekly", date(2026, 1, 1))
    with pytest.raises(ValueError, match="weekly"):
        year_of(item(period="weekly"))
    assert set(PERIODS) == {"monthly", "quarterly", "half_yearly", "yearly"}


@pytest.mark.parametrize("period", PERIODS)
def test_periods_follow_one_another_without_gap_over_four_years(period: str) -> None:
    found = regular_obligations(item(period=period, due="1d"), "v1", at(2024, 1, 1),
                                at(2028, 1, 1), WorkCalendar(), TZ)
    assert found[0].period_start == date(2024, 1, 1)
    assert found[-1].period_end == date(2027, 12, 31)
    assert len(found) == {"monthly": 48, "quarterly": 16, "half_yearly": 8, "yearly": 4}[period]
    for before, after in zip(found, found[1:], strict=False):
        assert before.period_end is not None and after.period_start is not None
        assert before.period_end + timedelta(days=1) == after.period_start
        assert before.due_at == end(*after.period_start.timetuple()[:3])


# --- regular: the window -------------------------------------------------------------------


def test_the_window_takes_the_periods_that_end_within_it(cal: WorkCalendar) -> None:
    keys = [o.period_key for o in regular_obligations(
        item(), "v1", at(2026, 11, 15), at(2027, 2, 15), cal, TZ)]
    assert keys == ["2026-11", "2026-12", "2027-01"]
    # November's last moment is just before 1 December: a window ending then excludes it.
    assert [o.period_key for o in regular_obligations(
        item(), "v1", at(2026, 11, 1), at(2026, 11, 30, 23, 59), cal, TZ)] == []
    # A quarter ends only with its last month.
    assert regular_obligations(item(period="quarterly"), "v1", at(2026, 11, 1),
                               at(2026, 12, 1), cal, TZ) == []
    assert regular_obligations(item(), "v1", at(2026, 12, 1), at(2026, 11, 1), cal, TZ) == []


def test_the_window_is_read_in_the_county_time_zone(cal: WorkCalendar) -> None:
    # 20:00 UTC on 31 October is 04:00 on 1 November in the county: October ended before.
    found = regular_obligations(item(), "v1", datetime(2026, 10, 31, 20, tzinfo=UTC),
                                datetime(2026, 11, 30, 20, tzinfo=UTC), cal, TZ)
    assert [o.period_key for o in found] == ["2026-11"]
    # 01:00 on 1 December at UTC+14 is still 30 November in the county: November ends after.
    ahead = timezone(timedelta(hours=14))
    found = regular_obligations(item(), "v1", datetime(2026, 12, 1, 1, tzinfo=ahead),
                                at(2027, 1, 1), cal, TZ)
    assert [o.period_key for o in found] == ["2026-11", "2026-12"]


# --- regular: working days and holidays ----------------------------------------------------


@pytest.mark.parametrize(("due", "expected"), [
    ("1wd", end(2026, 10, 8)),   # 1–7 October is the National Day holiday
    ("3wd", end(2026, 10, 10)),  # Saturday 10 October is a working day
    ("4wd", end(2026, 10, 12)),  # Sunday 11 October is not
    ("5wd", end(2026, 10, 13)),
    ("5d", end(2026, 10, 5)),    # calendar days run through the holiday
])
def test_the_third_quarter_is_due_after_national_day(due: str, expected: datetime) -> None:
    q3 = year_of(item(period="quarterly", due=due))[2]
    assert (q3.period_key, q3.period_end, q3.due_at) == ("2026-Q3", date(2026, 9, 30), expected)


@pytest.mark.parametrize(("due", "expected"), [
    ("5wd", end(2026, 2, 6)),    # Saturday 31 January: counting starts Monday 2 February
    ("10wd", end(2026, 2, 13)),
    ("11wd", end(2026, 2, 14)),  # Saturday 14 February is a working day
    ("12wd", end(2026, 2, 24)),  # 15–23 February is the Spring Festival
    ("15wd", end(2026, 2, 27)),
    ("16wd", end(2026, 2, 28)),  # Saturday 28 February is a working day too
    ("20d", end(2026, 2, 20)),   # calendar days land inside the holiday
])
def test_january_is_due_around_the_spring_festival(due: str, expected: datetime) -> None:
    assert year_of(item(due=due))[0].due_at == expected


def test_the_first_half_in_working_days() -> None:
    h1 = year_of(item(period="half_yearly", due="5wd"))[0]
    assert (h1.period_key, h1.due_at, h1.guessed_year) == ("2026-H1", end(2026, 7, 7), None)


def test_working_days_into_an_uncovered_year_are_a_guess_and_say_so() -> None:
    yearly = item(period="yearly", due="5wd")
    # 2027 is not in the package: Monday to Friday, New Year's Day (a Friday) included.
    (guess,) = year_of(yearly)
    assert (guess.due_at, guess.guessed_year) == (end(2027, 1, 7), 2027)
    known = WorkCalendar(extra_holidays=[date(2027, 1, 1)], complete_years=[2027])
    (counted,) = year_of(yearly, cal=known)
    assert (counted.due_at, counted.guessed_year) == (end(2027, 1, 8), None)
    # Calendar days are no guess, wherever they land.
    assert year_of(item(period="yearly", due="5d"))[0].guessed_year is None


def test_a_calendar_built_with_explicit_holidays() -> None:
    # 2030 is not in the package; the county lists its days and declares the year complete.
    county = WorkCalendar(extra_holidays=[date(2030, 4, 4), date(2030, 4, 5)],
                          extra_workdays=[date(2030, 4, 6)], complete_years=[2030])
    march = year_of(item(due="5wd"), 2030, county)[2]
    # Sunday 31 March; Mon–Wed 1–3 April, Thu–Fri off, Saturday 6 April worked, Monday 8.
    assert (march.period_key, march.due_at, march.guessed_year) == (
        "2030-03", end(2030, 4, 8), None)
    plain = year_of(item(due="5wd"), 2030)[2]
    assert (plain.due_at, plain.guessed_year) == (end(2030, 4, 5), 2030)


def test_exact_units_count_from_the_end_of_the_last_day(cal: WorkCalendar) -> None:
    (november,) = regular_obligations(item(due="12h"), "v1", at(2026, 11, 1), at(2026, 12, 1),
                                      cal, TZ)
    assert november.due_at == datetime(2026, 12, 1, 11, 59, 59, tzinfo=TZ)


def test_calendar_days_end_their_day_across_a_daylight_saving_change() -> None:
    # Summer time ends on 25 October 2026 in Berlin: 30 × 24 hours after 30 September
    # 23:59:59 would be 22:59:59 on 30 October; the due moment ends 30 October.
    q3 = year_of(item(period="quarterly", due="30d"), tz=BERLIN)[2]
    assert q3.due_at == end(2026, 10, 30, BERLIN)
    assert q3.due_at.utcoffset() == timedelta(hours=1)


# --- a year of the catalog -----------------------------------------------------------------


def test_obligations_for_a_year_of_every_unit(cal: WorkCalendar) -> None:
    monthly = item(due="10d", item_id="finances")
    quarterly = item(period="quarterly", due="5wd", item_id="affairs")
    yearly = item(period="yearly", due="20wd", item_id="pledges")
    half = item(period="half_yearly", due="15d", item_id="cadres")
    found = obligations_for_year({"v1": [monthly, quarterly, staged()],
                                  "v2": [yearly, temporary(), half], "v3": []}, 2026, cal, TZ)
    assert [(o.unit_id, o.item_id, o.period_key) for o in found] == (
        [("v1", "finances", f"2026-{m:02d}") for m in range(1, 13)]
        + [("v1", "affairs", f"2026-Q{q}") for q in range(1, 5)]
        + [("v2", "pledges", "2026"), ("v2", "cadres", "2026-H1"), ("v2", "cadres", "2026-H2")])
    by_key = {(o.item_id, o.period_key): o for o in found}
    assert by_key["affairs", "2026-Q3"].due_at == end(2026, 10, 13)
    assert by_key["affairs", "2026-Q1"].due_at == end(2026, 4, 8)  # 31 March (Tue) + 5wd
    # 31 December (Thu), then 20 Monday–Friday days of the uncovered 2027.
    assert (by_key["pledges", "2026"].due_at, by_key["pledges", "2026"].guessed_year) == (
        end(2027, 1, 28), 2027)
    assert by_key["cadres", "2026-H2"].due_at == end(2027, 1, 15)


# --- staged and temporary ------------------------------------------------------------------


def test_a_stage_is_due_within_working_days_of_being_reached(cal: WorkCalendar) -> None:
    assert stage_due(staged("3wd"), at(2026, 9, 30, 10), cal, TZ) == end(2026, 10, 10)
    # 01:00 on 14 February in the county (17:00 UTC the day before): the 14th does not count.
    reached = datetime(2026, 2, 13, 17, tzinfo=UTC)
    assert stage_due(staged("1wd"), reached, cal, TZ) == end(2026, 2, 24)
    assert stage_due(staged("1wd"), datetime(2026, 2, 13, 15, tzinfo=UTC), cal, TZ) == end(
        2026, 2, 14)


def test_a_stage_obligation_is_keyed_by_matter_and_stage(cal: WorkCalendar) -> None:
    found = stage_obligation(staged("3wd"), "v1", 17, "招标", at(2026, 9, 30, 10), cal, TZ)
    assert found == Obligation("project", "v1", "17:招标", end(2026, 10, 10))
    assert stage_key("M-3", "验收") == "M-3:验收"
    with pytest.raises(ValueError, match="公示"):
        stage_obligation(staged(), "v1", 17, "公示", at(2026, 9, 30, 10), cal, TZ)


@pytest.mark.parametrize(("within", "recorded", "expected"), [
    ("1wd", at(2026, 9, 30, 10), end(2026, 10, 8)),
    ("1wd", at(2026, 9, 30, 23, 59), end(2026, 10, 8)),  # the hour does not matter
    ("2wd", at(2026, 10, 3, 10), end(2026, 10, 9)),      # recorded on a holiday
    ("2d", at(2026, 10, 3, 10), end(2026, 10, 5)),
    ("4h", at(2026, 10, 3, 10), at(2026, 10, 3, 14)),
])
def test_a_temporary_item_is_due_within_its_time_of_the_event(
        within: str, recorded: datetime, expected: datetime, cal: WorkCalendar) -> None:
    assert temporary_due(temporary(within), recorded, cal, TZ) == expected


def test_a_temporary_obligation_is_keyed_by_its_event(cal: WorkCalendar) -> None:
    found = temporary_obligation(temporary("3wd"), "v2", 42, at(2026, 12, 30, 9), cal, TZ)
    # 31 December, then the guessed 2027: Friday 1 January, Monday 4 January.
    assert found == Obligation("decision", "v2", "42", end(2027, 1, 4), guessed_year=2027)


# --- refusals ------------------------------------------------------------------------------


def test_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    naive = datetime(2026, 11, 1)
    with pytest.raises(ValueError, match="start"):
        regular_obligations(item(), "v1", naive, at(2026, 12, 1), cal, TZ)
    with pytest.raises(ValueError, match="end"):
        regular_obligations(item(), "v1", at(2026, 11, 1), naive, cal, TZ)
    with pytest.raises(ValueError, match="reached_at"):
        stage_due(staged(), naive, cal, TZ)
    with pytest.raises(ValueError, match="reached_at"):
        stage_obligation(staged(), "v1", 1, "立项", naive, cal, TZ)
    with pytest.raises(ValueError, match="recorded_at"):
        temporary_due(temporary(), naive, cal, TZ)
    with pytest.raises(ValueError, match="recorded_at"):
        temporary_obligation(temporary(), "v1", 1, naive, cal, TZ)


def test_another_zone_is_accepted_and_converted(cal: WorkCalendar) -> None:
    fixed = timezone(timedelta(hours=8))
    (november,) = regular_obligations(item(), "v1", at(2026, 11, 1, tz=fixed),
                                      at(2026, 12, 1, tz=fixed), cal, TZ)
    assert november.due_at == end(2026, 12, 10)


def test_a_schedule_of_another_kind_or_without_its_offset_is_refused(
        cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="staged, not regular"):
        regular_obligations(staged(), "v1", at(2026, 1, 1), at(2027, 1, 1), cal, TZ)
    with pytest.raises(ValueError, match="regular, not staged"):
        stage_due(item(), at(2026, 1, 1), cal, TZ)
    with pytest.raises(ValueError, match="staged, not temporary"):
        temporary_due(staged(), at(2026, 1, 1), cal, TZ)
    with pytest.raises(ValueError, match="no due"):
        year_of(item(due=None))
    with pytest.raises(ValueError, match="no within"):
        temporary_due(item("temporary"), at(2026, 1, 1), cal, TZ)
