"""SQLite's allocation statistics are off in Sunbox's processes (storage/sqlite_library.py):
they serialise every allocation of every connection under one mutex. The entry points turn
them off (``bot.startup.prepare_process``); importing Sunbox does not."""

from __future__ import annotations

import subprocess
import sys

import pytest

MEMORY_USED = """
import sqlite3, ctypes, ctypes.util
conn = sqlite3.connect(":memory:")
conn.execute("CREATE TABLE t (x)")
conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
library = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
library.sqlite3_memory_used.restype = ctypes.c_int64
print(conn.execute("SELECT count(*) FROM t").fetchone()[0], library.sqlite3_memory_used())
"""
PREPARE = "from bot.startup import prepare_process\nprepare_process()\n"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="set up on Linux")


def _memory_used(first: str) -> int:
    out = subprocess.run([sys.executable, "-c", first + MEMORY_USED], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[0] == "1000"  # the database works either way
    return int(out[-1])


@linux_only
def test_the_start_up_turns_sqlite_statistics_off() -> None:
    # Counted (as SQLite does by default) when nothing turns them off.
    assert _memory_used("") > 0
    assert _memory_used(PREPARE) == 0
    assert _memory_used("import bench\n") == 0  # every benchmark's entry point


@linux_only
def test_it_works_after_sqlite3_is_imported_until_a_connection_is_opened() -> None:
    # What the sunbox command and the test run do: sqlite3 is imported with their modules.
    assert _memory_used("import sqlite3\nimport bot.app\n" + PREPARE) == 0
    assert _memory_used("import sqlite3\nsqlite3.connect(':memory:').close()\n"
                        "import gc\ngc.collect()\n" + PREPARE) == 0


def test_it_does_nothing_once_a_connection_is_open() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sqlite3\nconn = sqlite3.connect(':memory:')\n"
         "from storage import sqlite_library as s\nprint(s.configure())\n"
         "print(conn.execute('SELECT 1').fetchone()[0])"],
        check=True, capture_output=True, text=True).stdout.split()
    assert out == ["False", "1"]


@linux_only
def test_importing_sunbox_leaves_sqlite_as_it_is() -> None:
    assert _memory_used("import bot, storage, handlers\nimport bot.app\n") > 0
