"""Copying a county's SQLite database into an empty PostgreSQL one (``sunbox migrate``), and
proving the copy equal to its source.

The copy
--------
The target is migrated to PostgreSQL's baseline first (``storage.migrations.postgres``), and
the source must be at the same schema version: an older file is copied as it is
(``storage.snapshot.copy_consistent``) and that copy migrated, so the file itself is never
written; a newer one is refused. Then every table, in the order of its foreign keys (parents
first; rows of a table that refers to itself, parents first too), is copied in one
transaction holding the schema's migration and write locks, so no instance writes meanwhile.
The tables' own triggers are switched off for that transaction (and only for it): the
append-only rules concern updates and deletes, but ``case_facts`` is kept by a trigger on
``case_events`` and would be counted twice; it is copied from the source as it is, and the
hash check below proves it equal. Last, every identity sequence is set past the largest id
of its column. A target holding any row of a Sunbox table, or a schema newer than this
code's, is refused before anything is written; it is checked again under the locks.

SQLite's implicit ``rowid`` of ``meeting_issues`` (the order issues were raised in) goes to
the PostgreSQL column of that name, which stands in for it there.

The search index (``storage.text_search.INDEX_TABLES``) is not copied: SQLite's is an FTS5
virtual table (with its shadow tables, ``disclosure_grams_data`` and the like), which keeps
no readable copy of what it indexed, and PostgreSQL's is an array table of another shape.
It is derived from the disclosures, so it is built again from the copied ones
(``text_search.reindex_all``) in the copy's transaction, and left out of the proof.

The proof
---------
For every table: its rows counted, and a SHA-256 over its rows in primary-key order
(``rowid`` where there is none), each value as the repository functions read it through
:class:`storage.sql.Conn`: ints and flags as ``int``, text as ``str``, bytes as ``bytes``,
floats by their ``repr`` (``numeric`` comes back as ``int`` or ``float`` already). The raw
values differ between the engines (SQLite's variable-length integers and PostgreSQL's
``bigint``, its BLOB and ``bytea``), so a hash of what is stored would never match; a hash of
what is read must. Text keys order alike on both, byte by byte (SQLite's BINARY collation,
PostgreSQL's ``COLLATE "C"``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from storage.migrations import FUNCTIONS, MIGRATIONS, postgres
from storage.migrations import migrate as migrate_sqlite
from storage.snapshot import copy_consistent, file_schema_version
from storage.sql import Conn, connect
from storage.sql_postgres import PgConn
from storage.sql_postgres import connect as connect_postgres
from storage.text_search import INDEX_TABLES, reindex_all

#: Rows read (and inserted) at a time.
PAGE = 2000

#: PostgreSQL's stand-in for SQLite's implicit ``rowid``.
ROWID = "rowid"


class CopyRefused(Exception):
    """The copy cannot be made; nothing was copied. ``reason`` names why (the command turns
    it into a message): ``not_sunbox``, ``source_too_new``, ``target_too_new``,
    ``not_empty``, ``schema_differs``; ``params`` fill the message."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(f"{reason}: {params}")
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class Table:
    """A table as the copy and the proof need it (read from PostgreSQL's catalog)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]         # the primary key, or ``rowid``
    identities: tuple[str, ...]  # columns whose values a sequence gives
    parent: tuple[str, str] | None = None  # (column, column it refers to) in the same table


@dataclass(frozen=True)
class Digest:
    rows: int
    sha256: str


@dataclass(frozen=True)
class TableCheck:
    """One line of the proof: a table's count and hash on each side."""

    table: str
    source: Digest
    target: Digest

    @property
    def matches(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class Copied:
    checks: tuple[TableCheck, ...]
    skipped: tuple[str, ...]  # SQLite's tables that PostgreSQL's schema does not have
    migrated_from: int | None  # the source's version when a copy of it was migrated
    rebuilt: tuple[str, ...] = ()  # built again on PostgreSQL, not copied (the index)

    @property
    def matches(self) -> bool:
        return all(check.matches for check in self.checks)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(names: Sequence[str]) -> str:
    return ", ".join(map(_quoted, names))


# ------------------------------------------------------------------ what PostgreSQL has

_SCHEMA = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"


def tables(conn: Conn) -> list[Table]:
    """Sunbox's tables in the connection's schema, parents before the tables that refer to
    them (``sunbox_schema``, the version, is not data; nor is the search index, which is
    built again)."""
    names = [str(r[0]) for r in conn.execute_fetchall(
        f"SELECT relname FROM pg_class WHERE relnamespace = {_SCHEMA} "
        "AND relkind IN ('r', 'p') AND relname <> 'sunbox_schema' ORDER BY relname")
        if str(r[0]) not in INDEX_TABLES]
    columns: dict[str, list[str]] = {name: [] for name in names}
    identities: dict[str, list[str]] = {name: [] for name in names}
    for row in conn.execute_fetchall(
            "SELECT table_name, column_name, is_identity FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"):
        if row[0] in columns:
            columns[row[0]].append(str(row[1]))
            if row[2] == "YES":
                identities[row[0]].append(str(row[1]))
    keys: dict[str, list[str]] = {name: [] for name in names}
    for row in conn.execute_fetchall(
            "SELECT c.relname, a.attname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            f"WHERE i.indisprimary AND c.relnamespace = {_SCHEMA} "
            "ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)"):
        if row[0] in keys:
            keys[row[0]].append(str(row[1]))
    parents: dict[str, set[str]] = {name: set() for name in names}
    itself: dict[str, tuple[str, str]] = {}
    for row in conn.execute_fetchall(
            "SELECT c.relname, p.relname, "
            "(SELECT attname FROM pg_attribute WHERE attrelid = k.conrelid "
            " AND attnum = k.conkey[1]), "
            "(SELECT attname FROM pg_attribute WHERE attrelid = k.confrelid "
            " AND attnum = k.confkey[1]) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_class p ON p.oid = k.confrelid "
            f"WHERE k.contype = 'f' AND c.relnamespace = {_SCHEMA}"):
        child, parent = str(row[0]), str(row[1])
        if child == parent:
            itself[child] = (str(row[2]), str(row[3]))
        elif child in parents and parent in parents:
            parents[child].add(parent)
    found = []
    for name in _parents_first(parents):
        key = keys[name] or ([ROWID] if ROWID in columns[name] else columns[name])
        found.append(Table(name, tuple(columns[name]), tuple(key), tuple(identities[name]),
                           itself.get(name)))
    return found


def _parents_first(parents: dict[str, set[str]]) -> list[str]:
    """The tables in an order where each comes after those it refers to (by name among
    equals, so the order is always the same)."""
    done: list[str] = []
    waiting = dict(parents)
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if needs <= set(done))
        if not ready:
            raise CopyRefused("schema_differs", table=", ".join(sorted(waiting)),
                              detail="foreign keys form a cycle")
        done.extend(ready)
        for name in ready:
            del waiting[name]
    return done


