"""``storage.text_search`` on both engines: bigrams of normalised runs, the index of published
disclosures, and search (bigrams found by the index, then a substring check), its filters,
its pages and its bound."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage import text_search
from storage.db import Database
from storage.models import to_db_time
from storage.sql import Conn
from storage.text_search import (
    SearchPage,
    bigrams,
    disclosure_text,
    index_disclosure,
    reindex_all,
    search_disclosures,
    terms,
)

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
BOTH = ("party", "public")


@dataclass
class Archive:
    """A database with its disclosures; ``ids`` by a short name of the test's."""

    db: Database
    ids: dict[str, int]

    async def search(self, query: str, **filters: object) -> SearchPage:
        filters.setdefault("audiences", BOTH)
        return await self.db.read(lambda conn: search_disclosures(conn, query=query,
                                                                  **filters))  # type: ignore[arg-type]

    async def found(self, query: str, **filters: object) -> list[str]:
        """The short names of what the search finds (one page of up to 100)."""
        filters.setdefault("limit", 100)
        names = {number: name for name, number in self.ids.items()}
        return [names[i] for i in (await self.search(query, **filters)).ids]


def publish(conn: Conn, n: int, title: str, body: str, *, sections: object = None,
            unit: str = "u1", audience: str = "public", aspect: str = "party_building",
            draft: bool = False, days: int | None = None) -> int:
    """A disclosure numbered ``n``, published ``days`` (else ``n``) days after START (a
    draft: not published), indexed as the register will index it."""
    at = to_db_time(START + timedelta(days=n if days is None else days))
    text = json.dumps(sections or {}, ensure_ascii=False)
    disclosure_id = conn.insert(
        "INSERT INTO disclosures (number, item_id, unit_id, audience, aspect, forms, stage, "
        "title, body, sections, created_at, updated_at, published_at) "
        "VALUES (?, 'item', ?, ?, ?, '[\"web\"]', ?, ?, ?, ?, ?, ?, ?)",
        (None if draft else f"D-2026-{n:05d}", unit, audience, aspect,
         "draft" if draft else "published", title, body, text, at, at, None if draft else at))
    index_disclosure(conn, disclosure_id, disclosure_text(title, body, text))
    return disclosure_id


#: (name, title, body, keyword arguments of publish), oldest first.
RECORDS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("dibao", "关于2026年第一季度低保户名单的公示", "经村民代表大会评议，现将低保户名单公示如下。",
     {}),
    ("apart", "村务公开", "保户信息已核对。户名登记表见附件。", {}),
    ("party", "Party Building 党建工作", "三会一课按时召开，组织生活会。",
     {"unit": "u2", "audience": "party", "aspect": "party_building"}),
    ("finance", "财务收支公开", "本季度收入与支出明细。",
     {"sections": {"收入": "上级转移支付专项资金", "支出": ["道路硬化", "路灯维修"]},
      "aspect": "major_decisions"}),
    ("decision", "重大事项决策：村集体土地流转", "「一事一议」民主决策程序，土地流转方案公示。",
     {"unit": "u2", "aspect": "major_decisions"}),
    ("draft", "低保户名单（草稿）", "尚未发布的低保户名单。", {"draft": True}),
)


