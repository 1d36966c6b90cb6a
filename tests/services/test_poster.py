"""The notice-board poster of a disclosure: read back with pypdf, as a reader's viewer would.

pypdf reads fpdf2's embedded encoding CMap as one byte per code, so the high byte (0) of
each two-byte code comes out as a NUL before every character; the characters themselves
are right, and :func:`_pages` drops the NULs.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.i18n import translator
from bot.reports import poster as poster_module
from bot.reports.poster import (
    ASPECT,
    CORRECTS,
    HEADER,
    ITEM,
    MISSING,
    PAGE,
    PUBLISHED,
    Poster,
    poster_pdf,
    printable,
    wrap,
)

CST = timezone(timedelta(hours=8))
PUBLISHED_AT = datetime(2026, 3, 5, 10, 30, tzinfo=CST)
HINT = "如有意见，请在阳光信箱提出：https://t.me/sunbox_bot?start=op-D-2026-00012"
# Chinese text without spaces, 42 characters with three marks that must not start a line:
# one more than a line holds, so that the lines of a long body start at every place of it.
SENTENCE = "为进一步加强基层党组织建设，规范党务公开工作，现将本季度党费收缴和使用情况公示如下。"
SECTIONS = [("程序", "经支委会研究，党委审定，书记签发。"),
            ("依据", "《中国共产党党务公开条例（试行）》。"),
            ("原则", "公开、公平、公正。"),
            ("阶段", "征求意见、讨论决定、组织实施。")]


def _poster(**changes: object) -> Poster:
    values: dict[str, object] = {
        "unit_name": "中共某某县某某镇委员会", "number": "D-2026-00012",
        "title": "关于2026年第一季度党费收缴使用管理情况的公示",
        "item_name": "党费收缴使用管理", "aspect_name": "基层党建",
        "body": SENTENCE + "\n\n党员活动经费结余三千二百元。", "sections": SECTIONS,
        "published_at": PUBLISHED_AT, "opinion_hint": HINT, "language": "zh_CN",
    }
    values.update(changes)
    return Poster(**values)  # type: ignore[arg-type]


def _pages(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    return [page.extract_text().replace("\x00", "") for page in reader.pages]


def _squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def chinese() -> bytes:
    return poster_pdf(_poster(version=2, corrects="D-2026-00011"))


@pytest.fixture(scope="module")
def long_body() -> str:
    """About 6000 characters without spaces: paragraphs of one sentence repeated, each
    from another place in it."""
    paragraphs = [f"第{n}段：" + (SENTENCE * 5)[n:n + 160] for n in range(1, 40)]
    return "\n".join(paragraphs) + "\n全文完毕到此为止"


@pytest.fixture(scope="module")
def long_poster(long_body: str) -> bytes:
    return poster_pdf(_poster(body=long_body, sections=[]))


def test_the_poster_shows_the_disclosure(chinese: bytes) -> None:
    t = translator("zh_CN")
    [text] = _pages(chinese)
    for content in ("关于2026年第一季度党费收缴使用管理情况的公示", "D-2026-00012",
                    "中共某某县某某镇委员会", "党员活动经费结余三千二百元。", HINT,
                    t(HEADER).format(number="D-2026-00012"),
                    t(ITEM).format(name="党费收缴使用管理"),
                    t(ASPECT).format(name="基层党建"),
                    t(CORRECTS).format(version=2, number="D-2026-00011"),
                    t(PAGE).format(page=1, pages=1)):
        assert content in text
    assert SENTENCE in _squeeze(text)
    assert t(PUBLISHED).format(date=t(poster_module.DATE).format(year=2026, month=3, day=5)) \
        in text
    # The sections follow the body, in their order, each heading before its text.
    squeezed = _squeeze(text)
    place = squeezed.index("党员活动经费")
    for heading, body in SECTIONS:
        place = squeezed.index(heading + _squeeze(body), place)
    metadata = PdfReader(io.BytesIO(chinese)).metadata
    assert metadata is not None
    assert metadata.title == "关于2026年第一季度党费收缴使用管理情况的公示"
    assert metadata.author == "中共某某县某某镇委员会"


def test_a_first_version_has_no_version_line() -> None:
    [text] = _pages(poster_pdf(_poster(sections=[])))
    assert "D-2026-00011" not in text
    assert translator("zh_CN")(poster_module.VERSION).format(version=1) not in text


def test_a_long_body_runs_over_pages_and_keeps_every_character(
        long_poster: bytes, long_body: str) -> None:
    t = translator("zh_CN")
    assert len(long_body) > 6000
    pages = _pages(long_poster)
    assert len(pages) >= 4
    assert "全文完毕到此为止" in pages[-1]
    # Each page has its header and its footer, with the page count.
    frame = [t(HEADER).format(number="D-2026-00012"), "中共某某县某某镇委员会", HINT]
    for number, text in enumerate(pages, start=1):
        for line in frame + [t(PAGE).format(page=number, pages=len(pages))]:
            assert line in text
    # Without the frame and the title block, the text is the body: nothing lost, nothing
    # doubled, nothing out of order.
    title_block = ["关于2026年第一季度党费收缴使用管理情况的公示",
                   t(ITEM).format(name="党费收缴使用管理"), t(ASPECT).format(name="基层党建"),
                   t(PUBLISHED).format(date=t(poster_module.DATE).format(year=2026, month=3,
                                                                         day=5))]
    everything = "".join(_squeeze(text) for text in pages)
    for line in frame + title_block + [t(PAGE).format(page=n, pages=len(pages))
                                       for n in range(1, len(pages) + 1)]:
        everything = everything.replace(_squeeze(line), "")
    assert everything == _squeeze(long_body)


def test_chinese_lines_fill_the_width_and_follow_the_line_breaking_rules(
        long_poster: bytes, long_body: str) -> None:
    lines = [line for text in _pages(long_poster) for line in text.split("\n")
             if len(line) > 10 and line in long_body]
    assert len(lines) > 100
    # 174 mm of text at 12 pt holds 41 full-width characters; a greedy break fills them.
    assert max(len(line) for line in lines) <= 41
    assert sum(len(line) >= 39 for line in lines) > len(lines) * 0.8
    assert not [line for line in lines if line[0] in "，。：、；"]


def test_an_english_poster_has_english_labels_and_breaks_at_spaces() -> None:
    words = [f"word{n:04d}" for n in range(600)]
    data = poster_pdf(_poster(language="en", body=" ".join(words), version=3,
                              corrects="D-2026-00011", title="Party fees, first quarter"))
    pages = _pages(data)
    first = pages[0]
    for label in ("Party affairs disclosure D-2026-00012", "Item: 党费收缴使用管理",
                  "Aspect: 基层党建", "Published: 2026-03-05",
                  "Version 3, correcting D-2026-00011", f"Page 1 of {len(pages)}"):
        assert label in first
    assert len(pages) >= 2
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    found = [token for text in pages for line in text.split("\n") for token in line.split()
             if re.fullmatch(r"word\d+", token)]
    assert found == words  # none cut in two, none lost


def test_the_same_poster_gives_the_same_bytes(chinese: bytes) -> None:
    assert poster_pdf(_poster(version=2, corrects="D-2026-00011")) == chinese
    assert poster_pdf(_poster(version=2, corrects="D-2026-00010")) != chinese


def test_another_process_gives_the_same_bytes(chinese: bytes) -> None:
    """Nothing depends on the process (string hashing is seeded per process)."""
    script = ("import hashlib, sys\n"
              "from tests.services.test_poster import _poster\n"
              "from bot.reports.poster import poster_pdf\n"
              "data = poster_pdf(_poster(version=2, corrects='D-2026-00011'))\n"
              "sys.stdout.write(hashlib.sha256(data).hexdigest())\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert done.stdout == hashlib.sha256(chinese).hexdigest()


def test_every_page_is_a4_portrait(long_poster: bytes) -> None:
    for page in PdfReader(io.BytesIO(long_poster)).pages:
        assert abs(float(page.mediabox.width) - 595) <= 1
        assert abs(float(page.mediabox.height) - 842) <= 1


def test_characters_the_font_lacks_are_marked_not_fatal() -> None:
    body = "表情😀与家庭👨\u200d👩\u200d👧，旗帜❤\ufe0f，生僻字𠀀𪚥，控制符\x07，模板{nb}{page}。"
    [text] = _pages(poster_pdf(_poster(body=body, sections=[], title="标题🎉")))
    squeezed = _squeeze(text)
    assert "表情□与家庭□□□，" in squeezed
    assert "生僻字□□，控制符，模板{nb}{page}。" in squeezed
    assert "标题□" in squeezed


def test_printable_replaces_or_drops_what_the_font_cannot_draw() -> None:
    assert printable("a😀\u200db\ufe0f\x07c𠀀\r\nd\te") == f"a{MISSING}bc{MISSING}\nd e"
    assert printable("中文 English，１２３") == "中文 English，１２３"


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("一二三，四五", 3, ["一二", "三，四", "五"]),  # "，" never starts a line
        ("一二（三）", 3, ["一二", "（三）"]),  # "（" never ends one
        ("aaa bbb ccc", 7, ["aaa bbb", "ccc"]),  # Latin breaks at spaces
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),  # a word longer than a line is cut
        ("中文mixed英文", 5, ["中文", "mixed", "英文"]),
        ("", 4, [""]),
    ],
)
def test_wrap(text: str, width: float, lines: list[str]) -> None:
    assert wrap(text, width, len) == lines


def test_wrap_indents_the_first_line() -> None:
    assert wrap("一二三四五六", 4, len, indent=2) == ["一二", "三四五六"]


def test_a_poster_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _poster(published_at=datetime(2026, 3, 5, 10, 30))
