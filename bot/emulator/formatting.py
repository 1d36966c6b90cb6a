"""Telegram text formatting: parse_mode HTML / MarkdownV2 / Markdown into plain text + entities.

Mirrors what the Bot API does with ``parse_mode``: the visible text has the markup removed, the
formatting becomes ``MessageEntity`` dicts (offsets in UTF-16 code units), and malformed markup is
rejected with Telegram's "can't parse entities" errors. Good enough to catch the classic bugs:
unescaped ``<`` or ``&`` in HTML, unescaped ``.`` or ``-`` in MarkdownV2, unsupported tags.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FormatError", "parse_text", "utf16_len"]


class FormatError(ValueError):
    """Markup Telegram would refuse; the message is the part after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


@dataclass
class _Builder:
    """Accumulates plain text and entities while a parser walks the source."""

    parts: list[str] = field(default_factory=list)
    pos: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def entity(self, etype: str, start: int, **extra: Any) -> None:
        if self.pos > start:
            length = self.pos - start
            self.entities.append({"type": etype, "offset": start, "length": length, **extra})

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        ents = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return self.text, ents


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain_text, entities) for ``text`` under ``parse_mode``; raise FormatError."""
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return text, []
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _MarkdownV2(text).parse()
    if mode == "markdown":
        return _parse_markdown_legacy(text)
    raise FormatError(f"Unsupported parse_mode {parse_mode!r}")


# --- HTML -------------------------------------------------------------------------------------

_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTR_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);")
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


def _unescape_html(segment: str) -> str:
    return _HTML_ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), segment)


def _attrs(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR_RE.finditer(raw):
        value = m.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        out[m.group(1).lower()] = html.unescape(value)
    return out


def _html_tag(name: str, attrs: dict[str, str], offset: int) -> tuple[str | None, dict[str, Any]]:
    """Entity type and extra fields for an opening tag (None type: tag allowed, no entity)."""
    if name in _SIMPLE_TAGS:
        return _SIMPLE_TAGS[name], {}
    if name == "span" and attrs.get("class") == "tg-spoiler":
        return "spoiler", {}
    if name == "a":
        href = attrs.get("href")
        if not href:
            return None, {}
        match = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if match:
            return "text_mention", {"user": {"id": int(match.group(1)), "is_bot": False,
                                             "first_name": ""}}
        return "text_link", {"url": href}
    if name == "blockquote":
        return ("expandable_blockquote" if "expandable" in attrs else "blockquote"), {}
    if name == "tg-emoji" and attrs.get("emoji-id"):
        return "custom_emoji", {"custom_emoji_id": attrs["emoji-id"]}
    raise FormatError(f'Unsupported start tag "{name}" at byte offset {offset}')


def _parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    # stack entries: (tag name, entity type, start, extra)
    stack: list[tuple[str, str | None, int, dict[str, Any]]] = []
    i = 0
    while i < len(src):
        lt = src.find("<", i)
        out.emit(_unescape_html(src[i : lt if lt >= 0 else len(src)]))
        if lt < 0:
            break
        offset = _byte_offset(src, lt)
        match = _TAG_RE.match(src, lt)
        if match is None:
            word = re.match(r"</?([^\s<>]*)", src[lt:])
            name = word.group(1) if word else ""
            if src.startswith("</", lt):
                raise FormatError(f'Unexpected end tag "{name}" at byte offset {offset}')
            raise FormatError(f'Unsupported start tag "{name}" at byte offset {offset}')
        closing, name, raw_attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if closing:
            if not stack:
                raise FormatError(f"Unexpected end tag at byte offset {offset}")
            top_name, etype, start, extra = stack.pop()
            if top_name != name:
                raise FormatError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top_name}>", '
                    f'found "</{name}>"'
                )
            if name == "code" and stack and stack[-1][0] == "pre" and extra.get("language"):
                stack[-1][3]["language"] = extra["language"]
            elif etype:
                if etype == "code":
                    extra.pop("language", None)
                out.entity(etype, start, **extra)
        else:
            attrs = _attrs(raw_attrs)
            etype, extra = _html_tag(name, attrs, offset)
            if name == "code" and attrs.get("class", "").startswith("language-"):
                extra["language"] = attrs["class"][len("language-") :]
            stack.append((name, etype, out.pos, extra))
        i = match.end()
    if stack:
        raise FormatError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


# --- MarkdownV2 --------------------------------------------------------------------------------

_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD2_NAMES = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
    "[": ("text_link", "TextUrl"),
    "![": ("custom_emoji", "CustomEmoji"),
}


class _MarkdownV2:
    """A small MarkdownV2 parser following the Bot API's formatting rules."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.out = _Builder()
        self.stack: list[tuple[str, int, int]] = []  # (marker, start pos, source index)
        self.quote_start: int | None = None

    def _err_reserved(self, ch: str) -> FormatError:
        return FormatError(f"Character '{ch}' is reserved and must be escaped with the "
                           "preceding '\\'")

    def _toggle(self, marker: str, index: int) -> None:
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == marker:
                _, start, _ = self.stack.pop(k)
                self.out.entity(_MD2_NAMES[marker][0], start)
                return
        self.stack.append((marker, self.out.pos, index))

    def _read_until(self, i: int, closer: str, *, what: str, start: int) -> tuple[str, int]:
        """Read escaped text up to ``closer``; return (text, index after closer)."""
        src, buf = self.src, []
        while i < len(src):
            if src[i] == "\\" and i + 1 < len(src):
                buf.append(src[i + 1])
                i += 2
                continue
            if src.startswith(closer, i):
                return "".join(buf), i + len(closer)
            buf.append(src[i])
            i += 1
        raise FormatError(
            f"Can't find end of {what} entity at byte offset {_byte_offset(src, start)}"
        )

    def _code(self, i: int) -> int:
        src = self.src
        if src.startswith("```", i):
            body, end = self._read_until(i + 3, "```", what="Pre", start=i)
            language = None
            first, nl, rest = body.partition("\n")
            if nl and first and " " not in first:
                language, body = first, rest
            start = self.out.pos
            self.out.emit(body)
            self.out.entity("pre", start, **({"language": language} if language else {}))
            return end
        body, end = self._read_until(i + 1, "`", what="Code", start=i)
        start = self.out.pos
        self.out.emit(body)
        self.out.entity("code", start)
        return end

    def _close_link(self, i: int) -> int:
        src = self.src
        marker, start, opened_at = self.stack.pop()
        if not src.startswith("(", i + 1):
            raise self._err_reserved("]")
        url, end = self._read_until(i + 2, ")", what=_MD2_NAMES[marker][1], start=opened_at)
        if marker == "![":
            emoji_id = url.removeprefix("tg://emoji?id=")
            self.out.entity("custom_emoji", start, custom_emoji_id=emoji_id)
        else:
            self.out.entity("text_link", start, url=url)
        return end

    def _line_start(self, i: int) -> int:
        """Handle a '>' blockquote marker at the start of a line."""
        src = self.src
        if src.startswith(">", i):
            if self.quote_start is None:
                self.quote_start = self.out.pos
            return i + 1
        if self.quote_start is not None:
            self._close_quote()
        return i

    def _close_quote(self) -> None:
        if self.quote_start is None:
            return
        text = self.out.text
        end_trim = len(text) - len(text.rstrip("\n"))
        self.out.pos -= end_trim
        self.out.entity("blockquote", self.quote_start)
        self.out.pos += end_trim
        self.quote_start = None

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        src, i, at_line_start = self.src, 0, True
        while i < len(src):
            if at_line_start:
                i = self._line_start(i)
                at_line_start = False
                if i >= len(src):
                    break
            ch = src[i]
            if ch == "\\":
                if i + 1 >= len(src):
                    raise self._err_reserved("\\")
                self.out.emit(src[i + 1])
                i += 2
            elif ch == "`":
                i = self._code(i)
            elif ch == "*":
                self._toggle("*", i)
                i += 1
            elif ch == "_":
                marker = "__" if src.startswith("__", i) else "_"
                self._toggle(marker, i)
                i += len(marker)
            elif ch == "~":
                self._toggle("~", i)
                i += 1
            elif ch == "|" and src.startswith("||", i):
                self._toggle("||", i)
                i += 2
            elif ch == "[":
                self.stack.append(("[", self.out.pos, i))
                i += 1
            elif ch == "!" and src.startswith("![", i):
                self.stack.append(("![", self.out.pos, i))
                i += 2
            elif ch == "]" and self.stack and self.stack[-1][0] in ("[", "!["):
                i = self._close_link(i)
            elif ch in _MD2_RESERVED:
                raise self._err_reserved(ch)
            else:
                self.out.emit(ch)
                at_line_start = ch == "\n"
                i += 1
        self._close_quote()
        if self.stack:
            marker, _, index = self.stack[-1]
            raise FormatError(
                f"Can't find end of {_MD2_NAMES[marker][1]} entity at byte offset "
                f"{_byte_offset(src, index)}"
            )
        return self.out.result()


