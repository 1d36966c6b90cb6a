"""Supervisors' meetings end to end: reminders on a hand-moved clock (across a year and
across restarts), attendance answers and refusals, the organizer's list and summary, minutes
with an issue filed as a case, the missing-minutes report, findings and the listings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import CalendarConfig, Config, MeetingConfig, MemberConfig
from bot.emulator.core import Emulator, EmuUser
from bot.services import alarms, meetings
from handlers.jobs import ALARMS, MEETINGS
from storage import directory
from storage.models import to_db_time
from tests.conftest import SHANGHAI, Bench
from tests.handlers.staff import ADMIN, CIVIL_OFFICIAL, SUPERVISION, staffed
from tests.support import engines

ORGANIZER, ALICE, BOB, CAROL, RESIDENT = 5100, 5201, 5202, 5203, 5300
NAMES = {ORGANIZER: "Hu", ALICE: "Alice", BOB: "Bob", CAROL: "Carol", RESIDENT: "Rita",
         SUPERVISION: "Sun", ADMIN: "Ada"}

SCHEDULES = (
    MeetingConfig("beiguan_monthly", "monthly", "yizhou_beiguan", "30 9 1-7 * 2",
                  "Village committee room", "head:yizhou_beiguan"),
    MeetingConfig("county_symposium", "symposium", "county", "0 15 1-7 1,4,7,10 4",
                  "County hall, room 3", str(SUPERVISION)),
)
MEMBERS = (
    MemberConfig(ORGANIZER, "head", "yizhou_beiguan"),
    MemberConfig(ALICE, "supervisor", "yizhou_beiguan"),
    MemberConfig(BOB, "supervisor", "yizhou_beiguan"),
    MemberConfig(CAROL, "supervisor", "yizhou_xiguan"),
)

# The bench starts on Wednesday 2026-11-25 10:00. Beiguan's meeting is the first Tuesday,
# 2026-12-01 09:30: reminded 3 days before at 09:00 and that morning at 08:00, summed up
# for the organizer the day before at 16:00, to be recorded by the end of 2026-12-04.
REMIND_EARLY = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
SUMMARY = datetime(2026, 11, 30, 16, 0, tzinfo=SHANGHAI)
REMIND_DAY = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
STARTS = datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)
RECORD_PROMPT = STARTS + timedelta(hours=2)
MISSING = datetime(2026, 12, 4, 23, 59, 59, tzinfo=SHANGHAI)


def county(config: Config) -> Config:
    base = staffed(config)
    members = tuple(m for m in base.members if m.role != "supervisor") + MEMBERS
    return dataclasses.replace(base, members=members, meetings=SCHEDULES)


@pytest.fixture
def config(config: Config) -> Config:
    return county(config)


async def people(bench: Bench) -> dict[int, EmuUser]:
    """Everyone has opened the bot in English (so messages to them are in English)."""
    users = {}
    for telegram_id, name in NAMES.items():
        users[telegram_id] = bench.user(telegram_id, name, language="en")
        await bench.say(users[telegram_id], "/start")
    bench.user(CIVIL_OFFICIAL, "赵承办")
    return users


async def at(bench: Bench, moment: datetime) -> None:
    """Move the clock; let the alarm job do what is due."""
    bench.clock.set(moment)
    assert bench.app is not None and bench.app.job_queue is not None
    if bench.app.job_queue.get_jobs_by_name(ALARMS):
        await bench.run_job(ALARMS)


def texts(bench: Bench, chat_id: int, marker: str) -> list[str]:
    return [m.text or "" for m in bench.emu.sent(chat_id) if (m.text or "").startswith(marker)]


async def meeting_id(bench: Bench, key: str = "beiguan_monthly", slot: str = "2026-12-01"
                     ) -> int:
    [(found,)] = await bench.rows(
        "SELECT id FROM meetings WHERE schedule_key = ? AND slot = ?", key, slot)
    return int(found)


async def person_id(bench: Bench, telegram_id: int) -> int:
    [(found,)] = await bench.rows("SELECT id FROM people WHERE telegram_id = ?", telegram_id)
    return int(found)


def last_answer(bench: Bench) -> str:
    return bench.emu.callback_answers[-1][1] or ""


async def answers(bench: Bench, mid: int) -> list[tuple[int, str, str | None]]:
    rows = await bench.rows(
        "SELECT p.telegram_id, a.answer, a.reason FROM meeting_attendance a JOIN people p "
        "ON p.id = a.person_id WHERE a.meeting_id = ? ORDER BY p.telegram_id", mid)
    return [(a, b, c) for a, b, c in rows]


async def alice_attends_and_bob_cannot(bench: Bench, users: dict[int, EmuUser], mid: int
                                       ) -> None:
    await at(bench, REMIND_EARLY)
    await bench.tap(users[ALICE], f"mtg:{mid}:yes")
    await bench.tap(users[BOB], f"mtg:{mid}:no")
    await bench.say(users[BOB], "In hospital for a check-up that morning.")


# ----------------------------------------------------------------------------- answers

async def test_reminders_answers_and_the_organizers_list(bench: Bench) -> None:
    users = await people(bench)
    mid = await meeting_id(bench)
    await at(bench, REMIND_EARLY - timedelta(seconds=1))
    assert texts(bench, ALICE, "📅") == []
    await at(bench, REMIND_EARLY)
    [reminder] = texts(bench, ALICE, "📅")
    assert reminder == ("📅 Reminder: the monthly supervisors' meeting of Beiguan Village, "
                        "Yizhou is on 2026-12-01 09:30 at Village committee room. Will you "
                        "attend?")
    assert len(texts(bench, BOB, "📅")) == 1
    assert texts(bench, CAROL, "📅") == [], "another organization's supervisor"
    assert texts(bench, ORGANIZER, "📅") == []

    replies = await bench.tap(users[ALICE], f"mtg:{mid}:yes")
    assert replies[-1].text == ("✅ Noted: you will attend the monthly supervisors' meeting of "
                                "Beiguan Village, Yizhou on 2026-12-01 09:30 at Village "
                                "committee room. Thank you!")
    await bench.tap(users[ALICE], f"mtg:{mid}:yes")  # pressed twice: told once
    [update] = texts(bench, ORGANIZER, "🗳")
    assert update.startswith("🗳 Alice will attend: the monthly supervisors' meeting")
    assert "✅ Will attend (1): Alice" in update and "⏳ No answer yet (1): Bob" in update

    [prompt] = await bench.tap(users[BOB], f"mtg:{mid}:no")
    assert (prompt.text or "").startswith("Why can you not attend")
    [done] = await bench.say(users[BOB], "In hospital for a check-up that morning.")
    assert (done.text or "").startswith("Noted: you cannot attend")
    latest = texts(bench, ORGANIZER, "🗳")[-1]
    assert latest.startswith("🗳 Bob cannot attend (In hospital for a check-up that morning.)")
    assert "❌ Cannot attend (1):\n  • Bob: In hospital for a check-up that morning." in latest
    assert "⏳ No answer yet (0): —" in latest

    # Not a supervisor of this organization: refused, nothing stored.
    await bench.press_data(users[RESIDENT], 1, f"mtg:{mid}:yes")
    assert last_answer(bench) == ("Only the supervisors of this meeting's organization can "
                                  "answer for it.")
    await bench.press_data(users[CAROL], 1, f"mtg:{mid}:no")
    assert last_answer(bench).startswith("Only the supervisors")
    await bench.press_data(users[ORGANIZER], 1, f"mtg:{mid}:yes")
    assert last_answer(bench).startswith("Only the supervisors")
    await bench.press_data(users[ALICE], 1, "mtg:999:yes")
    assert last_answer(bench) == "This meeting was not found; it may have been cancelled."
    assert await answers(bench, mid) == [
        (ALICE, "attend", None), (BOB, "absent", "In hospital for a check-up that morning.")]

    # Checked again on every press: a supervisor whose role was withdrawn is refused.
    await bench.runtime.db.write(
        directory.revoke, BOB, "yizhou_beiguan", "supervisor", bench.clock.now())
    await bench.tap(users[BOB], f"mtg:{mid}:yes")
    assert last_answer(bench).startswith("Only the supervisors")
    assert (BOB, "absent", "In hospital for a check-up that morning.") in await answers(
        bench, mid)
    bob = await person_id(bench, BOB)
    await bench.runtime.db.write(
        directory.grant, bob, "yizhou_beiguan", "supervisor", "invite", bench.clock.now())

    # The day before, the organizer gets the list; that morning, everyone is reminded again.
    await at(bench, SUMMARY)
    [summary] = texts(bench, ORGANIZER, "📋")
    assert summary.startswith("📋 Coming up: the monthly supervisors' meeting of Beiguan "
                              "Village, Yizhou, 2026-12-01 09:30, at Village committee room.")
    assert "✅ Will attend (1): Alice" in summary and "• Bob: In hospital" in summary
    await at(bench, REMIND_DAY)
    early, morning = texts(bench, ALICE, "📅")
    assert morning.endswith("Your answer so far: you will attend.")
    assert bench.emu.last(ALICE).date == int(REMIND_DAY.timestamp())  # type: ignore[union-attr]

    # Once the meeting has begun, answers are closed.
    await at(bench, STARTS)
    await bench.tap(users[ALICE], f"mtg:{mid}:no")
    assert last_answer(bench) == "This meeting has already taken place; answers are closed."


async def test_cancelling_the_reason_stores_nothing(bench: Bench) -> None:
    users = await people(bench)
    mid = await meeting_id(bench)
    await at(bench, REMIND_EARLY)
    await bench.tap(users[BOB], f"mtg:{mid}:no")
    [reply] = await bench.say(users[BOB], "/cancel")
    assert reply.text == "Cancelled. Nothing was stored."
    assert await answers(bench, mid) == []
    assert texts(bench, ORGANIZER, "🗳") == []


# ----------------------------------------------------------------------------- restarts

async def fired(bench: Bench, mid: int) -> list[tuple[str, str]]:
    rows = await bench.rows("SELECT kind, outcome FROM alarms WHERE subject = 'meeting' AND "
                            "subject_id = ? AND fired_at IS NOT NULL ORDER BY fired_at, fire_at",
                            mid)
    return [(a, b) for a, b in rows]


async def test_a_reminder_due_while_down_fires_once_at_start_up(bench: Bench) -> None:
    await people(bench)
    mid = await meeting_id(bench)
    await at(bench, REMIND_EARLY - timedelta(hours=1))
    await bench.stop()
    bench.clock.set(REMIND_EARLY + timedelta(hours=2))
    await bench.start()  # arms the alarm job for what is already due
    await bench.run_job(ALARMS)
    [reminder] = texts(bench, ALICE, "📅")
    assert "2026-12-01 09:30" in reminder
    await bench.restart(crash=True)
    await at(bench, REMIND_EARLY + timedelta(hours=3))
    await bench.run_job(MEETINGS)
    await bench.restart()
    await at(bench, REMIND_EARLY + timedelta(hours=4))
    assert len(texts(bench, ALICE, "📅")) == 1
    assert await fired(bench, mid) == [("reminder", "fired")]


async def test_down_across_both_reminders_only_the_latest_is_sent(bench: Bench) -> None:
    await people(bench)
    mid = await meeting_id(bench)
    await bench.stop()
    bench.clock.set(REMIND_DAY + timedelta(minutes=45))
    await bench.start()
    await bench.run_job(ALARMS)
    [reminder] = texts(bench, ALICE, "📅")
    assert await fired(bench, mid) == [("reminder", "skipped"), ("summary", "fired"),
                                       ("reminder", "fired")]
    # Down across the meeting itself: no reminder any more.
    await bench.stop()
    bench.clock.set(datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI))
    await bench.start()
    await bench.run_job(ALARMS)
    assert [t for t in texts(bench, ALICE, "📅") if "monthly" in t] == [reminder]


# ----------------------------------------------------------------------------- the record

async def test_minutes_recorded_and_an_issue_filed_as_a_case(bench: Bench) -> None:
    users = await people(bench)
    organizer = users[ORGANIZER]
    mid = await meeting_id(bench)
    await alice_attends_and_bob_cannot(bench, users, mid)
    await bench.press_data(organizer, 1, f"mtg:{mid}:rec")
    assert last_answer(bench) == "The meeting has not taken place yet: record it afterwards."

    await at(bench, RECORD_PROMPT)
    [prompt] = texts(bench, ORGANIZER, "📝")
    assert "should have taken place. Please record it within 3 days" in prompt
    await bench.press_data(users[ALICE], 1, f"mtg:{mid}:rec")
    assert last_answer(bench) == "Only the meeting's organizer can do this."

    [checklist] = await bench.tap(organizer, f"mtg:{mid}:rec")
    alice, bob = await person_id(bench, ALICE), await person_id(bench, BOB)
    assert checklist.buttons()[:2] == [[("✅ Alice", f"mtr:t:{alice}")],
                                       [("▫️ Bob", f"mtr:t:{bob}")]]
    await bench.tap(organizer, f"mtr:t:{bob}")
    await bench.tap(organizer, f"mtr:t:{bob}")  # changed his mind: Bob was not there
    edited = bench.emu.message(ORGANIZER, checklist.message_id)
    assert edited is not None and edited.buttons()[1] == [("▫️ Bob", f"mtr:t:{bob}")]
    await bench.press_data(organizer, checklist, "mtr:t:999999")
    assert last_answer(bench) == "This button is no longer valid."
    await bench.tap(organizer, "mtr:done")
    await bench.tap(organizer, "mtr:min:done")
    assert last_answer(bench).startswith("Please send the minutes first")
    await bench.say(organizer, "1. The low-income list of the village was not posted.")
    await bench.send(organizer, "send_document", "minutes.pdf", b"%PDF-1.4 minutes")
    [recorded] = await bench.tap(organizer, "mtr:min:done")
    assert (recorded.text or "").startswith(
        "✅ The monthly supervisors' meeting of Beiguan Village, Yizhou of 2026-12-01 09:30 "
        "is recorded as held.\nAttended (1): Alice\nAbsent (1): Bob")

    [who] = await bench.tap(organizer, f"mtg:{mid}:iss")
    assert [row[0][1] for row in who.buttons()[:2]] == [f"mti:w:{alice}", f"mti:w:{bob}"]
    await bench.tap(organizer, f"mti:w:{alice}")
    await bench.tap(organizer, "mti:cat:low_income_support")
    [filed] = await bench.say(organizer, "Beiguan has not posted its low-income list for "
                                         "three months.")
    number = bench.number_in([filed])
    assert filed.text == (f"✅ Filed as {number} for County Civil Affairs Bureau, with Alice "
                          "as the reporter (they hear back). Another issue?")
    # The case reached the unit as a card, with its deadline alarms, Alice as reporter.
    card = next(m.text or "" for m in bench.emu.sent(CIVIL_OFFICIAL)
                if (m.text or "").startswith(f"📨 {number}"))
    assert "Beiguan has not posted its low-income list" in card and "会议" in card
    [case] = await bench.rows(
        "SELECT channel, kind, unit_id, anonymous, reporter_person_id, delivery_chat_id, "
        "reporter_name FROM cases WHERE number = ?", number)
    assert case == ("meeting", "suggestion", "civil_affairs", 0, alice, ALICE, "Alice")
    [(actor_role, actor)] = await bench.rows(
        "SELECT actor_role, actor_person_id FROM case_events WHERE type = 'filed'")
    assert (actor_role, actor) == ("organizer", await person_id(bench, ORGANIZER))
    assert {k for (k,) in await bench.rows(
        "SELECT kind FROM alarms WHERE subject = 'case'")} >= {"accept_breach", "answer_breach"}
    assert texts(bench, ALICE, "📨")[-1].startswith(
        f"📨 The issue you raised at the monthly supervisors' meeting of Beiguan Village, "
        f"Yizhou of 2026-12-01 09:30 was filed as {number} for County Civil Affairs Bureau.")
    [done] = await bench.tap(organizer, "mtr:finish")
    assert done.text == "Done. The meeting, its minutes and its issues are in /meetings."

    # The record counts, once; the missing-minutes alarm finds it recorded.
    figures = await meetings.meeting_figures(bench.runtime, ["yizhou_beiguan", "finance"],
                                             date(2026, 12, 1), date(2026, 12, 31))
    assert figures == {"yizhou_beiguan": (1, 1, 0.5), "finance": (0, 0, None)}
    # ... and the assessment of the month carries them for the unit.
    from bot.services import assessment

    report = await assessment.assess(bench.runtime, assessment.parse_period("2026-12"))
    assert report.meetings["yizhou_beiguan"] == (1, 1, 0.5)
    await at(bench, MISSING + timedelta(hours=1))
    assert texts(bench, SUPERVISION, "📕") == []
    await bench.tap(organizer, f"mtg:{mid}:rec")
    assert last_answer(bench) == "This meeting has already been recorded."

    # Everyone of the organization sees it in /meetings, minutes and issue included.
    [listing] = await bench.say(users[BOB], "/meetings")
    text = listing.text or ""
    assert "🗂 Past meetings:\n• 2026-12-01 09:30 · monthly supervisors' meeting" in text
    assert "  Held: 1 of 2 supervisors attended." in text
    assert "  Minutes: 1. The low-income list of the village was not posted." in text
    assert f"  Issues filed as cases: {number}" in text
    shown = await bench.tap(users[BOB], f"mtg:{mid}:show")
    assert shown[0].kind == "document"
    assert "Minutes:\n1. The low-income list" in (shown[-1].text or "")
    await bench.press_data(users[RESIDENT], 1, f"mtg:{mid}:show")
    assert last_answer(bench) == "This meeting was not found; it may have been cancelled."


async def test_a_meeting_half_recorded_before_drafts_were_typed_is_recorded_after_a_restart(
        bench: Bench) -> None:
    """The organizer's draft as an older Sunbox kept it (the meeting under ``id``, the minutes'
    file as a list) reads back after the upgrade, and the recording goes on."""
    users = await people(bench)
    organizer = users[ORGANIZER]
    mid = await meeting_id(bench)
    await alice_attends_and_bob_cannot(bench, users, mid)
    await at(bench, RECORD_PROMPT)
    await bench.tap(organizer, f"mtg:{mid}:rec")
    await bench.tap(organizer, "mtr:done")
    await bench.say(organizer, "1. The low-income list of the village was not posted.")
    await bench.send(organizer, "send_document", "minutes.pdf", b"%PDF-1.4 minutes")
    await bench.stop()
    with engines.outside(bench.db_path) as raw:
        [(data,)] = raw.execute("SELECT data FROM user_data WHERE user_id = ?",
                                (ORGANIZER,)).fetchall()
        stored = json.loads(data)
        draft = stored["meeting"]
        assert (draft["meeting_id"], draft["file"]["name"]) == (mid, "minutes.pdf")
        file = draft.pop("file")
        stored["meeting"] = {**draft, "id": draft.pop("meeting_id"),
                             "file": [file["kind"], file["file_id"], file["name"]]}
        raw.execute("UPDATE user_data SET data = ? WHERE user_id = ?",
                    (json.dumps(stored), ORGANIZER))
    await bench.start()
    [recorded] = await bench.tap(organizer, "mtr:min:done")
    assert "is recorded as held.\nAttended (1): Alice\nAbsent (1): Bob" in (recorded.text or "")
    [(status, minutes, kind)] = await bench.rows(
        "SELECT status, minutes, minutes_file_kind FROM meetings WHERE id = ?", mid)
    assert (status, minutes, kind) == (
        "held", "1. The low-income list of the village was not posted.", "document")


async def test_missing_minutes_are_reported_once_and_count_as_not_held(bench: Bench) -> None:
    users = await people(bench)
    mid = await meeting_id(bench)
    await at(bench, STARTS + timedelta(hours=3))
    figures = await meetings.meeting_figures(bench.runtime, ["yizhou_beiguan"],
                                             date(2026, 12, 1), date(2026, 12, 31))
    assert figures == {"yizhou_beiguan": (0, 0, None)}, "still within the record window"
    await at(bench, MISSING - timedelta(seconds=1))
    assert texts(bench, SUPERVISION, "📕") == []
    await at(bench, MISSING)
    [report] = texts(bench, SUPERVISION, "📕")
    assert report == ("📕 No record of the monthly supervisors' meeting of Beiguan Village, "
                      "Yizhou of 2026-12-01 09:30 (Village committee room) within 3 days. "
                      "Organizer: the head of Beiguan Village, Yizhou. It counts as not held.")
    await at(bench, MISSING + timedelta(days=1))
    await bench.restart()
    await at(bench, MISSING + timedelta(days=2))
    assert len(texts(bench, SUPERVISION, "📕")) == 1
    [(reported,)] = await bench.rows("SELECT missing_reported_at FROM meetings WHERE id = ?",
                                     mid)
    assert reported is not None
    assert (await meetings.meeting_figures(bench.runtime, ["yizhou_beiguan"],
                                           date(2026, 12, 1), date(2026, 12, 31))
            == {"yizhou_beiguan": (0, 1, None)})

    # Recorded late, from /meetings: kept, but it still counts as not held.
    [listing] = await bench.say(users[ORGANIZER], "/meetings")
    assert "  No record in time: reported to the supervision group." in (listing.text or "")
    await bench.press(users[ORGANIZER], "📝 Record", listing)
    await bench.tap(users[ORGANIZER], "mtr:done")
    await bench.say(users[ORGANIZER], "Held; nobody came.")
    await bench.tap(users[ORGANIZER], "mtr:min:done")
    assert (await meetings.meeting_figures(bench.runtime, ["yizhou_beiguan"],
                                           date(2026, 12, 1), date(2026, 12, 31))
            == {"yizhou_beiguan": (0, 1, None)})
    [listing] = await bench.say(users[ORGANIZER], "/meetings")
    assert "  Held: 0 of 2 supervisors attended. (recorded late)" in (listing.text or "")


# ----------------------------------------------------------------------------- findings

async def test_a_supervisor_files_a_signed_finding(bench: Bench) -> None:
    users = await people(bench)
    [refused] = await bench.say(users[RESIDENT], "/finding")
    assert refused.text == "Only supervisors can file findings. To file your own case, send /new."
    await bench.say(users[CAROL], "/finding")
    await bench.tap(users[CAROL], "fnd:cat:low_income_support")
    [summary] = await bench.say(users[CAROL], "The Xiguan low-income list names two people "
                                              "who moved away.")
    assert "Signed: Carol" in (summary.text or "")
    [receipt] = await bench.tap(users[CAROL], "fnd:ok")
    number = bench.number_in([receipt])
    assert receipt.text == (f"✅ Filed as {number} for County Civil Affairs Bureau: a signed "
                            "finding from a supervisor. You will hear back here; see it with /my.")
    [case] = await bench.rows("SELECT channel, anonymous, reporter_name, delivery_chat_id "
                              "FROM cases WHERE number = ?", number)
    assert case == ("supervisor", 0, "Carol", CAROL)
    assert any((m.text or "").startswith(f"📨 {number}") for m in bench.emu.sent(CIVIL_OFFICIAL))
    mine = await bench.say(users[CAROL], "/my")
    assert any(number in (m.text or "") for m in mine)


# ----------------------------------------------------------------------------- listings

async def test_supervisors_for_heads_and_administrators(bench: Bench) -> None:
    users = await people(bench)
    [own] = await bench.say(users[ORGANIZER], "/supervisors")
    assert own.text == ("Beiguan Village, Yizhou:\n"
                        "• Alice (Telegram id 5201): attended 0 of 0 recorded meetings\n"
                        "• Bob (Telegram id 5202): attended 0 of 0 recorded meetings")
    [other] = await bench.say(users[ORGANIZER], "/supervisors yizhou_xiguan")
    assert other.text == "You can list the supervisors of your own units only."
    [nobody] = await bench.say(users[RESIDENT], "/supervisors")
    assert nobody.text == "Only administrators and unit heads can list supervisors."
    [everyone] = await bench.say(users[ADMIN], "/supervisors")
    assert "Beiguan Village, Yizhou:" in (everyone.text or "")
    assert "Xiguan Village, Yizhou:\n• Carol" in (everyone.text or "")
    [unknown] = await bench.say(users[ADMIN], "/supervisors atlantis")
    assert unknown.text == 'Unknown unit "atlantis".'


async def test_meetings_lists_what_is_coming(bench: Bench) -> None:
    users = await people(bench)
    [none] = await bench.say(users[RESIDENT], "/meetings")
    assert (none.text or "").startswith("You have no meetings to follow")
    [carol] = await bench.say(users[CAROL], "/meetings")
    text = carol.text or ""
    # Carol's village has no monthly meeting configured; the county's symposium is hers too.
    assert "quarterly supervisors' symposium of Yi County Party Committee" in text
    assert "monthly" not in text
    assert "  Your answer: not given yet" in text
    mid = await meeting_id(bench, "county_symposium", "2027-01-07")
    await bench.press(users[CAROL], "✅ Attend", carol)
    assert await answers(bench, mid) == [(CAROL, "attend", None)]
    assert texts(bench, SUPERVISION, "🗳")[-1].startswith(
        "🗳 Carol will attend: the quarterly supervisors' symposium")


# ----------------------------------------------------------------------------- a whole year

YEAR_START = datetime(2025, 12, 31, 20, 0, tzinfo=SHANGHAI)
YEAR_END = datetime(2027, 2, 10, 0, 0, tzinfo=SHANGHAI)

# First Tuesdays, checked against chinese_calendar: 2026-05-05 is in the Labour Day holiday
# (next working day Wed 05-06), 2026-10-06 in the National Day holiday (Thu 10-08 is the next
# working day). 2027 is not in the package: Monday to Friday, plus the [calendar] overrides
# below (2027-02-02 made a holiday → Wed 02-03).
MONTHLY = ["2026-01-06", "2026-02-03", "2026-03-03", "2026-04-07", "2026-05-06", "2026-06-02",
           "2026-07-07", "2026-08-04", "2026-09-01", "2026-10-08", "2026-11-03", "2026-12-01",
           "2027-01-05", "2027-02-03"]
# First Thursdays of each quarter: 2026-01-01 is New Year's Day; Sunday 01-04 is a swapped
# working day. 2026-10-01 is National Day → 10-08.
SYMPOSIUM = ["2026-01-04", "2026-04-02", "2026-07-02", "2026-10-08", "2027-01-07"]


@pytest.fixture
async def year(config: Config, tmp_path: Path) -> AsyncIterator[Bench]:
    """A Sunbox started on New Year's Eve 2025, with a local holiday in 2027."""
    config = dataclasses.replace(config, calendar=CalendarConfig(
        holidays=(date(2027, 1, 1), date(2027, 2, 2))))
    clock = ManualClock(YEAR_START)
    emulator = Emulator(clock=lambda: clock.now().timestamp())
    bench = Bench(config, tmp_path / "year.db", emulator, clock)
    await bench.start()
    try:
        yield bench
    finally:
        await bench.stop()
    assert not bench.errors, f"handlers raised: {bench.errors!r}"


