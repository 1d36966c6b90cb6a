"""Build hook: the wheel carries the compiled catalogs and the example configuration.

A service user cannot write to site-packages, so nothing is compiled there at start-up:
``build_py`` compiles ``locales/<lang>/LC_MESSAGES/sunbox.po`` into
``bot/locales/<lang>/LC_MESSAGES/sunbox.mo`` and copies ``config.example.toml`` into
``bot/`` (``bot.config.default_config_path`` finds it there). Everything else is in
pyproject.toml. An editable install (``./dev``) reads the source tree instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithCatalogs(build_py):
    """``build_py`` plus the compiled catalogs and ``config.example.toml``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        package = Path(self.build_lib) / "bot"
        for po_path in sorted((ROOT / "locales").glob("*/LC_MESSAGES/sunbox.po")):
            language = po_path.parent.parent.name
            mo_path = package / "locales" / language / "LC_MESSAGES" / "sunbox.mo"
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=language)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
        shutil.copyfile(ROOT / "config.example.toml", package / "config.example.toml")


setup(cmdclass={"build_py": BuildWithCatalogs})
