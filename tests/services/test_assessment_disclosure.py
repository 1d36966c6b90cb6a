"""The assessment's disclosure figures (公开及时率, completeness, opinion response rate), on a
register written straight into its tables, over the seeded county of
``tests/services/test_assessment.py`` (its cases; report 2026H2 as of Fri 2027-01-08 12:00).

The register (times local; "eod" = 23:59:59):

Obligations
- yizhou_beiguan (a village under yizhou_town): O1 due 10-15 eod, met 10-10 (on time); O2 due
  11-10 eod, met 11-12 (late); O3 due 12-20 eod, not met; O4 due 2027-01-05 eod, not met
  (after the period).
- yizhou_xiguan (the other village): O5 due 08-10 eod, met 08-09; O6 due 12-31 23:00, met
  2027-01-09 10:00 — after the report's moment, so not met as of it.
- lianggezhuang_village: O10 due 09-30 eod, met 09-29.
- county: O7 due 06-30 eod (H1), met. civil_affairs: O8 due 2027-01-06 eod, met 01-05; O9 due
  2027-01-20 eod, not met (pending on 01-08).

Disclosures (published unless said otherwise)
- beiguan D1 (channel, notice board) 10-10, both confirmed; D2 (channel, notice board) 11-12,
  channel confirmed, the notice board has no row at all; D5 a draft (no number).
- xiguan D3 (channel, meeting) 08-09, channel confirmed, the meeting confirmed 2027-01-09
  (after the report's moment); D4 a pre-disclosure (预公开) 09-01, nothing confirmed.
- county D6 06-20 (H1). civil_affairs D7 (web) 12-01 confirmed; D8 (channel) 12-02, its
  row not confirmed.

Opinions (cases, linked in disclosure_opinions; the unit is the disclosure's)
- on D1: OP1 filed 10-12 at yizhou_town (routed up), answered 10-14; OP2 filed 10-20 at
  yizhou_town, answer due 11-10, never answered.
- on D2: OP3 filed 11-13, withdrawn 11-14 before its deadline: not counted.
- on D3: OP4 filed 12-30, answer due 2027-01-21 (pending); OP5 filed 09-01, answer due
  09-22, answered 10-30 (late, but answered); OP8 filed 12-01, answer due 12-22, withdrawn
  12-28 unanswered after its deadline (counts, not answered).
- on D6: OP6 filed 07-02 at county, answered 07-03. On D7: OP7 filed 06-20 (H1).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import warnings
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import (
    AssessmentConfig,
    CalendarConfig,
    Config,
    check_config,
    default_config_path,
)
from bot.runtime import Runtime
from bot.services import assessment
from bot.services.assessment import Assessment, Figures, parse_period
from storage import people
from storage.models import to_db_time
from storage.sql import Conn
from tests.services.test_assessment import AS_OF, Seeder, at, eod, seed

# ------------------------------------------------------------------------------ seeding


class Register:
    """Writes the register's rows as the bot leaves them (a published row complete at once:
    it cannot be changed afterwards)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def obligation(self, unit: str, item: str, key: str, due: datetime,
                   met: datetime | None = None, title: str | None = None) -> int:
        row = self.conn.execute(
            "INSERT INTO disclosure_obligations (item_id, unit_id, period_key, title, due_at, "
            "created_at, met_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (item, unit, key, title, to_db_time(due), to_db_time(at(2026, 1, 1)),
             to_db_time(met) if met else None)).fetchone()
        assert row is not None
        return int(row[0])

    def disclosure(self, unit: str, item: str, forms: tuple[str, ...],
                   published: datetime | None, *, number: str | None = None,
                   pre: bool = False, confirmed: dict[str, datetime | None] | None = None
                   ) -> int:
        moment = to_db_time(published or at(2026, 7, 1))
        row = self.conn.execute(
            "INSERT INTO disclosures (number, item_id, unit_id, audience, aspect, forms, "
            "stage, pre, title, body, created_at, updated_at, published_at) "
            "VALUES (?, ?, ?, 'public', 'finance', ?, ?, ?, ?, '正文', ?, ?, ?) RETURNING id",
            (number, item, unit, json.dumps(list(forms)),
             "published" if published else "draft", int(pre), f"公开 {number}", moment,
             moment, to_db_time(published) if published else None)).fetchone()
        assert row is not None
        disclosure_id = int(row[0])
        for form, when in (confirmed or {}).items():
            self.conn.execute(
                "INSERT INTO disclosure_forms (disclosure_id, form, confirmed_at) "
                "VALUES (?, ?, ?)", (disclosure_id, form, to_db_time(when) if when else None))
        return disclosure_id

    def opinion(self, case_id: int, disclosure_id: int) -> None:
        self.conn.execute("INSERT INTO disclosure_opinions (case_id, disclosure_id) "
                          "VALUES (?, ?)", (case_id, disclosure_id))


