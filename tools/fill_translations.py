"""Fill zh_CN msgstrs from a tab-separated file of ``msgid<TAB>translation`` lines (what a
helper reports), for messages still untranslated; then run tools/update_catalogs.py again.

    .venv/bin/python tools/fill_translations.py FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOG = Path(__file__).resolve().parents[1] / "locales" / "zh_CN" / "LC_MESSAGES" / "sunbox.po"


def main(path: str) -> int:
    pairs = dict(line.split("\t", 1) for line in
                 Path(path).read_text(encoding="utf-8").splitlines() if "\t" in line)
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    filled = 0
    for message in catalog:
        if message.id and isinstance(message.id, str) and not message.string \
                and message.id in pairs:
            message.string = pairs[message.id]
            filled += 1
    with CATALOG.open("wb") as handle:
        write_po(handle, catalog, width=100)
    print(f"filled {filled} of {len(pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
