"""Sunbox uses python-telegram-bot and its database driver through their public names only
(aiosqlite's private ``_execute``/``_conn`` went with aiosqlite itself): a private module
(``telegram._utils``, ``telegram.ext._utils``, ...) may change in any release. Private
attributes (``bot._post``) are ruff's SLF001; this covers imports, which ruff lets through."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("telegram", "sqlite3", "psycopg")
#: Private imports still to replace, each with the work that replaces it.
NOT_YET: set[tuple[str, str]] = set()


def _private(module: str) -> bool:
    parts = module.split(".")
    return parts[0] in LIBRARIES and any(part.startswith("_") for part in parts[1:])


def _private_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _private(node.module):
                found.add(node.module)
            else:
                found |= {f"{node.module}.{alias.name}" for alias in node.names
                          if _private(f"{node.module}.{alias.name}")}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if _private(alias.name)}
    return found


def test_no_private_module_of_ptb_or_the_driver_is_imported() -> None:
    found = {(str(path.relative_to(ROOT)), module)
             for folder in ("bot", "handlers", "storage", "tests", "bench", "tools")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for module in _private_imports(path)}
    assert found <= NOT_YET, sorted(found - NOT_YET)


def test_the_check_finds_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from telegram._utils.types import ODVInput\n"
                      "from telegram.ext import _utils\nimport sqlite3.dump\n"
                      "import telegram._bot\nfrom telegram.request import BaseRequest\n",
                      encoding="utf-8")
    assert _private_imports(sample) == {"telegram._utils.types", "telegram.ext._utils",
                                        "telegram._bot"}