async def opinion_cases(runtime: Runtime) -> dict[str, int]:
    """The opinions' cases (before the register links them): name → case id."""
    def work(conn: Conn) -> dict[str, int]:
        official = people.ensure_person(conn, 779, AS_OF)
        s = Seeder(conn, runtime.config, official.id)
        s.keys = 1000  # idempotency keys of their own, after the seed's
        ids = {}
        for name, unit, filed, due in (
                ("OP1", "yizhou_town", at(2026, 10, 12, 10), None),
                ("OP2", "yizhou_town", at(2026, 10, 20, 10), eod(2026, 11, 10)),
                ("OP3", "yizhou_beiguan", at(2026, 11, 13, 10), None),
                ("OP4", "yizhou_xiguan", at(2026, 12, 30, 10), eod(2027, 1, 21)),
                ("OP5", "yizhou_xiguan", at(2026, 9, 1, 10), eod(2026, 9, 22)),
                ("OP6", "county", at(2026, 7, 2, 10), None),
                ("OP7", "civil_affairs", at(2026, 6, 20, 10), None),
                ("OP8", "yizhou_xiguan", at(2026, 12, 1, 10), eod(2026, 12, 22))):
            ids[name] = s.file(name, unit, "party_building", filed, answer_due=due)
        s.accept(ids["OP1"], at(2026, 10, 12, 11))
        s.answer(ids["OP1"], "yizhou_town", at(2026, 10, 14, 10), "explained")
        s.withdraw(ids["OP3"], at(2026, 11, 14, 10))
        s.accept(ids["OP5"], at(2026, 9, 1, 11))
        s.answer(ids["OP5"], "yizhou_xiguan", at(2026, 10, 30, 10), "explained")
        s.answer(ids["OP6"], "county", at(2026, 7, 3, 10), "explained", before="new")
        s.answer(ids["OP7"], "civil_affairs", at(2026, 6, 21, 10), "explained", before="new")
        s.withdraw(ids["OP8"], at(2026, 12, 28, 10))
        return ids
    return await runtime.db.write(work)


