"""Every text the bot sends fits Telegram's 4096 characters (the emulator refuses longer ones,
as Telegram does): a long answer comes in parts, a long card is shortened with a pointer to
/case, in both languages and at the largest lengths the configuration allows."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config import LIMIT_MAXIMA, Config
from bot.emulator.core import SentMessage
from bot.fit import TEXT_LIMIT, units
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, staffed

# Words, so that a piece can end at a space; about 2,000 characters each.
REDIRECT = ("Please go to the county medical insurance bureau, window 3. " * 34)[:2000].strip()
ANSWER = ("This matter belongs to another office; we passed your letter on. " * 31)[:2000].strip()
LONG_TEXT = ("村里的低保名单已经三个月没有张榜公示了，希望按规定公开。" * 75)[:2000]


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def cards(bench: Bench, chat_id: int) -> list[SentMessage]:
    return [m for m in bench.emu.sent(chat_id) if (m.text or "").startswith("📨")]


async def statuses(bench: Bench) -> dict[str, int]:
    return {status: count for status, count in await bench.rows(
        "SELECT status, count(*) FROM outbox GROUP BY status")}


async def test_a_long_not_ours_answer_in_english_reaches_the_reporter_whole(
        bench: Bench) -> None:
    """Redirect and answer of 2,000 characters each: over 4,096 with the frame. The
    preview (a direct reply) and the reporter's message (owed) come in parts."""
    resident = bench.user(4101, "Wang", language="en")
    official = bench.user(CIVIL_OFFICIAL, "Zhao", language="en")
    bench.user(CIVIL_HEAD, "Qian")
    await file_suggestion(bench, resident, photo=False)
    before = len(bench.emu.sent(resident.id))
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:answer")
    await bench.tap(official, "ans:out:not_ours")
    await bench.say(official, REDIRECT)
    await bench.say(official, ANSWER)
    preview = await bench.tap(official, "ans:files:done")
    shown = "\n".join(m.text or "" for m in preview)
    assert REDIRECT[-60:] in shown and ANSWER[-60:] in shown
    await bench.tap(official, "ans:send")
    received = bench.emu.sent(resident.id)[before:]
    assert len(received) >= 3, "accepted, then the answer in parts"
    whole = " ".join(" ".join((m.text or "").split()) for m in received)
    assert " ".join(REDIRECT.split()) in whole and " ".join(ANSWER.split()) in whole
    assert all(units(m.text or "") <= TEXT_LIMIT for m in bench.emu.all_sent())
    # The rating buttons come on the last part.
    assert any(d.startswith("rate:") for row in received[-1].buttons() for _, d in row)
    assert "failed" not in await statuses(bench)


async def test_a_card_edit_with_a_long_question_is_shortened_to_fit(bench: Bench) -> None:
    resident = bench.user(4102, "王秀兰")
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    bench.user(CIVIL_HEAD, "钱局长")
    number = await file_suggestion(bench, resident, photo=False, text=LONG_TEXT)
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问" + "具体是哪个村哪个组的名单？" * 150)
    card = cards(bench, official.id)[-1]
    text = bench.emu.message(official.id, card.message_id).text or ""
    assert "请问具体是哪个村" in text, "the card shows the question (shortened)"
    assert units(text) <= TEXT_LIMIT
    assert f"/case {number}" in text.splitlines()[-1]
    assert "failed" not in await statuses(bench)
    # /case gives the full text.
    full = await bench.say(official, f"/case {number}")
    assert LONG_TEXT in "".join(m.text or "" for m in full)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
async def test_at_the_largest_text_check_config_allows_the_card_is_delivered(
        bench: Bench, language: str) -> None:
    limits = dataclasses.replace(bench.config.limits,
                                 text_max_chars=LIMIT_MAXIMA["text_max_chars"])
    bench.config = dataclasses.replace(bench.config, limits=limits)
    await bench.restart()
    resident = bench.user(4103, "王秀兰", language=language)
    official = bench.user(CIVIL_OFFICIAL, "赵承办", language=language)
    bench.user(CIVIL_HEAD, "钱局长", language=language)
    # Characters outside the basic plane count twice towards Telegram's limit.
    text = ("公示🙂" * 2000)[:limits.text_max_chars]
    number = await file_suggestion(bench, resident, photo=False, text=text)
    [card] = cards(bench, official.id)
    assert number in (card.text or "")
    assert units(card.text or "") <= TEXT_LIMIT
    assert "/case" in (card.text or "").splitlines()[-1] or text in (card.text or "")
    await bench.tap(official, "case:1:accept")
    assert await statuses(bench) == {"sent": sum((await statuses(bench)).values())}


@pytest.mark.parametrize("text", [
    "a" * 9000, "低保 " * 3000, "🙂" * 5000, ("line\n" * 2000) + "x" * 5000, " \n" * 5000 + "y",
])
def test_the_rule_keeps_every_piece_within_the_limit(text: str) -> None:
    from bot.fit import shorten, split
    from bot.i18n import translator

    pieces = split(text)
    assert all(0 < units(p) <= TEXT_LIMIT for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())
    for language in ("zh_CN", "en"):
        short = shorten(f"📨 S-2026-00042-K7P\n{text}", translator(language))
        assert units(short) <= TEXT_LIMIT and "/case S-2026-00042-K7P" in short
