"""The database engines the suite runs on: SQLite always, PostgreSQL when it is reachable.

Tests that take the ``engine`` fixture (``config`` and ``bench`` do) run once per engine,
their ids ending ``[sqlite]`` or ``[postgresql]``. On PostgreSQL each gets a schema of its
own, made for it and dropped after it (``fresh_schema``), so tests stay independent.

- ``SUNBOX_TEST_DSN``: the server (default ``postgresql://postgres@127.0.0.1:5432/test``).
- ``SUNBOX_REQUIRE_POSTGRES=1`` (``.ci/run``): the session stops at once if the server
  cannot be reached, so nothing runs on SQLite alone unnoticed.
- ``SUNBOX_ENGINES=sqlite`` (or ``postgresql``): only those.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from urllib.parse import quote

import psycopg

DSN = os.environ.get("SUNBOX_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def required() -> bool:
    return os.environ.get("SUNBOX_REQUIRE_POSTGRES", "") == "1"


@cache
def unreachable() -> str | None:
    """Why PostgreSQL cannot be used (None: it can)."""
    try:
        with psycopg.connect(DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def wanted() -> tuple[str, ...]:
    names = os.environ.get("SUNBOX_ENGINES", "sqlite,postgresql")
    return tuple(name.strip() for name in names.split(",") if name.strip())


def engines() -> tuple[str, ...]:
    """The engines to run on: the wanted ones that can be reached."""
    return tuple(name for name in wanted()
                 if name == "sqlite" or (name == "postgresql" and unreachable() is None))


def with_options(dsn: str, schema: str) -> str:
    """``dsn`` with every connection's search path set to ``schema``."""
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose connections use a new, empty schema; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_options(DSN, schema)
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
