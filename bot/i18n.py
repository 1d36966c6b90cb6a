"""Gettext catalogs (zh_CN default, en): cached per locale.

An installed wheel carries them compiled (``bot/locales/<lang>/LC_MESSAGES/sunbox.mo``,
built by ``setup.py``) and never writes beside them: the service user cannot write to
site-packages. A source checkout compiles ``locales/<lang>/LC_MESSAGES/sunbox.po`` at
start-up, next to the ``.po`` when it can, else into ``$XDG_CACHE_HOME/sunbox/locales``,
else in memory.

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
import hashlib
import io
import os
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

# The catalogs of a source checkout (``.po``, maintained with Babel).
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
# The catalogs compiled into an installed wheel (``.mo`` only).
PACKAGED_LOCALES_DIR = Path(__file__).resolve().parent / "locales"
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


def _cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/sunbox/locales`` (``~/.cache/...``); ``None`` without a home."""
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:
        return None
    return Path(base) / "sunbox" / "locales"


def _mo_bytes(po_path: Path, language: str) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; ``False`` if the place is not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        return False
    return True


def _compile_catalog(language: str) -> Path | bytes:
    """The compiled catalog of ``language``: a ``.mo`` file, or its bytes when no place
    to keep it is writable."""
    packaged = PACKAGED_LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if packaged.is_file() and not po_path.is_file():
        return packaged  # an installed wheel: compiled at build time, read-only
    mo_path = po_path.with_suffix(".mo")
    with _compile_lock:
        if mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            return mo_path
        # A checkout this user cannot write keeps its compiled catalogs in their cache,
        # named after the catalog's content.
        cache_dir = _cache_dir()
        digest = hashlib.sha256(po_path.read_bytes()).hexdigest()[:16]
        cached = None if cache_dir is None else cache_dir / language / f"{DOMAIN}-{digest}.mo"
        if cached is not None and cached.is_file():
            return cached
        data = _mo_bytes(po_path, language)
        if _write(mo_path, data):
            return mo_path
        if cached is not None and _write(cached, data):
            return cached
        return data


def compile_catalogs() -> None:
    """Compile every catalog (a source checkout); called at start-up so a fresh clone
    works."""
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
    compiled = _compile_catalog(language)
    if isinstance(compiled, bytes):
        return gettext.GNUTranslations(io.BytesIO(compiled))
    with compiled.open("rb") as mo_file:
        return gettext.GNUTranslations(mo_file)


Translate = Callable[[str], str]


def translator(language: str) -> Translate:
    """``t(message)`` for one language."""
    return translations(language).gettext


def plural_translator(language: str) -> Callable[[str, str, int], str]:
    """``tn(singular, plural, n)`` for one language."""
    return translations(language).ngettext
