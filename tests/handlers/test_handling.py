"""Units at work: cards reach the unit, officials act, the reporter hears back and rates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import Config
from bot.emulator.core import EmuUser, SentMessage
from handlers.jobs import CLOSE_UNRATED
from tests.conftest import Bench
from tests.handlers.flows import file_report, file_suggestion
from tests.handlers.staff import (
    AGRI_OFFICIAL,
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    FINANCE_HEAD,
    FINANCE_OFFICIAL,
    SUPERVISION,
    staffed,
)

NAMES = {CIVIL_OFFICIAL: "赵承办", CIVIL_HEAD: "钱局长", AGRI_OFFICIAL: "郑农技",
         FINANCE_OFFICIAL: "周会计", FINANCE_HEAD: "吴局长", SUPERVISION: "孙监督"}


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture(autouse=True)
def officials_have_started_the_bot(bench: Bench) -> None:
    """Officials have opened a private chat with the bot (Telegram requires it)."""
    for telegram_id, name in NAMES.items():
        bench.user(telegram_id, name)


def card_of(bench: Bench, chat_id: int) -> SentMessage:
    """The newest case card in a chat (the message with case buttons or a case header)."""
    for message in reversed(bench.emu.sent(chat_id)):
        if (message.text or "").startswith("📨"):
            return message
    raise AssertionError(f"no card in chat {chat_id}: {[m.text for m in bench.emu.sent(chat_id)]}")


async def staff(bench: Bench, telegram_id: int, name: str) -> EmuUser:
    """An official, as the emulator knows them."""
    return bench.user(telegram_id, name)


async def test_a_new_case_reaches_every_member_of_its_unit_as_a_card(bench: Bench) -> None:
    resident = bench.user(4001, "王秀兰")
    number = await file_suggestion(bench, resident, "anonymous", photo=True)
    for member in (CIVIL_OFFICIAL, CIVIL_HEAD):
        card = card_of(bench, member)
        assert number in (card.text or "") and "村里的低保名单" in (card.text or "")
        assert "举报人：匿名" in (card.text or "")
        assert [d for row in card.buttons() for _, d in row] == [
            "case:1:accept", "case:1:transfer", "case:1:extend"]
        photos = [m for m in bench.emu.sent(member) if m.kind == "photo"]
        assert len(photos) == 1, "the photo is sent again as a copy"
    assert bench.emu.sent(AGRI_OFFICIAL) == [] and bench.emu.sent(FINANCE_OFFICIAL) == []
    assert not any(m.method.lower() in ("forwardmessage", "copymessage")
                   for m in bench.emu.all_sent())


async def test_first_accept_wins_and_every_copy_shows_it(bench: Bench) -> None:
    resident = bench.user(4002, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    head = await staff(bench, CIVIL_HEAD, "钱局长")
    official_card, head_card = card_of(bench, official.id), card_of(bench, head.id)
    # Both press before either press is handled.
    bench.emu.press(official, official_card, "case:1:accept")
    bench.emu.press(head, head_card, "case:1:accept")
    await bench.deliver()
    answers = [a[1] for a in bench.emu.callback_answers[-2:]]
    assert answers == [f"已签收 {number}。", "已有人抢先处理了此事项。"]
    assert await bench.rows("SELECT state, accepted_by IS NOT NULL FROM cases") == [
        ("accepted", 1)]
    events = await bench.rows("SELECT type FROM case_events ORDER BY id")
    assert [e for (e,) in events] == ["filed", "accepted", "refused"]
    for card in (official_card, head_card):
        text = bench.emu.message(card.chat_id, card.message_id).text or ""
        assert "由 赵承办 于 2026-11-25 10:00 签收" in text
    assert "已由 县民政局 签收" in bench.last_text(resident)


async def test_ask_the_reporter_and_relay_the_reply_without_revealing_them(
    bench: Bench,
) -> None:
    resident = bench.user(4003, "王秀兰", language="zh-hans")
    number = await file_suggestion(bench, resident, photo=False)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问是哪个村？")
    question = bench.emu.last(resident.id)
    assert question is not None and "请问是哪个村？" in (question.text or "")
    assert await bench.rows("SELECT state FROM cases") == [("info_requested",)]
    await bench.tap(resident, "rep:1:reply")
    await bench.send(resident, "send_photo", caption="北关村，照片是公示栏")
    relay = [m for m in bench.emu.sent(official.id) if "回复" in (m.text or "")][-1]
    assert "北关村，照片是公示栏" in (relay.text or "") and number in (relay.text or "")
    assert [m.kind for m in bench.emu.sent(official.id)].count("photo") == 1
    assert await bench.rows("SELECT state FROM cases") == [("accepted",)]


async def _to_preview(bench: Bench, official: EmuUser, case_id: int, outcome: str, text: str
                      ) -> None:
    """An official writes an answer up to its preview (Send not pressed yet)."""
    await bench.tap(official, f"case:{case_id}:answer")
    await bench.tap(official, f"ans:out:{outcome}")
    await bench.say(official, text)
    await bench.tap(official, "ans:files:done")


async def _answer(bench: Bench, official: EmuUser, case_id: int, outcome: str, text: str
                  ) -> None:
    await _to_preview(bench, official, case_id, outcome, text)
    await bench.tap(official, "ans:send")


async def test_answer_rate_reopen_escalate_and_close(bench: Bench) -> None:
    resident = bench.user(4004, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await _answer(bench, official, 1, "partly_resolved", "已督促村委会本周内张榜公示。")
    answer = bench.emu.last(resident.id)
    assert answer is not None and "已督促村委会本周内张榜公示。" in (answer.text or "")
    assert "部分解决" in (answer.text or "")
    # Not satisfied: the case reopens at the same unit, with the comment.
    await bench.tap(resident, "rate:1:unsatisfied")
    assert await bench.rows("SELECT state, unit_id, reopened FROM cases") == [
        ("reopened", "civil_affairs", 1)]
    await bench.say(resident, "到现在还没有公示。")
    assert any("到现在还没有公示。" in (m.text or "") for m in bench.emu.sent(official.id))
    # A second answer, not satisfied again: the supervision group gets the case.
    await _answer(bench, official, 1, "resolved", "名单已于今日公示。")
    await bench.tap(resident, "rate:2:unsatisfied")
    assert await bench.rows("SELECT state, unit_id FROM cases") == [
        ("reopened", "discipline")]
    supervisor = await staff(bench, SUPERVISION, "孙监督")
    assert "两次不满意" in (card_of(bench, supervisor.id).text or "")
    await _answer(bench, supervisor, 1, "resolved", "经核查，名单已公示，已约谈村干部。")
    await bench.tap(resident, "rate:3:satisfied")
    await bench.tap(resident, "ratec:skip")
    assert await bench.rows("SELECT state FROM cases") == [("closed",)]
    ratings = await bench.rows("SELECT rating FROM answers ORDER BY id")
    assert ratings == [("unsatisfied",), ("unsatisfied",), ("satisfied",)]


async def test_not_our_responsibility_is_never_counted_as_resolved(bench: Bench) -> None:
    resident = bench.user(4005, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:answer")
    await bench.tap(official, "ans:out:not_ours")
    await bench.say(official, "县医保局，电话 0312-8888888")
    await bench.say(official, "此事由医保局负责。")
    await bench.tap(official, "ans:files:done")
    await bench.tap(official, "ans:send")
    text = bench.last_text(resident)
    assert "不属于本单位职责" in text and "县医保局" in text
    assert await bench.rows("SELECT outcome, redirect FROM answers") == [
        ("not_ours", "县医保局，电话 0312-8888888")]


async def test_head_sign_off_return_and_approve(bench: Bench) -> None:
    resident = bench.user(4006, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    # Send it to finance, whose answers need the head's sign-off.
    civil = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    await bench.tap(civil, "case:1:transfer")
    await bench.tap(civil, "trf:tree:county:0")
    await bench.tap(civil, "trf:pick:finance")
    await bench.say(civil, "涉及资金发放，由财政局答复。")
    official = await staff(bench, FINANCE_OFFICIAL, "周会计")
    head = await staff(bench, FINANCE_HEAD, "吴局长")
    await bench.tap(official, "case:1:accept")
    await _answer(bench, official, 1, "resolved", "资金已到账。")
    assert "rate:" not in str(bench.emu.last(resident.id).buttons())  # type: ignore[union-attr]
    request = bench.find_data_message(head, "sign:1:ok")
    assert "资金已到账。" in (request.text or "")
    await bench.tap(head, "sign:1:back")
    await bench.say(head, "请写明到账日期。")
    assert "请写明到账日期。" in bench.last_text(official)
    await _answer(bench, official, 1, "resolved", "资金已于11月20日到账。")
    await bench.tap(head, "sign:2:ok")
    assert "资金已于11月20日到账。" in bench.last_text(resident)
    statuses = await bench.rows("SELECT status FROM answers ORDER BY id")
    assert statuses == [("returned",), ("sent",)]
    # An approval pressed again changes nothing.
    await bench.press_data(head, request, "sign:1:ok")
    assert bench.emu.callback_answers[-1][1] == "已有人抢先处理了此事项。"


async def test_transfer_tells_everyone_and_the_limit_sends_it_to_supervision(
    bench: Bench,
) -> None:
    resident = bench.user(4007, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    civil = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    agri = await staff(bench, AGRI_OFFICIAL, "郑农技")
    old_card = card_of(bench, civil.id)
    await bench.tap(civil, "case:1:transfer")
    await bench.tap(civil, "trf:tree:county:0")
    await bench.tap(civil, "trf:pick:agriculture")
    await bench.say(civil, "属于惠农补贴范围。")
    assert "已转交 县农业农村局 办理" in bench.last_text(resident)
    assert "属于惠农补贴范围。" in bench.last_text(resident)
    retired = bench.emu.message(civil.id, old_card.message_id)
    assert retired.buttons() == [] and "转办" in (retired.text or "")
    assert "case:1:accept" in str(card_of(bench, agri.id).buttons())
    # Second transfer back, third one goes to the supervision group (limit 2).
    await bench.tap(agri, "case:1:transfer")
    await bench.tap(agri, "trf:tree:county:0")
    await bench.tap(agri, "trf:pick:civil_affairs")
    await bench.say(agri, "还是民政的事。")
    await bench.tap(civil, "case:1:transfer")
    await bench.tap(civil, "trf:tree:county:0")
    await bench.tap(civil, "trf:pick:agriculture")
    await bench.say(civil, "再转一次。")
    assert await bench.rows("SELECT unit_id, transfers FROM cases") == [("discipline", 3)]
    assert "监督小组" in bench.last_text(civil)
    events = [e for (e,) in await bench.rows("SELECT type FROM case_events ORDER BY id")]
    assert events == ["filed", "transferred", "transferred", "escalated"]


async def test_report_about_a_units_leadership_never_reaches_that_unit(bench: Bench) -> None:
    reporter = bench.user(4008, "李建国")
    await file_report(bench, reporter, concerns_head=True)
    assert await bench.rows("SELECT unit_id, concerns_unit_id FROM cases") == [
        ("discipline", "civil_affairs")]
    assert bench.emu.sent(CIVIL_OFFICIAL) == [] and bench.emu.sent(CIVIL_HEAD) == []
    card = card_of(bench, SUPERVISION)
    assert "李建国" in (card.text or "") and "+8613800138000" in (card.text or "")


async def test_named_report_cards_show_identity_to_the_unit(bench: Bench) -> None:
    reporter = bench.user(4009, "李建国")
    await file_report(bench, reporter)
    card = card_of(bench, CIVIL_OFFICIAL)
    assert "举报人：李建国，电话 +8613800138000" in (card.text or "")


async def test_nothing_sent_to_officials_identifies_an_anonymous_reporter(bench: Bench) -> None:
    resident = bench.emu.user(4010, "欧阳娜娜", last_name="Ouyang", username="nana_oy",
                              language_code="zh-hans")
    await file_suggestion(bench, resident, "anonymous", photo=True)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请补充地点。")
    await bench.tap(resident, "rep:1:reply")
    await bench.say(resident, "在村委会门口。")
    await _answer(bench, official, 1, "resolved", "已处理。")
    await bench.tap(resident, "rate:1:unsatisfied")
    await bench.say(resident, "并没有处理。")
    staff_chats = {m.chat_id for m in bench.emu.all_sent()} - {resident.id}
    for chat_id in staff_chats:
        for message in bench.emu.sent(chat_id):
            blob = f"{message.text} {message.reply_markup} {message.raw}"
            for secret in ("欧阳", "Ouyang", "nana_oy", str(resident.id)):
                assert secret not in blob, (chat_id, message.text)
    [(person_link, actors)] = await bench.rows(
        "SELECT reporter_person_id, (SELECT COUNT(*) FROM case_events "
        "WHERE actor_role = 'reporter' AND actor_person_id IS NOT NULL) FROM cases")
    assert person_link is None and actors == 0


async def test_unrated_answers_close_after_the_configured_days(bench: Bench) -> None:
    resident = bench.user(4011, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await _answer(bench, official, 1, "resolved", "已处理。")
    bench.clock.advance(timedelta(days=6))
    await bench.run_job(CLOSE_UNRATED)
    assert await bench.rows("SELECT state FROM cases") == [("answered",)]
    bench.clock.advance(timedelta(days=1, minutes=1))
    await bench.run_job(CLOSE_UNRATED)
    assert await bench.rows("SELECT state FROM cases") == [("closed",)]
    await bench.run_job(CLOSE_UNRATED)
    closes = await bench.rows("SELECT COUNT(*) FROM case_events WHERE type = 'closed'")
    assert closes == [(1,)]
    await bench.tap(resident, "rate:1:satisfied")
    assert bench.emu.callback_answers[-1][1] == "事项已有新进展，此操作已不可用。"


async def test_the_official_is_told_the_answer_went_even_after_a_5xx(bench: Bench) -> None:
    """The answer reached the reporter; the official's confirmation failed once with a 502:
    it is sent again, not replaced by "something went wrong"."""
    resident = bench.user(4010, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await _to_preview(bench, official, 1, "resolved", "已督促村委会本周内张榜公示。")
    before = len(bench.emu.sent(official.id))
    bench.emu.fail_next("sendMessage", 502)
    await bench.tap(official, "ans:send")
    told = [m.text or "" for m in bench.emu.sent(official.id)[before:]]
    assert len(told) == 1 and "S-2026-00001" in told[0], told
    assert "出了点问题" not in told[0]
    assert not bench.errors, bench.errors


async def test_an_official_pressing_accept_again_is_told_it_is_done_not_refused(
        bench: Bench) -> None:
    """A double tap, or the press replayed after a restart: no "someone was faster"."""
    resident = bench.user(4011, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    official = await staff(bench, CIVIL_OFFICIAL, "赵承办")
    card = card_of(bench, official.id)
    bench.emu.press(official, card, "case:1:accept")
    bench.emu.press(official, card, "case:1:accept")
    await bench.deliver()
    answers = [(a[1], a[2]) for a in bench.emu.callback_answers[-2:]]
    assert answers == [(f"已签收 {number}。", False)] * 2
    events = await bench.rows("SELECT type FROM case_events ORDER BY id")
    assert [e for (e,) in events] == ["filed", "accepted"]
    assert [m.text for m in bench.emu.sent(resident.id)].count(
        bench.last_text(resident)) == 1  # the reporter was told once
