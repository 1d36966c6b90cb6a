"""The catalogs: complete, placeholders intact, and the locale resolved as documented."""

from __future__ import annotations

import re
import string
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES_DIR, resolve_language, translator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from update_catalogs import extract


def _forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """A message's text, or each form of a plural one (``tn``)."""
    return (text,) if isinstance(text, str) else tuple(text)


def _placeholders(text: str | tuple[str, ...]) -> set[str]:
    return {name for form in _forms(text) for _, name, _, _ in string.Formatter().parse(form)
            if name}


def _catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "sunbox.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.fixture(scope="module")
def source_ids() -> set[str]:
    return {message.id for message in extract() if message.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_in_the_code_is_translated(language: str, source_ids: set[str]) -> None:
    catalog = _catalog(language)
    translated = {m.id for m in catalog if m.id and all(_forms(m.string)) and not m.fuzzy}
    missing = sorted(source_ids - translated)
    assert not missing, f"{language}: untranslated or missing: {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    for message in _catalog(language):
        if message.id and message.string:
            # Any plural form may leave out {count} ("one case"), none may add a name.
            ids = _forms(message.id)
            wanted = set().union(*map(_placeholders, ids))
            for form in filter(None, _forms(message.string)):  # empty: the msgid is used
                found = _placeholders(form)
                assert found <= wanted and found >= wanted - {"count"}, message.id


def test_chinese_is_really_chinese() -> None:
    """A catalog that copied the English would pass the completeness test: refuse it."""
    han = re.compile(r"[\u4e00-\u9fff]")
    catalog = _catalog("zh_CN")

    def words(text: str) -> list[str]:
        return re.findall(r"[A-Za-z]{4,}", re.sub(r"\{\w+\}", "", text))

    wordy = [m for m in catalog if m.id and len(words(_forms(m.id)[0])) >= 3]
    english_left = [m.id for m in wordy
                    if not all(han.search(form) for form in _forms(m.string))]
    assert not english_left


def test_translations_are_loaded_from_compiled_catalogs() -> None:
    assert translator("zh_CN")("Cancelled. Nothing was stored.") == "已取消，未保存任何内容。"
    assert translator("en")("Cancelled. Nothing was stored.") == "Cancelled. Nothing was stored."


@pytest.mark.parametrize(
    ("saved", "telegram", "default", "expected"),
    [
        ("en", "zh-hans", "zh_CN", "en"),  # the saved choice wins
        (None, "zh-hant", "en", "zh_CN"),  # then Telegram's language code
        (None, "en-GB", "zh_CN", "en"),
        (None, "ru", "zh_CN", "zh_CN"),  # unsupported: the default
        (None, None, "en", "en"),
    ],
)
def test_language_resolution(saved: str | None, telegram: str | None, default: str,
                             expected: str) -> None:
    assert resolve_language(saved, telegram, default) == expected
