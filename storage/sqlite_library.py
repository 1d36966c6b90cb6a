"""SQLite's process-wide settings, made before Python's sqlite3 module starts the library.

By default SQLite counts every allocation in statistics kept under one process-wide mutex
(``SQLITE_CONFIG_MEMSTATUS``; SQLite recommends builds without it, and the system library
Python links to keeps it on). Sunbox reads with several connections at once (the bot's, and a
report's readers, one per processor): with the statistics on, two readers counting half of a
report each took as long as one reader counting all of it (1M cases: 2.0 s either way; 1.0 s
with them off, and one reader alone 20 % faster too). Nothing here reads those statistics.

The setting can only be made before the library is first used, so :func:`configure` runs when
``bot`` or ``storage`` is imported, before anything imports ``sqlite3``. Where that is not
possible (``sqlite3`` already imported, not Linux, no such library) it does nothing: the same
database, only slower.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

SQLITE_CONFIG_MEMSTATUS = 9
SQLITE_OK = 0

_done: bool | None = None


def configure() -> bool:
    """Turn SQLite's allocation statistics off if the library has not started yet; whether
    they are off (now or by an earlier call)."""
    global _done
    if _done is not None:
        return _done
    _done = False
    # Elsewhere Python may carry a copy of SQLite of its own, not the one found by name.
    if "_sqlite3" in sys.modules or not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return False
    try:
        library = ctypes.CDLL(name)
        # The same shared library that _sqlite3 links to: the loader keeps one copy per name.
        _done = library.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == SQLITE_OK
    except (OSError, AttributeError):
        return False
    return _done
