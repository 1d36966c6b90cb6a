"""Assessment figures on a seeded county, every number computed by hand below.

The dataset is written with the storage functions (the same rows and events the bot writes),
in the example configuration, as of Fri 2027-01-08 12:00 (+08:00). Working days follow the
official calendar: 2026-10-01..07 is the National Day holiday and Sat 2026-10-10 a working
day; 2027-01-01 is a configured holiday (the package knows 2026, not 2027: Mon–Fri there).

Cases of 2026H2 (times local, "wd" = working days):

- C1 civil_affairs, low-income support (answer 10wd). Filed Wed 09-30 10:00; accept due
  Thu 10-08 23:59:59 (1wd, across the holiday); answer due Tue 10-20 (10wd: Oct 8, 9,
  Sat 10, 12–16, 19, 20). Accepted Thu 10-08 09:00, answered *Sat* 10-10 15:00 (resolved),
  rated satisfied 10-12.
- C2 civil_affairs: filed Mon 06-29 10:00 (H1!), accepted 06-30 (H1), answer due Mon 07-13,
  answered Wed 07-15 11:00 (late; outcome explained), rated basically satisfied 07-17.
- C3 civil_affairs: filed Mon 11-02 09:00, accept due Tue 11-03; accepted Wed 11-04 10:00
  (late); answer due Mon 11-16; answered Thu 11-12 10:00 (partly resolved), rated not
  satisfied 11-13 (reopened), answered again 11-18 (resolved), rated satisfied 11-19.
- C4 county (service commitments, 15wd): filed Tue 12-01 10:00, accept due Wed 12-02;
  transferred to agriculture Wed 12-02 15:00 (new accept due Thu 12-03), accepted there
  Thu 12-03 09:00; answer due Tue 12-22, answered Fri 12-11 16:00 (resolved), never rated,
  closed unrated 12-18.
- C5 agriculture (rural subsidies, 10wd): filed Mon 12-28 10:00, accept due Tue 12-29, never
  accepted; answer due Tue 2027-01-12 (after the report: pending).
- C6 finance (15wd): filed Thu 11-05 10:00, accepted Fri 11-06 11:00; answer due Thu 11-26,
  extended on Wed 11-25 to Thu 12-03; never answered.
- C7 yizhou_beiguan (a village under yizhou_town): filed Mon 08-03 10:00, accepted 14:00,
  answered Fri 08-07 10:00 (resolved), rated satisfied.
- C8 yizhou_town: filed Tue 09-15 10:00, withdrawn at 12:00 (before any deadline).
- C9 civil_affairs: filed Mon 2027-01-04 10:00 (after the period), accept due Tue 01-05,
  never accepted: overdue now only.

The same half year a year before (2025H2): civil_affairs 2 cases (2025-08-01 and
2025-12-31 23:00 local, which is 15:00 UTC), county 1, finance 2 (one at 2025-07-01 00:00
exactly); not in it: finance 2025-06-30 23:59:59 and civil_affairs 2026-01-01 00:30 local
(2025-12-31 16:30 UTC). All of them were withdrawn an hour after filing.
"""

from __future__ import annotations

import dataclasses
import io
import os
import random
import threading
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import (
    AssessmentConfig,
    CalendarConfig,
    Config,
    default_config_path,
    load_config,
)
from bot.runtime import Runtime
from bot.services import assessment
from bot.services.assessment import (
    Assessment,
    Period,
    PeriodError,
    parse_period,
)
from bot.services.deadlines import due_times
from storage import answers as answer_repo
from storage import cases as case_repo
from storage import people
from storage.models import Membership, NewCase, to_db_time
from storage.sql import Conn
from tests.support import engines

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2027, 1, 8, 12, 0, tzinfo=TZ)
END_OF_DAY = (23, 59, 59)
SECOND = 1 / 86400  # a due time at 23:59:59 leaves one second of its day


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=TZ)


def eod(y: int, m: int, d: int) -> datetime:
    return at(y, m, d, *END_OF_DAY)


# ------------------------------------------------------------------------------ seeding

class Seeder:
    """Writes cases the way the services do: a state change and its event together."""

    def __init__(self, conn: Any, config: Config, official: int) -> None:
        self.conn = conn
        self.config = config
        self.official = official
        self.keys = 0
        self.numbers: dict[str, str] = {}

    def file(self, name: str, unit: str, category: str, moment: datetime,
             accept_due: datetime | None = None, answer_due: datetime | None = None
                   ) -> int:
        calendar = self.config.calendar.calendar()
        computed = due_times(self.config, calendar, "suggestion", category, moment)
        self.keys += 1
        new = NewCase(
            kind="suggestion", category_id=category, unit_id=unit, channel="chat",
            anonymous=False, reporter_person_id=None, delivery_chat_id=5000 + self.keys,
            reporter_name=None, reporter_phone=None, language="zh_CN", text=f"案件 {name}",
            created_at=moment, accept_due=accept_due or computed[0],
            answer_due=answer_due or computed[1], idempotency_key=f"seed-{self.keys}",
        )
        case, _ = case_repo.create_case(self.conn, new, year=moment.year,
                                        actor_role="reporter")
        self.numbers[name] = case.number
        return case.id

    def event(self, case_id: int, moment: datetime, kind: str, before: str | None,
              after: str | None, payload: dict[str, Any] | None = None,
              role: str = "official") -> None:
        case_repo.append_event(self.conn, case_id, moment, self.official, role, kind,
                               before, after, payload)

    def accept(self, case_id: int, moment: datetime) -> None:
        assert case_repo.mark_accepted(self.conn, case_id, self.official, moment)
        self.event(case_id, moment, "accepted", "new", "accepted")

    def transfer(self, case_id: int, moment: datetime, source: str, target: str,
                 accept_due: datetime, kind: str = "transferred") -> None:
        case_repo.move_to_unit(self.conn, case_id, target, accept_due, moment,
                               count_transfer=True)
        self.event(case_id, moment, kind, "new", "new",
                         {"from": source, "to": target, "asked_for": target, "reason": "职责"})

    def answer(self, case_id: int, unit: str, moment: datetime, outcome: str,
               before: str = "accepted") -> int:
        answer_id = answer_repo.add_answer(self.conn, case_id, unit, self.official,
                                           outcome, "答复", None, "sent", (), moment)
        case_repo.mark_answered(self.conn, case_id, moment)
        self.event(case_id, moment, "answered", before, "answered",
                         {"answer": answer_id, "outcome": outcome})
        return answer_id

    def rate(self, case_id: int, answer_id: int, moment: datetime, rating: str,
             escalate_to: str | None = None) -> None:
        assert answer_repo.rate(self.conn, answer_id, rating, moment)
        if escalate_to is not None:  # the second "not satisfied": to the supervision group
            case_repo.move_to_unit(self.conn, case_id, escalate_to, eod(2030, 1, 1),
                                   moment, count_transfer=False)
            case_repo.mark_reopened(self.conn, case_id, moment)
            then = "escalated"
        elif rating == "unsatisfied":
            case_repo.mark_reopened(self.conn, case_id, moment)
            then = "reopened"
        else:
            case_repo.mark_closed(self.conn, case_id, moment)
            then = "closed"
        self.event(case_id, moment, "rated", "answered",
                   "reopened" if then == "escalated" else then,
                         {"answer": answer_id, "rating": rating, "then": then},
                   role="reporter")

    def withdraw(self, case_id: int, moment: datetime) -> None:
        before = case_repo.set_state(self.conn, case_id, ("new", "accepted"), "withdrawn",
                                     moment)
        self.event(case_id, moment, "withdrawn", before, "withdrawn", role="reporter")

    def extend_answer(self, case_id: int, moment: datetime, old: datetime,
                      new: datetime) -> None:
        # The deadline work's repository will do this; here it is the same row change.
        self.conn.execute("UPDATE cases SET answer_due = ? WHERE id = ?",
                                (to_db_time(new), case_id))
        self.event(case_id, moment, "extension_granted", "accepted", "accepted",
                         {"deadline": "answer", "old_due": old.isoformat(),
                          "new_due": new.isoformat()}, role="supervision")


