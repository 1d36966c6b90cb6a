"""Sunbox's tests. The test run is an entry point like ``sunbox run``: the process-wide
settings a running bot relies on are made before any test module (or ``conftest``) opens a
database (``bot.startup``)."""

from bot.startup import prepare_process

prepare_process()
