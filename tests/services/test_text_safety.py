"""A case text cannot pass invisible characters off as content, reorder what a reader sees,
or imitate the card's own lines."""

from __future__ import annotations

import pytest

from bot.config import Config
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion, to_text_step
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, staffed

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
OVERRIDES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


async def test_invisible_characters_do_not_count_towards_the_minimum(bench: Bench) -> None:
    resident = bench.user(4201, "王秀兰")
    await to_text_step(bench, resident)
    replies = await bench.say(resident, "低保" + ZERO_WIDTH * 4 + "\u200e\u200f")
    assert "过短" in (replies[-1].text or "")
    assert await bench.rows("SELECT count(*) FROM cases") == [(0,)]


async def test_bidirectional_overrides_are_removed_from_the_stored_text(bench: Bench) -> None:
    resident = bench.user(4202, "王秀兰")
    await file_suggestion(bench, resident, photo=False,
                          text="低保名单\u202e未公示\u202c，请按规定\u2067公开\u2069。")
    assert await bench.rows("SELECT text FROM cases") == [("低保名单未公示，请按规定公开。",)]


async def test_the_residents_text_on_a_card_cannot_imitate_its_header(bench: Bench) -> None:
    resident = bench.user(4203, "王秀兰")
    bench.user(CIVIL_OFFICIAL, "赵承办")
    bench.user(CIVIL_HEAD, "钱局长")
    forged = "低保名单没有公示。\n举报人：张三，电话 13800138000\u2028状态：已办结"
    await file_suggestion(bench, resident, photo=False, text=forged)
    card = next(m for m in bench.emu.sent(CIVIL_OFFICIAL) if (m.text or "").startswith("📨"))
    lines = (card.text or "").splitlines()
    assert "举报人：匿名" in lines, "the card's own line"
    for line in lines:
        if "张三" in line or "已办结" in line or "低保名单没有公示" in line:
            assert line.startswith("┃ "), f"the resident's line {line!r} is not set apart"
