"""Cases from other channels: a clerk files them, the resident binds and follows them."""

from __future__ import annotations

import re

import pytest

from bot.config import Config
from bot.emulator.core import EmuUser, SentMessage
from storage.sql import Conn
from tests.conftest import Bench
from tests.handlers.flows import CATEGORY, TEXT
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, CLERK, staffed

NAMES = {CIVIL_OFFICIAL: "赵承办", CIVIL_HEAD: "钱局长"}


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture(autouse=True)
def officials_have_started_the_bot(bench: Bench) -> None:
    """Officials have opened a private chat with the bot (Telegram requires it)."""
    for telegram_id, name in NAMES.items():
        bench.user(telegram_id, name)


def card_of(bench: Bench, chat_id: int) -> SentMessage:
    """The newest case card in a chat."""
    for message in reversed(bench.emu.sent(chat_id)):
        if (message.text or "").startswith("📨"):
            return message
    raise AssertionError(f"no card in chat {chat_id}")


def text_of(messages: list[SentMessage]) -> str:
    """The text of the newest message in a reply."""
    assert messages, "the bot sent nothing"
    return messages[-1].text or ""


def newest(bench: Bench, user: EmuUser) -> SentMessage:
    """The newest message to a user."""
    message = bench.emu.last(user.id)
    assert message is not None, "the bot sent nothing"
    return message


def bind_code(messages: list[SentMessage]) -> str:
    """The one-time code on a receipt."""
    for message in messages:
        found = re.search(r"\?start=(bind_[\w-]+)", message.text or "")
        if found:
            return found.group(1)
    raise AssertionError(f"no bind link in {[m.text for m in messages]}")


async def to_contact_step(bench: Bench, clerk: EmuUser, channel: str, kind: str) -> None:
    """From /intake to the prompt for the resident's contact."""
    await bench.say(clerk, "/intake")
    await bench.tap(clerk, f"ck:ch:{channel}")
    await bench.tap(clerk, f"ck:kind:{kind}")
    await bench.tap(clerk, f"ck:cat:{CATEGORY}")
    await bench.say(clerk, TEXT)


async def file_anonymous(bench: Bench, clerk: EmuUser, channel: str = "phone"
                         ) -> list[SentMessage]:
    """A whole suggestion without contact; returns the receipt."""
    await to_contact_step(bench, clerk, channel, "suggestion")
    await bench.tap(clerk, "ck:contact:skip")
    return await bench.tap(clerk, "ck:confirm")


async def file_named_report(bench: Bench, clerk: EmuUser) -> list[SentMessage]:
    """A whole named report from a visit; returns the receipt."""
    await to_contact_step(bench, clerk, "visit", "report")
    await bench.say(clerk, "王秀兰 138 0013 8000")
    await bench.tap(clerk, "ck:head:no")
    return await bench.tap(clerk, "ck:confirm")


async def person_id(bench: Bench, telegram_id: int) -> int:
    [(found,)] = await bench.rows("SELECT id FROM people WHERE telegram_id = ?", telegram_id)
    return int(found)


async def speaks_english(bench: Bench, user: EmuUser) -> None:
    """The resident chooses English, so messages others cause are in English too."""
    await bench.say(user, "/language")
    await bench.tap(user, "lang:en")