async def register(runtime: Runtime, cases: dict[str, int]) -> None:
    """The register of the module docstring."""
    def work(conn: Conn) -> None:
        r = Register(conn)
        beiguan, xiguan = "yizhou_beiguan", "yizhou_xiguan"
        r.obligation(beiguan, "village_finance", "2026Q3", eod(2026, 10, 15), at(2026, 10, 10))
        r.obligation(beiguan, "village_finance", "2026-10", eod(2026, 11, 10),
                     at(2026, 11, 12, 9))
        r.obligation(beiguan, "party_admission", "2026H2", eod(2026, 12, 20))
        r.obligation(beiguan, "village_finance", "2026-12", eod(2027, 1, 5))
        r.obligation(xiguan, "village_finance", "2026-07", eod(2026, 8, 10), at(2026, 8, 9))
        r.obligation(xiguan, "major_matters", "road-1", at(2026, 12, 31, 23),
                     at(2027, 1, 9, 10), title="修路")
        r.obligation("lianggezhuang_village", "village_finance", "2026Q3", eod(2026, 9, 30),
                     at(2026, 9, 29))
        r.obligation("county", "major_matters", "2026H1", eod(2026, 6, 30), at(2026, 6, 29))
        r.obligation("civil_affairs", "major_matters", "2027-01a", eod(2027, 1, 6),
                     at(2027, 1, 5))
        r.obligation("civil_affairs", "major_matters", "2027-01b", eod(2027, 1, 20))
        d1 = r.disclosure(beiguan, "village_finance", ("channel", "notice_board"),
                          at(2026, 10, 10), number="D-2026-00001",
                          confirmed={"channel": at(2026, 10, 10), "notice_board": at(2026, 10, 11)})
        d2 = r.disclosure(beiguan, "village_finance", ("channel", "notice_board"),
                          at(2026, 11, 12), number="D-2026-00002",
                          confirmed={"channel": at(2026, 11, 12)})
        d3 = r.disclosure(xiguan, "village_finance", ("channel", "meeting"), at(2026, 8, 9),
                          number="D-2026-00003",
                          confirmed={"channel": at(2026, 8, 9), "meeting": at(2027, 1, 9)})
        r.disclosure(xiguan, "major_matters", ("channel",), at(2026, 9, 1),
                     number="D-2026-00004", pre=True, confirmed={"channel": None})
        r.disclosure(beiguan, "village_finance", ("channel",), None)
        d6 = r.disclosure("county", "major_matters", ("channel",), at(2026, 6, 20),
                          number="D-2026-00006", confirmed={"channel": at(2026, 6, 20)})
        d7 = r.disclosure("civil_affairs", "major_matters", ("web",), at(2026, 12, 1),
                          number="D-2026-00007", confirmed={"web": at(2026, 12, 1)})
        r.disclosure("civil_affairs", "major_matters", ("channel",), at(2026, 12, 2),
                     number="D-2026-00008", confirmed={"channel": None})
        for name, disclosure in (("OP1", d1), ("OP2", d1), ("OP3", d2), ("OP4", d3),
                                 ("OP5", d3), ("OP6", d6), ("OP7", d7), ("OP8", d3)):
            r.opinion(cases[name], disclosure)
    await runtime.db.write(work)


@pytest.fixture
def county(config: Config) -> Config:
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
async def cases(runtime: Runtime) -> dict[str, int]:
    await seed(runtime)
    return await opinion_cases(runtime)


async def report(runtime: Runtime, code: str = "2026H2", *, as_of: datetime = AS_OF,
                 readers: int | None = None, **kwargs: Any) -> Assessment:
    period = parse_period(code)
    facts = await assessment.load(runtime, period, as_of, readers=readers)
    return assessment.compute(runtime.config, runtime.calendar, facts, period, as_of, **kwargs)


def disclosure_figures(figures: Figures) -> tuple[int, ...]:
    return (figures.obligations_due, figures.obligations_on_time,
            figures.disclosures_published, figures.disclosures_complete,
            figures.opinions, figures.opinions_answered)


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


# ------------------------------------------------------------------------------ the figures