async def seed(runtime: Runtime) -> dict[str, str]:
    """The county of the module docstring; returns case names → numbers."""
    def work(conn: Conn):
        official = people.ensure_person(conn, 777, AS_OF)
        s = Seeder(conn, runtime.config, official.id)
        # C1: across the National Day holiday.
        c1 = s.file("C1", "civil_affairs", "low_income_support", at(2026, 9, 30, 10))
        s.accept(c1, at(2026, 10, 8, 9))
        a1 = s.answer(c1, "civil_affairs", at(2026, 10, 10, 15), "resolved")
        s.rate(c1, a1, at(2026, 10, 12, 9), "satisfied")
        # C2: filed in H1, answered late in H2; explained (not resolved), basically satisfied.
        c2 = s.file("C2", "civil_affairs", "low_income_support", at(2026, 6, 29, 10))
        s.accept(c2, at(2026, 6, 30, 16))
        a2 = s.answer(c2, "civil_affairs", at(2026, 7, 15, 11), "explained")
        s.rate(c2, a2, at(2026, 7, 17, 10), "basically")
        # C3: accepted late, reopened, answered again.
        c3 = s.file("C3", "civil_affairs", "low_income_support", at(2026, 11, 2, 9))
        s.accept(c3, at(2026, 11, 4, 10))
        a3 = s.answer(c3, "civil_affairs", at(2026, 11, 12, 10), "partly_resolved")
        s.rate(c3, a3, at(2026, 11, 13, 9), "unsatisfied")
        a3b = s.answer(c3, "civil_affairs", at(2026, 11, 18, 10), "resolved",
                       before="reopened")
        s.rate(c3, a3b, at(2026, 11, 19, 9), "satisfied")
        # C4: the county passes it on; agriculture answers; never rated.
        c4 = s.file("C4", "county", "service_commitments", at(2026, 12, 1, 10))
        s.transfer(c4, at(2026, 12, 2, 15), "county", "agriculture", eod(2026, 12, 3))
        s.accept(c4, at(2026, 12, 3, 9))
        s.answer(c4, "agriculture", at(2026, 12, 11, 16), "resolved")
        case_repo.mark_closed(conn, c4, at(2026, 12, 18, 16))
        s.event(c4, at(2026, 12, 18, 16), "closed", "answered", "closed",
                      {"reason": "not_rated"}, role="system")
        # C5: never accepted.
        s.file("C5", "agriculture", "rural_subsidies", at(2026, 12, 28, 10))
        # C6: accepted, answer deadline extended once, never answered.
        c6 = s.file("C6", "finance", "finance", at(2026, 11, 5, 10))
        s.accept(c6, at(2026, 11, 6, 11))
        s.extend_answer(c6, at(2026, 11, 25, 10), eod(2026, 11, 26), eod(2026, 12, 3))
        # C7: a village under the town.
        c7 = s.file("C7", "yizhou_beiguan", "party_building", at(2026, 8, 3, 10))
        s.accept(c7, at(2026, 8, 3, 14))
        a7 = s.answer(c7, "yizhou_beiguan", at(2026, 8, 7, 10), "resolved")
        s.rate(c7, a7, at(2026, 8, 7, 12), "satisfied")
        # C8: withdrawn before any deadline.
        c8 = s.file("C8", "yizhou_town", "party_building", at(2026, 9, 15, 10))
        s.withdraw(c8, at(2026, 9, 15, 12))
        # C9: after the period, overdue now.
        s.file("C9", "civil_affairs", "low_income_support", at(2027, 1, 4, 10))
        # The year before, and just outside it.
        for name, unit, category, moment in (
            ("P1", "civil_affairs", "low_income_support", at(2025, 8, 1, 10)),
            ("P2", "civil_affairs", "low_income_support", at(2025, 12, 31, 23)),
            ("P3", "county", "service_commitments", at(2025, 10, 9, 10)),
            ("P4", "finance", "finance", at(2025, 7, 1, 0)),
            ("P5", "finance", "finance", at(2025, 11, 11, 10)),
            ("X1", "finance", "finance", at(2025, 6, 30, 23, 59, 59)),
            ("X2", "civil_affairs", "low_income_support", at(2026, 1, 1, 0, 30)),
        ):
            case_id = s.file(name, unit, category, moment)
            s.withdraw(case_id, moment + timedelta(hours=1))
        return s.numbers
    return await runtime.db.write(work)


@pytest.fixture
def county(config: Config) -> Config:
    """The example county with 2027-01-01 as a holiday, whatever the example file says, on
    the test's engine (``config``: a file, or a fresh PostgreSQL schema)."""
    return dataclasses.replace(config, calendar=CalendarConfig(holidays=(date(2027, 1, 1),)))


@pytest.fixture
async def runtime(county: Config) -> AsyncIterator[Runtime]:
    runtime = Runtime(county, ManualClock(AS_OF), county.general.database)
    await runtime.open()
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def numbers(runtime: Runtime) -> dict[str, str]:
    return await seed(runtime)


async def report(runtime: Runtime, code: str = "2026H2", **kwargs: Any) -> Assessment:
    return await assessment.assess(runtime, parse_period(code), **kwargs)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-6)


# ------------------------------------------------------------------------------ periods

def test_periods_are_whole_local_days() -> None:
    cases = {
        "2026-11": ("month", date(2026, 11, 1), date(2026, 11, 30)),
        "2026-02": ("month", date(2026, 2, 1), date(2026, 2, 28)),
        "2026q4": ("quarter", date(2026, 10, 1), date(2026, 12, 31)),
        "2026Q1": ("quarter", date(2026, 1, 1), date(2026, 3, 31)),
        "2026H2": ("half", date(2026, 7, 1), date(2026, 12, 31)),
        "2026h1": ("half", date(2026, 1, 1), date(2026, 6, 30)),
        "2026": ("year", date(2026, 1, 1), date(2026, 12, 31)),
        " 2026-07-01..2026-12-31 ": ("range", date(2026, 7, 1), date(2026, 12, 31)),
    }
    for text, (kind, first, last) in cases.items():
        period = parse_period(text)
        assert (period.kind, period.first, period.last) == (kind, first, last), text
    half = parse_period("2026H2")
    assert half.code == "2026H2"
    assert half.start(TZ) == at(2026, 7, 1) and half.end(TZ) == at(2027, 1, 1)
    assert half.year_before() == Period("half", "2025H2", date(2025, 7, 1), date(2025, 12, 31))
    assert parse_period("2026Q4").year_before().code == "2025Q4"
    assert parse_period("2028-02").year_before().last == date(2027, 2, 28)
    leap = parse_period("2028-02-29..2028-03-01").year_before()
    assert (leap.first, leap.last) == (date(2027, 2, 28), date(2027, 3, 1))
    assert assessment.current_half(at(2026, 11, 25, 10), TZ).code == "2026H2"
    # 2026-06-30 23:30 UTC is already July 1st in the county.
    utc_moment = datetime(2026, 6, 30, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert assessment.current_half(utc_moment, TZ).code == "2026H2"


@pytest.mark.parametrize("text", ["", "2026H3", "2026Q5", "2026-13", "26", "1999",
                                  "2026-02-30..2026-03-01", "2026-12-31..2026-07-01",
                                  "last year", "2026-07-01..", "２０２６"])
def test_bad_periods_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text)
    assert caught.value.params["value"] == text.strip()


