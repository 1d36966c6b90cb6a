"""SQLite's allocation statistics are off in Sunbox's processes (storage/sqlite_library.py):
they serialise every allocation of every connection under one mutex."""

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
print(library.sqlite3_memory_used())
"""


def _memory_used(first: str) -> int:
    out = subprocess.run([sys.executable, "-c", first + MEMORY_USED], check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="set up on Linux only")
def test_importing_sunbox_turns_sqlite_statistics_off() -> None:
    # Counted (as SQLite does by default) when sqlite3 comes first; not when bot does.
    assert _memory_used("") > 0
    assert _memory_used("import bot\n") == 0
    assert _memory_used("import bench\n") == 0


def test_it_does_nothing_once_sqlite3_is_imported() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sqlite3\nfrom storage import sqlite_library as s\n"
         "s._done = None\nprint(s.configure())\nconn = sqlite3.connect(':memory:')\n"
         "print(conn.execute('SELECT 1').fetchone()[0])"],
        check=True, capture_output=True, text=True).stdout.split()
    assert out == ["False", "1"]
