"""SQLite's process-wide settings, made once at start-up (``bot.startup.prepare_process``).

By default SQLite counts every allocation in statistics kept under one process-wide mutex
(``SQLITE_CONFIG_MEMSTATUS``; SQLite recommends builds without it, and the system library
Python links to keeps it on). Sunbox reads with several connections at once (the bot's, and a
report's readers, one per processor): with the statistics on, two readers counting half of a
report each took as long as one reader counting all of it (1M cases: 2.0 s either way; 1.0 s
with them off, and one reader alone 20 % faster too). Nothing here reads those statistics.

SQLite takes such settings only while it is stopped, and Python's ``sqlite3`` module starts it
as it is imported. So :func:`configure` sets it straight away when ``sqlite3`` is not imported
yet, and otherwise stops the library, sets it and starts it again, which is allowed only while
no connection exists: while SQLite holds no memory at all. Call it at start-up,
before any connection is opened and while no other thread uses SQLite. Where that is not
possible (a connection was opened, not Linux, no such library) it does nothing: the same
database, only slower. Importing this module changes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

SQLITE_CONFIG_MEMSTATUS = 9
SQLITE_OK = 0

_done: bool | None = None


def configure() -> bool:
    """Turn SQLite's allocation statistics off if no connection was opened yet; whether they
    are off (now or by an earlier call)."""
    global _done
    if _done is not None:
        return _done
    _done = False
    # Elsewhere Python may carry a copy of SQLite of its own, not the one found by name.
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return False
    try:
        # The same shared library that _sqlite3 links to: the loader keeps one copy per name.
        _done = _statistics_off(ctypes.CDLL(name))
    except (OSError, AttributeError):
        return False
    return _done


def _statistics_off(library: ctypes.CDLL) -> bool:
    if library.sqlite3_compileoption_used(b"DEFAULT_MEMSTATUS=0"):
        return True  # built without them
    if "_sqlite3" in sys.modules:
        # Started by the import. With the statistics on (the default, checked above) SQLite
        # holds no memory only while no connection or statement exists: it may be stopped.
        library.sqlite3_memory_used.restype = ctypes.c_int64
        if library.sqlite3_memory_used() != 0 or library.sqlite3_shutdown() != SQLITE_OK:
            return False
    done = library.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == SQLITE_OK
    # Started again as Python's import left it (sqlite3_open would also start it).
    library.sqlite3_initialize()
    return done
