"""/inbox and /case: officials see their units' open cases, those above them read along, and
nobody learns more about a reporter than their role allows."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.config import Config
from bot.emulator.core import EmuUser
from bot.emulator.models import SentMessage
from storage import cases as case_repo
from storage import directory
from storage.sql import Conn
from tests.conftest import NUMBER, Bench
from tests.handlers.flows import file_report, file_suggestion
from tests.handlers.staff import (
    ADMIN,
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    COUNTY_HEAD,
    FINANCE_OFFICIAL,
    SUPERVISION,
    staffed,
)


@pytest.fixture
def config(config: Config) -> Config:
    """The staffed county (a civil affairs official and head, a county head), two a page."""
    config = staffed(config)
    return dataclasses.replace(config, limits=dataclasses.replace(config.limits, page_size=2))


def staff(bench: Bench, telegram_id: int) -> EmuUser:
    return bench.user(telegram_id, f"Staff {telegram_id}", language="en")


async def file_in(bench: Bench, user: EmuUser, category: str, text: str) -> str:
    """An anonymous suggestion without files in a category; returns its number."""
    await bench.say(user, "/new")
    await bench.tap(user, "new:kind:suggestion")
    await bench.tap(user, f"new:cat:{category}")
    await bench.tap(user, "new:unit:ok")
    await bench.say(user, text)
    await bench.tap(user, "new:att:done")
    await bench.tap(user, "new:id:anonymous")
    return bench.number_in(await bench.tap(user, "new:confirm"))


async def case_id(bench: Bench, number: str) -> int:
    [(found,)] = await bench.rows("SELECT id FROM cases WHERE number = ?", number)
    return int(found)


def datas(message: SentMessage) -> list[str]:
    return [d or "" for row in message.buttons() for _, d in row]


def numbers_in(text: str) -> list[str]:
    return NUMBER.findall(text)


async def accept_directly(bench: Bench, number: str) -> None:
    """Mark a case accepted in the database (acceptance itself is another flow's)."""
    def work(conn: Conn) -> None:
        case = case_repo.get_case_by_number(conn, number)
        assert case is not None
        assert case_repo.mark_accepted(conn, case.id, 1, bench.clock.now())
    await bench.runtime.db.write(work)


# ------------------------------------------------------------------------------ /inbox

async def test_official_sees_own_units_cases_soonest_deadline_first(bench: Bench) -> None:
    resident = bench.user(2101, "王秀兰")
    first = await file_suggestion(bench, resident, photo=False)
    bench.clock.advance(timedelta(days=1))
    second = await file_suggestion(bench, resident, photo=False)
    finance = await file_in(bench, resident, "finance", "财政局的预算公开不完整，请补充。")
    # The first case, once accepted, is due for its answer weeks away; the second, new,
    # must be accepted tomorrow: it comes first.
    await accept_directly(bench, first)

    official = staff(bench, CIVIL_OFFICIAL)
    [listing] = await bench.say(official, "/inbox")
    text = listing.text or ""
    assert text.startswith("📥 Inbox: all open cases, page 1/1")
    assert "Open: 2 · new: 1 · accepted: 1 · overdue: 0" in text
    assert numbers_in(text) == [second, first]
    assert finance not in text
    line = next(x for x in text.splitlines() if second in x)
    assert line == (f"{second} · Suggestion · County Civil Affairs Bureau · new · "
                    "accept by 2026-11-27 23:59")
    assert "answer by 2026-12-09 23:59" in text
    assert "⚠" not in text
    assert datas(listing) == [
        f"inb:open:{await case_id(bench, second)}", f"inb:open:{await case_id(bench, first)}",
        "inb:f:all:0", "inb:f:new:0", "inb:f:accepted:0", "inb:f:overdue:0",
    ]

    other = staff(bench, FINANCE_OFFICIAL)
    [theirs] = await bench.say(other, "/inbox")
    assert numbers_in(theirs.text or "") == [finance]


async def test_parent_head_reads_childrens_cases_without_actions(bench: Bench) -> None:
    resident = bench.user(2102, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    head = staff(bench, COUNTY_HEAD)
    [listing] = await bench.say(head, "/inbox")
    assert numbers_in(listing.text or "") == [number]
    the_id = await case_id(bench, number)
    await bench.press_data(head, listing, f"inb:open:{the_id}")
    card = bench.emu.sent(head.id)[-1]
    assert card.message_id == listing.message_id, "opened in place"
    text = card.text or ""
    assert f"📨 {number} · Suggestion" in text
    assert "Read only: the case is handled by County Civil Affairs Bureau." in text
    assert not any(d.startswith("case:") for d in datas(card))
    assert datas(card) == ["inb:f:all:0"]

    official = staff(bench, CIVIL_OFFICIAL)
    [listing] = await bench.say(official, "/inbox")
    await bench.press_data(official, listing, f"inb:open:{the_id}")
    card = bench.emu.sent(official.id)[-1]
    assert "Read only" not in (card.text or "")
    assert datas(card) == [f"case:{the_id}:accept", f"case:{the_id}:transfer",
                           f"case:{the_id}:extend", "inb:f:all:0"]


async def test_supervision_sees_every_unit(bench: Bench) -> None:
    resident = bench.user(2103, "王秀兰")
    civil = await file_suggestion(bench, resident, photo=False)
    finance = await file_in(bench, resident, "finance", "财政局的预算公开不完整，请补充。")
    group = staff(bench, SUPERVISION)
    [listing] = await bench.say(group, "/inbox")
    assert sorted(numbers_in(listing.text or "")) == sorted([civil, finance])


async def test_people_without_an_inbox_are_told_so(bench: Bench) -> None:
    resident = bench.user(2104, "Anna", language="en")
    await file_suggestion(bench, resident, photo=False)
    for person in (resident, staff(bench, ADMIN)):
        [refused] = await bench.say(person, "/inbox")
        assert (refused.text or "").startswith("The inbox is for officials, unit heads")
        assert not numbers_in(refused.text or "")
    # A forged inbox button is refused the same way, and shows nothing.
    [menu] = await bench.say(resident, "/start")
    assert await bench.press_data(resident, menu, "inb:f:all:0") == []
    assert (bench.emu.callback_answers[-1][1] or "").startswith("The inbox is for officials")


async def test_filters_and_overdue(bench: Bench) -> None:
    resident = bench.user(2105, "王秀兰")
    late = await file_suggestion(bench, resident, photo=False)
    accepted = await file_suggestion(bench, resident, photo=False)
    await accept_directly(bench, accepted)
    # Past the acceptance deadline (the next working day, 23:59:59) of the new case.
    bench.clock.advance(timedelta(days=2))
    official = staff(bench, CIVIL_OFFICIAL)
    [listing] = await bench.say(official, "/inbox")
    text = listing.text or ""
    assert "Open: 2 · new: 1 · accepted: 1 · overdue: 1" in text
    assert f"{late} · Suggestion · County Civil Affairs Bureau · new · " \
           "⚠ accept by 2026-11-26 23:59: overdue" in text
    assert f"⚠ {late}" in [label for row in listing.buttons() for label, _ in row]

    await bench.press_data(official, listing, "inb:f:overdue:0")
    overdue = bench.emu.sent(official.id)[-1]
    assert overdue.message_id == listing.message_id
    assert (overdue.text or "").startswith("📥 Inbox: overdue, page 1/1")
    assert numbers_in(overdue.text or "") == [late]
    assert "✓ ⚠ Overdue (1)" in [label for row in overdue.buttons() for label, _ in row]

    await bench.press_data(official, overdue, "inb:f:accepted:0")
    assert numbers_in(bench.emu.sent(official.id)[-1].text or "") == [accepted]
    await bench.press_data(official, overdue, "inb:f:new:0")
    assert numbers_in(bench.emu.sent(official.id)[-1].text or "") == [late]

    [(the_id,)] = await bench.rows("SELECT id FROM cases WHERE number = ?", late)
    await bench.press_data(official, overdue, f"inb:open:{the_id}")
    card = bench.emu.sent(official.id)[-1]
    assert "⚠ Overdue: the deadline was 2026-11-26 23:59." in (card.text or "")
    assert datas(card)[-1] == "inb:f:new:0", "back to the list it was opened from"


async def test_paging_in_place(bench: Bench) -> None:
    resident = bench.user(2106, "王秀兰")
    numbers = []
    for _ in range(3):
        numbers.append(await file_suggestion(bench, resident, photo=False))
        bench.clock.advance(timedelta(days=1))
    official = staff(bench, CIVIL_OFFICIAL)
    [page_one] = await bench.say(official, "/inbox")
    assert "page 1/2" in (page_one.text or "")
    assert numbers_in(page_one.text or "") == numbers[:2]
    assert "inb:f:all:1" in datas(page_one)
    await bench.press_data(official, page_one, "inb:f:all:1")
    page_two = bench.emu.sent(official.id)[-1]
    assert page_two.message_id == page_one.message_id
    assert "page 2/2" in (page_two.text or "")
    assert numbers_in(page_two.text or "") == numbers[2:]
    assert "inb:f:all:0" in datas(page_two) and "inb:f:all:2" not in datas(page_two)
    # A page past the end (cases closed meanwhile, or forged) shows the last one.
    await bench.press_data(official, page_two, "inb:f:all:99")
    assert numbers_in(bench.emu.sent(official.id)[-1].text or "") == numbers[2:]
    assert not bench.errors


# ------------------------------------------------------------------------------ /case

async def test_case_for_its_reporter_shows_the_reporters_view(bench: Bench) -> None:
    resident = bench.user(2107, "Anna", language="en")
    number = await file_suggestion(bench, resident, photo=True)
    [card] = await bench.say(resident, f"/case {number.lower()}")
    text = card.text or ""
    assert text.startswith(f"Case {number}") and "History:" in text
    assert "Attachments: 1" in text and card.buttons() == []


async def test_not_found_is_one_answer_for_all(bench: Bench) -> None:
    resident = bench.user(2108, "王秀兰")
    number = await file_report(bench, resident)
    other = staff(bench, FINANCE_OFFICIAL)
    stranger = bench.user(2109, "Bob", language="en")
    for who, text in ((other, f"/case {number}"), (stranger, f"/case {number}"),
                      (other, "/case R-2026-99999"), (other, "/case 42; DROP TABLE cases")):
        replies = await bench.say(who, text)
        assert [m.text for m in replies] == ["This case was not found."], text
    [usage] = await bench.say(other, "/case")
    assert usage.text == "Send /case with a case number, for example: /case S-2026-00042"
    # A forged open button of a case one may not see, the same.
    [listing] = await bench.say(other, "/inbox")
    assert await bench.press_data(other, listing, f"inb:open:{await case_id(bench, number)}") \
        == []
    assert bench.emu.callback_answers[-1][1] == "This case was not found."
    assert bench.emu.sent(other.id)[-1].text == listing.text, "nothing changed"


async def test_named_report_identity_shown_to_the_unit_and_supervision_only(
    bench: Bench,
) -> None:
    reporter = bench.user(2110, "李建国")
    number = await file_report(bench, reporter, name="李建国")
    the_id = await case_id(bench, number)
    for telegram_id in (CIVIL_OFFICIAL, SUPERVISION):
        reader = staff(bench, telegram_id)
        [card] = await bench.say(reader, f"/case {number}")
        assert "Reporter: 李建国, phone +8613800138000" in (card.text or ""), telegram_id
    official_card = bench.emu.sent(CIVIL_OFFICIAL)[-1]
    assert datas(official_card) == [f"case:{the_id}:accept", f"case:{the_id}:transfer",
                                   f"case:{the_id}:extend"]
    assert "filed — reporter" in (official_card.text or "")

    head = staff(bench, COUNTY_HEAD)
    [card] = await bench.say(head, f"/case {number}")
    text = card.text or ""
    assert "Reporter: named (identity visible to the handling unit only)" in text
    assert "李建国" not in text and "13800138000" not in text
    assert card.buttons() == []


async def test_case_sends_the_files_again_before_the_card(bench: Bench) -> None:
    resident = bench.user(2111, "王秀兰")
    number = await file_suggestion(bench, resident, photo=True)
    official = staff(bench, CIVIL_OFFICIAL)
    photo, card = await bench.say(official, f"/case {number}")
    assert photo.kind == "photo"
    assert "Attachments: 1 (sent above)" in (card.text or "")
    # Opened from the inbox, the files are not sent again: the card says how to get them.
    [listing] = await bench.say(official, "/inbox")
    await bench.press_data(official, listing, f"inb:open:{await case_id(bench, number)}")
    assert bench.emu.sent(official.id)[-1].kind != "photo"
    assert f"Attachments: 1; send /case {number} to receive them." in (
        bench.emu.sent(official.id)[-1].text or "")


async def test_history_names_officials_but_never_the_reporter(bench: Bench) -> None:
    resident = bench.user(2112, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    the_id = await case_id(bench, number)
    [listing] = await bench.say(resident, "/my")
    await bench.press_data(resident, listing, f"my:open:{the_id}")
    await bench.tap(resident, f"my:add:{the_id}")
    await bench.say(resident, "补充：公示栏在村委会门口。")
    official = bench.user(CIVIL_OFFICIAL, "Zhang Wei", language="en")
    [listing] = await bench.say(official, "/inbox")
    await bench.press_data(official, listing, f"inb:open:{the_id}")
    await bench.tap(official, f"case:{the_id}:accept")
    [card] = await bench.say(official, f"/case {number}")
    history = (card.text or "").split("History:")[1]
    assert "— filed — reporter" in history
    assert "— the reporter added information — reporter: 补充：公示栏在村委会门口。" in history
    assert "— accepted — Zhang Wei" in history


async def test_anonymous_reporter_is_never_shown_to_anyone_official(bench: Bench) -> None:
    readers = [staff(bench, i) for i in (CIVIL_OFFICIAL, COUNTY_HEAD, SUPERVISION)]
    resident = bench.user(2113, "王秀兰")
    number = await file_suggestion(bench, resident, "anonymous", photo=True)
    the_id = await case_id(bench, number)
    for reader in readers:
        [listing] = await bench.say(reader, "/inbox")
        await bench.press_data(reader, listing, f"inb:open:{the_id}")
        await bench.say(reader, f"/case {number}")
        received = bench.emu.sent(reader.id)
        assert any("Reporter: anonymous" in (m.text or "") for m in received)
        for message in received:
            seen = " ".join([message.text or "", *datas(message),
                             *(edit or "" for edit in message.edits)])
            assert "王秀兰" not in seen and str(resident.id) not in seen, seen


async def test_report_about_a_units_head_stays_out_of_that_unit(bench: Bench) -> None:
    reporter = bench.user(2114, "李建国")
    number = await file_report(bench, reporter, concerns_head=True)
    for telegram_id in (CIVIL_OFFICIAL, CIVIL_HEAD):
        reader = staff(bench, telegram_id)
        [listing] = await bench.say(reader, "/inbox")
        assert number not in (listing.text or "")
        assert [m.text for m in await bench.say(reader, f"/case {number}")] == [
            "This case was not found."]
    [card] = await bench.say(staff(bench, SUPERVISION), f"/case {number}")
    assert "Reporter: 李建国, phone +8613800138000" in (card.text or "")
    [card] = await bench.say(staff(bench, COUNTY_HEAD), f"/case {number}")
    assert "Reporter: named (identity visible to the handling unit only)" in (card.text or "")
    assert "李建国" not in (card.text or "")


async def test_rights_are_checked_again_on_every_press(bench: Bench) -> None:
    resident = bench.user(2115, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    official = staff(bench, CIVIL_OFFICIAL)
    [listing] = await bench.say(official, "/inbox")
    assert number in (listing.text or "")

    def work(conn: Conn) -> None:
        assert directory.revoke(conn, CIVIL_OFFICIAL, "civil_affairs", "official",
                                bench.clock.now())
    await bench.runtime.db.write(work)
    assert await bench.press_data(official, listing, "inb:f:all:0") == []
    assert (bench.emu.callback_answers[-1][1] or "").startswith("The inbox is for officials")
    assert await bench.press_data(official, listing,
                                  f"inb:open:{await case_id(bench, number)}") == []
    assert bench.emu.callback_answers[-1][1] == "This case was not found."
    assert bench.emu.sent(official.id)[-1].text == listing.text
