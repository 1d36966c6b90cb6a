"""Meeting schedules: ``[[meetings]]`` read and checked, the dates a cron expression names on
the official calendar (holiday shifts, swapped working days, years the calendar does not
know), and the moments of each meeting's reminders."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time

import pytest

from bot.config import (
    CalendarConfig,
    MeetingConfig,
    MeetingOffset,
    Problem,
    default_config_path,
    load_config,
    parse_config,
)
from bot.services.meetings.schedule import _before, occurrences
from bot.workdays import WorkCalendar
from tests.conftest import SHANGHAI

BASE = """
[routing]
above_supervision = "county"

[[units]]
id = "county"
name_zh = "县委"
name_en = "County"

[[units]]
id = "discipline"
name_zh = "县纪委"
name_en = "Discipline"
parent = "county"
supervision = true

[[categories]]
id = "party_building"
name_zh = "基层党建"
name_en = "Party building"
unit = "county"
"""

MEETING = """
[[meetings]]
id = "monthly"
unit = "county"
cron = "30 9 1-7 * 2"
place = "Room 1"
organizer = "head"
"""

FIRST_TUESDAY = MeetingConfig("m", "monthly", "county", "30 9 1-7 * 2", "Room", "head:county")
QUARTERLY = MeetingConfig("q", "symposium", "county", "0 15 1-7 1,4,7,10 4", "Hall", "1003")


def parsed(text: str) -> tuple[object, list[Problem]]:
    return parse_config(tomllib.loads(BASE + text), env={})


def problems(text: str) -> dict[str, str]:
    config, found = parsed(text)
    assert config is None
    return {p.key: p.render() for p in found}


def days(schedule: MeetingConfig, calendar: WorkCalendar, start: date, end: date
         ) -> list[str]:
    begin = datetime.combine(start, time(0), SHANGHAI)
    finish = datetime.combine(end, time(0), SHANGHAI)
    return [f"{starts:%Y-%m-%d %H:%M %a}" + ("" if starts.date() == slot else f" <{slot:%m-%d}")
            for slot, starts in occurrences(schedule, calendar, SHANGHAI, begin, finish)]


# ----------------------------------------------------------------------------- dates

def test_first_tuesdays_of_2026_move_off_holidays() -> None:
    # Verified against chinese_calendar: 05-05 is in the Labour Day holiday (05-01..05),
    # 10-06 in the National Day holiday (10-01..07); the next working days are 05-06 and
    # 10-08.
    assert days(FIRST_TUESDAY, WorkCalendar(), date(2026, 1, 1), date(2027, 1, 1)) == [
        "2026-01-06 09:30 Tue", "2026-02-03 09:30 Tue", "2026-03-03 09:30 Tue",
        "2026-04-07 09:30 Tue", "2026-05-06 09:30 Wed <05-05", "2026-06-02 09:30 Tue",
        "2026-07-07 09:30 Tue", "2026-08-04 09:30 Tue", "2026-09-01 09:30 Tue",
        "2026-10-08 09:30 Thu <10-06", "2026-11-03 09:30 Tue", "2026-12-01 09:30 Tue",
    ]


def test_the_quarterly_symposium_lands_on_a_swapped_working_sunday() -> None:
    # 2026-01-01 (Thu) starts the New Year holiday (01-01..03); Sunday 01-04 is worked.
    assert days(QUARTERLY, WorkCalendar(), date(2026, 1, 1), date(2027, 1, 1)) == [
        "2026-01-04 15:00 Sun <01-01", "2026-04-02 15:00 Thu", "2026-07-02 15:00 Thu",
        "2026-10-08 15:00 Thu <10-01",
    ]


def test_no_shift_keeps_the_day() -> None:
    fixed = MeetingConfig("m", "monthly", "county", "30 9 1-7 * 2", "Room", "head:county",
                          shift="none")
    assert days(fixed, WorkCalendar(), date(2026, 10, 1), date(2026, 11, 1)) == [
        "2026-10-06 09:30 Tue"]


def test_2027_falls_back_to_weekdays_with_the_configured_overrides() -> None:
    # chinese_calendar has no 2027 yet: Monday to Friday, plus [calendar].
    calendar = CalendarConfig(holidays=(date(2027, 1, 1), date(2027, 2, 2)),
                              workdays=(date(2027, 3, 6),)).calendar()
    assert days(FIRST_TUESDAY, calendar, date(2027, 1, 1), date(2027, 4, 1)) == [
        "2027-01-05 09:30 Tue", "2027-02-03 09:30 Wed <02-02", "2027-03-02 09:30 Tue"]
    saturday = MeetingConfig("s", "monthly", "county", "0 10 1-7 * 6", "Room", "1")
    # First Saturdays: 2027-03-06 is a configured working day, the others move to Monday.
    assert days(saturday, calendar, date(2027, 1, 1), date(2027, 4, 1)) == [
        "2027-01-04 10:00 Mon <01-02", "2027-02-08 10:00 Mon <02-06", "2027-03-06 10:00 Sat"]


def test_first_tuesday_also_written_with_a_hash() -> None:
    hashed = MeetingConfig("m", "monthly", "county", "30 9 * * 2#1", "Room", "head:county")
    assert days(hashed, WorkCalendar(), date(2026, 1, 1), date(2027, 1, 1)) == days(
        FIRST_TUESDAY, WorkCalendar(), date(2026, 1, 1), date(2027, 1, 1))


def test_a_meeting_at_the_window_start_is_included_once() -> None:
    start = datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)
    found = occurrences(FIRST_TUESDAY, WorkCalendar(), SHANGHAI, start,
                        datetime(2027, 1, 1, tzinfo=SHANGHAI))
    assert found == [(date(2026, 12, 1), start)]


def test_reminder_moments() -> None:
    calendar = WorkCalendar()
    # Thursday 2026-10-08, right after the National Day holiday.
    meeting = datetime(2026, 10, 8, 9, 30, tzinfo=SHANGHAI)
    assert _before(meeting, MeetingOffset(3, "d", time(9)), calendar) == datetime(
        2026, 10, 5, 9, 0, tzinfo=SHANGHAI)
    assert _before(meeting, MeetingOffset(0, "d", time(8)), calendar) == datetime(
        2026, 10, 8, 8, 0, tzinfo=SHANGHAI)
    # One working day before: back across the holiday to Wednesday 09-30.
    assert _before(meeting, MeetingOffset(1, "wd", time(16)), calendar) == datetime(
        2026, 9, 30, 16, 0, tzinfo=SHANGHAI)


# ----------------------------------------------------------------------------- the file

def test_a_meeting_with_defaults() -> None:
    config, found = parsed(MEETING)
    assert found == []
    [meeting] = config.meetings  # type: ignore[attr-defined]
    assert meeting == MeetingConfig("monthly", "monthly", "county", "30 9 1-7 * 2", "Room 1",
                                    "head:county")
    assert meeting.organizer_unit == "county" and meeting.organizer_id is None
    assert [str(r) for r in meeting.reminders] == ["3d 09:00", "0d 08:00"]
    assert str(meeting.summary) == "1d 16:00" and meeting.record_within_days == 3


def test_every_key() -> None:
    config, found = parsed(MEETING.replace('organizer = "head"', """organizer = 1003
