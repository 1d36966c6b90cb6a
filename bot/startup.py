"""A Sunbox process's start-up: the process-wide settings, made by its entry points.

Importing ``bot`` or ``storage`` changes nothing in the process. What a running bot needs of
the process as a whole is made here, once, by whatever starts one: the ``sunbox`` command
(``bot.cli``), the test run (``tests/__init__.py``) and the benchmarks
(``bench/__init__.py``). Call :func:`prepare_process` first thing, before any database
connection is opened.
"""

from __future__ import annotations

import os

from storage import sqlite_library


def prepare_process() -> None:
    """Make the process-wide settings a running Sunbox relies on (a second call changes
    nothing):

    - python-telegram-bot 22 gives durations (``RetryAfter.retry_after`` and friends) as
      ``timedelta``, the behaviour of its next major version, instead of warning on every
      429; a value already in the environment is left as it is;
    - SQLite counts no allocations under its process-wide mutex
      (``storage.sqlite_library``; without effect once a connection was opened).
    """
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    sqlite_library.configure()