def test_percentile_is_nearest_rank() -> None:
    assert assessment.percentile([], 0.9) is None
    assert assessment.percentile([5.0], 0.9) == 5.0
    # n = 10: rank ceil(9.0) = 9 → the 9th smallest; n = 11: rank ceil(9.9) = 10.
    assert assessment.percentile([float(i) for i in range(1, 11)], 0.9) == 9.0
    assert assessment.percentile([float(i) for i in range(1, 12)], 0.9) == 10.0


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_working_days_of_many_spans_are_the_calendars(zone: str) -> None:
    """Times to accept and to answer are counted a million at once on the working-day clock
    (numpy): each equals ``WorkCalendar.working_days_between`` over the National Day week,
    a weekend, a swapped working Sunday, and (in Berlin) both changes of summer time."""
    import random

    from bot.workdays import WorkCalendar

    tz = ZoneInfo(zone)
    calendar = WorkCalendar(extra_holidays=[date(2026, 5, 4)],
                            extra_workdays=[date(2026, 10, 11)])
    first, last = datetime(2026, 3, 1, tzinfo=tz), datetime(2026, 12, 31, tzinfo=tz)
    rows = assessment.clock_rows(calendar, tz, first, last)
    draw = random.Random(7)
    span = int((last - first).total_seconds())
    moments = [int(first.timestamp()) + draw.randrange(span) for _ in range(400)]
    moments += [int(datetime(2026, m, d, h, tzinfo=tz).timestamp())
                for m, d, h in ((3, 29, 1), (3, 29, 4), (10, 25, 1), (10, 25, 4), (10, 1, 0),
                                (10, 8, 12), (10, 11, 9), (10, 12, 9))]
    pairs = [(a, b) for a, b in zip(moments, moments[1:], strict=False) if a <= b]
    pairs += [(a, a) for a in moments[:5]]
    spans = {"u": [",".join(f"{a},{b}" for a, b in pairs[:200]),
                   ",".join(f"{a},{b}" for a, b in pairs[200:])]}
    days = assessment.working_days(rows, spans)["u"]
    expected = [calendar.working_days_between(datetime.fromtimestamp(a, tz),
                                              datetime.fromtimestamp(b, tz))
                for a, b in pairs]
    assert days == pytest.approx(expected, abs=1e-9)
    assert any(value > 1 for value in days) and any(value == 0 for value in days)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_overdue_days_are_the_calendars_and_need_the_clock(zone: str) -> None:
    """How long a case is overdue (read from the database as its deadline) is counted on
    the report's working-day clock: ``WorkCalendar.working_days_between`` from the deadline
    to the report's moment, across the National Day week and a change of summer time; a
    deadline the clock does not cover counts nothing."""
    from bot.workdays import WorkCalendar

    tz = ZoneInfo(zone)
    calendar = WorkCalendar()
    first, as_of = datetime(2026, 3, 20, 9, tzinfo=tz), datetime(2026, 10, 9, 15, 30, tzinfo=tz)
    rows = assessment.clock_rows(calendar, tz, first, as_of)
    dues = [datetime(2026, m, d, h, mi, tzinfo=tz) for m, d, h, mi in (
        (3, 20, 9, 0), (3, 27, 23, 59), (3, 30, 10, 0), (9, 30, 17, 0), (10, 8, 23, 59),
        (10, 9, 15, 30))]
    outside = datetime(2025, 12, 31, 23, 59, tzinfo=tz)
    items = [assessment.Item("overdue_now", "u", number, f"N{number}", due, "answer_overdue",
                             ok=False, due=due) for number, due in enumerate([*dues, outside])]
    counted = assessment.overdue_days(rows, as_of, items)
    assert [item.case_id for item in counted] == list(range(len(dues)))
    assert [item.days for item in counted] == pytest.approx(
        [calendar.working_days_between(due, as_of) for due in dues], abs=1e-9)
    assert counted[-1].days == 0 and counted[0].days > 100


# ------------------------------------------------------------------------------ the figures

async def test_deadlines_of_the_seed_follow_the_official_calendar(county: Config) -> None:
    """The due times the seed relies on, across the National Day holiday and New Year."""
    calendar = county.calendar.calendar()

    def due(category: str, filed: datetime) -> tuple[datetime, datetime]:
        return due_times(county, calendar, "suggestion", category, filed)

    assert due("low_income_support", at(2026, 9, 30, 10)) == (eod(2026, 10, 8),
                                                               eod(2026, 10, 20))
    assert due("low_income_support", at(2026, 6, 29, 10)) == (eod(2026, 6, 30),
                                                               eod(2026, 7, 13))
    assert due("low_income_support", at(2026, 11, 2, 9)) == (eod(2026, 11, 3),
                                                              eod(2026, 11, 16))
    assert due("service_commitments", at(2026, 12, 1, 10)) == (eod(2026, 12, 2),
                                                                eod(2026, 12, 22))
    assert due("service_commitments", at(2026, 12, 2, 15))[0] == eod(2026, 12, 3)
    assert due("rural_subsidies", at(2026, 12, 28, 10)) == (eod(2026, 12, 29),
                                                             eod(2027, 1, 12))
    assert due("finance", at(2026, 11, 5, 10)) == (eod(2026, 11, 6), eod(2026, 11, 26))
    assert due("party_building", at(2026, 8, 3, 10)) == (eod(2026, 8, 4), eod(2026, 8, 24))
    assert due("low_income_support", at(2027, 1, 4, 10))[0] == eod(2027, 1, 5)
    wd = calendar.working_days_between
    # C1: Wed 09-30 10:00 → Thu 10-08 09:00 is 14/24 + (holiday) + 9/24 working days.
    assert wd(at(2026, 9, 30, 10), at(2026, 10, 8, 9)) == approx(14 / 24 + 9 / 24)
    # C1: → Sat 10-10 15:00, a swapped working Saturday: + Oct 8 + Oct 9 + 15/24.
    assert wd(at(2026, 9, 30, 10), at(2026, 10, 10, 15)) == approx(14 / 24 + 2 + 15 / 24)


async def test_figures_of_each_unit(runtime: Runtime, numbers: dict[str, str]) -> None:
    result = await report(runtime, settings=AssessmentConfig(min_cases=2))
    assert result.period.code == "2026H2" and result.as_of == AS_OF

    civil = result.row("civil_affairs").own
    # Received: C1 (09-30), C3 (11-02). C2 was filed in June, C9 in 2027.
    assert civil.received == 2
    # A year before: 2025-08-01 and 2025-12-31 23:00 local; 2026-01-01 00:30 is not.
    assert civil.received_year_before == 2 and civil.volume_change == 0.0
    # Acceptances: C1 on time (10-08 09:00 ≤ 10-08 23:59:59), C3 late (11-04 > 11-03).
    # C2 was accepted in June: not in the period.
    assert (civil.accept_total, civil.accepted_on_time, civil.accept_rate) == (2, 1, 0.5)
    # Answers: C1 on time (Sat 10-10 ≤ 10-20), C2 late (due 07-13, answered 07-15; counted
    # at its due, 07-13, in H2), C3 on time (11-12 ≤ 11-16): 2 of 3.
    assert (civil.answer_total, civil.answered_on_time) == (2 + 1, 2)
    assert civil.answer_rate == approx(2 / 3)
    # Overdue now: C9, not accepted since Tue 2027-01-05 23:59:59.
    assert civil.overdue_now == 1
    # Time to accept: C1 14/24 + 9/24 = 0.958333; C3 15/24 + 1 + 10/24 = 2.041667.
    assert civil.accept_avg == approx((23 / 24 + (1 + 25 / 24)) / 2)  # 1.5
    assert civil.accept_avg == approx(1.5)
    assert civil.accept_p90 == approx(1 + 25 / 24)  # n = 2: rank ceil(1.8) = 2
    # Time to answer (first answers in H2, from filing):
    # C1 14/24 + 2 + 15/24 = 3.208333; C2 (06-29 10:00 → 07-15 11:00)
    # 14/24 + 1 (06-30) + 3 (07-01..03) + 5 (07-06..10) + 2 (07-13, 14) + 11/24 = 12.041667;
    # C3 15/24 + 4 (11-03..06) + 3 (11-09..11) + 10/24 = 8.041667.
    c1, c2, c3 = 14 / 24 + 2 + 15 / 24, 14 / 24 + 11 + 11 / 24, 15 / 24 + 7 + 10 / 24
    assert civil.answer_avg == approx((c1 + c2 + c3) / 3)  # 7.763889
    assert civil.answer_p90 == approx(c2)  # n = 3: rank ceil(2.7) = 3, the largest
    assert (civil.extensions, civil.transfers, civil.reopened) == (0, 0, 1)
    # Ratings in H2: C1 satisfied, C2 basically, C3 not satisfied, C3 again satisfied.
    assert (civil.rated, civil.satisfied, civil.satisfaction_rate) == (4, 3, 0.75)
    # Resolved and confirmed: C1 (resolved, satisfied), C3's second answer (resolved,
    # satisfied). C2 was "explained" (closed, not resolved) and C3's first answer was
    # rated not satisfied: neither counts.
    assert (civil.resolved, civil.resolution_rate) == (2, 0.5)
    # Response: first acceptance of each case: C1 on time, C3 late.
    assert (civil.response_total, civil.responded_on_time, civil.response_rate) == (2, 1, 0.5)
    # Score: 100 × (30 × 0.5 + 35 × 0.5 + 35 × 0.75) / 100 = 15 + 17.5 + 26.25.
    assert civil.score == approx(58.75)

    agriculture = result.row("agriculture").own
    # Received: C4 (transferred in on 12-02) and C5; nothing a year before.
    assert agriculture.received == 2
    assert agriculture.received_year_before == 0 and agriculture.volume_change is None
    # Acceptances: C4 on time (12-03 09:00 ≤ 12-03 23:59:59), C5 never (due 12-29, late).
    assert (agriculture.accept_total, agriculture.accepted_on_time) == (2, 1)
    # Answers: C4 on time (12-11 ≤ 12-22). C5's answer is due 2027-01-12: not yet counted.
    assert (agriculture.answer_total, agriculture.answered_on_time) == (1, 1)
    assert agriculture.overdue_now == 1
    # Time to accept C4 at agriculture: 12-02 15:00 → 12-03 09:00 = 9/24 + 9/24.
    assert agriculture.accept_avg == approx(0.75)
    # Time to answer C4 from filing: 14/24 + 3 (12-02..04) + 4 (12-07..10) + 16/24 = 8.25.
    assert agriculture.answer_avg == approx(8.25) and agriculture.answer_p90 == approx(8.25)
    # No rating (C4 closed unrated): no satisfaction, no resolution, no score.
    assert agriculture.rated == 0 and agriculture.resolution_rate is None
    # Response: C5 was filed there and not accepted in time; C4's first unit was the county.
    assert (agriculture.response_total, agriculture.responded_on_time) == (1, 0)
    assert agriculture.score is None

    county = result.row("county").own
    # The county passed C4 on in time (12-02 15:00 ≤ 12-02 23:59:59): accepted on time.
    assert (county.received, county.received_year_before) == (1, 1)
    assert (county.accept_total, county.accepted_on_time, county.transfers) == (1, 1, 1)
    assert (county.response_total, county.responded_on_time) == (1, 1)
    assert county.answer_total == 0 and county.accept_avg is None

    finance = result.row("finance").own
    # A year before: 2025-07-01 00:00 and 2025-11-11; 2025-06-30 23:59:59 is not.
    assert (finance.received, finance.received_year_before) == (1, 2)
    assert finance.volume_change == -0.5  # (1 − 2) / 2
    assert (finance.accept_total, finance.accepted_on_time) == (1, 1)
    # C6's answer, due 12-03 after the extension, never came: late, counted at 12-03.
    assert (finance.answer_total, finance.answered_on_time, finance.answer_rate) == (1, 0, 0)
    assert finance.accept_avg == approx(14 / 24 + 11 / 24)  # 1.041667
    assert (finance.extensions, finance.overdue_now) == (1, 1)

    village = result.row("yizhou_beiguan").own
    assert (village.received, village.accepted_on_time, village.answered_on_time) == (1, 1, 1)
    assert village.accept_avg == approx(4 / 24)
    assert village.answer_avg == approx(14 / 24 + 3 + 10 / 24)  # 4.0
    assert village.score == approx(100.0)

    town = result.row("yizhou_town")
    # C8 was withdrawn before its acceptance was due: received, but no acceptance counted.
    assert (town.own.received, town.own.accept_total, town.own.answer_total) == (1, 0, 0)
    assert town.has_children and town.depth == 1