# --- legacy Markdown ---------------------------------------------------------------------------


def _parse_markdown_legacy(src: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    i = 0

    def find_end(start: int, closer: str) -> int:
        end = src.find(closer, start)
        if end < 0:
            raise FormatError(
                "Can't find end of the entity starting at byte offset "
                f"{_byte_offset(src, start - 1)}"
            )
        return end

    while i < len(src):
        ch = src[i]
        if ch == "\\" and i + 1 < len(src) and src[i + 1] in "_*`[":
            out.emit(src[i + 1])
            i += 2
        elif ch in "*_":
            end = find_end(i + 1, ch)
            start = out.pos
            out.emit(src[i + 1 : end])
            out.entity("bold" if ch == "*" else "italic", start)
            i = end + 1
        elif ch == "`":
            closer = "```" if src.startswith("```", i) else "`"
            end = find_end(i + len(closer), closer)
            start = out.pos
            out.emit(src[i + len(closer) : end])
            out.entity("pre" if closer == "```" else "code", start)
            i = end + len(closer)
        elif ch == "[":
            close = find_end(i + 1, "]")
            if src.startswith("(", close + 1):
                url_end = find_end(close + 2, ")")
                start = out.pos
                out.emit(src[i + 1 : close])
                out.entity("text_link", start, url=src[close + 2 : url_end])
                i = url_end + 1
            else:
                out.emit(src[i : close + 1])
                i = close + 1
        else:
            out.emit(ch)
            i += 1
    return out.result()