def holding_rows(conn: Conn, names: Sequence[str]) -> list[str]:
    """Which of these tables exist in the connection's schema and hold a row."""
    present = {str(r[0]) for r in conn.execute_fetchall(
        f"SELECT relname FROM pg_class WHERE relnamespace = {_SCHEMA} AND relkind = 'r'")}
    return [name for name in names if name in present
            and conn.execute_fetchall(f"SELECT EXISTS (SELECT 1 FROM {_quoted(name)})")[0][0]]


# ---------------------------------------------------------------------- what SQLite has

def sqlite_tables(conn: Conn) -> dict[str, list[str]]:
    """SQLite's tables and their columns; not its own (``sqlite_*``), nor virtual tables (the
    search index) and their shadow tables (``<virtual>_data`` and the like)."""
    rows = conn.execute_fetchall(
        "SELECT name, sql LIKE 'CREATE VIRTUAL TABLE%' FROM sqlite_master "
        "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    virtual = tuple(f"{r[0]}_" for r in rows if r[1])
    names = [str(r[0]) for r in rows if not r[1] and not str(r[0]).startswith(virtual)]
    return {name: [str(r[1]) for r in conn.execute_fetchall(
        f"PRAGMA table_info({_quoted(name)})")] for name in names}


def _check_same(source: dict[str, list[str]], target: list[Table]) -> list[str]:
    """SQLite's tables PostgreSQL has not (skipped); refused when the two schemas differ
    otherwise."""
    for table in target:
        if table.name not in source:
            raise CopyRefused("schema_differs", table=table.name,
                              detail="not in the SQLite database")
        wanted = [c for c in table.columns if not (c == ROWID and c not in source[table.name])]
        if wanted != source[table.name]:
            raise CopyRefused("schema_differs", table=table.name,
                              detail=f"columns {source[table.name]} against {wanted}")
    names = {table.name for table in target}
    return sorted(name for name in source if name not in names)


# ----------------------------------------------------------------------------- reading

def pages(conn: Conn, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in key order, a page at a time (the key's last values start the
    next page, so a long table is never held whole). Either engine."""
    key = _columns(table.key)
    select = f"SELECT {_columns(table.columns)} FROM {_quoted(table.name)}"
    at = [table.columns.index(column) for column in table.key]
    after: tuple[Any, ...] | None = None
    while True:
        if after is None:
            rows = conn.execute_fetchall(f"{select} ORDER BY {key} LIMIT {PAGE:d}")
        else:
            marks = ", ".join("?" * len(after))
            rows = conn.execute_fetchall(
                f"{select} WHERE ({key}) > ({marks}) ORDER BY {key} LIMIT {PAGE:d}", after)
        if not rows:
            return
        page = [tuple(row) for row in rows]
        yield page
        if len(page) < PAGE:
            return
        after = tuple(page[-1][i] for i in at)


def _value(value: Any) -> bytes:
    """One value as the repository reads it, in a form that cannot run into the next."""
    if value is None:
        return b"N;"
    if isinstance(value, Decimal):  # not through Sunbox's loader: as that loader gives it
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool | int):
        return b"I%d;" % int(value)
    if isinstance(value, float):
        return b"F" + repr(value).encode() + b";"
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"S%d:" % len(data) + data
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return b"B%d:" % len(data) + data
    raise TypeError(f"a value of type {type(value).__name__}")


def digest(conn: Conn, table: Table) -> Digest:
    """The table's row count and SHA-256 (see the module's docstring). Call it inside one
    transaction, or on a database nothing writes to, for a count of one moment."""
    sha = hashlib.sha256(f"{table.name}({','.join(table.columns)})\n".encode())
    count = 0
    for page in pages(conn, table):
        for row in page:
            sha.update(b"".join(map(_value, row)) + b"\n")
        count += len(page)
    return Digest(count, sha.hexdigest())


def digests(conn: Conn, found: Sequence[Table]) -> dict[str, Digest]:
    """Every table's digest, read in one transaction (read-only on PostgreSQL)."""
    postgresql = conn.dialect.postgres
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if postgresql else "BEGIN")
    try:
        return {table.name: digest(conn, table) for table in found}
    finally:
        conn.execute("ROLLBACK")