async def test_subtotals_and_the_total(runtime: Runtime, numbers: dict[str, str]) -> None:
    result = await report(runtime)
    town = result.row("yizhou_town").subtree
    # The town with its villages: C7 and C8.
    assert (town.received, town.accept_total, town.answer_total, town.rated) == (2, 1, 1, 1)
    assert town.score == approx(100.0)
    county = result.row("county")
    assert county.subtree == result.total
    total = result.total
    # C1, C3, C4, C5, C6, C7, C8: C4 arrived at two units of the county, counted once.
    assert total.received == 7
    # A year before: civil 2 + county 1 + finance 2 = 5; change (7 − 5) / 5 = +40 %.
    assert total.received_year_before == 5 and total.volume_change == approx(0.4)
    # Acceptances: C1 ✓, C3 ✗, C4 county ✓, C4 agriculture ✓, C5 ✗, C6 ✓, C7 ✓.
    assert (total.accept_total, total.accepted_on_time) == (7, 5)
    # Answers: C1 ✓, C2 ✗, C3 ✓, C4 ✓, C6 ✗, C7 ✓ (C5 pending, C8 withdrawn).
    assert (total.answer_total, total.answered_on_time) == (6, 4)
    assert total.overdue_now == 3  # C5, C6, C9
    accept = [14 / 24 + 9 / 24, 15 / 24 + 1 + 10 / 24, 0.75, 25 / 24, 4 / 24]
    assert total.accept_avg == approx(sum(accept) / 5)  # 4.958333 / 5 = 0.991667
    assert total.accept_p90 == approx(15 / 24 + 1 + 10 / 24)  # n = 5: rank 5
    answer = [14 / 24 + 2 + 15 / 24, 14 / 24 + 11 + 11 / 24, 15 / 24 + 7 + 10 / 24, 8.25, 4.0]
    assert total.answer_avg == approx(sum(answer) / 5)  # 35.541667 / 5 = 7.108333
    assert total.answer_p90 == approx(14 / 24 + 11 + 11 / 24)  # 12.041667
    assert (total.extensions, total.transfers, total.reopened) == (1, 1, 1)
    # Ratings: civil 4 (3 satisfied, 2 resolved) + village 1 (satisfied, resolved).
    assert (total.rated, total.satisfied, total.resolved) == (5, 4, 3)
    # Response: C1 ✓, C3 ✗, C4 ✓ (county), C5 ✗, C6 ✓, C7 ✓.
    assert (total.response_total, total.responded_on_time) == (6, 4)
    # Score: 100 × (30 × 4/6 + 35 × 3/5 + 35 × 4/5) / 100 = 20 + 21 + 28.
    assert total.score == approx(69.0)


