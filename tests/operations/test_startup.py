"""Importing Sunbox changes nothing in the process; its entry points make the process-wide
settings (``bot.startup.prepare_process``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter without PTB_TIMEDELTA (the test run has it): what importing
# does to the environment and to SQLite's settings, and whether SQLite could still be set.
IMPORTS = """
import json, os, sys
before = dict(os.environ)
import bot, storage
import bot.app, bot.cli, bot.telegram.outbox, bot.telegram.retrying, storage.db, handlers
from storage import sqlite_library
changed = {k: v for k, v in os.environ.items() if before.get(k) != v}
print(json.dumps({"changed": changed, "configured": sqlite_library._done,
                  "sqlite_may_be_set": sqlite_library.configure()}))
"""


def _fresh(code: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "PTB_TIMEDELTA"}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=env).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    return result


def test_importing_bot_and_storage_changes_neither_the_environment_nor_sqlite() -> None:
    result = _fresh(IMPORTS)
    assert result["changed"] == {}
    # Nothing set SQLite up on import (None: configure was never called) ...
    assert result["configured"] is None
    # ... and it is still the start-up's to set (no connection was opened by importing).
    assert result["sqlite_may_be_set"] is sys.platform.startswith("linux")


def test_prepare_process_sets_ptb_durations_and_leaves_a_chosen_value() -> None:
    code = ("import json, os\nfrom bot.startup import prepare_process\nprepare_process()\n"
            "first = os.environ['PTB_TIMEDELTA']\nprepare_process()\n"
            "print(json.dumps({'first': first, 'again': os.environ['PTB_TIMEDELTA']}))")
    assert _fresh(code) == {"first": "1", "again": "1"}
    chosen = subprocess.run(
        [sys.executable, "-c", "import os\nfrom bot.startup import prepare_process\n"
         "prepare_process()\nprint(os.environ['PTB_TIMEDELTA'])"],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PTB_TIMEDELTA": "true"}).stdout.split()
    assert chosen == ["true"]


def test_the_sunbox_command_prepares_its_process() -> None:
    code = ("import json, os\nfrom bot import cli\nfrom storage import sqlite_library\n"
            f"cli.main(['check-config', {str(ROOT / 'config.example.toml')!r}])\n"
            "print(json.dumps({'ptb': os.environ.get('PTB_TIMEDELTA'),"
            " 'sqlite': sqlite_library._done}))")
    assert _fresh(code) == {"ptb": "1", "sqlite": sys.platform.startswith("linux")}