def verify(source: Conn, target: Conn, found: Sequence[Table]) -> tuple[TableCheck, ...]:
    """Each table's count and hash on both sides."""
    mine, theirs = digests(source, found), digests(target, found)
    return tuple(TableCheck(table.name, mine[table.name], theirs[table.name])
                 for table in found)


# ----------------------------------------------------------------------------- copying

def _parents_first_rows(rows: list[tuple[Any, ...]], table: Table) -> list[tuple[Any, ...]]:
    """A self-referring table's rows, each after the row it refers to."""
    assert table.parent is not None
    refers, referred = (table.columns.index(column) for column in table.parent)
    placed: set[Any] = set()
    ordered: list[tuple[Any, ...]] = []
    while rows:
        ready = [r for r in rows if r[refers] is None or r[refers] in placed
                 or r[refers] == r[referred]]
        if not ready:  # a dangling reference: PostgreSQL says which
            ready = rows
        ordered.extend(ready)
        placed.update(r[referred] for r in ready)
        rows = [r for r in rows if r not in ready]
    return ordered


def copy_rows(source: Conn, target: PgConn, found: Sequence[Table]) -> None:
    """Copy every table (the target's transaction is the caller's)."""
    for table in found:
        insert = (f"INSERT INTO {_quoted(table.name)} ({_columns(table.columns)}) "
                  f"VALUES ({', '.join('?' * len(table.columns))})")
        if table.parent is not None:
            rows = [row for page in pages(source, table) for row in page]
            target.executemany(insert, _parents_first_rows(rows, table))
            continue
        for page in pages(source, table):
            target.executemany(insert, page)