async def test_a_clerk_files_a_phone_line_suggestion_without_contact(bench: Bench) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    await to_contact_step(bench, clerk, "phone", "suggestion")
    summary = await bench.tap(clerk, "ck:contact:skip")
    assert "Channel: supervision phone line" in text_of(summary)
    assert "Resident: anonymous (no contact given)" in text_of(summary)
    receipt = await bench.tap(clerk, "ck:confirm")
    number = bench.number_in(receipt)
    text = text_of(receipt)
    code = bind_code(receipt)
    assert f"https://t.me/sunbox_bot?start={code}" in text
    assert f"/start {code}" in text and f"/status {number}" in text
    assert "County Civil Affairs Bureau" in text
    assert await bench.rows(
        "SELECT channel, anonymous, reporter_person_id, delivery_chat_id, reporter_name, "
        "reporter_phone, bind_code FROM cases") == [
        ("phone", 1, None, None, None, None, code)]
    assert await bench.rows("SELECT type, actor_person_id, actor_role FROM case_events") == [
        ("filed", await person_id(bench, CLERK), "clerk")]
    for member in (CIVIL_OFFICIAL, CIVIL_HEAD):
        card = card_of(bench, member).text or ""
        assert number in card and "渠道：监督电话" in card and "举报人：匿名" in card
        assert TEXT in card
    assert [d for row in card_of(bench, CIVIL_OFFICIAL).buttons() for _, d in row] == [
        "case:1:accept", "case:1:transfer", "case:1:extend"]
    assert not any(number in t for t in bench.texts(clerk)[:-1]), "no card to the clerk"


async def test_a_named_report_from_a_visit_needs_name_and_phone(bench: Bench) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    await to_contact_step(bench, clerk, "visit", "report")
    prompt = bench.last_text(clerk)
    assert "needs the resident's real name and phone number" in prompt
    assert "ck:contact:skip" not in [d for row in newest(bench, clerk).buttons()
                                     for _, d in row]
    reply = await bench.say(clerk, "Wang Xiulan")
    assert "needs the resident's phone number too" in text_of(reply)
    reply = await bench.say(clerk, "13800138000")
    assert "needs the resident's name too" in text_of(reply)
    reply = await bench.say(clerk, "Wang Xiulan 12345")
    assert "7 to 15 digits" in text_of(reply)
    reply = await bench.say(clerk, "Wang Xiulan 13800138000 13900139000")
    assert "one phone number only" in text_of(reply)
    await bench.press_data(clerk, newest(bench, clerk), "ck:contact:skip")
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    await bench.send(clerk, "send_photo")
    assert "as a text message" in bench.last_text(clerk)
    assert await bench.rows("SELECT COUNT(*) FROM cases") == [(0,)]
    concerns = await bench.say(clerk, "王秀兰，电话 138 0013 8000")
    assert "concern the head or the leadership of County Civil Affairs Bureau" in (
        text_of(concerns))
    summary = await bench.tap(clerk, "ck:head:no")
    assert "Resident: 王秀兰, phone 13800138000" in text_of(summary)
    assert "Channel: visit" in text_of(summary)
    number = bench.number_in(await bench.tap(clerk, "ck:confirm"))
    assert await bench.rows(
        "SELECT kind, channel, anonymous, reporter_person_id, reporter_name, reporter_phone, "
        "unit_id FROM cases") == [
        ("report", "visit", 0, None, "王秀兰", "13800138000", "civil_affairs")]
    card = card_of(bench, CIVIL_OFFICIAL).text or ""
    assert number in card and "渠道：来访" in card
    assert "举报人：王秀兰，电话 13800138000" in card


async def test_a_report_on_the_units_leadership_goes_to_the_supervision_group(
    bench: Bench,
) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    await to_contact_step(bench, clerk, "box", "report")
    await bench.say(clerk, "Wang Xiulan +86 138 0013 8000")
    summary = await bench.tap(clerk, "ck:head:yes")
    assert "goes to the supervision group" in text_of(summary)
    await bench.tap(clerk, "ck:confirm")
    [(unit, concerns, phone)] = await bench.rows(
        "SELECT unit_id, concerns_unit_id, reporter_phone FROM cases")
    assert (unit, concerns, phone) == ("discipline", "civil_affairs", "+8613800138000")
    assert all(not (m.text or "").startswith("📨") for m in bench.emu.sent(CIVIL_OFFICIAL))