async def test_a_year_of_meetings(year: Bench) -> None:
    bench = year
    await people(bench)
    next_job = datetime(2026, 1, 1, 0, 5, tzinfo=SHANGHAI)
    while bench.clock.now() < YEAR_END:
        due = await alarms.next_alarm(bench.runtime)
        if due is not None and due <= next_job:
            await at(bench, due)
            continue
        bench.clock.set(next_job)
        await bench.run_job(MEETINGS)
        next_job += timedelta(days=1)

    rows = await bench.rows("SELECT schedule_key, starts_at, status FROM meetings "
                            "ORDER BY starts_at")
    starts = {key: [datetime.fromisoformat(s).astimezone(SHANGHAI) for k, s, _ in rows
                    if k == key] for key in ("beiguan_monthly", "county_symposium")}
    assert [s.date().isoformat() for s in starts["beiguan_monthly"][:14]] == MONTHLY
    assert {(s.hour, s.minute) for s in starts["beiguan_monthly"]} == {(9, 30)}
    assert [s.date().isoformat() for s in starts["county_symposium"][:5]] == SYMPOSIUM
    assert {status for _, _, status in rows} == {"scheduled"}
    # The daily job keeps 60 days ahead materialised.
    assert starts["beiguan_monthly"][-1].date() == date(2027, 4, 6)

    # Every reminder exactly once, at 09:00 three days before and 08:00 that day.
    expected = []
    for meeting_day in sorted(MONTHLY + SYMPOSIUM):
        local = date.fromisoformat(meeting_day)
        expected += [datetime.combine(local - timedelta(days=3), datetime.min.time(),
                                      SHANGHAI).replace(hour=9),
                     datetime.combine(local, datetime.min.time(), SHANGHAI).replace(hour=8)]
    sent = [datetime.fromtimestamp(m.date, SHANGHAI) for m in bench.emu.sent(ALICE)
            if (m.text or "").startswith("📅")]
    assert sent == sorted(expected)
    carol = [datetime.fromtimestamp(m.date, SHANGHAI).date().isoformat()
             for m in bench.emu.sent(CAROL) if (m.text or "").startswith("📅")]
    assert len(carol) == 2 * len(SYMPOSIUM), "Carol's village only has the symposium"
    # Each meeting without a record was reported to the supervision group once.
    reports = texts(bench, SUPERVISION, "📕")
    assert len(reports) == len(MONTHLY) + len(SYMPOSIUM)
    assert len(set(reports)) == len(reports)
    assert await bench.rows("SELECT COUNT(*) FROM alarms WHERE subject = 'meeting' AND "
                            "fired_at IS NULL AND fire_at <= ?",
                            to_db_time(bench.clock.now())) == [(0,)]