async def test_overdue_now_in_working_days_across_new_year(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    result = await report(runtime)
    overdue = {item.number: item for item in result.listed("overdue_now")}
    assert set(overdue) == {numbers["C5"], numbers["C6"], numbers["C9"]}
    # C5: from Tue 12-29 23:59:59: 1 s + Dec 30, 31 + (Jan 1 holiday, weekend) + Jan 4–7
    # + half of Fri Jan 8 = 6.5 working days.
    assert overdue[numbers["C5"]].days == approx(SECOND + 2 + 4 + 0.5)
    assert overdue[numbers["C5"]].result == "accept_overdue"
    # C6: from Thu 12-03 23:59:59: Dec 4, 7–11, 14–18, 21–25, 28–31, Jan 4–7, half of Jan 8.
    assert overdue[numbers["C6"]].days == approx(SECOND + 1 + 5 + 5 + 5 + 4 + 4 + 0.5)
    assert overdue[numbers["C6"]].result == "answer_overdue"
    # C9: from Tue 2027-01-05 23:59:59: Jan 6, 7 and half of Jan 8.
    assert overdue[numbers["C9"]].days == approx(SECOND + 2.5)


async def test_cases_crossing_the_period_boundaries(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    h1 = await report(runtime, "2026H1")
    civil = h1.row("civil_affairs").own
    # H1: C2 (06-29) and X2 (2026-01-01 00:30 local) were received; C2's acceptance
    # (06-30 16:00) is H1's, its late answer (due 07-13) is H2's.
    assert civil.received == 2
    assert (civil.accept_total, civil.accepted_on_time, civil.answer_total) == (1, 1, 0)
    # A month: November holds C3's acceptance (late, due 11-03), its answer and both ratings,
    # and C6's acceptance; C6's late answer (due 12-03 after the extension) is December's.
    november = await report(runtime, "2026-11")
    assert november.row("civil_affairs").own.accept_total == 1
    assert november.row("civil_affairs").own.rated == 2
    assert november.row("finance").own.answer_total == 0
    assert november.row("finance").own.extensions == 1
    december = await report(runtime, "2026-12")
    assert december.row("finance").own.answer_total == 1
    # A range of one day: the swapped working Saturday of C1's answer.
    saturday = await report(runtime, "2026-10-10..2026-10-10")
    assert saturday.total.answered_on_time == 1 and saturday.total.received == 0
    # Year on year for Q4: 2025Q4 holds P2 (12-31 23:00), P3, P5.
    q4 = await report(runtime, "2026Q4")
    assert q4.total.received_year_before == 3
    assert [q4.row(unit).own.received_year_before for unit in (
        "civil_affairs", "county", "finance", "agriculture")] == [1, 1, 1, 0]  # P2, P3, P5


async def test_ranking_skips_units_with_too_few_cases(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    # Default: at least 5 cases; nobody in this small county qualifies.
    default = await report(runtime)
    assert default.ranking == ()
    assert default.row("civil_affairs").rank_note == "few_cases"
    # At least 2: civil affairs (58.75) is ranked; the village's single perfect case
    # (score 100) must not top the table; agriculture has no score (nothing rated).
    two = await report(runtime, settings=AssessmentConfig(min_cases=2))
    assert [(r.unit_id, r.rank) for r in two.ranking] == [("civil_affairs", 1)]
    assert two.row("yizhou_beiguan").rank_note == "few_cases"
    assert two.row("agriculture").rank_note == "no_score"
    one = await report(runtime, settings=AssessmentConfig(min_cases=1))
    assert [(r.unit_id, r.rank) for r in one.ranking] == [("yizhou_beiguan", 1),
                                                          ("civil_affairs", 2)]
    # Other weights: satisfaction only → civil 75.0.
    weights = AssessmentConfig(min_cases=1, weight_response=0, weight_resolution=0,
                               weight_satisfaction=1)
    civil = (await report(runtime, settings=weights)).row("civil_affairs").own
    assert civil.score == approx(75.0)


async def test_accountability_list_names_the_cases(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    result = await report(runtime)
    listed = [(e.unit_id, e.reason, round(e.value, 4), [i.number for i in e.items])
              for e in result.accountability]
    # finance: 0 of 1 answers on time (< 90 %) and C6 overdue 24.5 working days (> 10);
    # civil affairs: 2 of 3 on time (66.7 % < 90 %) because of C2. Agriculture's C5 is
    # overdue 6.5 working days only, and its one answer was on time.
    assert listed == [
        ("finance", "answer_on_time", 0.0, [numbers["C6"]]),
        ("finance", "overdue", round(24.5 + SECOND, 4), [numbers["C6"]]),
        ("civil_affairs", "answer_on_time", round(2 / 3, 4), [numbers["C2"]]),
    ]
    lenient = await report(runtime, settings=AssessmentConfig(
        answer_on_time_below=0.5, overdue_over_working_days=30))
    assert [(e.unit_id, e.reason) for e in lenient.accountability] == [
        ("finance", "answer_on_time")]


async def test_a_head_sees_their_subtree_only(runtime: Runtime, numbers: dict[str, str]) -> None:
    result = await report(runtime, scope=["yizhou_town"],
                          settings=AssessmentConfig(min_cases=1))
    assert [(r.unit_id, r.depth) for r in result.rows] == [
        ("yizhou_town", 0), ("yizhou_beiguan", 1), ("yizhou_xiguan", 1)]
    assert result.total.received == 2 and result.total.overdue_now == 0
    assert [r.unit_id for r in result.ranking] == ["yizhou_beiguan"]
    assert {cases.unit_id for cases in result.lists} <= {
        "yizhou_town", "yizhou_beiguan", "yizhou_xiguan"}
    with pytest.raises(KeyError):
        result.row("civil_affairs")


async def test_an_empty_period_and_reader_scopes(runtime: Runtime) -> None:
    result = await report(runtime, "2030")
    assert result.total.received == 0 and result.total.score is None
    assert result.ranking == () and result.accountability == ()
    assert len(result.rows) == len(runtime.config.units)

    def member(role: str, unit: str) -> Membership:
        return Membership(1, 1, unit, role, "config")

    assert assessment.reader_scope([member("supervision", "discipline")]) is None
    assert assessment.reader_scope([member("admin", "county")]) is None
    assert assessment.reader_scope([member("head", "yizhou_town"), member("official", "finance"),
                                    member("head", "agriculture")]) == [
        "agriculture", "yizhou_town"]
    for roles in ([member("official", "civil_affairs")], [member("supervisor", "county")], []):
        with pytest.raises(assessment.NotAllowed):
            assessment.reader_scope(roles)
    # A head of a unit no longer configured sees nothing.
    assert assessment.scope_units(runtime.config, ["gone"]) == []


# ------------------------------------------------------------------------------ outputs

async def test_workbook_sheets_headers_and_values(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    from openpyxl import load_workbook

    from bot.reports.workbook import build_workbook

    result = await report(runtime, settings=AssessmentConfig(min_cases=2))
    book = load_workbook(io.BytesIO(build_workbook(result, runtime.config, "en")))
    assert book.sheetnames == ["Figures", "Cases", "Accountability", "Disclosure"]
    figures = book["Figures"]
    assert str(figures["A1"].value).startswith("Assessment 2026H2 (2026-07-01 – 2026-12-31)")
    headers = [c.value for c in figures[2]]
    assert headers[:6] == ["Unit", "Unit id", "Scope", "Cases received",
                           "Received a year before", "Change against a year before"]
    assert headers[-2:] == ["Meetings held / scheduled", "Supervisor attendance"]
    rows = {(r[1], r[2]): dict(zip(headers, r, strict=True))
            for r in figures.iter_rows(min_row=3, values_only=True)}
    civil = rows["civil_affairs", "own"]
    assert civil["Unit"] == "  County Civil Affairs Bureau"
    assert (civil["Cases received"], civil["Accepted on time"], civil["Overdue now"]) == (2, 1, 1)
    assert civil["On-time answer rate"] == approx(2 / 3)
    assert civil["Composite score"] == approx(58.75) and civil["Rank"] == 1
    # No meetings were scheduled in this dataset: 0 of 0, attendance not applicable.
    assert civil["Meetings held / scheduled"] == "0 / 0"
    assert civil["Supervisor attendance"] is None
    assert rows["yizhou_beiguan", "own"]["Rank"] == "not ranked: fewer than 2 cases"
    assert rows["yizhou_town", "with units below"]["Cases received"] == 2
    assert rows["finance", "own"]["Change against a year before"] == -0.5
    assert rows[None, "all units in the report"]["Cases received"] == 7
    assert figures.cell(row=3, column=headers.index("On-time answer rate") + 1
                        ).number_format == "0.0%"

    cases = book["Cases"]
    case_headers = [c.value for c in cases[1]]
    assert case_headers == ["Figure", "Unit", "Unit id", "Case", "Moment", "Due",
                            "Working days", "What happened"]
    lines = [dict(zip(case_headers, r, strict=True))
             for r in cases.iter_rows(min_row=2, values_only=True)]
    late = [x for x in lines if x["Figure"] == "Answered on time"]
    assert {(x["Unit id"], x["Case"]) for x in late} == {
        ("civil_affairs", numbers["C2"]), ("finance", numbers["C6"])}
    c2 = next(x for x in late if x["Case"] == numbers["C2"])
    assert c2["Moment"] == datetime(2026, 7, 13, 23, 59, 59)  # local, no zone
    assert c2["What happened"] == "answered"
    # Only what counts against a unit is listed, overdue cases first.
    assert lines[0]["Figure"] == "Overdue now"
    assert {x["Case"] for x in lines if x["Figure"] == "Overdue now"} == {
        numbers["C5"], numbers["C6"], numbers["C9"]}
    assert "Cases received" not in {x["Figure"] for x in lines}

    accountable = book["Accountability"]
    assert [c.value for c in accountable[1]] == [
        "Unit", "Unit id", "Reason", "Case", "Moment", "Due", "Working days", "What happened"]
    entries = list(accountable.iter_rows(min_row=2, values_only=True))
    assert [(e[1], e[3]) for e in entries] == [
        ("finance", numbers["C6"]), ("finance", numbers["C6"]),
        ("civil_affairs", numbers["C2"])]
    assert entries[0][2] == "On-time answer rate 0.0% is below 90.0%"
    assert entries[1][2] == "A case is overdue by 24.5 working days, more than 10"
    assert entries[1][6] == approx(24.5)


async def test_chart_is_a_png_drawn_with_the_bundled_cjk_font(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager
    from matplotlib.text import Text
    from PIL import Image

    from bot.reports import chart

    path = chart.font_path()
    assert path.is_file() and path.name == chart.FONT_FILE
    family = chart.font_family()
    assert family == "Noto Sans SC"
    # matplotlib's font manager resolves the family to the packaged file, not a system font.
    resolved = font_manager.findfont(font_manager.FontProperties(family=family),
                                     fallback_to_default=False)
    assert Path(resolved).resolve() == path.resolve()

    result = await report(runtime, settings=AssessmentConfig(min_cases=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would be a warning
        png = chart.render_png(result, runtime.config, "zh_CN")
        if os.environ.get("SUNBOX_KEEP_CHART"):
            Path(os.environ["SUNBOX_KEEP_CHART"]).write_bytes(png)
        with chart.font_context():
            figure = chart.build_figure(result, runtime.config, "zh_CN")
            texts = [t for t in figure.findobj(Text) if t.get_text()]
            used = {font_manager.findfont(t.get_fontproperties()) for t in texts}
    assert {Path(p).resolve() for p in used} == {path.resolve()}
    everything = "".join(t.get_text() for t in texts)
    assert "县民政局" in everything and "易州镇北关村" in everything
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap()
    missing = {ch for ch in everything if not ch.isspace() and ord(ch) not in cmap}
    assert not missing
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (chart.WIDTH, chart.HEIGHT) == (1200, 900)
    # English (long names cut with "…") and an empty period ("—" for every rate) draw
    # without a missing glyph too.
    empty = await report(runtime, "2030")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for drawn, language in ((result, "en"), (empty, "zh_CN"), (empty, "en")):
            with Image.open(io.BytesIO(chart.render_png(drawn, runtime.config, language))) as image:
                assert image.size == (1200, 900)


def test_cli_writes_the_workbook_and_the_chart(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from openpyxl import load_workbook
    from PIL import Image

    from bot.cli import main

    config_path = tmp_path / "config.toml"
    database = (tmp_path / "cli.db").as_posix()
    text = default_config_path().read_text(encoding="utf-8")
    config_path.write_text(text.replace('database = "sunbox.db"', f'database = "{database}"'),
                           encoding="utf-8")
    config = load_config(config_path)

    async def seeded() -> None:
        runtime = Runtime(config, ManualClock(AS_OF), database)
        await runtime.open()
        try:
            await seed(runtime)
        finally:
            await runtime.close()

    asyncio.run(seeded())
    out, png = tmp_path / "report.xlsx", tmp_path / "report.png"
    code = main(["assess", "--config", str(config_path), "--period", "2025H2", "--out", str(out),
                 "--chart", str(png), "--lang", "en"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Assessment 2025H2 (2025-07-01 – 2025-12-31): workbook written to" in printed.out
    book = load_workbook(out)
    assert book.sheetnames == ["Figures", "Cases", "Accountability", "Disclosure"]
    totals = [r for r in book["Figures"].iter_rows(min_row=3, values_only=True)
              if r[2] == "all units in the report"]
    assert totals[0][3] == 5  # P1–P5, whatever the clock says now
    with Image.open(png) as image:
        assert image.size == (1200, 900)
    # Chinese by default, one unit and below it.
    code = main(["assess", "--config", str(config_path), "--period", "2025H2", "--out",
                 str(out), "--unit", "finance"])
    assert code == 0
    chinese = load_workbook(out)
    assert [r[1] for r in chinese.worksheets[0].iter_rows(min_row=3, values_only=True)
            ] == ["finance", None]
    capsys.readouterr()
    assert main(["assess", "--config", str(config_path), "--period", "2025H5",
                 "--out", str(out), "--lang", "en"]) == 1
    assert 'not a period: "2025H5"' in capsys.readouterr().err
    assert main(["assess", "--config", str(config_path), "--unit", "nowhere",
                 "--out", str(out), "--lang", "en"]) == 1
    assert "unknown unit nowhere" in capsys.readouterr().err


async def test_a_sheet_never_exceeds_its_row_limit(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    from openpyxl import load_workbook

    from bot.reports.workbook import build_workbook

    result = await report(runtime)
    listed = sum(len(cases.items) for cases in result.lists)
    assert listed > 4
    book = load_workbook(io.BytesIO(build_workbook(result, runtime.config, "en", max_rows=4)))
    rows = list(book["Cases"].iter_rows(values_only=True))
    assert len(rows) == 4
    assert rows[-1][0] == (f"… {listed - 2} more rows not shown: a sheet holds at "
                           "most 4 rows.")


async def test_two_unsatisfied_ratings_hand_the_case_to_supervision(runtime: Runtime) -> None:
    def work(conn: Conn) -> None:
        official = people.ensure_person(conn, 778, AS_OF)
        s = Seeder(conn, runtime.config, official.id)
        case = s.file("E", "civil_affairs", "low_income_support", at(2026, 11, 2, 9))
        s.accept(case, at(2026, 11, 2, 10))
        first = s.answer(case, "civil_affairs", at(2026, 11, 3, 10), "partly_resolved")
        s.rate(case, first, at(2026, 11, 4, 9), "unsatisfied")
        second = s.answer(case, "civil_affairs", at(2026, 11, 5, 10), "resolved",
                          before="reopened")
        s.rate(case, second, at(2026, 11, 6, 9), "unsatisfied", escalate_to="discipline")
        third = s.answer(case, "discipline", at(2026, 11, 9, 10), "resolved",
                         before="reopened")
        s.rate(case, third, at(2026, 11, 10, 9), "satisfied")
    await runtime.db.write(work)
    result = await report(runtime, "2026-11")
    civil, group = result.row("civil_affairs").own, result.row("discipline").own
    # Civil affairs: received, accepted and answered on time (first answer 11-03 ≤ 11-16);
    # both its answers rated not satisfied: reopened twice (the second time to the group).
    assert (civil.received, civil.accepted_on_time, civil.answered_on_time) == (1, 1, 1)
    assert (civil.rated, civil.satisfied, civil.resolved, civil.reopened) == (2, 0, 0, 2)
    # The group received it, owes no acceptance (it comes reopened) and no second answer
    # deadline; its answer was rated satisfied and resolved. Not a transfer.
    assert (group.received, group.accept_total, group.answer_total) == (1, 0, 0)
    assert (group.rated, group.satisfied, group.resolved) == (1, 1, 1)
    assert result.total.transfers == 0 and result.total.received == 1
    assert result.total.overdue_now == 0


async def test_lists_are_capped_and_say_how_many_more(
    runtime: Runtime, numbers: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A county with thousands of late cases gets a workbook it can open: each unit's list
    stops at LIST_LIMIT (here 0) with a line saying how many more the figure counts."""
    from openpyxl import load_workbook

    from bot.reports import workbook

    full = await report(runtime)
    monkeypatch.setattr(assessment, "LIST_LIMIT", 0)
    monkeypatch.setattr(workbook, "LIST_LIMIT", 0)
    capped = await report(runtime)
    assert capped.total == full.total and capped.rows == full.rows
    assert [(c.figure, c.unit_id, c.total) for c in capped.lists] == [
        (c.figure, c.unit_id, c.total) for c in full.lists]
    assert all(not c.items and c.left_out == c.total for c in capped.lists)
    book = load_workbook(io.BytesIO(workbook.build_workbook(capped, runtime.config, "en")))
    rows = list(book["Cases"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(capped.lists)
    finance = next(r for r in rows if r[0] == "Overdue now" and r[2] == "finance")
    assert finance[3] == ("… and 1 more case: the figure counts them all; a list shows at "
                          "most 0.")
    entries = list(book["Accountability"].iter_rows(min_row=2, values_only=True))
    assert [(e[1], e[3]) for e in entries] == [
        ("finance", "… and 1 more case: the figure counts them all; a list shows at most 0."),
        ("finance", "… and 1 more case: the figure counts them all; a list shows at most 0."),
        ("civil_affairs",
         "… and 1 more case: the figure counts them all; a list shows at most 0.")]


@pytest.mark.sqlite_only
async def test_lookups_in_a_cases_trail_go_by_the_case(runtime: Runtime) -> None:
    """A lookup of one case's events inside a query over many cases must use the case's
    trail (case_events_trail) or its summary (case_facts), not every event of a kind in the
    period (case_events_type_at): with the latter, the half-year report over 100,000 cases
    took 58 s instead of 1.7 s. SQLite plans the same with or without rows (no ANALYZE), so
    a small database shows it. (PostgreSQL plans from its statistics, so a small database
    says nothing of its plan at a million cases: ``bench/assessment.py --engine
    postgresql`` does.)"""
    from storage import assessment as repo

    period = parse_period("2026H2")
    tz = runtime.config.general.tz
    before = period.year_before()
    window = repo.Window(
        start=period.start(tz), end=period.end(tz), before_start=before.start(tz),
        before_end=before.end(tz), as_of=AS_OF, supervision="supervision",
        open_states=assessment.OPEN_STATES, satisfied=assessment.SATISFIED,
        resolved=assessment.RESOLVED_OUTCOMES)
    params = window.params() | {"limit": 1}

    def plan_of(conn: Any, sql: str) -> list[str]:
        with conn.execute(f"EXPLAIN QUERY PLAN {sql}", params) as cur:
            return [row[3] for row in cur.fetchall()]

    def work(conn: Conn) -> None:
        conn.execute(repo.CASE_TABLE)
        # The cases: one row each from case_facts, the period's counts from the trail.
        plan = plan_of(conn, repo.CASES)
        assert "SCAN c" in plan and any(
            "SEARCH f USING INTEGER PRIMARY KEY" in step for step in plan), plan
        inner = [step for step in plan if " e " in f" {step} "]
        assert inner and all("case_events_trail" in step for step in inner), plan
        conn.execute("DROP TABLE temp.asm_case")
        repo.prepare(conn, window)
        plan = plan_of(conn, repo.OVERDUE)
        inner = [step for step in plan[plan.index(next(
            s for s in plan if "CORRELATED" in s)) + 1:] if "case_events" in step
            or " e " in f" {step} "]
        assert inner and all("case_events_trail" in step for step in inner), plan
        # A year before: the arrivals of the period by kind, each case's filing from its
        # summary.
        plan = plan_of(conn, repo.RECEIVED_BEFORE)
        assert not any("CORRELATED" in step for step in plan), plan
        assert any("SEARCH f USING INTEGER PRIMARY KEY" in step for step in plan), plan
        repo.finish(conn)
    await runtime.db.write(work)  # its scratch tables are written


# case_facts built from the events, in PostgreSQL's words (SQLite's is V6's own).
REBUILT_FACTS = """
SELECT b.case_id, b.filed_id, b.filed_at, e.at, sunbox_json_text(e.payload, 'unit'),
       b.moves, b.rating_moves, b.accepted_at, b.answer_ev, b.answered_at, b.end_ev,
       b.ended_at, b.extensions, b.reopenings, b.last_at
FROM (SELECT case_id, min(id) FILTER (WHERE type = 'filed') AS filed_id,
             min(at) FILTER (WHERE type = 'filed') AS filed_at,
             count(*) FILTER (WHERE type IN ('transferred', 'escalated')) AS moves,
             count(*) FILTER (WHERE type = 'rated' AND state_after = 'reopened'
                              AND sunbox_json_text(payload, 'then') = 'escalated')
                 AS rating_moves,
             min(at) FILTER (WHERE type = 'accepted') AS accepted_at,
             min(id) FILTER (WHERE type = 'answered') AS answer_ev,
             min(at) FILTER (WHERE type = 'answered') AS answered_at,
             min(id) FILTER (WHERE type IN ('withdrawn', 'closed')) AS end_ev,
             min(at) FILTER (WHERE type IN ('withdrawn', 'closed')) AS ended_at,
             count(*) FILTER (WHERE type = 'extension_granted') AS extensions,
             count(*) FILTER (WHERE type = 'rated' AND state_after = 'reopened')
                 AS reopenings,
             max(at) AS last_at
      FROM case_events GROUP BY case_id) b
LEFT JOIN case_events e ON e.id = b.filed_id
ORDER BY b.case_id
"""


async def test_a_report_as_of_an_earlier_moment_replays_the_later_cases(
    runtime: Runtime, numbers: dict[str, str],
) -> None:
    """``case_facts`` (kept by a trigger) summarises every event of a case; a case with an
    event after the report's moment is counted from its trail up to that moment instead, so
    the report stays exact: an event that no figure reads, appended to every case after the
    moment, changes nothing."""
    from storage.migrations import V6, _statements

    period = parse_period("2026H2")
    before = await assessment.load(runtime, period, AS_OF)

    def rebuilt_on_postgres(conn: Conn) -> None:
        """case_facts as PostgreSQL's trigger keeps it equals it built from the events."""
        with conn.execute("SELECT * FROM case_facts ORDER BY case_id") as cur:
            kept = [tuple(row) for row in cur.fetchall()]
        with conn.execute(REBUILT_FACTS) as cur:
            assert kept == [tuple(row) for row in cur.fetchall()]

    def work3(conn: Conn):
        statements = _statements(V6)
        for prefix in ("CREATE TABLE case_facts", "INSERT INTO case_facts",
                       "UPDATE case_facts"):
            sql = next(s for s in statements if s.startswith(prefix))
            conn.execute(sql.replace("CREATE TABLE case_facts",
                                     "CREATE TEMP TABLE rebuilt")
                         .replace("INSERT INTO case_facts", "INSERT INTO rebuilt")
                         .replace("UPDATE case_facts", "UPDATE rebuilt")
                         .replace("case_facts.filed_id", "rebuilt.filed_id")
                         .replace("REFERENCES cases(id)", ""))
        with conn.execute("SELECT count(*) FROM (SELECT * FROM main.case_facts EXCEPT "
                          "SELECT * FROM rebuilt UNION ALL SELECT * FROM rebuilt "
                          "EXCEPT SELECT * FROM main.case_facts)") as cur:
            assert (cur.fetchone())[0] == 0
        conn.execute("DROP TABLE temp.rebuilt")
    if runtime.db.engine == "postgresql":
        await runtime.db.read(rebuilt_on_postgres)
    else:
        await runtime.db.write(work3)  # its scratch table is written

    def work2(conn: Conn):
        with conn.execute("SELECT id FROM cases") as cur:
            ids = [row[0] for row in cur.fetchall()]
        for case_id in ids:
            case_repo.append_event(conn, case_id, AS_OF + timedelta(days=1), None,
                                   "reporter", "followup", None, None)
        return ids
    ids = await runtime.db.write(work2)

    def work(conn: Conn):
        with conn.execute("SELECT count(*) FROM case_facts WHERE last_at > ?",
                                (to_db_time(AS_OF),)) as cur:
            assert (cur.fetchone())[0] == len(ids) > 0
    await runtime.db.read(work)
    after = await assessment.load(runtime, period, AS_OF)
    assert comparable(after) == comparable(before)


async def test_readers_counting_shares_add_up_to_one_reader(
    runtime: Runtime, numbers: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report is counted by several readers at once, each over a share of the cases
    (ids modulo the readers): their facts add up to what one reader counts over all cases,
    lists merged in the same order and capped at the same length."""
    def work(conn: Conn) -> None:
        official = people.ensure_person(conn, 778, AS_OF)
        s = Seeder(conn, runtime.config, official.id)
        s.keys = 1000  # idempotency keys of their own
        # Late at agriculture, in every share: never accepted, or accepted and answered late.
        for day in range(12, 20):
            case_id = s.file(f"L{day}", "agriculture", "rural_subsidies",
                             at(2026, 10, 32 - day, 10))
            if day % 3 == 0:
                s.accept(case_id, at(2026, 11, day, 9))
                s.answer(case_id, "agriculture", at(2026, 12, day, 9), "resolved")
    await runtime.db.write(work)
    period = parse_period("2026H2")
    one = await assessment.load(runtime, period, AS_OF, readers=1)
    for readers in (2, 3, 7):
        shares = await assessment.load(runtime, period, AS_OF, readers=readers)
        assert len(shares) == len(one) > 0
        assert (shares.counts, shares.received, shares.received_before) == (
            one.counts, one.received, one.received_before)
        for days in ("accept_days", "answer_days"):
            assert {unit: sorted(values) for unit, values in getattr(shares, days).items()} \
                == {unit: sorted(values) for unit, values in getattr(one, days).items()}
        assert sorted(shares.overdue, key=lambda i: i.case_id) == sorted(
            one.overdue, key=lambda i: i.case_id)
        assert shares.listed == one.listed
    assert any(len(items) > 1 for items in one.listed.values())
    # Capped lists keep the first cases of the whole order, not of each share.
    monkeypatch.setattr(assessment, "LIST_LIMIT", 1)
    capped_one = await assessment.load(runtime, period, AS_OF, readers=1)
    capped = await assessment.load(runtime, period, AS_OF, readers=3)
    assert capped.listed == capped_one.listed
    assert capped_one.listed != one.listed


# ------------------------------------------------------------------------------ both engines

def seed_mixed(conn: Conn, config: Config, draw: random.Random, count: int) -> None:
    """``count`` cases with histories drawn from ``draw`` over two years around the report:
    transfers and escalations (some twice), acceptance deadlines extended with moments in
    every form a payload may hold (local, UTC, ``Z``, fractions, no offset, not a moment),
    late and missing acceptances and answers, answers by another unit, ratings that reopen
    the case or hand it to the supervision group, cases closed unrated or withdrawn, and
    events after the report's moment (so those cases are replayed from their trail)."""
    official = people.ensure_person(conn, 779, AS_OF)
    s = Seeder(conn, config, official.id)
    s.keys = 5000
    units = [unit.id for unit in config.units if not unit.supervision]
    categories = [category.id for category in config.categories]
    first = at(2025, 6, 1)
    span = int((at(2027, 1, 12) - first).total_seconds())

    def later(moment: datetime, low: float, high: float) -> datetime:
        """A moment ``low`` to ``high`` hours after ``moment``, in whole seconds."""
        return moment + timedelta(seconds=draw.randrange(int(low * 3600), int(high * 3600)))

    def end_of_day(moment: datetime, days: int) -> datetime:
        day = (moment + timedelta(days=days)).date()
        return eod(day.year, day.month, day.day)

    for n in range(count):
        filed = first + timedelta(seconds=draw.randrange(span))
        category = draw.choice(categories)
        holder = (draw.choice(units) if draw.random() < 0.3
                  else config.category(category).unit)
        case = s.file(f"M{n}", holder, category, filed)
        if draw.random() < 0.08:
            s.withdraw(case, later(filed, 1, 200))
            continue
        moment = filed
        arrivals = 1 + draw.choice((0, 0, 0, 1, 1, 2))
        for arrival in range(arrivals):
            for _ in range(draw.choice((0, 0, 0, 1, 2))):
                moment = later(moment, 1, 30)
                new = end_of_day(moment, draw.randrange(1, 6))
                text = draw.choice((
                    new.isoformat(), new.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    new.replace(microsecond=250000).isoformat(),
                    new.astimezone(ZoneInfo("Europe/Berlin")).isoformat(),
                    new.replace(tzinfo=None).isoformat(), "soon"))
                conn.execute("UPDATE cases SET accept_due = ? WHERE id = ?",
                             (to_db_time(new), case))
                s.event(case, moment, "extension_granted", "new", "new",
                        {"deadline": "accept", "old_due": "", "new_due": text},
                        role="supervision")
            if arrival == arrivals - 1:
                break
            moment = later(moment, 1, 60)
            escalated = draw.random() < 0.2 and holder != "discipline"
            target = "discipline" if escalated else draw.choice(
                [unit for unit in units if unit != holder])
            # A move's payload may not name the unit it left: the unit before is read.
            s.transfer(case, moment, holder if draw.random() < 0.8 else "", target,
                       end_of_day(moment, 2), "escalated" if escalated else "transferred")
            holder = target
        state = "new"
        if draw.random() < 0.85:
            moment = later(moment, 1, 80)
            s.accept(case, moment)
            state = "accepted"
        if draw.random() < 0.1:
            old = end_of_day(filed, 20)
            s.extend_answer(case, later(moment, 1, 48), old, end_of_day(filed, 30))
        if draw.random() < 0.2:
            continue  # never answered
        unit = draw.choice(units) if draw.random() < 0.1 else holder
        moment = later(moment, 2, 24 * 25)
        answer = s.answer(case, unit, moment, draw.choice(OUTCOMES), before=state)
        for round_ in range(3):
            if draw.random() < 0.3:
                if draw.random() < 0.5:
                    moment = later(moment, 24 * 7, 24 * 8)
                    case_repo.mark_closed(conn, case, moment)
                    s.event(case, moment, "closed", "answered", "closed",
                            {"reason": "not_rated"}, role="system")
                break
            moment = later(moment, 1, 72)
            rating = draw.choice(("satisfied", "basically", "unsatisfied", "unsatisfied"))
            escalate = rating == "unsatisfied" and round_ == 1 and draw.random() < 0.6
            s.rate(case, answer, moment, rating, escalate_to="discipline" if escalate else None)
            if rating != "unsatisfied" or draw.random() < 0.2:
                break
            holder = "discipline" if escalate else holder
            moment = later(moment, 4, 24 * 6)
            answer = s.answer(case, holder, moment, draw.choice(OUTCOMES), before="reopened")
        if draw.random() < 0.05:
            s.event(case, later(AS_OF, 1, 48), "followup", None, None, role="reporter")


OUTCOMES = ("resolved", "partly_resolved", "explained", "not_ours")


def comparable(facts: Any) -> tuple[Any, ...]:
    """The facts of a report as two engines must agree on them: everything, with the rows
    that come in no defined order (spans and days per unit, cases overdue) sorted."""
    def pairs(texts: list[str]) -> list[str]:
        numbers = ",".join(texts).split(",")
        return sorted(f"{a},{b}" for a, b in zip(numbers[::2], numbers[1::2], strict=True))

    return (facts.cases, facts.counts, facts.received, facts.received_before,
            {unit: pairs(texts) for unit, texts in facts.accept_spans.items()},
            {unit: pairs(texts) for unit, texts in facts.answer_spans.items()},
            {unit: sorted(days) for unit, days in facts.accept_days.items()},
            {unit: sorted(days) for unit, days in facts.answer_days.items()},
            sorted(facts.overdue, key=lambda item: item.case_id), facts.listed)


def _config_on(database: str, folder: Path) -> Config:
    """The example county of :func:`county` on ``database`` (PostgreSQL needs the seal key
    and the file store named)."""
    from bot.seal import encode_key, new_key

    base = load_config(default_config_path())
    key = folder / "seal.key"
    if not key.exists():
        key.write_text(encode_key(new_key()) + "\n", encoding="ascii")
        key.chmod(0o600)
    return dataclasses.replace(
        base, general=dataclasses.replace(base.general, database=database),
        calendar=CalendarConfig(holidays=(date(2027, 1, 1),)),
        security=dataclasses.replace(base.security, seal_key_file=str(key)),
        storage=dataclasses.replace(base.storage, files=str(folder / "files")))


@pytest.mark.skipif("postgresql" not in engines.engines(),
                    reason="PostgreSQL is not reachable (or not wanted)")
async def test_both_engines_read_the_same_facts(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The same county written on SQLite and on PostgreSQL (the hand-counted seed, and 300
    cases with drawn histories) gives the same facts and the same report on both, each
    engine with its own plan: for several periods and moments (as of an earlier moment,
    the cases with later events are replayed), read by one reader and by three."""
    from tests.support.engines import fresh_schema

    with fresh_schema() as url:
        runtimes = [Runtime(_config_on(target, tmp_path), ManualClock(AS_OF), target)
                    for target in (str(tmp_path / "same.db"), url)]
        for runtime in runtimes:
            await runtime.open()
        try:
            for runtime in runtimes:
                await seed(runtime)
                await runtime.db.write(seed_mixed, runtime.config, random.Random(21), 300)
            # A number's check part is drawn at random: PostgreSQL's cases take SQLite's.
            numbers = await runtimes[0].db.read(lambda conn: [
                (row["number"], row["id"])
                for row in conn.execute_fetchall("SELECT id, number FROM cases")])
            await runtimes[1].db.write(lambda conn: conn.executemany(
                "UPDATE cases SET number = ? WHERE id = ?", numbers))
            moments = (AS_OF, at(2026, 12, 1, 9), at(2026, 10, 8, 23, 59, 59))
            for code in ("2026H2", "2026Q4", "2025H2", "2026"):
                for moment in moments:
                    for readers in (1, 3):
                        sqlite_facts, pg_facts = [
                            await assessment.load(runtime, parse_period(code), moment,
                                                  readers=readers)
                            for runtime in runtimes]
                        assert len(sqlite_facts) > 0, (code, moment)
                        assert comparable(pg_facts) == comparable(sqlite_facts), (
                            code, moment, readers)
            on_sqlite, on_pg = [await report(runtime, settings=AssessmentConfig(min_cases=2))
                                for runtime in runtimes]
            assert on_pg == on_sqlite
            # Lists capped short keep the same first cases of each list on both.
            monkeypatch.setattr(assessment, "LIST_LIMIT", 2)
            for readers in (1, 2):
                sqlite_facts, pg_facts = [
                    await assessment.load(runtime, parse_period("2026H2"), AS_OF,
                                          readers=readers) for runtime in runtimes]
                assert pg_facts.listed == sqlite_facts.listed
                assert any(len(items) == 2 for items in sqlite_facts.listed.values())
            assert on_sqlite.total.transfers > 0 and on_sqlite.total.reopened > 0
            assert on_sqlite.total.received > 50 and on_sqlite.accountability
        finally:
            for runtime in runtimes:
                await runtime.close()


@pytest.mark.postgresql_only
async def test_shares_on_postgresql_read_one_snapshot(
    runtime: Runtime, numbers: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL the shares read in the snapshot the first one exported: cases the bot
    files once that snapshot is taken, before the other shares begin, are counted by none
    of them (with a snapshot each, the later shares would count theirs)."""
    assert runtime.db.engine == "postgresql"
    from contextlib import contextmanager

    from storage import assessment as repo
    from storage.sql_postgres import connect

    period = parse_period("2026H2")
    before = await assessment.load(runtime, period, AS_OF, readers=3)
    opened = repo.reader_postgres

    def files_cases(url: str) -> None:
        """The bot files six cases (two in each share) and commits."""
        writer = connect(url)
        try:
            writer.script("BEGIN")
            official = people.ensure_person(writer, 780, AS_OF)
            s = Seeder(writer, runtime.config, official.id)
            s.keys = 2000
            for n in range(6):
                s.file(f"W{n}", "finance", "finance", at(2026, 11, 2 + n, 10))
            writer.script("COMMIT")
        finally:
            writer.close()

    first, written = threading.Lock(), threading.Event()

    @contextmanager
    def reader(url: str, snapshot: str | None = None) -> Any:
        if first.acquire(blocking=False):  # the first share: once its snapshot is taken,
            with opened(url, snapshot) as conn_and_snapshot:  # the bot writes
                files_cases(url)
                written.set()
                yield conn_and_snapshot
            return
        assert written.wait(30)  # the others begin after that
        with opened(url, snapshot) as conn_and_snapshot:
            yield conn_and_snapshot

    monkeypatch.setattr(repo, "reader_postgres", reader)
    during = await assessment.load(runtime, period, AS_OF, readers=3)
    monkeypatch.undo()
    assert comparable(during) == comparable(before)
    after = await assessment.load(runtime, period, AS_OF, readers=3)
    assert len(after) == len(before) + 6
    assert after.received[frozenset({"finance"})] == before.received[frozenset({"finance"})] + 6
