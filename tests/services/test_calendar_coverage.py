"""A calendar that never silently guesses: years the official data does not cover are
named at start-up, in the daily digest and by check-config; with unknown_years = "flag"
each deadline so counted is marked and counted again once the year is covered."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from bot.config import Config, parse_config
from bot.config_warnings import config_warnings
from bot.services.deadlines import uncovered_years
from bot.workdays import WorkCalendar, official_covers
from handlers.jobs import DIGEST
from tests.conftest import SHANGHAI, Bench
from tests.handlers.flows import CATEGORY, file_report
from tests.handlers.staff import CIVIL_OFFICIAL, SUPERVISION, staffed

# A Monday in December: a 30-working-day answer deadline reaches into January 2027.
DECEMBER = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
# The example's [calendar] lists New Year's Day 2027 already; a notice copied in full would
# say more (the test supposes Monday Jan 4 is a day off too).
NEW_YEAR = date(2027, 1, 1)
NOTICE_2027 = (NEW_YEAR, date(2027, 1, 4))

needs_uncovered_2027 = pytest.mark.skipif(
    official_covers(2027), reason="the installed chinesecalendar covers 2027 already")


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def _calendar(config: Config, **changes: object) -> Config:
    return dataclasses.replace(config, calendar=dataclasses.replace(config.calendar, **changes))


def _covering_2027(config: Config) -> Config:
    """[calendar] completed for 2027 from (a supposed) notice."""
    return _calendar(config, holidays=NOTICE_2027, workdays=(), complete_years=(2027,))


def _warnings(bench: Bench, user_id: int) -> list[str]:
    return [m.text or "" for m in bench.emu.sent(user_id) if (m.text or "").startswith("🗓")]


@needs_uncovered_2027
async def test_uncovered_year_warned_once_a_day_not_per_case(bench: Bench) -> None:
    bench.user(SUPERVISION, "纪委")
    bench.clock.set(DECEMBER)
    for reporter in (4401, 4402):
        await file_report(bench, bench.user(reporter, f"举报人{reporter}"))
    [(answer_due,)] = await bench.rows("SELECT DISTINCT substr(answer_due, 1, 4) FROM cases")
    assert answer_due == "2027"
    assert await uncovered_years(bench.runtime) == [2027]

    await bench.run_job(DIGEST)
    [warning] = _warnings(bench, SUPERVISION)
    assert "2027" in warning and "[calendar] holidays" in warning
    assert "complete_years" in warning and "chinesecalendar" in warning


@needs_uncovered_2027
async def test_a_covered_year_is_not_warned(bench: Bench) -> None:
    await bench.stop()
    bench.config = _covering_2027(bench.config)
    await bench.start()
    bench.user(SUPERVISION, "纪委")
    bench.clock.set(DECEMBER)
    await file_report(bench, bench.user(4403, "举报人"))
    assert await uncovered_years(bench.runtime) == []
    await bench.run_job(DIGEST)
    assert _warnings(bench, SUPERVISION) == []


@needs_uncovered_2027
def test_check_config_warns_from_october_first(config: Config) -> None:
    def calendar_warnings(day: date) -> list[str]:
        return [p.render() for p in config_warnings(config, day) if p.key == "calendar"]

    assert calendar_warnings(date(2026, 9, 30)) == []
    [warning] = calendar_warnings(date(2026, 10, 1))
    assert "2027" in warning and "complete_years" in warning
    assert "国务院办公厅关于部分节假日安排的通知" in warning
    assert calendar_warnings(date(2026, 12, 31)) == [warning]
    covered = _covering_2027(config)
    assert [p for p in config_warnings(covered, date(2026, 10, 1)) if p.key == "calendar"] == []


def test_complete_years_needs_the_notice_copied() -> None:
    def problems(table: dict[str, object]) -> list[str]:
        return [p.key for p in parse_config({"calendar": table})[1]
                if p.key.startswith("calendar")]

    assert problems({"complete_years": [2027]}) == ["calendar.complete_years"]
    assert problems({"complete_years": ["2027"]}) == ["calendar.complete_years"]
    assert problems({"unknown_years": "guess"}) == ["calendar.unknown_years"]
    assert problems({"holidays": ["2027-01-01"], "complete_years": [2027],
                     "unknown_years": "flag"}) == []


def test_complete_years_cover_the_year(config: Config) -> None:
    covered = _covering_2027(config)
    assert covered.calendar.calendar().covers(2027)
    assert not covered.calendar.calendar().is_workday(date(2027, 1, 4))


def test_check_config_warns_about_units_without_members(config: Config) -> None:
    example = dataclasses.replace(config, members=config.members[:6])  # the file's own
    by_key = {p.key: p.render() for p in config_warnings(example, date(2026, 6, 1))
              if p.key.startswith("units")}
    index = {unit.id: i for i, unit in enumerate(example.units)}
    assert f"units[{index['finance']}]" not in by_key
    assert f"units[{index['discipline']}]" not in by_key
    xiguan = by_key[f"units[{index['yizhou_xiguan']}]"]
    assert "yizhou_xiguan" in xiguan and "discipline" in xiguan and "invite" in xiguan


@needs_uncovered_2027
async def test_flag_marks_then_recomputes_once_covered(bench: Bench) -> None:
    await bench.stop()
    bench.config = _calendar(bench.config, unknown_years="flag")
    await bench.start()
    official = bench.user(CIVIL_OFFICIAL, "员1101")
    bench.user(SUPERVISION, "纪委")
    bench.clock.set(DECEMBER)
    number = await file_report(bench, bench.user(4404, "举报人"))
    amount = bench.config.deadlines.rule("report", CATEGORY).answer.amount
    guessed = bench.config.calendar.calendar().add_working_days(DECEMBER, amount)
    official_due = WorkCalendar(NOTICE_2027, (), [2027]).add_working_days(DECEMBER, amount)
    assert guessed < official_due  # Jan 4 counted as a working day by the guess
    [(case_id, answer_due)] = await bench.rows("SELECT id, answer_due FROM cases")
    assert datetime.fromisoformat(answer_due) == guessed
    assert await bench.rows("SELECT deadline, year FROM calendar_flags") == [("answer", 2027)]

    # Marked for review in /inbox and counted in the digest; the filing was not refused.
    [inbox] = await bench.say(official, "/inbox")
    assert f"🗓 {number}" in (inbox.text or "")
    await bench.run_job(DIGEST)
    [warning] = _warnings(bench, SUPERVISION)
    assert "/inbox" in warning

    # [calendar] now covers 2027: at start-up the deadline is counted again.
    await bench.stop()
    bench.config = _covering_2027(bench.config)
    await bench.start()
    [(answer_due,)] = await bench.rows("SELECT answer_due FROM cases")
    assert datetime.fromisoformat(answer_due) == official_due
    assert await bench.rows("SELECT COUNT(*) FROM calendar_flags") == [(0,)]
    assert [(int(year),) for (year,) in await bench.rows(  # a JSON number; text on PostgreSQL
        "SELECT json_extract(payload, '$.year') FROM case_events "
        "WHERE case_id = ? AND type = 'deadline_recomputed'", case_id)] == [(2027,)]
    # The alarms follow the new deadline.
    assert await bench.rows(
        "SELECT COUNT(*) FROM alarms WHERE subject = 'case' AND fired_at IS NULL "
        "AND kind = 'answer_breach' AND due = ?", answer_due) == [(1,)]
    [inbox] = await bench.say(official, "/inbox")
    assert "🗓" not in (inbox.text or "")


@needs_uncovered_2027
async def test_flag_turned_on_later_marks_open_cases_at_start(bench: Bench) -> None:
    bench.clock.set(DECEMBER)
    await file_report(bench, bench.user(4405, "举报人"))
    assert await bench.rows("SELECT COUNT(*) FROM calendar_flags") == [(0,)]  # "weekdays"
    await bench.stop()
    bench.config = _calendar(bench.config, unknown_years="flag")
    await bench.start()
    assert await bench.rows("SELECT deadline, year FROM calendar_flags") == [("answer", 2027)]


def test_check_config_prints_warnings_and_stays_valid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main
    from bot.config import default_config_path

    assert main(["check-config", "--config", str(default_config_path()), "--lang", "en"]) == 0
    captured = capsys.readouterr()
    assert "the configuration is valid" in captured.out
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert any("yizhou_xiguan" in line and "invite" in line for line in warnings)
