"""A resident files suggestions and named reports, end to end through the Bot API."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from bot.config import Config, MemberConfig
from tests.conftest import SHANGHAI, Bench, short
from tests.handlers.flows import CATEGORY, TEXT, file_report, file_suggestion, to_text_step
from tests.handlers.staff import staffed


@pytest.fixture
def config(config: Config) -> Config:
    """Staff at civil affairs and at 北淇村, so that cases stay at the unit they are filed
    for (a unit without staff passes them up: tests/handlers/test_routing_up.py)."""
    config = staffed(config)
    return dataclasses.replace(config, members=config.members + (
        MemberConfig(1301, "official", "lianggezhuang_beiqi"),))


async def test_start_greets_in_chinese_by_default_with_a_menu(bench: Bench) -> None:
    resident = bench.user(2001, "王秀兰")
    [welcome] = await bench.say(resident, "/start")
    assert "阳光信箱" in (welcome.text or "")
    datas = [d for row in welcome.buttons() for _, d in row]
    assert datas == ["new:start:suggestion", "new:start:report", "my:page:0", "menu:help",
                     "menu:language"]


async def test_english_telegram_users_are_answered_in_english(bench: Bench) -> None:
    visitor = bench.user(2002, "Anna", language="en")
    [welcome] = await bench.say(visitor, "/start")
    assert (welcome.text or "").startswith("Welcome to Sunbox")
    [help_message] = await bench.say(visitor, "/help")
    assert "/new" in (help_message.text or "") and "anonymous" in (help_message.text or "")


async def test_language_choice_is_remembered_over_telegrams_code(bench: Bench) -> None:
    resident = bench.user(2003, "王秀兰")
    await bench.say(resident, "/language")
    await bench.tap(resident, "lang:en")
    assert bench.emu.sent(resident.id)[-1].text == "Language set: English."
    await bench.restart()
    [welcome] = await bench.say(resident, "/start")
    assert (welcome.text or "").startswith("Welcome to Sunbox")
    await bench.say(resident, "/language")
    await bench.tap(resident, "lang:zh_CN")
    assert bench.emu.sent(resident.id)[-1].text == "语言已设置为中文。"


async def test_anonymous_suggestion_with_photo_is_stored_without_a_link_to_the_person(
    bench: Bench,
) -> None:
    resident = bench.user(2010, "王秀兰")
    number = await file_suggestion(bench, resident, "anonymous")
    assert short(number) == "S-2026-00001"
    # The receipt, then the photo as it goes on (scrubbed, renamed: tests/handlers/
    # test_anonymous_attachments.py).
    receipt = next(text for text in reversed(bench.texts(resident)) if text.startswith("✅"))
    # Filed Wednesday 2026-11-25 10:00: accept by the end of the next working day; the
    # example configuration gives low-income support suggestions 10 working days to answer.
    assert "2026-11-26 23:59" in receipt and "2026-12-09 23:59" in receipt
    [row] = await bench.rows(
        "SELECT kind, category_id, unit_id, state, anonymous, reporter_person_id, "
        "delivery_chat_id, reporter_name, reporter_phone, text, accept_due, answer_due "
        "FROM cases")
    # The delivery chat is sealed (tests/services/test_seal.py): no column holds it in plain text.
    assert row[:10] == ("suggestion", CATEGORY, "civil_affairs", "new", 1, None, None,
                        None, None, TEXT)
    [(sealed,)] = await bench.rows("SELECT delivery_sealed FROM cases")
    assert bench.runtime.sealer.unseal_chat(sealed) == resident.id
    assert datetime.fromisoformat(row[10]) == datetime(2026, 11, 26, 23, 59, 59, tzinfo=SHANGHAI)
    assert datetime.fromisoformat(row[11]) == datetime(2026, 12, 9, 23, 59, 59, tzinfo=SHANGHAI)
    assert await bench.rows("SELECT kind FROM attachments") == [("photo",)]
    events = await bench.rows("SELECT type, actor_person_id, actor_role FROM case_events")
    assert events == [("filed", None, "reporter")]


async def test_no_feedback_suggestion_keeps_no_link_at_all(bench: Bench) -> None:
    resident = bench.user(2011, "王秀兰")
    number = await file_suggestion(bench, resident, "no_feedback", photo=False)
    assert "记好编号" in bench.last_text(resident)
    assert await bench.rows(
        "SELECT reporter_person_id, delivery_chat_id, delivery_sealed FROM cases") == [
        (None, None, None)]
    assert await bench.rows("SELECT sealed_cases FROM people WHERE sealed_cases IS NOT NULL") == []
    [listing] = await bench.say(resident, "/my")
    assert number not in (listing.text or "")


async def test_signed_suggestion_carries_the_name(bench: Bench) -> None:
    resident = bench.user(2012, "王秀兰")
    await file_suggestion(bench, resident, "signed", photo=False)
    [(person_id, name)] = await bench.rows("SELECT reporter_person_id, reporter_name FROM cases")
    assert person_id is not None and name == "王秀兰"


async def test_named_report_with_own_contact(bench: Bench) -> None:
    reporter = bench.user(2020, "李建国")
    number = await file_report(bench, reporter)
    assert short(number) == "R-2026-00001"
    [row] = await bench.rows("SELECT kind, anonymous, reporter_name, reporter_phone FROM cases")
    assert row == ("report", 0, "李建国", "+8613800138000")


async def test_named_report_refuses_someone_elses_contact_and_typed_numbers(bench: Bench) -> None:
    reporter = bench.user(2021, "李建国")
    await to_text_step(bench, reporter, "report")
    await bench.say(reporter, "村里修路资金的账目一直没有公开。")
    await bench.tap(reporter, "new:att:done")
    [refused] = await bench.say(reporter, "12")
    assert "真实姓名" in (refused.text or "")
    [refused] = await bench.send(reporter, "send_sticker")
    assert "姓名" in (refused.text or "")
    await bench.say(reporter, "李建国")
    [refused] = await bench.send(reporter, "send_contact", "+8613900000000",
                                 contact_user_id=999)
    assert "不是您本人" in (refused.text or "")
    [again] = await bench.say(reporter, "13900000000")
    assert again.reply_keyboard() is not None, "the contact button is offered again"
    assert await bench.rows("SELECT * FROM cases") == []
    await bench.send(reporter, "send_contact", "+8613800138000")
    await bench.tap(reporter, "new:head:no")
    await bench.tap(reporter, "new:confirm")
    assert await bench.rows("SELECT reporter_phone FROM cases") == [("+8613800138000",)]


async def test_unit_chosen_from_the_tree(bench: Bench) -> None:
    resident = bench.user(2030, "王秀兰")
    await bench.say(resident, "/new")
    await bench.tap(resident, "new:kind:suggestion")
    await bench.tap(resident, "new:cat:finance")
    await bench.tap(resident, "new:tree::0")
    await bench.tap(resident, "new:tree:county:0")
    await bench.tap(resident, "new:tree:county:1")  # seven departments and towns: two pages
    await bench.tap(resident, "new:tree:lianggezhuang_town:0")
    tree = bench.find_data_message(resident, "new:pick:lianggezhuang_beiqi")
    assert any(d == "new:tree:county:0" for row in tree.buttons() for _, d in row), "an Up"
    replies = await bench.tap(resident, "new:pick:lianggezhuang_beiqi")
    assert "北淇村" in (replies[0].text or "")
    await bench.say(resident, TEXT)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    await bench.tap(resident, "new:confirm")
    assert await bench.rows("SELECT category_id, unit_id FROM cases") == [
        ("finance", "lianggezhuang_beiqi")]


async def test_forged_buttons_change_nothing(bench: Bench) -> None:
    resident = bench.user(2031, "王秀兰")
    await bench.say(resident, "/new")
    await bench.tap(resident, "new:kind:suggestion")
    prompt = bench.find_data_message(resident, "new:cat:finance")
    await bench.press_data(resident, prompt, "new:cat:no_such_area")
    assert bench.emu.callback_answers[-1][1] == "此按钮已失效。"
    await bench.press_data(resident, prompt, "new:confirm")
    assert bench.emu.callback_answers[-1][1] == "此按钮已失效。"
    await bench.tap(resident, "new:cat:finance")
    await bench.press_data(resident, bench.find_data_message(resident, "new:unit:ok"),
                           "new:pick:nowhere")
    assert bench.emu.callback_answers[-1][1] == "此按钮已失效。"
    await bench.press_data(resident, prompt, "totally:forged:data")
    assert bench.emu.callback_answers[-1][1] == "此按钮已失效。"
    # The conversation is still at the unit step.
    await bench.tap(resident, "new:unit:ok")
    assert "请用一条消息说明情况" in bench.last_text(resident)
    assert await bench.rows("SELECT * FROM cases") == []


async def test_text_limits_and_wrong_input_keep_the_step(bench: Bench) -> None:
    resident = bench.user(2032, "王秀兰")
    await to_text_step(bench, resident)
    [short] = await bench.say(resident, "灯")
    assert "内容过短" in (short.text or "")
    limit = bench.config.limits.text_max_chars
    [long] = await bench.say(resident, "长" * (limit + 1))
    assert f"{limit + 1} 字" in (long.text or "") and f"{limit} 字" in (long.text or "")
    [sticker] = await bench.send(resident, "send_sticker")
    assert "请先用文字说明情况" in (sticker.text or "")
    [voice] = await bench.send(resident, "send_voice")
    assert "请先用文字说明情况" in (voice.text or "")
    [next_step] = await bench.say(resident, TEXT)
    assert "照片或文件" in (next_step.text or "")


async def test_attachments_are_limited_and_other_things_refused(bench: Bench) -> None:
    resident = bench.user(2033, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, TEXT)
    limit = bench.config.limits.max_attachments
    for i in range(limit):
        [ack] = await bench.send(resident, "send_photo")
        assert f"（{i + 1}/{limit}）" in (ack.text or "")
    [refused] = await bench.send(resident, "send_document", "extra.pdf", b"%PDF-1.4")
    assert "已达上限" in (refused.text or "")
    [hint] = await bench.send(resident, "send_sticker")
    assert "请发送照片、文件或位置" in (hint.text or "")
    [located] = await bench.send(resident, "send_location", 39.35, 115.5)
    assert "已添加位置" in (located.text or "")
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    await bench.tap(resident, "new:confirm")
    assert await bench.rows("SELECT COUNT(*) FROM attachments") == [(limit,)]
    assert await bench.rows("SELECT latitude, longitude FROM cases") == [(39.35, 115.5)]


async def test_edit_from_the_summary_returns_to_it(bench: Bench) -> None:
    resident = bench.user(2034, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, "第一次写的内容不够清楚。")
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    await bench.tap(resident, "new:edit")
    await bench.tap(resident, "new:edit:text")
    [summary] = await bench.say(resident, "北关村的路灯坏了两个月，晚上出行很不安全。")
    assert "请核对您的事项" in (summary.text or "")
    assert "北关村的路灯" in (summary.text or "")
    await bench.tap(resident, "new:edit")
    await bench.tap(resident, "new:edit:identity")
    [summary] = await bench.tap(resident, "new:id:signed")
    assert "署名" in (summary.text or "")
    await bench.tap(resident, "new:confirm")
    assert await bench.rows("SELECT text, anonymous FROM cases") == [
        ("北关村的路灯坏了两个月，晚上出行很不安全。", 0)]


async def test_cancel_stores_nothing(bench: Bench) -> None:
    resident = bench.user(2035, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, TEXT)
    [bye] = await bench.say(resident, "/cancel")
    assert bye.text == "已取消，未保存任何内容。"
    [after] = await bench.say(resident, "还在吗")
    assert "没有理解" in (after.text or ""), "the conversation is over"
    assert await bench.rows("SELECT * FROM cases") == []


async def test_confirming_twice_or_a_redelivered_update_files_once(bench: Bench) -> None:
    resident = bench.user(2036, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, TEXT)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    summary = bench.find_data_message(resident, "new:confirm")
    press = bench.emu.press(resident, summary, "new:confirm")
    await bench.deliver()
    bench.emu.duplicate(press)
    await bench.deliver()
    await bench.press_data(resident, summary, "new:confirm")  # a stale second press
    assert bench.emu.callback_answers[-1][1] == "此按钮已失效。"
    [(number,)] = await bench.rows("SELECT number FROM cases")
    assert short(number) == "S-2026-00001"
    receipts = [t for t in bench.texts(resident) if number in t]
    assert len(receipts) == 1


async def test_a_restart_mid_conversation_continues_it(bench: Bench) -> None:
    resident = bench.user(2037, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, TEXT)
    await bench.restart()
    [ack] = await bench.send(resident, "send_photo")
    assert "（1/5）" in (ack.text or "")
    await bench.restart(crash=True)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    await bench.tap(resident, "new:confirm")
    assert await bench.rows("SELECT text FROM cases") == [(TEXT,)]
    assert await bench.rows("SELECT COUNT(*) FROM attachments") == [(1,)]


async def test_group_chats_are_sent_to_a_private_chat(bench: Bench) -> None:
    resident = bench.user(2038, "王秀兰")
    group = bench.emu.group(-100500, "村民群")
    bench.emu.send_text(resident, "/new", chat=group)
    await bench.deliver()
    assert [m.text for m in bench.emu.sent(group.id)] == ["请在私聊中与我对话。"]
    bench.emu.send_text(resident, "hello everyone", chat=group)
    await bench.deliver()
    assert len(bench.emu.sent(group.id)) == 1, "ordinary group chatter is ignored"


async def test_an_edited_message_is_not_taken_as_new_input(bench: Bench) -> None:
    resident = bench.user(2039, "王秀兰")
    await to_text_step(bench, resident)
    sent = bench.emu.send_text(resident, TEXT)
    await bench.deliver()
    before = len(bench.emu.sent(resident.id))
    bench.emu.edit_text(resident, sent, "改过的内容，不应被当作新的输入。")
    await bench.deliver()
    assert len(bench.emu.sent(resident.id)) == before
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    await bench.tap(resident, "new:confirm")
    assert await bench.rows("SELECT text FROM cases") == [(TEXT,)]


async def test_the_number_arrives_even_when_telegram_fails_right_after_filing(
    bench: Bench,
) -> None:
    """The receipt is owed in the filing's transaction, so a 5xx does not lose it."""
    from datetime import timedelta

    resident = bench.user(2040, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, TEXT)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    bench.emu.fail_next(None, 502, times=3)
    await bench.tap(resident, "new:confirm")
    for _ in range(3):  # the sender retries after its back-off
        bench.clock.advance(timedelta(minutes=1))
        await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    assert sum("S-2026-00001" in t for t in bench.texts(resident)) == 1
    assert await bench.rows("SELECT COUNT(*) FROM cases") == [(1,)]
