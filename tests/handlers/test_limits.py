"""Nothing lets one person flood Sunbox or walk through its cases: per-person limits at the
gate (staff exempt, counted in memory only), refusals to people without a role counted but
not stored, one answer for "not found" and "not allowed", and /status only with the
number's random check part."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.config import Config, LimitsConfig
from tests.conftest import Bench, short
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import CIVIL_OFFICIAL, staffed
from tests.support import engines

SLOW_DOWN = "You are sending messages faster than I can read them"
NOT_FOUND = "No case with that number was found."


@pytest.fixture
def config(config: Config) -> Config:
    """The example county with its staff, and the per-person limits at their defaults
    (the other tests raise them)."""
    return dataclasses.replace(staffed(config), limits=LimitsConfig())


def with_limits(config: Config, **limits: int) -> Config:
    return dataclasses.replace(config, limits=dataclasses.replace(config.limits, **limits))


async def test_the_21st_message_in_a_minute_gets_the_limit_message(bench: Bench) -> None:
    resident = bench.user(4301, "Resident", language="en")
    for _ in range(20):
        replies = await bench.say(resident, "/help")
        assert replies and SLOW_DOWN not in (replies[-1].text or "")
    [told] = await bench.say(resident, "/help")
    assert (told.text or "").startswith(SLOW_DOWN)
    assert await bench.say(resident, "/help") == [], "told once, then ignored"
    # Another person is not held up by the first one.
    other = bench.user(4302, "Other", language="en")
    assert SLOW_DOWN not in ((await bench.say(other, "/help"))[-1].text or "")
    # The allowance comes back with time: a minute later all of it.
    bench.clock.advance(timedelta(seconds=6))
    assert SLOW_DOWN not in ((await bench.say(resident, "/help"))[-1].text or "")
    bench.clock.advance(timedelta(minutes=1))
    for _ in range(20):
        assert SLOW_DOWN not in ((await bench.say(resident, "/help"))[-1].text or "")
    # Nothing of this is in the database: the counters live in memory.
    assert not any("limit" in name for name in await engines.table_names(bench))


async def test_staff_are_not_limited(bench: Bench) -> None:
    official = bench.user(CIVIL_OFFICIAL, "Official", language="en")
    for _ in range(30):
        replies = await bench.say(official, "/help")
        assert replies and SLOW_DOWN not in (replies[-1].text or "")


async def test_the_sixth_filing_of_a_day_is_refused(bench: Bench) -> None:
    # A filing takes more than 20 steps in a few minutes here (the clock stands still).
    bench.config = with_limits(bench.config, updates_per_minute=100_000)
    await bench.restart()
    resident = bench.user(4303, "王秀兰")
    for n in range(1, 6):
        number = await file_suggestion(bench, resident, photo=False)
        assert short(number) == f"S-2026-{n:05d}"
    [refused] = await bench.say(resident, "/new")
    assert refused.text == "您今天提交的事项已达到每人每天的上限（5 件）。请明天再来。"
    assert await bench.rows("SELECT COUNT(*) FROM cases") == [(5,)]
    # Counted per day, without times: tomorrow the person may file again.
    bench.clock.advance(timedelta(days=1))
    number = await file_suggestion(bench, resident, photo=False)
    assert short(number) == "S-2026-00006"


async def test_a_strangers_forged_presses_leave_no_case_events(bench: Bench) -> None:
    resident = bench.user(4304, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    events = await bench.rows("SELECT * FROM case_events ORDER BY id")
    stranger = bench.user(4305, "陌生人")
    answers = []
    for case_id in (1, 999):
        for action in ("accept", "answer", "transfer", "ask", "extend"):
            await bench.press_data(stranger, 1, f"case:{case_id}:{action}")
            answers.append(bench.emu.callback_answers[-1][1])
    assert await bench.rows("SELECT * FROM case_events ORDER BY id") == events
    assert bench.runtime.limiter.refusals["not_allowed"] == 5
    assert bench.runtime.limiter.refusals["not_found"] == 5
    # An existing case and a missing one get the same answer: ids cannot be probed.
    assert set(answers) == {"未找到此事项，或您无权对其进行此操作。"}


async def test_status_needs_the_check_part(bench: Bench) -> None:
    resident = bench.user(4306, "Resident", language="en")
    number = await file_suggestion(bench, resident, photo=False)
    stranger = bench.user(4307, "Stranger", language="en")
    [shown] = await bench.say(stranger, f"/status {number}")
    assert (shown.text or "").startswith(f"Case {number}\n")
    check = number.rsplit("-", 1)[1]
    wrong = f"{short(number)}-{'ABC' if check != 'ABC' else 'XYZ'}"
    for attempt in (short(number), wrong, "S-2026-00002-" + check):
        [reply] = await bench.say(stranger, f"/status {attempt}")
        assert reply.text == NOT_FOUND, attempt
    # Staff may still open the case by the short number.
    official = bench.user(CIVIL_OFFICIAL, "Official", language="en")
    [card] = await bench.say(official, f"/case {short(number)}")
    assert number in (card.text or "")
    # The reporter is shown the whole number (receipt, /my).
    assert number in "\n".join(bench.texts(resident))
    assert number in "\n".join(m.text or "" for m in await bench.say(resident, "/my"))


async def test_status_is_limited_per_hour(bench: Bench) -> None:
    stranger = bench.user(4308, "Stranger", language="en")
    for n in range(10):
        [reply] = await bench.say(stranger, f"/status S-2026-{n:05d}-ABC")
        assert reply.text == NOT_FOUND
        bench.clock.advance(timedelta(seconds=10))  # slow enough for the minute's limit
    [refused] = await bench.say(stranger, "/status S-2026-00011-ABC")
    assert refused.text == ("You have looked up many cases in a short time. Please try "
                            "/status again in an hour.")
    bench.clock.advance(timedelta(hours=1))
    [reply] = await bench.say(stranger, "/status S-2026-00012-ABC")
    assert reply.text == NOT_FOUND
