"""Polish found by trying Sunbox as residents and officials would (issue 19), each in the
language it was seen in.

The bench starts on Wednesday 2026-11-25 10:00 in Shanghai. A low-income-support suggestion
goes to the civil affairs bureau (acceptance due Thursday 23:59:59, answer due Wednesday
2026-12-09 23:59:59); a finance suggestion to the finance bureau, whose head signs off
answers.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from bot.config import Config
from bot.emulator.core import EmuUser
from bot.services import assessment
from bot.services.assessment import parse_period
from handlers.jobs import ALARMS
from tests.conftest import SHANGHAI, Bench
from tests.handlers.flows import TEXT, file_report, file_suggestion
from tests.handlers.staff import (
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    FINANCE_HEAD,
    FINANCE_OFFICIAL,
    SUPERVISION,
)
from tests.handlers.test_meetings import ALICE, BOB, ORGANIZER, REMIND_EARLY, county

ANSWER_DUE = datetime(2026, 12, 9, 23, 59, 59, tzinfo=SHANGHAI)


@pytest.fixture
def config(config: Config) -> Config:
    """The example county with staff in every unit and supervisors' meetings."""
    return county(config)


@pytest.fixture(autouse=True)
def officials(bench: Bench) -> None:
    """Officials have opened a private chat with the bot."""
    for telegram_id in (CIVIL_OFFICIAL, CIVIL_HEAD, FINANCE_OFFICIAL, FINANCE_HEAD,
                        SUPERVISION):
        bench.user(telegram_id, f"员{telegram_id}")


async def answer(bench: Bench, official: EmuUser, case_id: int, text: str) -> None:
    await bench.tap(official, f"case:{case_id}:accept")
    await bench.tap(official, f"case:{case_id}:answer")
    await bench.tap(official, "ans:out:resolved")
    await bench.say(official, text)
    await bench.tap(official, "ans:files:done")
    await bench.tap(official, "ans:send")


async def file_to_finance(bench: Bench, user: EmuUser) -> str:
    """A signed suggestion in the finance category (the finance bureau signs off)."""
    await bench.say(user, "/new")
    await bench.tap(user, "new:kind:suggestion")
    await bench.tap(user, "new:cat:finance")
    await bench.tap(user, "new:unit:ok")
    await bench.say(user, TEXT)
    await bench.tap(user, "new:att:done")
    await bench.tap(user, "new:id:signed")
    return bench.number_in(await bench.tap(user, "new:confirm"))


async def run_alarms(bench: Bench, moment: datetime) -> None:
    bench.clock.set(moment)
    assert bench.app is not None and bench.app.job_queue is not None
    if bench.app.job_queue.get_jobs_by_name(ALARMS):
        await bench.run_job(ALARMS)


# 1 ---------------------------------------------------------------------------------------

