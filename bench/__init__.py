"""Sunbox's benchmarks (bench/README.md).

Every benchmark runs as ``python -m bench.<name>``, and so do the bots some of them start: the
package is their entry point, and makes the process-wide settings a running Sunbox relies on
before a benchmark's own imports open anything (``bot.startup``).
"""

from bot.startup import prepare_process

prepare_process()
