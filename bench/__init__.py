"""Sunbox's benchmarks (bench/README.md)."""

# SQLite's library settings, before a benchmark's own imports start sqlite3 (as the bot
# makes them before its own: storage/sqlite_library.py).
import storage as _storage  # noqa: F401