async def test_an_old_rating_button_pressed_again_says_it_is_already_rated(
        bench: Bench) -> None:
    resident = bench.user(4501, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    await answer(bench, bench.user(CIVIL_OFFICIAL, "赵承办"), 1, "已张榜公示。")
    rating = bench.find_data_message(resident, "rate:1:satisfied")
    await bench.press_data(resident, rating, "rate:1:satisfied")
    await bench.tap(resident, "ratec:skip")
    await bench.press_data(resident, rating, "rate:1:basically")
    assert bench.emu.callback_answers[-1][1] == "您已经评价过这条答复，谢谢。"
    assert await bench.rows("SELECT rating FROM answers") == [("satisfied",)]


# 2 ---------------------------------------------------------------------------------------

async def test_return_with_a_comment_is_refused_at_the_press_for_a_non_head(
        bench: Bench) -> None:
    resident = bench.user(4502, "王秀兰")
    await file_to_finance(bench, resident)
    official = bench.user(FINANCE_OFFICIAL, "周会计")
    await answer(bench, official, 1, "资金已到账。")
    head = bench.user(FINANCE_HEAD, "吴局长")
    request = bench.find_data_message(head, "sign:1:back")
    before = len(bench.emu.sent(official.id))
    # The official presses the head's button (a forwarded card, or forged data).
    await bench.press_data(official, request, "sign:1:back")
    assert bench.emu.callback_answers[-1][1] == "未找到此事项，或您无权对其进行此操作。"
    assert bench.emu.sent(official.id)[before:] == [], "no question for a comment"
    await bench.press_data(official, request, "sign:1:ok")
    assert bench.emu.callback_answers[-1][1] == "未找到此事项，或您无权对其进行此操作。"
    # The head still can.
    await bench.tap(head, "sign:1:back")
    assert "需要修改什么" in bench.last_text(head)


# 3 ---------------------------------------------------------------------------------------

async def test_a_no_replies_case_has_no_ask_the_reporter_button(bench: Bench) -> None:
    resident = bench.user(4503, "王秀兰")
    await file_suggestion(bench, resident, "no_feedback", photo=False)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    card = bench.find_data_message(official, "case:1:answer")
    data = [d for row in card.buttons() for _, d in row]
    assert "case:1:ask" not in data and "case:1:answer" in data
    # A reachable reporter's card keeps it.
    other = bench.user(4504, "李四")
    await file_suggestion(bench, other, "anonymous", photo=False)
    await bench.tap(official, "case:2:accept")
    card = bench.find_data_message(official, "case:2:answer")
    assert "case:2:ask" in [d for row in card.buttons() for _, d in row]


# 4 ---------------------------------------------------------------------------------------

async def test_the_reminder_at_the_deadline_says_it_has_come(bench: Bench) -> None:
    resident = bench.user(4505, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    await run_alarms(bench, datetime(2026, 11, 25, 23, 59, 59, tzinfo=SHANGHAI))
    await run_alarms(bench, datetime(2026, 11, 26, 23, 59, 59, tzinfo=SHANGHAI))
    before, at_deadline = [m.text or "" for m in bench.emu.sent(CIVIL_OFFICIAL)
                           if (m.text or "").startswith("⏰")]
    assert before == f"⏰ 提醒：{number} 的签收期限为 2026-11-26 23:59。"
    assert at_deadline == f"⏰ {number} 的签收期限已到（2026-11-26 23:59），请立即办理。"


# 5 ---------------------------------------------------------------------------------------

async def test_a_quick_reply_leaves_the_end_of_day_deadline_alone(bench: Bench) -> None:
    resident = bench.user(4506, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问是哪个村？")
    bench.clock.advance(timedelta(seconds=40))
    await bench.tap(resident, "rep:1:reply")
    await bench.say(resident, "北关村。")
    [(due,)] = await bench.rows("SELECT answer_due FROM cases")
    assert datetime.fromisoformat(due) == ANSWER_DUE  # not 2026-12-10 00:00:39
    card = bench.find_data_message(official, "case:1:answer")
    assert "答复期限：2026-12-09 23:59" in (card.text or "")


# 6 ---------------------------------------------------------------------------------------

async def test_one_case_is_not_counted_as_cases(bench: Bench) -> None:
    resident = bench.user(4507, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    supervisor = bench.user(SUPERVISION, "Sun", language="en")
    progress, *_ = await bench.say(supervisor, "/assessment 2026H2")
    assert "Computing the figures of 1 case…" in [e.split("\n")[1] for e in progress.edits
                                                 if e and "\n" in e]
    assert "1 case received" in (progress.text or "")
    assert "1 cases" not in (progress.text or "")
    assert "0 units ranked" in (progress.text or "")
    chinese = bench.user(SUPERVISION, "孙监督")
    await bench.say(chinese, "/language")
    await bench.tap(chinese, "lang:zh_CN")
    progress, *_ = await bench.say(chinese, "/assessment 2026H2")
    assert "收件 1 件" in (progress.text or "")


# 7 ---------------------------------------------------------------------------------------

async def test_the_attendance_list_names_a_supervisor_who_has_not_answered(
        bench: Bench) -> None:
    organizer = bench.user(ORGANIZER, "胡书记")
    alice = bench.user(ALICE, "艾丽")
    bob = bench.user(BOB, "鲍勃")
    for person in (organizer, alice, bob):
        await bench.say(person, "/start")
    [(mid,)] = await bench.rows("SELECT id FROM meetings WHERE schedule_key = "
                                "'beiguan_monthly' AND slot = '2026-12-01'")
    await run_alarms(bench, REMIND_EARLY)
    await bench.tap(alice, f"mtg:{mid}:yes")
    update = [m.text or "" for m in bench.emu.sent(ORGANIZER)
              if (m.text or "").startswith("🗳")][-1]
    assert "⏳ 尚未答复（1）：鲍勃" in update and f"#{BOB}" not in update


async def test_a_configured_supervisor_who_never_wrote_is_named_from_the_file(
        bench: Bench) -> None:
    """``[[members]] name``: the list names a supervisor the bot has never heard from."""
    await bench.stop()
    bench.config = dataclasses.replace(bench.config, members=tuple(
        dataclasses.replace(m, name="鲍监督员") if m.telegram_id == BOB else m
        for m in bench.config.members))
    await bench.start()
    organizer = bench.user(ORGANIZER, "胡书记")
    alice = bench.user(ALICE, "艾丽")
    bench.user(BOB, "鲍勃")
    for person in (organizer, alice):
        await bench.say(person, "/start")
    [(mid,)] = await bench.rows("SELECT id FROM meetings WHERE schedule_key = "
                                "'beiguan_monthly' AND slot = '2026-12-01'")
    await run_alarms(bench, REMIND_EARLY)
    await bench.tap(alice, f"mtg:{mid}:yes")
    update = [m.text or "" for m in bench.emu.sent(ORGANIZER)
              if (m.text or "").startswith("🗳")][-1]
    assert "⏳ 尚未答复（1）：鲍监督员" in update and f"#{BOB}" not in update


# 8 ---------------------------------------------------------------------------------------

async def test_the_receipt_of_a_report_on_a_units_leadership_names_who_handles_it(
        bench: Bench) -> None:
    reporter = bench.user(4508, "李建国")
    number = await file_report(bench, reporter, concerns_head=True)
    receipt = next(m.text or "" for m in bench.emu.sent(reporter.id)
                   if number in (m.text or "") and (m.text or "").startswith("✅"))
    assert "涉及县民政局的领导班子，因此由监督小组办理，县民政局不会经手" in receipt
    assert "承办单位须在" not in receipt


# 9 ---------------------------------------------------------------------------------------

async def test_chart_rows_and_bar_labels_line_up_with_their_axis_labels(
        bench: Bench) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from bot.reports import chart

    civil = bench.user(4509, "王秀兰")
    await file_suggestion(bench, civil, photo=False)
    await answer(bench, bench.user(CIVIL_OFFICIAL, "赵承办"), 1, "已张榜公示。")
    await file_to_finance(bench, bench.user(4510, "李四"))  # no answer due yet: no rate
    bench.clock.advance(timedelta(days=1))
    result = await assessment.assess(bench.runtime, parse_period("2026H2"))
    with chart.font_context():
        figure = chart.build_figure(result, bench.runtime.config, "zh_CN")
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        renderer = canvas.get_renderer()

        def middle(text: object) -> float:
            box = text.get_window_extent(renderer)  # type: ignore[attr-defined]
            return float((box.y0 + box.y1) / 2)

        volume, rates = figure.axes[0], figure.axes[1]
        rows = {label.get_text(): middle(label) for label in volume.get_yticklabels()}
        rate_rows = {label.get_text(): middle(label) for label in rates.get_yticklabels()}
        assert set(rows) == {"县民政局", "县财政局"}
        for name, y in rate_rows.items():
            assert abs(rows[name] - y) < 0.5, f"{name} sits at another height in each panel"
        ticks = sorted(rate_rows.values(), reverse=True)
        labels = sorted((middle(text) for text in rates.texts), reverse=True)
        assert len(labels) == len(ticks)
        for tick, label in zip(ticks, labels, strict=True):
            assert abs(tick - label) < 0.5