async def test_the_three_figures_per_unit_and_subtree(runtime: Runtime,
                                                      cases: dict[str, int]) -> None:
    await register(runtime, cases)
    result = await report(runtime)
    own = {row.unit_id: disclosure_figures(row.own) for row in result.rows}
    # (obligations due, on time, published, complete, opinions, answered)
    assert own["yizhou_beiguan"] == (3, 1, 2, 1, 2, 1)
    assert own["yizhou_xiguan"] == (2, 1, 1, 0, 2, 1)
    assert own["lianggezhuang_village"] == (1, 1, 0, 0, 0, 0)
    assert own["yizhou_town"] == (0,) * 6  # OP1 and OP2 are at the town, on the village's D1
    assert own["county"] == (0, 0, 0, 0, 1, 1)  # O7 and D6 are of H1; OP6 of July
    assert own["civil_affairs"] == (0, 0, 2, 1, 0, 0)  # O8, O9 in 2027; OP7 in June
    named = {"yizhou_beiguan", "yizhou_xiguan", "lianggezhuang_village", "yizhou_town",
             "county", "civil_affairs"}
    assert all(values == (0,) * 6 for unit, values in own.items() if unit not in named)
    beiguan = result.row("yizhou_beiguan").own
    assert beiguan.disclosure_on_time_rate == approx(1 / 3)
    assert beiguan.disclosure_completeness == approx(1 / 2)
    assert beiguan.opinion_response_rate == approx(1 / 2)
    xiguan = result.row("yizhou_xiguan").own
    assert (xiguan.disclosure_on_time_rate, xiguan.disclosure_completeness,
            xiguan.opinion_response_rate) == (0.5, 0.0, 0.5)
    # Nothing due, published or given: not applicable, as an empty answer count is.
    town = result.row("yizhou_town")
    assert town.own.disclosure_rates == (None, None, None)
    assert disclosure_figures(town.subtree) == (5, 2, 3, 1, 4, 2)
    assert town.subtree.disclosure_on_time_rate == approx(0.4)
    assert disclosure_figures(result.row("lianggezhuang_town").subtree) == (1, 1, 0, 0, 0, 0)
    assert disclosure_figures(result.row("county").subtree) == (6, 3, 5, 2, 5, 3)
    assert disclosure_figures(result.total) == (6, 3, 5, 2, 5, 3)


async def test_obligations_still_ahead_are_pending_and_the_moment_counts(
    runtime: Runtime, cases: dict[str, int],
) -> None:
    await register(runtime, cases)
    # January 2027 as of 01-08: O8 (due 01-06, met) counts, O9 (due 01-20) not yet; O4 (due
    # 01-05) is missed.
    january = await report(runtime, "2027-01")
    assert disclosure_figures(january.row("civil_affairs").own)[:2] == (1, 1)
    assert disclosure_figures(january.row("yizhou_beiguan").own)[:2] == (1, 0)
    # As of 01-10: O6 was met on 01-09 (late) and D3's meeting confirmed: xiguan's disclosure
    # is complete now; OP4's deadline is still ahead.
    later = await report(runtime, as_of=at(2027, 1, 10, 12))
    xiguan = later.row("yizhou_xiguan").own
    assert disclosure_figures(xiguan) == (2, 1, 1, 1, 2, 1)
    assert [(d.period_key, d.met) for d in later.duties["yizhou_xiguan"]] == [
        ("road-1", at(2027, 1, 9, 10))]
    assert [(d.period_key, d.met) for d in (await report(runtime)).duties["yizhou_xiguan"]] == [
        ("road-1", None)]
    # Before anything of the period was due, nothing counts.
    early = await report(runtime, as_of=at(2026, 8, 1))
    assert disclosure_figures(early.total)[:4] == (0, 0, 0, 0)


async def test_shares_add_up_to_the_same_report(runtime: Runtime, cases: dict[str, int]) -> None:
    await register(runtime, cases)
    one = await report(runtime, readers=1)
    three = await report(runtime, readers=3)
    assert one.rows == three.rows and one.total == three.total
    assert one.duties == three.duties and one.accountability == three.accountability