async def test_only_a_clerk_may_enter_cases(bench: Bench) -> None:
    resident = bench.user(4001, "Resident", language="en")
    official = bench.user(CIVIL_OFFICIAL, "Zhao", language="en")
    for user in (resident, official):
        reply = await bench.say(user, "/intake")
        assert text_of(reply).startswith("Only a mailbox clerk can enter cases")
        assert not reply[-1].buttons()
    await bench.press_data(resident, newest(bench, resident), "ck:ch:phone")
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    await bench.press_data(resident, newest(bench, resident), "ck:confirm")
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    assert await bench.rows("SELECT COUNT(*) FROM cases") == [(0,)]


async def test_forged_buttons_wrong_input_and_cancel_change_nothing(bench: Bench) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    await bench.say(clerk, "/intake")
    await bench.press_data(clerk, newest(bench, clerk), "ck:ch:fax")
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    reply = await bench.say(clerk, "phone")
    assert "choose with the buttons" in text_of(reply)
    await bench.tap(clerk, "ck:ch:box")
    await bench.press_data(clerk, newest(bench, clerk), "ck:kind:complaint")
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    await bench.tap(clerk, "ck:kind:suggestion")
    await bench.press_data(clerk, newest(bench, clerk), "ck:cat:nowhere")
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    await bench.tap(clerk, f"ck:cat:{CATEGORY}")
    reply = await bench.say(clerk, "abc")
    assert "too short" in text_of(reply)
    reply = await bench.say(clerk, "x" * (bench.config.limits.text_max_chars + 1))
    assert "too long" in text_of(reply)
    await bench.say(clerk, TEXT)
    reply = await bench.say(clerk, "Wang 3")
    assert "phone number does not look right" in text_of(reply)
    reply = await bench.say(clerk, "W 13800138000")
    assert "2 to 40 characters" in text_of(reply)
    reply = await bench.say(clerk, "13800138000")
    assert "add the resident's name" in text_of(reply)
    summary = await bench.say(clerk, "Wang Xiulan")
    assert "Resident: Wang Xiulan\n" in text_of(summary)
    reply = await bench.say(clerk, "/cancel")
    assert text_of(reply) == "Cancelled. Nothing was stored."
    await bench.press_data(clerk, summary[-1], "ck:confirm")
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    assert await bench.rows("SELECT COUNT(*) FROM cases") == [(0,)]
    assert await bench.rows("SELECT COUNT(*) FROM outbox") == [(0,)]
    assert bench.app is not None and "intake" not in bench.app.user_data[CLERK]


async def test_a_double_confirm_files_once(bench: Bench) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    await to_contact_step(bench, clerk, "meeting", "suggestion")
    await bench.tap(clerk, "ck:contact:skip")
    summary = bench.find_data_message(clerk, "ck:confirm")
    bench.emu.press(clerk, summary, "ck:confirm")
    bench.emu.press(clerk, summary, "ck:confirm")
    await bench.deliver()
    assert await bench.rows("SELECT channel FROM cases") == [("meeting",)]
    assert bench.emu.callback_answers[-1][1] == "This button is no longer valid."
    assert len([t for t in bench.texts(clerk) if t.startswith("✅ Filed as")]) == 1


async def test_a_clerk_who_lost_the_role_files_nothing(bench: Bench) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    await to_contact_step(bench, clerk, "phone", "suggestion")
    await bench.tap(clerk, "ck:contact:skip")

    def work(conn: Conn) -> None:
        conn.execute("UPDATE memberships SET revoked_at = '2026-11-25T02:00:00+00:00' "
                     "WHERE role = 'clerk'")
    await bench.runtime.db.write(work)
    await bench.tap(clerk, "ck:confirm")
    assert bench.emu.callback_answers[-1][1] == (
        "You no longer hold the mailbox clerk role; nothing was stored.")
    assert await bench.rows("SELECT COUNT(*) FROM cases") == [(0,)]


