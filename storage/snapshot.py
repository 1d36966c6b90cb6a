"""Copies of the database as a whole: what ``sunbox backup`` and ``restore`` ask of it.

A SQLite file is copied with plain :mod:`sqlite3` on its own connection, beside a running
bot's; a PostgreSQL database with ``pg_dump`` and ``pg_restore`` (below). These run in a
command of their own, never on the bot's database thread.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from storage.migrations import postgres
from storage.sql import Conn, DatabaseError
from storage.sql_postgres import PgConn
from storage.sql_postgres import connect as connect_postgres

#: Files SQLite keeps beside a database: the write-ahead log, its index, a rollback journal.
SIDE_FILES = ("-wal", "-shm", "-journal")


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    """A connection that never creates the file (``mode`` ro or rw)."""
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode={mode}", uri=True,
                           isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def copy_consistent(source: Path, target: Path) -> None:
    """Write a consistent copy of the database at ``source`` to ``target`` (a new file,
    mode 0600), while a running bot goes on writing.

    ``VACUUM INTO`` reads in one transaction (in WAL mode it does not hold up the writer) and
    writes a compacted copy: the pages freed by deletions and redactions, which may still hold
    what was removed, are not copied.
    """
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)  # VACUUM INTO writes into an empty file, which keeps its mode
    conn = _connect(source, "ro")
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
    finally:
        conn.close()


def check_integrity(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` of a database file: ``["ok"]`` when it is sound."""
    conn = _connect(path, "ro")
    try:
        return [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def file_schema_version(path: Path) -> int:
    """The schema version (``PRAGMA user_version``) of a database file."""
    conn = _connect(path, "ro")
    try:
        row = conn.execute("PRAGMA user_version").fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


# ------------------------------------------------------------------------------ PostgreSQL
#
# ``pg_dump`` in its archive format (``--format=custom``) and ``pg_restore``, found on the
# PATH (``/usr/bin`` otherwise). They get the URL's parameters without its password, which
# travels in their environment (``PGPASSWORD``): a command line can be read by every user
# of the machine.

@dataclass(frozen=True)
class PgDumped:
    """What a dump holds."""

    schema: str           # the schema Sunbox's tables are in
    whole: bool           # the whole database was dumped (the URL sets no search_path)
    schema_version: int   # 0: there is no Sunbox database there
    digests: frozenset[str]  # the file store's files its rows refer to


class PgToolFailed(Exception):
    """``pg_dump`` or ``pg_restore`` failed; ``detail`` is the end of what it said."""

    def __init__(self, tool: str, detail: str) -> None:
        super().__init__(f"{tool}: {detail}")
        self.tool = tool
        self.detail = detail


class PgNotEmpty(Exception):
    """The schema to restore into holds tables already; nothing was restored."""

    def __init__(self, schema: str, tables: list[str]) -> None:
        super().__init__(f"{schema}: {', '.join(tables)}")
        self.schema = schema
        self.tables = tables


class PgSchemaTaken(Exception):
    """The backup's schema exists beside the one to restore into (a backup is restored
    under its own schema's name, then renamed); nothing was restored."""

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        self.schema = schema


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/bin/{name}"


def _connection(url: str) -> tuple[str, dict[str, str]]:
    """The URL as the tools' ``--dbname`` without its password, and their environment."""
    params: dict[str, Any] = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def sets_search_path(url: str) -> bool:
    """Whether the URL names the schema (its ``options`` set a ``search_path``)."""
    return "search_path" in str(conninfo_to_dict(url).get("options", ""))


def _run(tool: str, args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([_tool(tool), *args], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        said = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise PgToolFailed(tool, " ".join(said[-3:]) or f"exit status {done.returncode}")
    return done.stdout


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_dump(url: str, target: Path) -> PgDumped:
    """Dump the database at ``url`` into ``target`` (a new file, mode 0600) in
    ``pg_dump``'s archive format: only Sunbox's schema when the URL names it, else the
    whole database. The dump and what it says of itself (version, stored files) are read
    in one snapshot, while the bot goes on writing."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)  # pg_dump writes into it, and it keeps its mode
    conn = connect_postgres(url, application="sunbox-backup")
    try:
        conn.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        [[snapshot, schema]] = conn.execute_fetchall(
            "SELECT pg_export_snapshot(), current_schema()")
        version = postgres.schema_version(conn)
        digests = frozenset(str(r[0]) for r in conn.execute_fetchall(
            "SELECT DISTINCT sha256 FROM stored_files WHERE sha256 IS NOT NULL")
        ) if version else frozenset()
        dumped = PgDumped(str(schema), not sets_search_path(url), version, digests)
        if version:
            dbname, env = _connection(url)
            only = [] if dumped.whole else [f"--schema={_quoted(dumped.schema)}"]
            _run("pg_dump", ["--format=custom", f"--file={target}", f"--snapshot={snapshot}",
                             "--no-password", *only, f"--dbname={dbname}"], env)
        conn.script("ROLLBACK")
    finally:
        conn.close()
    if version:
        check_archive(target)
    return dumped


def check_archive(path: Path) -> list[str]:
    """The table of contents of a ``pg_dump`` archive (``pg_restore --list``): what
    ``pg_restore`` will read, or :class:`PgToolFailed` when it cannot."""
    listing = _run("pg_restore", ["--list", str(path)], dict(os.environ))
    return [line for line in listing.splitlines() if line and not line.startswith(";")]


def _target_schema(conn: Conn) -> tuple[str, bool]:
    """The schema the connection's tables go to, and whether it exists yet."""
    [[current]] = conn.execute_fetchall("SELECT current_schema()")
    if current is not None:
        return str(current), True
    [[path]] = conn.execute_fetchall("SHOW search_path")
    for entry in str(path).split(","):
        name = entry.strip()
        if name and name != '"$user"':
            return (name[1:-1].replace('""', '"') if name.startswith('"') else name), False
    return "public", False


def _relations(conn: Conn, schema: str) -> list[str]:
    return [str(r[0]) for r in conn.execute_fetchall(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "ORDER BY c.relname", (schema,))]


def _schema_exists(conn: Conn, schema: str) -> bool:
    return bool(conn.execute_fetchall(
        "SELECT 1 FROM pg_namespace WHERE nspname = ?", (schema,)))


def pg_restore(url: str, archive: Path, dumped: str, whole: bool, scratch: Path) -> None:
    """Restore a ``pg_dump`` archive into the empty database or schema at ``url`` in one
    transaction (``pg_restore --single-transaction``): refused when the schema holds any
    table. Owners and privileges are the restoring role's, as on a new server.

    A schema's archive restored into a schema of another name is restored under its own
    name, which must then be free, and its tables and functions moved (their triggers,
    sequences and indexes go with them). ``dumped`` is the archive's schema, ``whole``
    whether it holds the whole database."""
    conn = connect_postgres(url, application="sunbox-restore")
    try:
        schema, exists = _target_schema(conn)
        held = _relations(conn, schema) if exists else []
        if held:
            raise PgNotEmpty(schema, held[:5])
        dbname, env = _connection(url)
        args = ["--single-transaction", "--exit-on-error", "--no-owner", "--no-acl",
                "--no-password", f"--dbname={dbname}"]
        if whole or dumped == schema:
            if exists and not whole:  # made by the operator: keep it as it is
                listing = scratch / "restore.list"
                listing.write_text("\n".join(
                    line for line in check_archive(archive)
                    if not re.match(rf"\d+; \d+ \d+ SCHEMA - {re.escape(schema)} ", line)))
                args.append(f"--use-list={listing}")
            _run("pg_restore", [*args, str(archive)], env)
            return
        if _schema_exists(conn, dumped):
            raise PgSchemaTaken(dumped)
        _run("pg_restore", [*args, str(archive)], env)
        try:
            _move_schema(conn, dumped, schema)
        except BaseException:
            conn.script(f"DROP SCHEMA IF EXISTS {_quoted(dumped)} CASCADE")
            raise
    finally:
        conn.close()


def _move_schema(conn: PgConn, source: str, target: str) -> None:
    """Move every table and function of ``source`` into ``target``, then drop ``source``
    (which must then be empty), in one transaction."""
    conn.script("BEGIN")
    try:
        conn.script(f"CREATE SCHEMA IF NOT EXISTS {_quoted(target)}")
        for name in _relations(conn, source):
            if conn.execute_fetchall(
                    "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')",
                    (source, name)):
                conn.script(f"ALTER TABLE {_quoted(source)}.{_quoted(name)} "
                            f"SET SCHEMA {_quoted(target)}")
        for (function,) in conn.execute_fetchall(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ?",
                (source,)):
            conn.script(f"ALTER FUNCTION {function} SET SCHEMA {_quoted(target)}")
        conn.script(f"DROP SCHEMA {_quoted(source)}")
        conn.script("COMMIT")
    except BaseException:
        if conn.in_transaction and not conn.broken:
            conn.script("ROLLBACK")
        raise


def pg_note_backup(url: str, at: datetime) -> bool:
    """Record in the database at ``url`` that a backup of it was written at ``at`` (as
    ``storage.health.note_backup`` does for a file); False if it could not be."""
    from storage.health import LAST_BACKUP, set_meta_moment

    try:
        conn = connect_postgres(url, application="sunbox-backup")
    except DatabaseError:
        return False
    try:
        conn.script("BEGIN; " + postgres.XACT_LOCK.format(kind=postgres.LOCK_WRITE))
        set_meta_moment(conn, LAST_BACKUP, at)
        conn.script("COMMIT")
    except DatabaseError:
        return False
    finally:
        conn.close()
    return True