async def test_the_composite_weighs_only_what_applies(runtime: Runtime,
                                                      cases: dict[str, int]) -> None:
    before = await report(runtime)
    await register(runtime, cases)
    after = await report(runtime)
    for old, new in zip(before.rows, after.rows, strict=True):
        # The case figures do not move; the register adds only its own.
        blank = dataclasses.replace(new.own, obligations_due=0, obligations_on_time=0,
                                    disclosures_published=0, disclosures_complete=0,
                                    opinions=0, opinions_answered=0)
        assert blank == old.own, new.unit_id
        if new.own.disclosure_rates == (None, None, None):
            assert new.own.score == old.own.score, new.unit_id
    # The village: its own case C7 is perfect (100 on the three rates), then on time 1/3
    # (weight 10), complete 1/2 (5), opinions answered 1/2 (5).
    beiguan = after.row("yizhou_beiguan").own
    assert before.row("yizhou_beiguan").own.score == approx(100.0)
    assert beiguan.score == approx(100 * (100 + 10 / 3 + 2.5 + 2.5) / 120)
    # Civil affairs (58.75 on the three rates) has only a completeness of 1/2.
    civil = after.row("civil_affairs").own
    assert before.row("civil_affairs").own.score == approx(58.75)
    assert civil.score == approx(100 * (58.75 + 2.5) / 105)
    # A unit without a score of the three rates gets none from the register either.
    assert after.row("yizhou_xiguan").own.score is None
    # Weights of 0 leave the register out.
    none = AssessmentConfig(weight_disclosure_on_time=0, weight_disclosure_completeness=0,
                            weight_opinion_response=0)
    assert (await report(runtime, settings=none)).row("yizhou_beiguan").own.score == approx(
        100.0)
    on_time_only = AssessmentConfig(weight_disclosure_completeness=0, weight_opinion_response=0)
    assert (await report(runtime, settings=on_time_only)).row(
        "civil_affairs").own.score == approx(58.75)


async def test_accountability_lists_units_late_with_their_disclosures(
    runtime: Runtime, cases: dict[str, int],
) -> None:
    await register(runtime, cases)
    result = await report(runtime)
    entries = [e for e in result.accountability if e.reason == "disclosure_on_time"]
    # Beiguan 1/3 and xiguan 1/2 are under 0.9; lianggezhuang_village (1/1) is not, and the
    # town (nothing due of its own) is not judged.
    assert [(e.unit_id, round(e.value, 4), e.threshold, e.total) for e in entries] == [
        ("yizhou_beiguan", 0.3333, 0.9, 2), ("yizhou_xiguan", 0.5, 0.9, 1)]
    beiguan = entries[0]
    # Not met first, then met late.
    assert [(d.item_id, d.period_key, d.due, d.met) for d in beiguan.duties] == [
        ("party_admission", "2026H2", eod(2026, 12, 20), None),
        ("village_finance", "2026-10", eod(2026, 11, 10), at(2026, 11, 12, 9))]
    assert beiguan.items == () and beiguan.left_out == 0
    # The threshold is [disclosure] on_time_threshold.
    lenient = dataclasses.replace(runtime.config, disclosure=dataclasses.replace(
        runtime.config.disclosure, on_time_threshold=0.5))
    facts = await assessment.load(runtime, parse_period("2026H2"), AS_OF)
    again = assessment.compute(lenient, runtime.calendar, facts, parse_period("2026H2"), AS_OF)
    assert [e.unit_id for e in again.accountability if e.reason == "disclosure_on_time"] == [
        "yizhou_beiguan"]
    # A head of the town sees its villages only.
    scoped = await report(runtime, scope=["yizhou_town"])
    assert [e.unit_id for e in scoped.accountability if e.reason == "disclosure_on_time"] == [
        "yizhou_beiguan", "yizhou_xiguan"]
    assert disclosure_figures(scoped.total) == (5, 2, 3, 1, 4, 2)
    assert set(scoped.duties) == {"yizhou_beiguan", "yizhou_xiguan"}


# ------------------------------------------------------------------------------ outputs