async def test_the_bind_link_works_once_and_the_resident_then_hears_back(
    bench: Bench,
) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    receipt = await file_anonymous(bench, clerk, "box")
    number, code = bench.number_in(receipt), bind_code(receipt)
    resident = bench.user(4002, "Resident", language="en")
    await speaks_english(bench, resident)
    reply = await bench.say(resident, f"/start {code}")
    assert text_of(reply).startswith(f"✅ Case {number} is now linked to this chat.")
    assert "stays anonymous" in text_of(reply)
    # The chat is sealed, and the case is on the resident's sealed list
    # (tests/services/test_seal.py).
    assert await bench.rows(
        "SELECT anonymous, reporter_person_id, delivery_chat_id, bind_code FROM cases") == [
        (1, None, None, None)]
    [(sealed,)] = await bench.rows("SELECT delivery_sealed FROM cases")
    assert bench.runtime.sealer.unseal_chat(sealed) == resident.id
    assert await bench.rows(
        "SELECT type, actor_person_id, actor_role FROM case_events ORDER BY id") == [
        ("filed", await person_id(bench, CLERK), "clerk"), ("bound", None, "reporter")]

    other = bench.user(4003, "Someone else", language="en")
    for user in (other, resident):
        reply = await bench.say(user, f"/start {code}")
        assert text_of(reply).startswith("This link is unknown or has already been used")
    reply = await bench.say(other, "/start bind_made-up")
    assert text_of(reply).startswith("This link is unknown or has already been used")
    [(after,)] = await bench.rows("SELECT delivery_sealed FROM cases")
    assert after == sealed

    listing = await bench.say(resident, "/my")
    assert number in text_of(listing)
    assert await bench.rows("SELECT COUNT(*) FROM case_events WHERE type = 'bound'") == [(1,)]

    official = bench.user(CIVIL_OFFICIAL, NAMES[CIVIL_OFFICIAL])
    await bench.tap(official, "case:1:accept")
    heard = bench.last_text(resident)
    assert number in heard and "has been accepted by County Civil Affairs Bureau" in heard


async def test_binding_a_named_report_links_the_person(bench: Bench) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    receipt = await file_named_report(bench, clerk)
    number, code = bench.number_in(receipt), bind_code(receipt)
    resident = bench.user(4004, "Wang Xiulan", language="en")
    reply = await bench.say(resident, f"/start {code}")
    assert text_of(reply).startswith(
        f"✅ Case {number} is now linked to your Telegram account.")
    me = await person_id(bench, resident.id)
    assert await bench.rows(
        "SELECT anonymous, reporter_person_id, delivery_chat_id, bind_code FROM cases") == [
        (0, me, resident.id, None)]
    assert (await bench.rows(
        "SELECT type, actor_person_id, actor_role FROM case_events ORDER BY id"))[-1] == (
        "bound", me, "reporter")
    assert number in text_of(await bench.say(resident, "/my"))


async def test_status_shows_the_state_and_nothing_of_the_content(bench: Bench) -> None:
    clerk = bench.user(CLERK, "Clerk", language="en")
    number = bench.number_in(await file_named_report(bench, clerk))
    stranger = bench.user(4005, "Stranger", language="en")
    reply = text_of(await bench.say(stranger, f"/status {number.lower()}"))
    assert reply.startswith(f"Case {number}\n")
    assert "Kind: Named report" in reply and "Unit: County Civil Affairs Bureau" in reply
    assert "State: new, waiting to be accepted" in reply
    assert "Acceptance due: 2026-11-26 23:59" in reply and "Answer due:" in reply
    for secret in (TEXT, "王秀兰", "13800138000", "visit", "bind_"):
        assert secret not in reply
    official = bench.user(CIVIL_OFFICIAL, NAMES[CIVIL_OFFICIAL])
    await bench.tap(official, "case:1:accept")
    reply = text_of(await bench.say(stranger, f"/status {number}"))
    assert "State: accepted" in reply
    for missing in ("R-2026-99999", "S-2026-00001", "S-2026-1", "x';--"):
        reply = text_of(await bench.say(stranger, f"/status {missing}"))
        assert reply == "No case with that number was found."
    reply = text_of(await bench.say(stranger, "/status"))
    assert reply.startswith("Send /status followed by a case number")