@pytest.fixture(params=["as_built", "small_batches"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """As built; or with every query read one or two records at a time and, on SQLite,
    every query's bigrams taken as common (the newest records probed against the index,
    each id a range of its own), so the tests go through every path of the search on a
    handful of records."""
    if request.param == "small_batches":
        for name, value in (("BATCH", 1), ("BATCH_MOST", 2), ("FEW", 0), ("RANGE_GAP", 0)):
            monkeypatch.setattr(text_search, name, value)
    return str(request.param)


@pytest.fixture
async def archive(database: str, plan: str) -> AsyncIterator[Archive]:
    db = await Database.open(database)

    def fill(conn: Conn) -> dict[str, int]:
        conn.execute("INSERT INTO units (id, name_zh, name_en) VALUES ('u1', '甲村', 'A'), "
                     "('u2', '乙镇', 'B')")
        return {name: publish(conn, n, title, body, **options)
                for n, (name, title, body, options) in enumerate(RECORDS, start=1)}

    try:
        yield Archive(db, await db.write(fill))
    finally:
        await db.close()


def test_bigrams_are_the_pairs_within_runs_of_letters_and_digits() -> None:
    assert bigrams("低保户名单") == ["低保", "保户", "户名", "名单"]
    # Punctuation and spaces end a run; a run of one character gives nothing.
    assert bigrams("低保，户 名单。村") == ["低保", "名单"]
    # Each once, in the order first met; digits and letters of any script alike.
    assert bigrams("公示公示2026") == ["公示", "示公", "示2", "20", "02", "26"]
    # NFKC and case folding: full-width and upper case become the same grams.
    assert bigrams("ＰＡＲＴＹ Party") == ["pa", "ar", "rt", "ty"]
    assert bigrams("") == bigrams("。，！") == bigrams("党") == []
    assert terms("「低保户」，公示 低保户") == ["低保户", "公示"]


def test_a_disclosures_text_is_its_title_body_and_the_texts_of_its_sections() -> None:
    sections = json.dumps({"收入": "专项资金", "明细": [{"项": "路灯"}, "道路"]},
                          ensure_ascii=False)
    assert disclosure_text("标题", "正文", sections) == "标题\n正文\n专项资金\n路灯\n道路"
    assert disclosure_text("标题", "正文", "{}") == "标题\n正文"


async def test_a_word_finds_the_records_holding_it_and_only_published_ones(
    archive: Archive,
) -> None:
    # 低保 (2 characters) is in 低保户 (and in the draft, which is not published).
    assert await archive.found("低保") == ["dibao"]
    assert await archive.found("低保户名单") == ["dibao"]  # 5 characters
    assert await archive.found("户名单") == ["dibao"]     # 3 characters
    assert await archive.found("土地流转") == ["decision"]
    assert await archive.found("公示") == ["decision", "dibao"]  # newest first
    assert await archive.found("名单草稿") == []  # only in the draft


async def test_bigrams_that_occur_apart_do_not_match(archive: Archive) -> None:
    # "apart" holds 保户 and 户名 (in 保户信息, 户名登记) but not 保户名: the check drops it.
    assert {"保户", "户名"} <= set(bigrams(RECORDS[1][2]))
    assert await archive.found("保户名") == ["dibao"]
    assert await archive.found("保户") == ["apart", "dibao"]


async def test_sections_are_searched(archive: Archive) -> None:
    assert await archive.found("转移支付") == ["finance"]
    assert await archive.found("路灯维修") == ["finance"]


async def test_english_words_and_full_width_letters_match_whatever_their_case(
    archive: Archive,
) -> None:
    for query in ("party", "PARTY", "Party building", "ｂｕｉｌｄｉｎｇ", "RTY"):
        assert await archive.found(query) == ["party"], query


async def test_punctuation_in_a_query_separates_terms_each_of_them_required(
    archive: Archive,
) -> None:
    assert await archive.found("「一事一议」") == ["decision"]
    assert await archive.found("低保户，公示。") == ["dibao"]
    assert await archive.found("民主决策 土地流转") == ["decision"]
    assert await archive.found("低保户、土地流转") == []  # never in one record
    # A term of one character is checked too, beside the others' bigrams.
    assert await archive.found("公示 户") == ["dibao"]
    # Punctuation alone is no query: the archive, newest first.
    assert await archive.found("，。！") == await archive.found("") == \
        ["decision", "finance", "party", "apart", "dibao"]


async def test_a_one_character_query_reads_the_newest_records_of_the_filter_only(
    archive: Archive, monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await archive.found("户") == ["apart", "dibao"]
    assert await archive.found("村 会") == ["dibao"]  # 村民代表大会; 三会一课 has no 村
    page = await archive.search("户")
    assert not page.partial and not page.has_more
    # Bounded to the newest three: dibao and apart are older, and left unread.
    monkeypatch.setattr(text_search, "SCAN_BOUND", 3)
    page = await archive.search("户")
    assert page.ids == [] and page.partial and not page.has_more
    page = await archive.search("会")  # in party (third newest) and dibao (oldest)
    assert page.ids == [archive.ids["party"]] and page.partial
    monkeypatch.setattr(text_search, "SCAN_BOUND", 5)  # all five: nothing left unread
    page = await archive.search("户")
    assert len(page.ids) == 2 and not page.partial


async def test_filters_by_unit_audience_aspect_and_period(archive: Archive) -> None:
    everything = ["decision", "finance", "party", "apart", "dibao"]
    assert await archive.found("", unit_id="u2") == ["decision", "party"]
    assert await archive.found("", audiences=("public",)) == \
        ["decision", "finance", "apart", "dibao"]
    assert await archive.found("", audiences=("party",)) == ["party"]
    assert await archive.found("", audiences=()) == []
    assert await archive.found("", aspect="major_decisions") == ["decision", "finance"]
    assert await archive.found("决策", aspect="major_decisions", unit_id="u2") == ["decision"]
    assert await archive.found("决策", unit_id="u1") == []
    # [from, to): datetimes (any time zone) or ISO text in UTC as stored.
    third = START + timedelta(days=3)
    assert await archive.found("", published_from=third) == ["decision", "finance", "party"]
    assert await archive.found("", published_to=to_db_time(third)) == ["apart", "dibao"]
    local = third.astimezone(ZoneInfo("Asia/Shanghai"))
    assert await archive.found("", published_from=local,
                               published_to=third + timedelta(days=1)) == ["party"]
    assert await archive.found("公示", published_from=START + timedelta(days=2)) == \
        ["decision"]
    assert await archive.found("") == everything


async def test_pages_follow_each_other_without_gap_or_repeat(database: str, plan: str
                                                             ) -> None:
    """Records whose bigrams hold 保户名 but apart (dropped by the check) between records
    that hold it, published in another order than their ids, two at a time: each page is
    read on from the one before, in the order of publication, ties by id."""
    db = await Database.open(database)
    try:
        def fill(conn: Conn) -> list[tuple[int, int, bool]]:
            conn.execute("INSERT INTO units (id, name_zh, name_en) VALUES ('u1', '甲村', 'A')")
            made = []
            for n in range(1, 26):
                days = (n * 7) % 25 // 2
                holds = n % 3 == 0
                made.append((days, publish(conn, n, f"第{n}期", "低保户名单公示" if holds
                                           else "保户信息。户名登记。", days=days), holds))
            return made

        made = await db.write(fill)
        newest_first = [i for _, i, _ in sorted(made, reverse=True)]
        holding = [i for _, i, holds in sorted(made, reverse=True) if holds]
        assert len(holding) == 8 and newest_first != sorted(newest_first, reverse=True)

        async def page(query: str, offset: int, limit: int) -> SearchPage:
            return await db.read(search_disclosures, query=query, audiences=BOTH,
                                 limit=limit, offset=offset)

        pages = [await page("保户名", offset, 3) for offset in range(0, 9, 3)]
        assert [p.ids for p in pages] == [holding[0:3], holding[3:6], holding[6:8]]
        assert [p.has_more for p in pages] == [True, True, False]
        last = await page("保户名", 7, 1)
        assert last.ids == holding[7:] and not last.has_more
        beyond = await page("保户名", 8, 5)
        assert beyond.ids == [] and not beyond.has_more
        # A two-character query, each bigram its own term (no check): pages of 10.
        two = [await page("保户", offset, 10) for offset in (0, 10, 20)]
        assert [p.ids for p in two] == [newest_first[:10], newest_first[10:20],
                                        newest_first[20:]]
        assert [p.has_more for p in two] == [True, True, False]
        # The one-character scan and the listing, in the same order.
        assert (await page("户", 3, 30)).ids == newest_first[3:]
        assert (await page("", 20, 10)).ids == newest_first[20:]
        with pytest.raises(ValueError):
            await db.read(search_disclosures, query="", audiences=BOTH, limit=0)
    finally:
        await db.close()


async def test_the_index_is_built_again_from_the_published_disclosures(
    archive: Archive,
) -> None:
    def wipe_and_count(conn: Conn) -> int:
        if conn.dialect.postgres:
            conn.execute("DELETE FROM disclosure_grams")
        else:
            conn.execute("INSERT INTO disclosure_grams (disclosure_grams) "
                         "VALUES ('delete-all')")
        return len(search_disclosures(conn, query="低保", audiences=BOTH).ids)

    assert await archive.db.write(wipe_and_count) == 0
    assert await archive.db.write(reindex_all) == 5  # the draft is not indexed
    assert await archive.found("低保") == ["dibao"]
    assert await archive.found("保户名") == ["dibao"]

    def again(conn: Conn) -> None:  # indexing twice changes nothing
        index_disclosure(conn, archive.ids["dibao"], "全然不同的文字")

    await archive.db.write(again)
    assert await archive.found("低保户名单") == ["dibao"]
    assert await archive.found("全然不同") == []