def _triggered(conn: Conn) -> list[str]:
    """The tables that have triggers of their own (not those of foreign keys)."""
    return [str(r[0]) for r in conn.execute_fetchall(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        f"WHERE NOT t.tgisinternal AND c.relnamespace = {_SCHEMA} ORDER BY c.relname")]


def _set_sequences(conn: Conn, found: Sequence[Table]) -> None:
    """Every identity's next value is one past the largest in its column."""
    for table in found:
        for column in table.identities:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence(?, ?), "
                f"coalesce(max({_quoted(column)}), 0) + 1, false) FROM {_quoted(table.name)}",
                (_quoted(table.name), column))


def copy_all(source: Conn, target: PgConn, found: Sequence[Table]) -> None:
    """In one transaction under the schema's migration and write locks: check the target is
    still empty, copy, build the search index, set the sequences; rolled back whole on any
    failure."""
    target.script("BEGIN; " + postgres.XACT_LOCK.format(kind=postgres.LOCK_MIGRATE) + "; "
                  + postgres.XACT_LOCK.format(kind=postgres.LOCK_WRITE))
    try:
        full = holding_rows(target, [table.name for table in found])
        if full:
            raise CopyRefused("not_empty", tables=", ".join(full))
        triggered = _triggered(target)
        for name in triggered:
            target.script(f"ALTER TABLE {_quoted(name)} DISABLE TRIGGER USER")
        source.execute("BEGIN")
        try:
            copy_rows(source, target, found)
        finally:
            source.execute("ROLLBACK")
        for name in triggered:
            target.script(f"ALTER TABLE {_quoted(name)} ENABLE TRIGGER USER")
        reindex_all(target)
        _set_sequences(target, found)
        target.script("COMMIT")
    except BaseException:
        if target.in_transaction and not target.broken:
            target.script("ROLLBACK")
        raise


# ------------------------------------------------------------------------- the command

def _source_version(path: Path) -> int:
    version = file_schema_version(path)
    if version == 0:
        raise CopyRefused("not_sunbox", path=str(path))
    if version > postgres.latest():
        raise CopyRefused("source_too_new", path=str(path), version=version,
                          known=postgres.latest())
    return version


def _target_ready(target: PgConn, names: Sequence[str]) -> None:
    """Refuse a target newer than this code or holding a row, before writing anything."""
    version = postgres.schema_version(target)
    if version > postgres.latest():
        raise CopyRefused("target_too_new", version=version, known=postgres.latest())
    full = holding_rows(target, names)
    if full:
        raise CopyRefused("not_empty", tables=", ".join(full))


def migrate_to_postgres(path: Path, url: str, scratch: Path) -> Copied:
    """Copy the SQLite database at ``path`` into the empty PostgreSQL database at ``url``,
    then check the copy (:class:`Copied` says how it went). ``scratch`` is a private folder
    for a migrated copy of an older source. No Sunbox may run on the source meanwhile (the
    caller holds its lock)."""
    version = _source_version(path)
    migrated_from = None
    if version < postgres.latest():
        copy = scratch / "source.db"
        copy_consistent(path, copy)
        with _sqlite(copy, read_only=False) as conn:
            migrate_sqlite(conn, MIGRATIONS[:postgres.latest()])
        path, migrated_from = copy, version
    with _sqlite(path, read_only=True) as source:
        target = connect_postgres(url, application="sunbox-migrate")
        try:
            mine = sqlite_tables(source)
            _target_ready(target, list(mine))
            postgres.migrate(target)
            found = tables(target)
            skipped = _check_same(mine, found)
            copy_all(source, target, found)
            checks = verify(source, target, found)
        finally:
            target.close()
    return Copied(checks, tuple(skipped), migrated_from, INDEX_TABLES)


@contextmanager
def _sqlite(path: Path, *, read_only: bool) -> Iterator[Conn]:
    """A SQLite connection, closed on leaving."""
    conn = connect(str(path), read_only=read_only, functions=FUNCTIONS)
    try:
        yield conn
    finally:
        conn.close()