kind = "symposium"
shift = "none"
reminders = ["1wd 16:00", "0d 7:30"]
summary = "2d 10:00"
record_within_days = 5"""))
    assert found == []
    [meeting] = config.meetings  # type: ignore[attr-defined]
    assert (meeting.kind, meeting.organizer_id, meeting.shift) == ("symposium", 1003, "none")
    assert meeting.reminders == (MeetingOffset(1, "wd", time(16)), MeetingOffset(0, "d",
                                                                                 time(7, 30)))
    assert meeting.summary == MeetingOffset(2, "d", time(10)) and meeting.record_within_days == 5


def test_the_example_file_has_a_monthly_meeting_and_a_symposium() -> None:
    config = load_config(default_config_path(), env={})
    kinds = {m.kind: m for m in config.meetings}
    assert kinds["monthly"].cron == "30 9 1-7 * 2"
    assert kinds["symposium"].organizer_id == 1003


@pytest.mark.parametrize(("change", "key", "message"), [
    ('cron = "30 9 1-7 * 2"', "meetings[0].cron", "is required"),
    ('cron = "30 9 1-7 *"', "meetings[0].cron", 'not a cron expression: "30 9 1-7 *"'),
    ('cron = "30 9 1-7 * 2 2026"', "meetings[0].cron", "not a cron expression"),
    ('cron = "every tuesday"', "meetings[0].cron", "not a cron expression"),
    ('cron = "*/30 9 * * 2"', "meetings[0].cron", "minute and hour must be single numbers"),
    ('cron = "0 9-11 * * 2"', "meetings[0].cron", "minute and hour must be single numbers"),
    ('cron = "0 9 31 2 *"', "meetings[0].cron", '"0 9 31 2 *" never happens'),
    ('unit = "county"', "meetings[0].unit", "is required"),
    ('unit = "atlantis"', "meetings[0].unit", "unknown unit atlantis"),
    ('organizer = "head"', "meetings[0].organizer", "is required"),
    ('organizer = "boss"', "meetings[0].organizer", "the organizer is a Telegram user id"),
    ('organizer = -5', "meetings[0].organizer", "the organizer is a Telegram user id"),
    ('organizer = "head:atlantis"', "meetings[0].organizer", "unknown unit atlantis"),
    ('place = "Room 1"', "meetings[0].place", "is required"),
    ('place = "Room 1"\nplace2 = "x"', "meetings[0].place2", "unknown key"),
    ('id = "monthly"\nkind = "weekly"', "meetings[0].kind", "unknown kind weekly"),
    ('id = "monthly"\nshift = "previous"', "meetings[0].shift", 'unknown shift "previous"'),
    ('id = "monthly"\nreminders = "3d"', "meetings[0].reminders", "must be an array"),
    ('id = "monthly"\nreminders = ["3 days"]', "meetings[0].reminders[0]",
     'not a moment before the meeting: "3 days"'),
    ('id = "monthly"\nreminders = ["61d 09:00"]', "meetings[0].reminders[0]", "at most 60 days"),
    ('id = "monthly"\nreminders = ["1d 25:00"]', "meetings[0].reminders[0]", "not a moment"),
    ('id = "monthly"\nsummary = "tomorrow"', "meetings[0].summary", "not a moment"),
    ('id = "monthly"\nrecord_within_days = 0', "meetings[0].record_within_days",
     "must be a positive integer"),
    ('id = "monthly"\nrecord_within_days = 61', "meetings[0].record_within_days",
     "must be at most 60"),
    ('id = "Monthly!"', "meetings[0].id", "ids use lowercase letters"),
])
def test_problems(change: str, key: str, message: str) -> None:
    first = change.split("\n")[0].split(" = ")[0]
    lines = [line for line in MEETING.strip().split("\n")
             if not line.startswith(first + " ")]
    if change.split("\n")[0] not in MEETING:
        lines.append(change.split("\n")[0])
    lines += change.split("\n")[1:]
    found = problems("\n" + "\n".join(lines) + "\n")
    assert key in found, found
    assert message in found[key]


def test_a_duplicate_id_and_a_table_that_is_not_one() -> None:
    found = problems(MEETING + MEETING)
    assert found == {"meetings[1].id": "meetings[1].id: duplicate meeting id monthly"}
    config, found = parse_config(tomllib.loads("meetings = 3\n" + BASE), env={})
    assert config is None
    assert [p.render() for p in found] == [
        "meetings: must be an array of tables, written [[meetings]]"]
