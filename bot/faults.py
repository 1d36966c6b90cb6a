"""Crash points for the crash tests: ``SUNBOX_CRASH_AT=<point>`` kills the process there;
fault points raise an error a test injected (``inject``).

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


# Errors injected by tests at named points (``inject``): an error our code cannot provoke
# through the emulator, such as a full disk at one write. Empty in normal operation.
_ERRORS: dict[str, list[BaseException]] = {}


def inject(name: str, error: BaseException, times: int = 1) -> None:
    """The next ``times`` passes through ``fault_point(name)`` raise ``error`` (tests)."""
    _ERRORS.setdefault(name, []).extend([error] * times)


def clear() -> None:
    """Forget every injected error."""
    _ERRORS.clear()


def fault_point(name: str) -> None:
    """Raise the error injected for this point, if any (see ``inject``)."""
    if _ERRORS:
        queued = _ERRORS.get(name)
        if queued:
            raise queued.pop(0)
