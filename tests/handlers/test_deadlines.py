"""Deadlines that hold: reminders, breach, escalation, extensions, the paused clock and
the digest — all on a hand-moved clock; each alarm fires once, also across restarts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.config import Config
from bot.services import alarms
from handlers.jobs import ALARM_SUBJECTS, ALARMS, DIGEST
from tests.conftest import SHANGHAI, Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, SUPERVISION, staffed

# Filed Wednesday 2026-11-25 10:00: acceptance due Thursday 23:59:59; answer (10 working
# days for low-income support) due Wednesday 2026-12-09 23:59:59.
WED_EVENING = datetime(2026, 11, 25, 23, 59, 59, tzinfo=SHANGHAI)
ACCEPT_DUE = datetime(2026, 11, 26, 23, 59, 59, tzinfo=SHANGHAI)
ESCALATE = datetime(2026, 11, 30, 23, 59, 59, tzinfo=SHANGHAI)  # Fri, Mon: 2 working days
ANSWER_DUE = datetime(2026, 12, 9, 23, 59, 59, tzinfo=SHANGHAI)


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture(autouse=True)
def officials(bench: Bench) -> None:
    for telegram_id in (CIVIL_OFFICIAL, CIVIL_HEAD, SUPERVISION):
        bench.user(telegram_id, f"员{telegram_id}")


async def at(bench: Bench, moment: datetime) -> None:
    """Move the clock and let the alarm job do what is due (there is none when no alarm is
    pending)."""
    bench.clock.set(moment)
    assert bench.app is not None and bench.app.job_queue is not None
    if bench.app.job_queue.get_jobs_by_name(ALARMS):
        await bench.run_job(ALARMS)


def texts(bench: Bench, chat_id: int, marker: str) -> list[str]:
    return [m.text or "" for m in bench.emu.sent(chat_id) if marker in (m.text or "")]


async def events(bench: Bench) -> list[tuple[str, str]]:
    rows = await bench.rows("SELECT type, json_extract(payload, '$.deadline') FROM case_events "
                            "WHERE actor_role = 'system' ORDER BY id")
    return [(a, b) for a, b in rows]


async def test_reminder_breach_and_escalation_each_once(bench: Bench) -> None:
    resident = bench.user(4201, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    await at(bench, WED_EVENING - timedelta(seconds=1))
    assert texts(bench, CIVIL_OFFICIAL, "⏰") == []
    await at(bench, WED_EVENING)
    [reminder] = texts(bench, CIVIL_OFFICIAL, "⏰")
    assert number in reminder and "签收期限为 2026-11-26 23:59" in reminder
    await at(bench, WED_EVENING + timedelta(hours=1))
    assert len(texts(bench, CIVIL_OFFICIAL, "⏰")) == 1, "nothing fires twice"
    await at(bench, ACCEPT_DUE)
    assert len(texts(bench, CIVIL_OFFICIAL, "⏰")) == 2, "and at the deadline itself"
    [breach] = texts(bench, CIVIL_HEAD, "⚠")
    assert "已超期" in breach and texts(bench, SUPERVISION, "🚨") == []
    await at(bench, ESCALATE - timedelta(minutes=1))
    assert texts(bench, SUPERVISION, "🚨") == []
    await at(bench, ESCALATE)
    [escalation] = texts(bench, SUPERVISION, "🚨")
    assert number in escalation
    assert "已告知监督小组督办" in bench.last_text(resident)
    assert await events(bench) == [("reminder", "accept"), ("reminder", "accept"),
                                   ("breach", "accept"), ("escalation", "accept")]
    assert await bench.rows("SELECT COUNT(*) FROM alarms WHERE fired_at IS NULL "
                            "AND kind LIKE 'accept%'") == [(0,)]


async def test_accepting_in_time_cancels_the_acceptance_alarms(bench: Bench) -> None:
    resident = bench.user(4202, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await at(bench, ESCALATE + timedelta(days=1))
    assert texts(bench, CIVIL_HEAD, "⚠") == [] and texts(bench, SUPERVISION, "🚨") == []
    # The answer deadline still has its reminder one working day before.
    await at(bench, ANSWER_DUE - timedelta(days=1))
    assert any("答复期限为 2026-12-09 23:59" in t for t in texts(bench, CIVIL_OFFICIAL, "⏰"))


async def test_deadlines_passed_while_down_fire_once_at_start_up(bench: Bench) -> None:
    resident = bench.user(4203, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    await bench.stop()
    bench.clock.set(ESCALATE + timedelta(hours=3))
    await bench.start()  # post_init arms the alarm job for what is already due
    await bench.run_job(ALARMS)
    await bench.restart()
    await bench.run_job(ALARMS)
    assert len(texts(bench, CIVIL_HEAD, "⚠")) == 1
    assert len(texts(bench, SUPERVISION, "🚨")) == 1
    assert texts(bench, CIVIL_OFFICIAL, "⏰") == [], "late reminders are not sent"
    assert await events(bench) == [("breach", "accept"), ("escalation", "accept")]


async def test_two_racing_timers_fire_each_alarm_once(bench: Bench) -> None:
    resident = bench.user(4204, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    bench.clock.set(ESCALATE)
    await asyncio.gather(*(alarms.fire_due(bench.runtime, ALARM_SUBJECTS) for _ in range(4)))
    await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    assert await events(bench) == [("breach", "accept"), ("escalation", "accept")]


async def test_extension_of_the_acceptance_deadline_by_the_head(bench: Bench) -> None:
    resident = bench.user(4205, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    head = bench.user(CIVIL_HEAD, "钱局长")
    supervisor = bench.user(SUPERVISION, "孙监督")
    await bench.tap(official, "case:1:extend")
    await bench.say(official, "需要先向镇里核实名单。")
    [bad] = await bench.say(official, "下周")
    assert "这不是日期" in (bad.text or "")
    [early] = await bench.say(official, "2026-11-20")
    assert "必须晚于现有期限" in (early.text or "")
    await bench.say(official, "2026-12-01")
    request = bench.find_data_message(head, "ext:1:ok")
    assert "需要先向镇里核实名单。" in (request.text or "")
    await bench.press_data(supervisor, request, "ext:1:ok")
    assert bench.emu.callback_answers[-1][1] == "未找到此事项，或您无权对其进行此操作。"
    await bench.tap(head, "ext:1:ok")
    new_due = datetime(2026, 12, 1, 23, 59, 59, tzinfo=SHANGHAI)
    [(accept_due,)] = await bench.rows("SELECT accept_due FROM cases")
    assert datetime.fromisoformat(accept_due) == new_due
    assert "签收期限已延至 2026-12-01 23:59" in bench.last_text(resident)
    assert "批准了" in bench.last_text(official)
    # The old deadline passes quietly; the new one is enforced.
    await at(bench, ESCALATE)
    assert texts(bench, CIVIL_HEAD, "⚠") == []
    await at(bench, new_due)
    assert len(texts(bench, CIVIL_HEAD, "⚠")) == 1
    # One extension per deadline.
    await bench.tap(official, "case:1:extend")
    assert bench.emu.callback_answers[-1][1].startswith("此期限已延期过一次")


async def test_extension_of_the_answer_deadline_needs_the_supervision_group(
    bench: Bench,
) -> None:
    resident = bench.user(4206, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:extend")
    await bench.say(official, "涉及跨部门核查。")
    await bench.say(official, "2026-12-31")
    head = bench.user(CIVIL_HEAD, "钱局长")
    await bench.press_data(head, 1, "ext:1:ok")
    assert bench.emu.callback_answers[-1][1] == "未找到此事项，或您无权对其进行此操作。"
    supervisor = bench.user(SUPERVISION, "孙监督")
    await bench.tap(supervisor, "ext:1:no")
    assert "未批准" in bench.last_text(official)
    [(answer_due,)] = await bench.rows("SELECT answer_due FROM cases")
    assert datetime.fromisoformat(answer_due) == ANSWER_DUE
    types = [t for (t,) in await bench.rows(
        "SELECT type FROM case_events WHERE type LIKE 'extension%' ORDER BY id")]
    assert types == ["extension_requested", "extension_refused"]


async def test_waiting_for_the_reporter_pauses_the_answer_clock(bench: Bench) -> None:
    resident = bench.user(4207, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问是哪个村？")
    bench.clock.advance(timedelta(days=3, hours=2))
    await at(bench, ANSWER_DUE + timedelta(days=1))  # would be overdue if the clock ran
    assert texts(bench, CIVIL_HEAD, "⚠") == []
    bench.clock.set(datetime(2026, 11, 28, 12, 0, tzinfo=SHANGHAI))
    await bench.tap(resident, "rep:1:reply")
    await bench.say(resident, "北关村。")
    [(answer_due,)] = await bench.rows("SELECT answer_due FROM cases")
    # Asked Wednesday, answered Saturday: Thursday and Friday were lost, so the deadline
    # moves two working days on, to the end of Friday 2026-12-11 (a working-day deadline
    # stays at the end of a working day).
    assert datetime.fromisoformat(answer_due) == datetime(2026, 12, 11, 23, 59, 59,
                                                          tzinfo=SHANGHAI)


async def test_the_daily_digest_lists_overdue_cases(bench: Bench) -> None:
    resident = bench.user(4208, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    await bench.run_job(DIGEST)
    assert texts(bench, SUPERVISION, "📋") == [], "nothing overdue, no digest"
    bench.clock.set(ACCEPT_DUE + timedelta(hours=9))
    await bench.run_job(DIGEST)
    [digest] = texts(bench, SUPERVISION, "📋")
    assert "今日超期事项：1 件" in digest and number in digest
