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
from typing import Any
from urllib.parse import quote

import psycopg

from storage.sql import Conn, connect
from storage.sql_postgres import connect as connect_postgres

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


def is_postgres(database: object) -> bool:
    return str(database).startswith(("postgresql://", "postgres://"))


@contextmanager
def outside(database: object) -> Iterator[Conn]:
    """A connection of the test's own to a database (a file or a URL), beside or after the
    bot's, in autocommit: for looking at what was stored, or setting up what an older
    Sunbox left."""
    conn = connect_postgres(str(database)) if is_postgres(database) else connect(str(database))
    try:
        yield conn
    finally:
        conn.close()


async def table_names(bench: Any) -> list[str]:
    """The tables of the bench's database (SQLite's own excepted)."""
    if is_postgres(bench.db_path):
        rows = await bench.rows("SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = current_schema() ORDER BY table_name")
    else:
        rows = await bench.rows("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [str(name) for (name,) in rows]


async def column_names(bench: Any, table: str) -> list[str]:
    if is_postgres(bench.db_path):
        rows = await bench.rows("SELECT column_name FROM information_schema.columns WHERE "
                                "table_schema = current_schema() AND table_name = ? "
                                "ORDER BY ordinal_position", table)
        return [str(name) for (name,) in rows]
    return [str(row[1]) for row in await bench.rows(f"PRAGMA table_info({table})")]


def refusing_trigger(conn: Conn, name: str, event: str, condition: str, message: str) -> None:
    """A trigger that refuses a write (``event``, e.g. ``BEFORE DELETE ON t``) where
    ``condition`` holds (on OLD/NEW) as a constraint would: an integrity error."""
    if conn.dialect.postgres:
        conn.script(  # type: ignore[attr-defined]  # a PgConn
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation'; "
            f"END $$; CREATE TRIGGER {name} {event} FOR EACH ROW WHEN ({condition}) "
            f"EXECUTE FUNCTION {name}()")
    else:
        conn.execute(f"CREATE TRIGGER {name} {event} WHEN {condition} "
                     f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


async def index_names(bench: Any, table: str) -> list[str]:
    if is_postgres(bench.db_path):
        rows = await bench.rows("SELECT indexname FROM pg_indexes WHERE schemaname = "
                                "current_schema() AND tablename = ?", table)
    else:
        rows = await bench.rows("SELECT name FROM sqlite_master WHERE type = 'index' "
                                "AND tbl_name = ?", table)
    return [str(name) for (name,) in rows]


def tables_in(conn: Conn) -> list[str]:
    """The tables of a database (SQLite's own excepted), on a connection of the test's."""
    if conn.dialect.postgres:
        sql = ("SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = current_schema() ORDER BY table_name")
    else:
        sql = ("SELECT name FROM sqlite_master WHERE type = 'table' "
               "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [str(row[0]) for row in conn.execute_fetchall(sql)]


def empty_again(url: str) -> None:
    """Drop everything in the schema a test's URL names (as a county restores into a new,
    empty database)."""
    schema = url.rsplit("search_path%3D", 1)[1].split("&", 1)[0]
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
