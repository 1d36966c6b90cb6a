"""Refresh the gettext catalogs from the source (Babel's extract + update, in one step).

    .venv/bin/python tools/update_catalogs.py

Extracts every ``t("…")``, ``N_("…")``, ``tn("…", "…", n)`` and ``NP_("…", "…")`` from
bot/, handlers/ and storage/ into locales/sunbox.pot, merges it into each
locales/<lang>/LC_MESSAGES/sunbox.po (keeping translations, dropping obsolete ones), fills
the English catalog with the source text (msgids are English), and lists the Chinese entries
still missing a translation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
KEYWORDS = {"t": None, "N_": None, "tn": (1, 2), "NP_": (1, 2)}
SOURCES = ("bot", "handlers", "storage")


def extract() -> Catalog:
    """Every marked message in the source tree."""
    template = Catalog(project="sunbox", msgid_bugs_address="", charset="utf-8")
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
        ):
            template.add(message, None, [(f"{source}/{filename}", lineno)],
                         auto_comments=comments, context=context)
    return template


def main() -> int:
    template = extract()
    with (LOCALES / "sunbox.pot").open("wb") as out:
        write_po(out, template, omit_header=False, sort_output=True, include_lineno=False)
    missing = 0
    for language in ("zh_CN", "en"):
        po_path = LOCALES / language / "LC_MESSAGES" / "sunbox.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = Catalog(locale=language, project="sunbox", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            if language == "en" and isinstance(message.id, tuple) and not all(message.string):
                message.string = tuple(message.id)  # singular, plural: the source's own
            elif language == "en" and not message.string:
                message.string = message.id
            if language != "en" and not (
                all(message.string) if isinstance(message.string, tuple) else message.string
            ):
                missing += 1
                print(f"{language}: untranslated: {message.id!r}")
        with po_path.open("wb") as out:
            write_po(out, catalog, sort_output=True, include_lineno=False, width=100)
    print(f"{len(template)} messages; {missing} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