async def test_workbook_has_the_disclosure_sheet(runtime: Runtime,
                                                 cases: dict[str, int]) -> None:
    from openpyxl import load_workbook

    from bot.reports.workbook import build_workbook

    await register(runtime, cases)
    result = await report(runtime)
    book = load_workbook(io.BytesIO(build_workbook(result, runtime.config, "en")))
    assert book.sheetnames == ["Figures", "Cases", "Accountability", "Disclosure"]
    sheet = book["Disclosure"]
    lines = list(sheet.iter_rows(values_only=True))
    headers = list(lines[0])
    assert headers == ["Unit", "Unit id", "Scope", "Obligations due", "Met on time",
                       "Disclosure on-time rate", "Disclosures published",
                       "Every form confirmed", "Completeness", "Opinions",
                       "Opinions answered", "Opinion response rate"]
    rows = {(line[1], line[2]): dict(zip(headers, line, strict=True))
            for line in lines[1:] if line[2] in ("own", "with units below",
                                                  "all units in the report")}
    beiguan = rows["yizhou_beiguan", "own"]
    assert beiguan["Unit"] == "    Beiguan Village, Yizhou"
    assert (beiguan["Obligations due"], beiguan["Met on time"]) == (3, 1)
    assert beiguan["Disclosure on-time rate"] == approx(1 / 3)
    assert beiguan["Completeness"] == 0.5 and beiguan["Opinion response rate"] == 0.5
    assert rows["yizhou_town", "own"]["Disclosure on-time rate"] is None
    assert rows["yizhou_town", "with units below"]["Disclosure on-time rate"] == approx(0.4)
    assert rows[None, "all units in the report"]["Opinions"] == 5
    rate_column = headers.index("Disclosure on-time rate") + 1
    assert sheet.cell(row=2, column=rate_column).number_format == "0.0%"
    # Then the obligations each unit missed.
    start = next(i for i, line in enumerate(lines) if line[0] == "Obligations not met on time")
    assert list(lines[start + 1][:6]) == ["Unit", "Unit id", "Obligation", "Due", "Met",
                                          "What happened"]
    missed = [line[1:6] for line in lines[start + 2:]]
    assert missed == [
        ("yizhou_beiguan", "Admission of party members · 2026H2",
         datetime(2026, 12, 20, 23, 59, 59), None, "not met"),
        ("yizhou_beiguan", "Village income and spending · 2026-10",
         datetime(2026, 11, 10, 23, 59, 59), datetime(2026, 11, 12, 9), "met after its deadline"),
        ("yizhou_xiguan", "Major matters · 修路", datetime(2026, 12, 31, 23), None, "not met")]
    accountable = [line for line in book["Accountability"].iter_rows(min_row=2, values_only=True)
                   if line[1] in ("yizhou_beiguan", "yizhou_xiguan")
                   and str(line[2]).startswith("Disclosure")]
    assert [(line[1], line[2], line[3], line[7]) for line in accountable] == [
        ("yizhou_beiguan", "Disclosure on-time rate 33.3% is below 90.0%",
         "Admission of party members · 2026H2", "not met"),
        ("yizhou_beiguan", "Disclosure on-time rate 33.3% is below 90.0%",
         "Village income and spending · 2026-10", "met after its deadline"),
        ("yizhou_xiguan", "Disclosure on-time rate 50.0% is below 90.0%",
         "Major matters · 修路", "not met")]
    assert accountable[1][4] == datetime(2026, 11, 12, 9)  # moment: when it was met
    assert accountable[1][5] == datetime(2026, 11, 10, 23, 59, 59)  # due


