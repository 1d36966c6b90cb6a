"""Sunbox's storage: every SQL statement lives in this package."""

from storage.sqlite_library import configure as _configure

# Before anything imports sqlite3 (see storage/sqlite_library.py).
_configure()
