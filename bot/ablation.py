"""A benchmark-only switch that turns Sunbox's speed mechanisms off one at a time.

``SUNBOX_ABLATE=uvloop,gc sunbox run ...`` runs without the named mechanisms, so
``python -m bench.throughput --ablate ...`` can measure what each one buys on its own
(``bench/README.md``). Unset or empty, which is how production runs, every mechanism is on.
It is not a setting: nothing in the configuration reaches it, and it is read here only.

The mechanisms, and where each is consulted:

- ``uvloop``: ``bot.cli.run_loop`` runs uvloop; off, asyncio's own loop.
- ``aiohttp``: ``bot.app`` talks to the Bot API through ``bot.telegram.http.AiohttpRequest``; off,
  through PTB's default ``HTTPXRequest``.
- ``gc``: ``bot.cli.settle_collector`` freezes start-up's objects and raises the youngest
  generation's threshold; off, Python's defaults.

A read-only connection of the database's own was measured this way and removed: its gain
was indistinguishable from none (``bench/README.md``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telegram.request import BaseRequest

VARIABLE = "SUNBOX_ABLATE"
MECHANISMS = ("uvloop", "aiohttp", "gc")


class UnknownMechanism(ValueError):
    """A name that is none of ``MECHANISMS``: a typo would otherwise measure nothing."""


def parse(value: str | None) -> frozenset[str]:
    """The mechanisms a ``SUNBOX_ABLATE`` value turns off (comma-separated names)."""
    names = frozenset(name.strip() for name in (value or "").split(",") if name.strip())
    unknown = sorted(names.difference(MECHANISMS))
    if unknown:
        raise UnknownMechanism(f"{VARIABLE}: no mechanism called {', '.join(unknown)}"
                               f" (there are {', '.join(MECHANISMS)})")
    return names


def off(mechanism: str) -> bool:
    """Whether ``mechanism`` is switched off in this process."""
    if mechanism not in MECHANISMS:
        raise UnknownMechanism(f"no mechanism called {mechanism}")
    return mechanism in parse(os.environ.get(VARIABLE))


def plain_request(*, pool_size: int, proxy: str | None = None) -> BaseRequest:
    """PTB's default transport, in place of ``bot.telegram.http.AiohttpRequest``
    (``aiohttp`` off)."""
    from telegram.request import HTTPXRequest

    return HTTPXRequest(connection_pool_size=pool_size, proxy=proxy)
