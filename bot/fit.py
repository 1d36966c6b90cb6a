"""Every text the bot sends fits one Telegram message: the one rule, used by every way out.

Telegram refuses a message text over 4096 characters and a caption over 1024 (counted in
UTF-16 code units, as its entities are), and a refused message would be refused again on
every retry. What must stay one message (a card with its buttons, an edit of a message)
is shortened, ending with a pointer to the full text ("/case NUMBER for the full text",
translated); a plain message is split into several, each whole lines where it can.

Two callers apply it: the outbox sender (``bot.telegram.outbox``) for owed messages and
``bot.telegram.retrying.RetryingRateLimiter`` for every other Bot API call (direct replies, edits
of a pressed message, prompts).
"""

from __future__ import annotations

import re

from bot.i18n import N_, Translate

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

#: A case number as shown to people (with or without its check part).
NUMBER = re.compile(r"\b[SRO]-\d{4}-\d{5,6}(?:-[0-9A-Z]{3,6})?\b")
SHORTENED = N_("… (shortened: send /case {number} for the full text)")
SHORTENED_NO_NUMBER = N_("… (shortened: too long for one Telegram message)")


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> str:
    """The longest start of ``text`` within ``limit`` UTF-16 units (never half a pair)."""
    if units(text) <= limit:
        return text
    # Each code point is 1 or 2 units: start from a safe guess and grow.
    cut = text[:limit // 2]
    used = units(cut)
    for char in text[len(cut):]:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > limit:
            break
        cut += char
        used += size
    return cut


def shorten(text: str, t: Translate, limit: int = TEXT_LIMIT) -> str:
    """``text`` itself if it fits, else its start and a translated pointer to the rest
    (``/case NUMBER`` when the text names a case)."""
    if units(text) <= limit:
        return text
    found = NUMBER.search(text)
    tail = (t(SHORTENED).format(number=found.group(0)) if found
            else t(SHORTENED_NO_NUMBER))
    tail = "\n" + tail
    room = max(limit - units(tail), 0)
    head = _cut(text, room).rstrip()
    return _cut(head + tail, limit)


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces that each fit, cut at line ends where possible (at spaces, else
    anywhere, for a line longer than a message)."""
    if units(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while units(rest) > limit:
        head = _cut(rest, limit)
        at = head.rfind("\n")
        if at <= len(head) // 2:  # no line end in the second half: a space, else anywhere
            at = head.rfind(" ")
            if at <= len(head) // 2:
                at = len(head)
        piece, rest = rest[:at].rstrip(), rest[at:].lstrip("\n ")
        if piece:
            pieces.append(piece)
    if rest.strip():
        pieces.append(rest)
    return pieces
