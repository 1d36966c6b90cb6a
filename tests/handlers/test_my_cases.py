"""/my: a resident follows, adds to and withdraws their own cases, and nobody else's."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config import Config
from tests.conftest import Bench
from tests.handlers.flows import file_report, file_suggestion
from tests.handlers.staff import staffed


@pytest.fixture
def config(config: Config) -> Config:
    """Two cases a page, so paging shows with few cases; staff at civil affairs, so that the
    cases stay there (tests/handlers/test_routing_up.py)."""
    return staffed(
        dataclasses.replace(config, limits=dataclasses.replace(config.limits, page_size=2)))


async def test_my_lists_own_cases_newest_first_with_paging(bench: Bench) -> None:
    resident = bench.user(3001, "王秀兰")
    numbers = [await file_suggestion(bench, resident, photo=False) for _ in range(3)]
    [page_one] = await bench.say(resident, "/my")
    assert "共 3 件" in (page_one.text or "") and "第 1/2 页" in (page_one.text or "")
    assert numbers[2] in (page_one.text or "") and numbers[0] not in (page_one.text or "")
    await bench.press_data(resident, page_one, "my:list:1")
    page_two = bench.emu.sent(resident.id)[-1]
    assert page_two.message_id == page_one.message_id, "paged in place"
    assert numbers[0] in (page_two.text or "")


async def test_open_a_case_shows_its_history(bench: Bench) -> None:
    reporter = bench.user(3002, "李建国")
    number = await file_report(bench, reporter)
    [listing] = await bench.say(reporter, "/my")
    [(case_id,)] = await bench.rows("SELECT id FROM cases")
    await bench.press_data(reporter, listing, f"my:open:{case_id}")
    card = bench.emu.sent(reporter.id)[-1].text or ""
    assert f"事项 {number}" in card and "实名举报" in card and "已提交" in card
    assert "答复期限" in card and "办理记录" in card


async def test_add_information_and_withdraw(bench: Bench) -> None:
    resident = bench.user(3003, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    [(case_id,)] = await bench.rows("SELECT id FROM cases")
    [listing] = await bench.say(resident, "/my")
    await bench.press_data(resident, listing, f"my:open:{case_id}")
    [prompt] = await bench.tap(resident, f"my:add:{case_id}")
    assert number in (prompt.text or "")
    [refused] = await bench.send(resident, "send_sticker")
    assert "请发送文字、照片或文件" in (refused.text or "")
    [added] = await bench.say(resident, "补充：公示栏在村委会门口。")
    assert added.text == f"已补充到 {number}。"
    await bench.tap(resident, f"my:add:{case_id}")
    await bench.send(resident, "send_photo")
    events = await bench.rows("SELECT type, actor_person_id FROM case_events ORDER BY id")
    assert events == [("filed", None), ("followup", None), ("followup", None)], \
        "an anonymous reporter's additions carry no person"
    assert await bench.rows("SELECT COUNT(*) FROM attachments") == [(1,)]

    [listing] = await bench.say(resident, "/my")
    await bench.press_data(resident, listing, f"my:open:{case_id}")
    await bench.tap(resident, f"my:wd:{case_id}")
    await bench.tap(resident, f"my:open:{case_id}")  # "No, keep it"
    assert await bench.rows("SELECT state FROM cases") == [("new",)]
    await bench.tap(resident, f"my:wd:{case_id}")
    await bench.tap(resident, f"my:wdyes:{case_id}")
    assert bench.emu.sent(resident.id)[-1].text == f"事项 {number} 已撤回。"
    assert await bench.rows("SELECT state FROM cases") == [("withdrawn",)]
    # A stale confirmation, then an addition, on the withdrawn case: refused, nothing changes.
    await bench.press_data(resident, listing, f"my:wdyes:{case_id}")
    assert bench.emu.callback_answers[-1][1] == "此事项已不能撤回。"
    await bench.press_data(resident, listing, f"my:add:{case_id}")
    assert bench.emu.callback_answers[-1][1] == "此事项已办结。"
    assert len(await bench.rows("SELECT * FROM case_events")) == 4


async def test_nobody_sees_or_touches_someone_elses_case(bench: Bench) -> None:
    owner = bench.user(3004, "王秀兰")
    other = bench.user(3005, "张三")
    await file_suggestion(bench, owner, photo=False)
    await file_report(bench, owner)
    cases = [case_id for (case_id,) in await bench.rows("SELECT id FROM cases")]
    [menu] = await bench.say(other, "/start")
    for case_id in cases:
        for action in ("open", "wd", "wdyes", "add"):
            replies = await bench.press_data(other, menu, f"my:{action}:{case_id}")
            assert replies == []
            assert bench.emu.callback_answers[-1][1] == "未找到此事项。"
    assert await bench.rows("SELECT state FROM cases") == [("new",), ("new",)]
    assert len(await bench.rows("SELECT * FROM case_events")) == 2
    [empty] = await bench.say(other, "/my")
    assert "您还没有事项" in (empty.text or "")
