"""A published disclosure as a printable A4 poster (PDF) for the notice board (公开栏).

:func:`poster_pdf` takes a :class:`Poster` (plain values: the register reads the database,
this module only draws) and returns the PDF's bytes. The few fixed labels are gettext
messages translated for ``Poster.language``, as the assessment's chart and workbook are.

Layout: A4 portrait, 18 mm margins. Every page has a header (the unit's name; "Party
affairs disclosure" and the number) and a footer (the hint on how to give an opinion;
"page 1 of 2"). The first page has the title, the version line of a correcting version,
and the meta lines (item, aspect, date of publication); then the body and the sections,
each under its heading, over as many pages as they need.

Text is broken into lines here rather than by fpdf2: Chinese may break between any two
characters, Latin text at spaces (a word longer than a line, such as a URL, is cut), and
the rules of Chinese typesetting hold (禁则: no line starts with "，。）」" and the like, none
ends with "（「“"). Widths come from the font's own advance widths (fontTools), so
measuring does not depend on fpdf2's internals.

The font is Noto Sans SC from ``pylopdf-fonts-zh-cn`` (the chart's, :func:`font_path`),
embedded as a subset by fpdf2. A character the font lacks (emoji, CJK Extension B and
other rare ideographs, symbols, private use) is printed as "□" (:data:`MISSING`), the
mark a printer leaves for a character they have no type for; joiners, variation
selectors, skin-tone modifiers, combining marks and control characters the font lacks
are dropped: they draw nothing of their own. So no input makes the
poster fail, and no character silently disappears from the reader's view.

The output is deterministic: the same poster gives the same bytes (the PDF's creation
date is the moment of publication; fpdf2 names the font subset alike every time and
derives the file id from the content), so a hash of the file identifies its content.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from bot.i18n import N_, Translate, translator
from bot.reports.chart import font_path

if TYPE_CHECKING:
    from fpdf import FPDF

HEADER = N_("Party affairs disclosure {number}")
ITEM = N_("Item: {name}")
ASPECT = N_("Aspect: {name}")
PUBLISHED = N_("Published: {date}")
DATE = N_("{year}-{month:02}-{day:02}")
VERSION = N_("Version {version}")
CORRECTS = N_("Version {version}, correcting {number}")
PAGE = N_("Page {page} of {pages}")

FAMILY = "NotoSansSC"
PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
MARGIN = 18.0
TEXT_W = PAGE_W - 2 * MARGIN
PT = 25.4 / 72  # mm per point
MISSING = "□"
HINT_LINES = 3  # at most, in the footer
# Sizes (pt) and leading (line height / size).
HEADER_SIZE, TITLE_SIZE, VERSION_SIZE, META_SIZE = 10.0, 20.0, 11.0, 10.5
HEADING_SIZE, BODY_SIZE, FOOTER_SIZE = 13.0, 12.0, 9.0
LEADING, TITLE_LEADING, FOOTER_LEADING = 1.75, 1.4, 1.5
# Colours (RGB).
RED, INK, GREY = (176, 0, 0), (26, 26, 26), (85, 85, 85)

# 禁则 (line-breaking rules): characters that never start a line, and that never end one.
NO_START = frozenset("，。、；：？！）》〉」』】〕｝］…—～·%,.;:?!)]}>’”‰℃")
NO_END = frozenset("（《〈「『【〔｛［“‘([{<")
# Characters without a glyph that are dropped, not marked: they draw nothing of their own
# (controls, joiners and marks, variation selectors, skin-tone modifiers).
DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Me", "Sk"})


@dataclass(frozen=True)
class Poster:
    """What a poster shows; every text as published (already in the reader's language).

    ``published_at`` is the moment of publication in the county's time zone (aware);
    ``corrects`` is the number of the disclosure a version > 1 corrects, if any;
    ``opinion_hint`` tells readers how to give an opinion (e.g. the bot's deep link);
    ``language`` (``zh_CN`` or ``en``) is the language of the fixed labels.
    """

    unit_name: str
    number: str
    title: str
    item_name: str
    aspect_name: str
    body: str
    published_at: datetime
    sections: Sequence[tuple[str, str]] = ()
    version: int = 1
    corrects: str | None = None
    opinion_hint: str = ""
    language: str = "zh_CN"

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError("published_at must be timezone-aware")
        sections = tuple((str(heading), str(text)) for heading, text in self.sections)
        object.__setattr__(self, "sections", sections)  # a list given: kept as a tuple


@dataclass(frozen=True)
class _Font:
    """The characters the font has, with their advance widths (in em)."""

    advance: dict[int, float]

    def width(self, text: str, size: float) -> float:
        """Width of ``text`` in mm at ``size`` pt (fpdf2 applies no kerning)."""
        return sum(self.advance.get(ord(ch), 1.0) for ch in text) * size * PT


@cache
def _font() -> _Font:
    from fontTools.ttLib import TTFont

    with TTFont(str(font_path()), lazy=True) as font:
        per_em = float(font["head"].unitsPerEm)
        metrics = font["hmtx"]
        advance = {code: metrics[glyph][0] / per_em
                   for code, glyph in font.getBestCmap().items()}
    return _Font(advance)


def printable(text: str, font: _Font | None = None) -> str:
    """``text`` with what the font cannot draw replaced (:data:`MISSING`) or dropped.

    Line ends become ``\\n``; tabs become spaces."""
    advance = (font or _font()).advance
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    out: list[str] = []
    for ch in text:
        if ch == "\n" or ord(ch) in advance:
            out.append(ch)
        elif unicodedata.category(ch) in DROPPED_CATEGORIES:
            continue
        elif unicodedata.category(ch).startswith("Z"):
            out.append(" ")
        else:
            out.append(MISSING)
    return "".join(out)


def _wide(ch: str) -> bool:
    """A character a line may break before and after (Chinese, full-width forms)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _atoms(text: str) -> list[str]:
    """``text`` cut where a line may break: each wide character alone, each Latin word
    with the spaces after it; then punctuation glued to its neighbour (禁则)."""
    atoms: list[str] = []
    word = ""
    for ch in text:
        if _wide(ch):
            if word:
                atoms.append(word)
            atoms.append(ch)
            word = ""
        elif ch != " " and word.endswith(" "):
            atoms.append(word)
            word = ch
        else:
            word += ch
    if word:
        atoms.append(word)
    glued: list[str] = []
    opening = ""
    for atom in atoms:
        atom, opening = opening + atom, ""
        if atom[-1] in NO_END:
            opening = atom  # waits for what it opens
        elif glued and atom[0] in NO_START:
            glued[-1] += atom
        else:
            glued.append(atom)
    if opening:
        glued.append(opening)
    return glued


def wrap(text: str, width: float, measure: Callable[[str], float],
         indent: float = 0.0) -> list[str]:
    """``text`` (one paragraph) as lines no wider than ``width`` (the first ``indent``
    narrower); an atom wider than a whole line is cut between characters."""
    lines: list[str] = []
    line, used, room = "", 0.0, width - indent
    for atom in _atoms(text):
        if not line:
            atom = atom.lstrip(" ")
            if not atom:
                continue
        if used + measure(atom.rstrip(" ")) <= room:
            line, used = line + atom, used + measure(atom)
            continue
        if line:
            lines.append(line.rstrip(" "))
            line, used, room = "", 0.0, width
            atom = atom.lstrip(" ")
        while measure(atom.rstrip(" ")) > room:
            cut, cut_width = 1, measure(atom[0])
            while cut < len(atom) and cut_width + measure(atom[cut]) <= room:
                cut_width += measure(atom[cut])
                cut += 1
            lines.append(atom[:cut])
            atom, room = atom[cut:], width
        line, used = atom, measure(atom)
    if line.strip(" ") or not lines:
        lines.append(line.rstrip(" "))
    return lines


def _fit(font: _Font, text: str, width: float, size: float) -> tuple[str, float]:
    """``text`` on one line of ``width``: smaller (down to 7 pt), then cut with "…"."""
    while font.width(text, size) > width and size > 7:
        size -= 0.5
    if font.width(text, size) > width:
        while text and font.width(text + "…", size) > width:
            text = text[:-1]
        text += "…"
    return text, size


@dataclass(frozen=True)
class _Frame:
    """What every page has: the header's two texts, the footer's hint lines and the
    page label (translated, ``{page}`` and ``{pages}`` still to fill)."""

    unit: str
    label: str
    hint: tuple[str, ...]
    page_label: str

    @property
    def footer_height(self) -> float:
        return FOOTER_SIZE * PT * FOOTER_LEADING * (len(self.hint) + 1)


class _Writer:
    """Lays lines out top to bottom, starting a page (header and footer) when one is full.

    Without a ``pdf`` it only counts the pages (a dry run): the footer's "page 1 of 2"
    needs the count before the first page is drawn."""

    def __init__(self, pdf: FPDF | None, font: _Font, frame: _Frame, pages: int = 0) -> None:
        self.pdf, self.font, self.frame, self.pages = pdf, font, frame, pages
        self.bottom = PAGE_H - MARGIN - frame.footer_height - 4.0
        self.y = 0.0
        self.page_number = 0

    def page(self) -> None:
        """A new page with its header (the unit's name left, label and number right) and
        its footer (the hint, the page number)."""
        self.page_number += 1
        self.y = MARGIN + 13.0
        pdf = self.pdf
        if pdf is None:
            return
        pdf.add_page()
        frame, font = self.frame, self.font
        label_w = font.width(frame.label, HEADER_SIZE)
        unit, size = _fit(font, frame.unit, TEXT_W - label_w - 6, HEADER_SIZE)
        # A name shrunk to fit stands on the label's baseline.
        self.text(MARGIN, MARGIN + (HEADER_SIZE - size) * PT * 0.88, unit, size, RED)
        self.text(PAGE_W - MARGIN - label_w, MARGIN, frame.label, HEADER_SIZE, RED)
        self.line(MARGIN + 7.0, RED, 0.6)
        self.line(MARGIN + 8.0, RED, 0.2)

        step = FOOTER_SIZE * PT * FOOTER_LEADING
        y = PAGE_H - MARGIN - frame.footer_height
        self.line(y - 2.0, GREY, 0.2)
        for line in frame.hint:
            self.text(MARGIN, y + (step - FOOTER_SIZE * PT) / 2, line, FOOTER_SIZE, GREY)
            y += step
        label = printable(frame.page_label.format(page=self.page_number, pages=self.pages),
                          font)
        self.text(MARGIN + (TEXT_W - font.width(label, FOOTER_SIZE)) / 2,
                  y + (step - FOOTER_SIZE * PT) / 2, label, FOOTER_SIZE, GREY)

    def line(self, y: float, color: tuple[int, int, int], width: float) -> None:
        """A rule across the text width."""
        if self.pdf is not None:
            self.pdf.set_draw_color(*color)
            self.pdf.set_line_width(width)
            self.pdf.line(MARGIN, y, PAGE_W - MARGIN, y)

    def text(self, x: float, y: float, text: str, size: float,
             color: tuple[int, int, int], bold: bool = False) -> None:
        """One line with its top at ``y``; ``bold``: stroked as well as filled."""
        from fpdf.enums import TextMode

        pdf = self.pdf
        if pdf is None:
            return
        pdf.set_font(FAMILY, size=size)
        pdf.set_text_color(*color)
        if bold:
            pdf.set_draw_color(*color)
            pdf.set_line_width(size * 0.025 * PT)
            pdf.text_mode = TextMode.FILL_STROKE
        pdf.text(x, y + size * PT * 0.88, text)  # the baseline: the font's ascent
        if bold:
            pdf.text_mode = TextMode.FILL

    def paragraph(self, text: str, size: float, color: tuple[int, int, int], *,
                  leading: float = LEADING, center: bool = False, bold: bool = False,
                  indent: float = 0.0, keep: float | None = None) -> None:
        """``text`` wrapped to the text width. With ``keep`` (mm), the whole paragraph
        and that much space after it stay on one page: a heading and the first line of
        its text."""
        step = size * PT * leading
        lines = wrap(text, TEXT_W, lambda s: self.font.width(s, size), indent)
        if keep is not None and self.y + len(lines) * step + keep > self.bottom:
            self.page()
        for number, line in enumerate(lines):
            if self.y + step > self.bottom:
                self.page()
            x = MARGIN + (indent if number == 0 else 0.0)
            if center:
                x = MARGIN + (TEXT_W - self.font.width(line, size)) / 2
            self.text(x, self.y + (step - size * PT) / 2, line, size, color, bold)
            self.y += step

    def body(self, text: str) -> None:
        """Paragraphs (one per line of ``text``), a Chinese one indented by two
        characters; empty lines only separate."""
        for raw in text.split("\n"):
            paragraph = raw.strip(" \u3000")
            if not paragraph:
                continue
            indent = 2 * BODY_SIZE * PT if _wide(paragraph[0]) else 0.0
            self.paragraph(paragraph, BODY_SIZE, INK, indent=indent)
            self.y += BODY_SIZE * PT * 0.5


def _date(t: Translate, moment: datetime) -> str:
    return t(DATE).format(year=moment.year, month=moment.month, day=moment.day)


def _version_line(t: Translate, p: Poster) -> str | None:
    if p.version <= 1:
        return None
    if p.corrects:
        return t(CORRECTS).format(version=p.version, number=p.corrects)
    return t(VERSION).format(version=p.version)


def _content(writer: _Writer, p: Poster, t: Translate, clean: Callable[[str], str]) -> None:
    """Everything from the title on, page after page."""
    writer.page()
    writer.paragraph(clean(p.title), TITLE_SIZE, INK, leading=TITLE_LEADING, center=True,
                     bold=True)
    version = _version_line(t, p)
    if version:
        writer.paragraph(clean(version), VERSION_SIZE, RED, center=True)
    writer.y += 3.0
    for label, value in ((ITEM, p.item_name), (ASPECT, p.aspect_name)):
        writer.paragraph(clean(t(label).format(name=value)), META_SIZE, GREY, leading=1.6)
    writer.paragraph(clean(t(PUBLISHED).format(date=_date(t, p.published_at))), META_SIZE,
                     GREY, leading=1.6)
    writer.y += 1.0
    writer.line(writer.y, GREY, 0.2)
    writer.y += 5.0
    writer.body(clean(p.body))
    for heading, text in p.sections:
        writer.y += 2.0
        writer.paragraph(clean(heading), HEADING_SIZE, RED, bold=True,
                         keep=1.0 + BODY_SIZE * PT * LEADING)
        writer.y += 1.0
        writer.body(clean(text))


def _frame(p: Poster, t: Translate, font: _Font, clean: Callable[[str], str]) -> _Frame:
    hint = [line for paragraph in clean(p.opinion_hint).split("\n") if paragraph.strip()
            for line in wrap(paragraph, TEXT_W, lambda s: font.width(s, FOOTER_SIZE))]
    if len(hint) > HINT_LINES:
        last = _fit(font, hint[HINT_LINES - 1] + "…", TEXT_W, FOOTER_SIZE)[0]
        hint = [*hint[:HINT_LINES - 1], last]
    return _Frame(unit=clean(p.unit_name), label=clean(t(HEADER).format(number=p.number)),
                  hint=tuple(hint), page_label=t(PAGE))


def poster_pdf(p: Poster) -> bytes:
    """The poster as PDF bytes: A4 portrait, as many pages as the text needs."""
    from fpdf import FPDF

    t = translator(p.language)
    font = _font()

    def clean(text: str) -> str:
        return printable(text, font)

    frame = _frame(p, t, font, clean)
    dry = _Writer(None, font, frame)
    _content(dry, p, t, clean)

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)  # the writer breaks pages itself
    pdf.alias_nb_pages("")  # a literal "{nb}" in the text stays as it is
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_font(FAMILY, fname=str(font_path()))
    pdf.set_creation_date(p.published_at)
    pdf.set_title(clean(p.title))
    pdf.set_author(clean(p.unit_name))
    pdf.set_subject(clean(p.number))
    pdf.set_creator("Sunbox")
    pdf.set_lang("zh-CN" if p.language == "zh_CN" else "en")
    _content(_Writer(pdf, font, frame, pages=dry.page_number), p, t, clean)
    return bytes(pdf.output())
