"""Gettext catalogs (zh_CN default, en): compiled at start-up, cached per locale.

Source strings (msgids) are English. Code marks them with ``t("...")`` where a translator
is at hand, and with ``N_("...")`` where the text is defined before the reader's locale is
known (it is translated later with ``t(message)``). Placeholders are named (``{number}``)
and filled with ``str.format`` after translation: never concatenate translated fragments.

Maintain the catalogs with Babel::

    pybabel extract -F babel.cfg -k t -k N_ -k tn:1,2 -o locales/sunbox.pot .
    pybabel update -i locales/sunbox.pot -d locales -D sunbox
"""

from __future__ import annotations

import gettext
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "sunbox"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_compile_lock = threading.Lock()


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for extraction without translating it now."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - as N_
    """Mark a message with a plural form for extraction (``tools/update_catalogs.py``);
    translate it later with ``plural_translator(language)(*message, n)``."""
    return singular, plural


def plural_count(value: float) -> int:
    """The count that chooses a plural form for a number that may have decimals (1.5
    working days takes the plural, as does 0)."""
    return int(value) if float(value).is_integer() else 2


def _compile_catalog(language: str) -> Path:
    """Compile ``<language>.po`` to ``.mo`` when the ``.mo`` is missing or older."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    lc_dir = LOCALES_DIR / language / "LC_MESSAGES"
    po_path = lc_dir / f"{DOMAIN}.po"
    mo_path = lc_dir / f"{DOMAIN}.mo"
    with _compile_lock:
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=language)
            tmp = mo_path.with_suffix(".mo.tmp")
            with tmp.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            tmp.replace(mo_path)
    return mo_path


def compile_catalogs() -> None:
    """Compile every catalog; called at start-up so a fresh clone works."""
    for language in LANGUAGES:
        _compile_catalog(language)


def normalize_language(code: str | None) -> str | None:
    """Map a Telegram ``language_code`` or a saved choice onto a supported catalog."""
    if not code:
        return None
    lowered = code.replace("-", "_").lower()
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered.startswith("en"):
        return "en"
    return None


def resolve_language(saved: str | None, telegram_code: str | None, default: str) -> str:
    """The user's saved choice, then Telegram's ``language_code``, then the default."""
    return normalize_language(saved) or normalize_language(telegram_code) or default


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The cached translations for one supported language."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    mo_path = _compile_catalog(language)
    with mo_path.open("rb") as mo_file:
        return gettext.GNUTranslations(mo_file)


Translate = Callable[[str], str]


def translator(language: str) -> Translate:
    """``t(message)`` for one language."""
    return translations(language).gettext


def plural_translator(language: str) -> Callable[[str, str, int], str]:
    """``tn(singular, plural, n)`` for one language."""
    return translations(language).ngettext
