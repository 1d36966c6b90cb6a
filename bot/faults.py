"""Crash points for the crash tests: ``SUNBOX_CRASH_AT=<point>`` kills the process there.

The process kills itself with SIGKILL (no clean-up, no flush), exactly as ``kill -9``
would at that instruction. Unset in normal operation; checking it costs a dict lookup.
"""

from __future__ import annotations

import os
import signal

_POINT = os.environ.get("SUNBOX_CRASH_AT")


def crash_point(name: str) -> None:
    """Die here if this is the configured crash point."""
    if _POINT is not None and _POINT == name:
        os.kill(os.getpid(), signal.SIGKILL)