async def test_capped_obligation_lists_say_how_many_more(
    runtime: Runtime, cases: dict[str, int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from openpyxl import load_workbook

    from bot.reports import workbook

    await register(runtime, cases)
    monkeypatch.setattr(assessment, "LIST_LIMIT", 1)
    monkeypatch.setattr(workbook, "LIST_LIMIT", 1)
    result = await report(runtime)
    entry = next(e for e in result.accountability if e.unit_id == "yizhou_beiguan"
                 and e.reason == "disclosure_on_time")
    assert len(entry.duties) == 1 and entry.left_out == 1
    book = load_workbook(io.BytesIO(workbook.build_workbook(result, runtime.config, "en")))
    more = ("… and 1 more obligation: the figure counts them all; a list shows at most 1.")
    assert [line[2] for line in book["Disclosure"].iter_rows(values_only=True)
            if line[1] == "yizhou_beiguan" and line[2] == more] == [more]
    assert sum(1 for line in book["Accountability"].iter_rows(values_only=True)
               if line[1] == "yizhou_beiguan" and line[3] == more) == 1


async def test_chart_draws_the_disclosure_panel(runtime: Runtime,
                                                cases: dict[str, int]) -> None:
    from matplotlib.patches import Rectangle
    from PIL import Image

    from bot.reports import chart, unit_name

    await register(runtime, cases)
    result = await report(runtime)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would be a warning
        for language in ("zh_CN", "en"):
            png = chart.render_png(result, runtime.config, language)
            if os.environ.get("SUNBOX_KEEP_CHART"):
                Path(os.environ["SUNBOX_KEEP_CHART"] + f".{language}.png").write_bytes(png)
            with Image.open(io.BytesIO(png)) as image:
                assert image.size == (1200, 900)
        with chart.font_context():
            figure = chart.build_figure(result, runtime.config, "en")
    panels = {ax.get_title(): ax for ax in figure.axes}
    panel = panels["Disclosure on-time rate"]
    volume = panels["Cases per unit"]
    names = [label.get_text() for label in volume.get_yticklabels()]
    widths = {name: bar.get_width() for name, bar in zip(
        names, [p for p in panel.patches if isinstance(p, Rectangle)], strict=True)}
    # The villages' rows line up with the volume panel's (a village with obligations due
    # but no case shows too); a unit with nothing due draws no bar.
    def width(unit: str) -> float:
        full = unit_name(runtime.config, unit, "en")  # a long name is cut short with "…"
        (found,) = [w for name, w in widths.items() if full.startswith(name.rstrip("…"))]
        return found

    assert width("yizhou_beiguan") == approx(100 / 3)
    assert width("yizhou_xiguan") == approx(50.0)
    assert width("lianggezhuang_village") == approx(100.0)
    assert width("civil_affairs") == 0.0
    assert panel.get_ylim() == volume.get_ylim()
    texts = " ".join(t.get_text() for t in figure.texts + [
        t for ax in figure.axes for t in ax.texts])
    assert "Disclosure on-time rate: 50.0%" in texts
    assert "Opinion response rate: 60.0%" in texts
    # Without any disclosure due, the panel says so.
    empty = await report(runtime, "2030")
    with chart.font_context():
        figure = chart.build_figure(empty, runtime.config, "en")
    assert "No disclosure was due in this period." in [
        t.get_text() for ax in figure.axes for t in ax.texts]


# ------------------------------------------------------------------------------ settings

def test_the_weights_are_read_and_checked(tmp_path: Path) -> None:
    from bot.config import load_config

    base = default_config_path().read_text(encoding="utf-8")
    config = load_config(default_config_path())
    assert (config.assessment.weight_disclosure_on_time,
            config.assessment.weight_disclosure_completeness,
            config.assessment.weight_opinion_response) == (10, 5, 5)
    path = tmp_path / "config.toml"
    path.write_text(base.replace("weight_disclosure_on_time = 10",
                                 "weight_disclosure_on_time = 0")
                    .replace("weight_opinion_response = 5", "weight_opinion_response = 2.5"),
                    encoding="utf-8")
    assert load_config(path).assessment.weight_disclosure_on_time == 0
    assert load_config(path).assessment.weight_opinion_response == 2.5
    path.write_text(base.replace("weight_disclosure_completeness = 5",
                                 "weight_disclosure_completeness = -1")
                    .replace("weight_opinion_response = 5", "weight_opinion_response = '5'"),
                    encoding="utf-8")
    assert {p.key for p in check_config(path)} >= {
        "assessment.weight_disclosure_completeness", "assessment.weight_opinion_response"}
