"""/assessment in chat: the supervision group gets a chart and a workbook of everything, a unit
head of their own units, anyone else a polite refusal — through the real bot and the emulator.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import Image
from telegram.ext import Application, CommandHandler

from bot.config import Config
from bot.emulator.core import EmuUser, SentMessage
from handlers import assessment, fallback
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import ADMIN, CIVIL_HEAD, CIVIL_OFFICIAL, SUPERVISION, staffed


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def _has_command(application: Application, name: str) -> bool:  # type: ignore[type-arg]
    return any(isinstance(h, CommandHandler) and name in h.commands
               for group in application.handlers.values() for h in group)


@pytest.fixture(autouse=True)
def wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """/assessment installed before the catch-alls, unless ``bot.app`` already does it."""
    original = fallback.register

    def register(application: Any) -> None:
        if not _has_command(application, "assessment"):
            assessment.register(application)
        original(application)

    monkeypatch.setattr(fallback, "register", register)


async def handled_case(bench: Bench, resident: EmuUser, official: EmuUser) -> None:
    """A suggestion accepted 2 hours and answered (resolved) 4 hours after filing, rated
    satisfied."""
    await file_suggestion(bench, resident, photo=False)
    bench.clock.advance(timedelta(hours=2))
    await bench.tap(official, "case:1:accept")
    bench.clock.advance(timedelta(hours=2))
    await bench.tap(official, "case:1:answer")
    await bench.tap(official, "ans:out:resolved")
    await bench.say(official, "名单已于今日张榜公示。")
    await bench.tap(official, "ans:files:done")
    await bench.tap(official, "ans:send")
    await bench.tap(resident, "rate:1:satisfied")
    await bench.tap(resident, "ratec:skip")


def workbook_of(bench: Bench, message: SentMessage) -> Any:
    assert message.kind == "document" and message.file_id is not None
    return load_workbook(io.BytesIO(bench.emu.file_bytes(message.file_id)))


def figure_rows(book: Any) -> dict[tuple[str | None, str], dict[str, Any]]:
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[2]]
    return {(r[1], r[2]): dict(zip(headers, r, strict=True))
            for r in sheet.iter_rows(min_row=3, values_only=True)}


async def test_supervision_gets_progress_chart_and_workbook(bench: Bench) -> None:
    resident = bench.user(3001, "王秀兰")
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    # Filed Wed 2026-11-25 10:00; accepted 12:00, answered 14:00, rated satisfied.
    await handled_case(bench, resident, official)
    # A second case, never accepted: due Thu 11-26 23:59:59, overdue by Sat 11-28 10:00.
    await file_suggestion(bench, resident, photo=False)
    bench.clock.advance(timedelta(days=3) - timedelta(hours=4))

    supervisor = bench.user(SUPERVISION, "孙监督", language="en")
    replies = await bench.say(supervisor, "/assessment 2026H2")
    progress, photo, document = replies
    assert (progress.edits[0] or "").startswith("⏳ Building the assessment 2026H2…")
    assert [e.split("\n")[1] for e in progress.edits if e] == [
        "Reading the cases…", "Computing the figures of 2 cases…", "Drawing the chart…",
        "Writing the workbook…"]
    assert progress.text == (
        "✅ Assessment 2026H2 (2026-07-01 – 2026-12-31): 12 units, 2 cases received, "
        "0 units ranked, 0 units on the accountability list. The chart and the workbook "
        "follow.")
    assert photo.kind == "photo" and photo.text == "Assessment 2026H2 (2026-07-01 – 2026-12-31)"
    assert photo.file_id is not None
    with Image.open(io.BytesIO(bench.emu.file_bytes(photo.file_id))) as image:
        assert image.size == (1200, 900)
    assert document.raw["document"]["file_name"] == "assessment-2026H2.xlsx"
    book = workbook_of(bench, document)
    assert book.sheetnames == ["Figures", "Cases", "Accountability", "Disclosure"]
    civil = figure_rows(book)["civil_affairs", "own"]
    # Received 2; acceptances: the first on time, the second late (due 11-26); answers: the
    # first on time, the second not yet due; one rating, satisfied, on a resolved answer.
    assert (civil["Cases received"], civil["Acceptances due"], civil["Accepted on time"]) == (
        2, 2, 1)
    assert (civil["Answers due"], civil["Answered on time"], civil["Overdue now"]) == (1, 1, 1)
    assert civil["Average time to accept (working days)"] == pytest.approx(2 / 24)
    assert civil["Average time to answer (working days)"] == pytest.approx(4 / 24)
    assert (civil["Satisfaction rate"], civil["Resolution rate"], civil["Response rate"]) == (
        1, 1, 0.5)
    # 100 × (30 × 0.5 + 35 × 1 + 35 × 1) / 100; not ranked: fewer than 5 cases.
    assert civil["Composite score"] == pytest.approx(85.0)
    assert civil["Rank"] == "not ranked: fewer than 5 cases"
    assert len(figure_rows(book)) == 12 + 3 + 1  # units, subtotals of parents, the total


async def test_a_unit_head_gets_their_own_units_only(bench: Bench) -> None:
    resident = bench.user(3002, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    head = bench.user(CIVIL_HEAD, "钱局长", language="en")
    *_, document = await bench.say(head, "/assessment 2026-11")
    assert list(figure_rows(workbook_of(bench, document))) == [
        ("civil_affairs", "own"), (None, "all units in the report")]
    admin = bench.user(ADMIN, "管理员", language="en")
    *_, document = await bench.say(admin, "/assessment")  # the current half year
    assert document.raw["document"]["file_name"] == "assessment-2026H2.xlsx"


async def test_others_and_bad_periods_are_refused_without_a_report(bench: Bench) -> None:
    official = bench.user(CIVIL_OFFICIAL, "赵承办", language="en")
    resident = bench.user(3003, "王秀兰", language="en")
    for user in (official, resident):
        [reply] = await bench.say(user, "/assessment 2026H2")
        assert reply.text == ("The assessment is for the supervision group, administrators "
                              "and unit heads.")
    supervisor = bench.user(SUPERVISION, "孙监督", language="en")
    for text in ("/assessment 2026H3", "/assessment 2026 H2", "/assessment 2026-12-31..2026-07-01"):
        [reply] = await bench.say(supervisor, text)
        assert "Send /assessment with a period" in (reply.text or "")
    [reply] = await bench.say(supervisor, "/assessment 2026H3")
    assert (reply.text or "").startswith('not a period: "2026H3".')
    assert not [m for m in bench.emu.all_sent() if m.kind in ("photo", "document")]
