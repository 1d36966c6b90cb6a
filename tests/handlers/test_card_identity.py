"""A named reporter's identity on cards: rendered for each reader through the one rule
(``roles.sees_identity``), never in a unit's group chat, never to the unit a report is about
(not by a transfer either, nor when the report is about the supervision unit's own head), and
never again to someone whose role was revoked."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Config, MemberConfig
from bot.emulator.core import Emulator, EmuUser, SentMessage
from handlers.jobs import ALARMS, DIGEST
from storage import directory
from storage.sql import Conn
from tests.conftest import START, Bench
from tests.handlers.flows import CATEGORY, file_report, file_suggestion
from tests.handlers.staff import (
    ADMIN,
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    COUNTY_HEAD,
    SUPERVISION,
    staffed,
)

DISCIPLINE_HEAD, COUNTY_OFFICIAL = 1201, 1202
NAME, PHONE = "李建国", "+8613800138000"
GROUP = -1001234567
NO_LONGER = "此事项已不再向您开放"


@pytest.fixture
def config(config: Config) -> Config:
    county = staffed(config)
    return dataclasses.replace(county, members=county.members + (
        MemberConfig(DISCIPLINE_HEAD, "head", "discipline"),
        MemberConfig(COUNTY_OFFICIAL, "official", "county")))


@pytest.fixture(autouse=True)
def staff_have_started_the_bot(bench: Bench) -> None:
    for telegram_id in (CIVIL_OFFICIAL, CIVIL_HEAD, COUNTY_HEAD, SUPERVISION, DISCIPLINE_HEAD,
                        COUNTY_OFFICIAL, ADMIN):
        bench.user(telegram_id, f"员工{telegram_id}")


def cards(bench: Bench, chat_id: int) -> list[SentMessage]:
    return [m for m in bench.emu.sent(chat_id)
            if (m.text or "").startswith("📨") or any((e or "").startswith("📨")
                                                      for e in m.edits)]


def everything_seen(bench: Bench, chat_id: int) -> str:
    """Every text a chat was ever shown: messages and every earlier state of them."""
    return "\n".join(text or "" for m in bench.emu.sent(chat_id) for text in (*m.edits, m.text))


async def test_a_transfer_to_the_unit_a_report_concerns_is_refused_and_recorded(
        bench: Bench) -> None:
    reporter = bench.user(4301, NAME)
    await file_report(bench, reporter, concerns_head=True)
    assert await bench.rows("SELECT unit_id, concerns_unit_id FROM cases") == [
        ("discipline", "civil_affairs")]
    supervision = bench.user(SUPERVISION, "孙监督")
    await bench.tap(supervision, "case:1:transfer")
    await bench.tap(supervision, "trf:tree:county:0")
    await bench.tap(supervision, "trf:pick:civil_affairs")
    [refused] = await bench.say(supervision, "请民政局自查。")
    assert refused.text == "此举报涉及该单位的负责人或领导班子，因此永远不能转办给该单位。"
    assert await bench.rows("SELECT unit_id, transfers, state FROM cases") == [
        ("discipline", 0, "new")]
    [(payload,)] = await bench.rows(
        "SELECT payload FROM case_events WHERE type = 'transfer_refused'")
    assert '"to": "civil_affairs"' in payload and "concerned_unit" in payload
    for member in (CIVIL_OFFICIAL, CIVIL_HEAD):
        assert bench.emu.sent(member) == []
        assert NAME not in everything_seen(bench, member)


async def file_report_to(bench: Bench, user: EmuUser, unit_id: str, *, concerns_head: bool
                         ) -> str:
    """A named report sent to a unit chosen from the tree (under the county)."""
    await bench.say(user, "/new")
    await bench.tap(user, "new:kind:report")
    await bench.tap(user, f"new:cat:{CATEGORY}")
    await bench.tap(user, "new:tree::0")
    await bench.tap(user, "new:tree:county:0")
    await bench.tap(user, f"new:pick:{unit_id}")
    await bench.say(user, "县纪委负责人插手低保评定，账目一直不公开。")
    await bench.tap(user, "new:att:done")
    await bench.say(user, NAME)
    await bench.send(user, "send_contact", PHONE)
    await bench.tap(user, "new:head:yes" if concerns_head else "new:head:no")
    return bench.number_in(await bench.tap(user, "new:confirm"))


async def test_a_report_about_the_supervision_units_head_goes_above_supervision(
        bench: Bench) -> None:
    reporter = bench.user(4302, NAME)
    number = await file_report_to(bench, reporter, "discipline", concerns_head=True)
    told = everything_seen(bench, reporter.id)
    assert "如果是，将改由易县县委办理" in told and "涉及该单位领导，将交易县县委办理" in told
    assert await bench.rows("SELECT unit_id, concerns_unit_id FROM cases") == [
        ("county", "discipline")]
    [card] = cards(bench, COUNTY_HEAD)
    assert NAME in (card.text or "") and PHONE in (card.text or "")
    for member in (DISCIPLINE_HEAD, SUPERVISION):
        assert cards(bench, member) == []
        head = bench.user(member, "纪委")
        assert [m.text for m in await bench.say(head, f"/case {number}")] == ["未找到此事项。"]
        seen = everything_seen(bench, member)
        assert NAME not in seen and PHONE not in seen
    # The county's head may not send it back to the unit it is about.
    county = bench.user(COUNTY_HEAD, "县委")
    await bench.tap(county, "case:1:transfer")
    await bench.tap(county, "trf:tree:county:0")
    await bench.tap(county, "trf:pick:discipline")
    await bench.say(county, "请纪委处理。")
    assert await bench.rows("SELECT unit_id FROM cases") == [("county",)]
    assert NAME not in everything_seen(bench, DISCIPLINE_HEAD)
    # Overdue: the escalation goes to whoever oversees it, not to the unit it is about.
    bench.clock.set(START + timedelta(days=10))
    assert bench.app is not None and bench.app.job_queue is not None
    if bench.app.job_queue.get_jobs_by_name(ALARMS):
        await bench.run_job(ALARMS)
    assert any(text.startswith("🚨") for text in bench.texts(county))
    for member in (DISCIPLINE_HEAD, SUPERVISION):
        assert not any(number in text for text in bench.texts(bench.user(member, "纪委"))
                       if not text.startswith("未找到"))


@pytest.fixture
async def grouped(config: Config, tmp_path: Path) -> AsyncIterator[Bench]:
    """The civil affairs bureau announces its cases in a group chat."""
    clock = ManualClock(START)
    emu = Emulator(clock=lambda: clock.now().timestamp())
    bench = Bench(staffed(config, civil_affairs={"group_chat_id": GROUP}),
                  tmp_path / "grouped.db", emu, clock)
    await bench.start()
    emu.group(GROUP, "县民政局工作群")
    try:
        yield bench
    finally:
        await bench.stop()
    assert not bench.errors, f"handlers raised: {bench.errors!r}"


async def test_a_group_card_never_shows_a_named_reporters_identity(grouped: Bench) -> None:
    bench = grouped
    reporter = bench.user(4303, NAME)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    number = await file_report(bench, reporter)
    [card] = cards(bench, GROUP)
    assert f"/case {number}" in (card.text or "")
    bench.emu.press(official, card, "case:1:accept", chat=GROUP)
    await bench.deliver()
    assert "签收" in (card.text or "") and card.edits, "the group's card was edited"
    seen = everything_seen(bench, GROUP)
    assert NAME not in seen and PHONE not in seen
    # An entitled member opens it privately, and sees who it is.
    [private] = await bench.say(official, f"/case {number}")
    assert NAME in (private.text or "") and PHONE in (private.text or "")


async def test_a_revoked_official_gets_one_last_edit_and_then_nothing(bench: Bench) -> None:
    reporter = bench.user(4304, NAME)
    number = await file_report(bench, reporter)
    official, head = bench.user(CIVIL_OFFICIAL, "赵承办"), bench.user(CIVIL_HEAD, "钱局长")
    await bench.tap(head, "case:1:accept")
    [card] = cards(bench, official.id)
    edits_before = len(card.edits)
    admin = bench.user(ADMIN, "管理员")
    await bench.say(admin, f"/revoke {CIVIL_OFFICIAL} official civil_affairs")
    assert len(card.edits) == edits_before + 1
    assert card.text == f"🔒 {number}：{NO_LONGER}。" and card.buttons() == []
    assert await bench.rows("SELECT * FROM card_messages WHERE chat_id = ?", official.id) == []
    sent_before = len(bench.emu.sent(official.id))
    # The case goes on: a question, the reporter's reply, an answer. None of it reaches them.
    await bench.tap(head, "case:1:ask")
    await bench.say(head, "请问是哪个村？")
    await bench.tap(reporter, "rep:1:reply")
    await bench.say(reporter, "北关村，账目在村委会。")
    assert "北关村" in everything_seen(bench, head.id)
    assert len(card.edits) == edits_before + 1
    assert bench.emu.sent(official.id)[sent_before:] == []
    assert "北关村" not in everything_seen(bench, official.id)


async def test_every_card_edit_checks_the_readers_roles_again(bench: Bench) -> None:
    """A role gone without /revoke (e.g. dropped from the file): the next edit of the card
    is the last, and says so."""
    reporter = bench.user(4305, NAME)
    number = await file_report(bench, reporter)
    official, head = bench.user(CIVIL_OFFICIAL, "赵承办"), bench.user(CIVIL_HEAD, "钱局长")

    def work(conn: Conn) -> None:
        assert directory.revoke(conn, CIVIL_OFFICIAL, "civil_affairs", "official",
                                bench.clock.now())
    await bench.runtime.db.write(work)
    await bench.tap(head, "case:1:accept")
    [card] = cards(bench, official.id)
    assert card.text == f"🔒 {number}：{NO_LONGER}。"
    await bench.tap(head, "case:1:ask")
    await bench.say(head, "请问是哪个村？")
    assert card.text == f"🔒 {number}：{NO_LONGER}。" and len(card.edits) == 1


REASON = "需要调取纪委的往年账目。"


async def test_more_time_on_a_report_about_the_supervision_units_head_is_never_theirs_to_give(
        bench: Bench) -> None:
    reporter = bench.user(4306, NAME)
    number = await file_report_to(bench, reporter, "discipline", concerns_head=True)
    official = bench.user(COUNTY_OFFICIAL, "县委承办")
    await bench.tap(official, "case:1:accept")
    [(answer_due,)] = await bench.rows("SELECT answer_due FROM cases")
    new_due = datetime.fromisoformat(answer_due) + timedelta(days=10)
    await bench.tap(official, "case:1:extend")
    await bench.say(official, REASON)
    await bench.say(official, new_due.strftime("%Y-%m-%d"))
    # The supervision unit, which the report is about, hears nothing of it, and may not decide.
    for member in (SUPERVISION, DISCIPLINE_HEAD):
        seen = everything_seen(bench, member)
        assert number not in seen and REASON not in seen
        assert not any(d.startswith("ext:") for m in bench.emu.sent(member)
                       for row in m.buttons() for _, d in row)
        await bench.press_data(bench.user(member, "纪委"), 1, "ext:1:ok")
        assert bench.emu.callback_answers[-1][1] == "未找到此事项，或您无权对其进行此操作。"
    # The head of the unit that oversees it (above the supervision group) decides.
    county = bench.user(COUNTY_HEAD, "县委")
    request = bench.find_data_message(county, "ext:1:ok")
    assert number in (request.text or "") and REASON in (request.text or "")
    await bench.tap(county, "ext:1:ok")
    [(moved,)] = await bench.rows("SELECT answer_due FROM cases")
    assert datetime.fromisoformat(moved).date() == new_due.date()
    assert "批准了" in bench.last_text(official)
    assert await bench.rows(
        "SELECT actor_role FROM case_events WHERE type = 'extension_granted'") == [("head",)]


async def test_the_concerned_unit_does_not_even_see_the_report_listed(bench: Bench) -> None:
    about_discipline = await file_report_to(bench, bench.user(4307, NAME), "discipline",
                                            concerns_head=True)
    about_county = await file_report_to(bench, bench.user(4308, "王秀兰"), "county",
                                        concerns_head=True)
    plain = await file_suggestion(bench, bench.user(4309, "张三"), photo=False)
    assert await bench.rows("SELECT unit_id, concerns_unit_id FROM cases ORDER BY id") == [
        ("county", "discipline"), ("discipline", "county"), ("civil_affairs", None)]

    async def inbox(telegram_id: int) -> str:
        return "\n".join(m.text or "" for m in await bench.say(
            bench.user(telegram_id, "员工"), "/inbox"))

    # The supervision group sees every case but the one about its own leadership.
    listed = await inbox(SUPERVISION)
    assert about_county in listed and plain in listed and about_discipline not in listed
    # The county's head handles the one about the discipline commission, but the one about
    # the county's own leadership (at the discipline commission, below it) is not listed.
    listed = await inbox(COUNTY_HEAD)
    assert about_discipline in listed and plain in listed and about_county not in listed
    # Nor does the daily overdue digest to the supervision group name it.
    bench.clock.set(START + timedelta(days=10))
    await bench.run_job(DIGEST)
    [digest] = [m.text or "" for m in bench.emu.sent(SUPERVISION)
                if (m.text or "").startswith("📋")]
    assert "今日超期事项：2 件" in digest
    assert about_county in digest and plain in digest and about_discipline not in digest
