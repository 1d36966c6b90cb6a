"""The one module that knows the database driver: :class:`Conn`, Sunbox's thin wrapper of a
DB-API connection, and the :class:`Dialect` of the engine behind it.

Repository functions (``storage/*``) are plain synchronous functions over a :class:`Conn`:
``def get_case(conn: Conn, case_id: int) -> Case | None``. They run on a database thread
(``storage.db.Database.write``/``read``), never on the event loop, and use
only what :class:`Conn` offers (``tests/storage/test_sql.py`` pins the list): ``execute``,
``executemany``, ``execute_fetchall``, ``insert`` and ``in_transaction`` (``close`` and
``trace`` are ``storage.db``'s); a cursor gives ``fetchone``, ``fetchall``, ``rowcount``
and ``lastrowid`` and closes as a context manager. Rows are addressable by column name and
by index.

How the SQL copes with more than one engine
-------------------------------------------
Sunbox's SQL is written once, in SQLite's words, with ``?`` placeholders (DB-API
``qmark``). A second engine is a second :class:`Dialect`; only this module changes:

- Placeholders: :meth:`Dialect.translate` rewrites every statement before it reaches the
  driver. SQLite takes the text as it is; PostgreSQL (psycopg 3, ``format`` style) would
  turn each ``?`` outside a quoted literal into ``%s`` and double a literal ``%``. Sunbox's
  statements put no ``?`` inside string literals (values always travel as parameters), so
  the rewrite is a plain scan, which would be cached per statement text. Named
  placeholders (``:cutoff``, a few long statements) would become ``%(cutoff)s`` the same
  way.
- The id of a row just inserted: storage calls :meth:`Conn.insert`, never a cursor's
  ``lastrowid`` after its own INSERT. SQLite answers with ``lastrowid``; PostgreSQL would
  append ``RETURNING id`` and fetch it (:attr:`Dialect.returning_id`).
- JSON fields: the SQL says ``json_extract(column, '$.key')``. SQLite has it; PostgreSQL
  would rewrite it in :meth:`Dialect.translate` to ``(column::jsonb ->> 'key')``.
- Upserts (``INSERT … ON CONFLICT … DO UPDATE``), ``RETURNING``, ``coalesce`` and
  ``nullif`` mean the same in both. Schema (migrations, triggers, PRAGMAs) is per engine and
  is not translated: ``storage.migrations`` is SQLite's.
- Errors: callers catch :data:`DatabaseError`, :data:`IntegrityError` and
  :data:`OperationalError` from here, never the driver's own; with a second driver these
  become the pairs of both drivers' classes.
- Rows: :data:`Row` is ``sqlite3.Row``; psycopg would use a row factory giving rows that
  answer to a name and an index alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import psycopg


def error_kind(error: BaseException) -> str:
    """A database error's kind in the same words on both engines (``IntegrityError``,
    ``OperationalError``, ``DatabaseError``), for logs and stored reasons; any other
    exception by its class name."""
    for kind, classes in (("IntegrityError", IntegrityError),
                          ("OperationalError", OperationalError),
                          ("DatabaseError", DatabaseError)):
        if isinstance(error, classes):
            return kind
    return type(error).__name__


class Row(Protocol):
    """A row: addressable by column name (``row["id"]``) and by index (``row[0]``), and
    iterable (``sqlite3.Row`` on SQLite, ``storage.sql_postgres``'s on PostgreSQL)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def keys(self) -> list[str]: ...

#: The parameters of one statement: positional, in the order of the ``?``, or by name for
#: ``:name`` placeholders.
Params = Sequence[Any] | Mapping[str, Any]

#: What either driver raises for any database error (PEP 249's ``Error``); for ``except``.
DatabaseError: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
OperationalError: tuple[type[Exception], ...] = (sqlite3.OperationalError,
                                                 psycopg.OperationalError)


@dataclass(frozen=True)
class Dialect:
    """What differs between engines, for the SQL that storage writes once."""

    name: str
    #: Whether an INSERT gives its new id by ``RETURNING id`` (else the cursor's lastrowid).
    returning_id: bool = False

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def translate(self, sql: str) -> str:
        """A statement as this engine's driver takes it (SQLite: unchanged)."""
        return sql


SQLITE = Dialect("sqlite")


class Cursor:
    """The result of one statement: close it with ``with``, or let it go."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:  # a DB-API cursor of either driver
        self._cursor = cursor

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._cursor.close()

    def __iter__(self) -> Iterator[Row]:
        return iter(self._cursor)

    def fetchone(self) -> Row | None:
        row: Row | None = self._cursor.fetchone()
        return row

    def fetchall(self) -> list[Row]:
        rows: list[Row] = self._cursor.fetchall()
        return rows

    @property
    def rowcount(self) -> int:
        count: int = self._cursor.rowcount
        return count

    @property
    def lastrowid(self) -> int | None:
        return getattr(self._cursor, "lastrowid", None)  # SQLite's only


class Conn:
    """A DB-API connection as storage uses it. Not thread-safe: one thread uses it."""

    __slots__ = ("_raw", "dialect")

    def __init__(self, raw: Any, dialect: Dialect = SQLITE) -> None:
        self._raw = raw
        self.dialect = dialect

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return Cursor(self._raw.execute(self.dialect.translate(sql), params))

    def executemany(self, sql: str, params: Iterable[Params]) -> Cursor:
        return Cursor(self._raw.executemany(self.dialect.translate(sql), params))

    def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return self._raw.execute(self.dialect.translate(sql), params).fetchall()

    def later(self, sql: str, params: Params = ()) -> None:
        """A statement whose result nobody reads (no rows, no count): run now on SQLite; on
        PostgreSQL sent with the next statement or the commit, in one round trip
        (``storage.sql_postgres``). An error it raises surfaces there, and fails the unit of
        work as it would have here."""
        self._raw.execute(self.dialect.translate(sql), params)

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT of one row and return the new row's id."""
        if self.dialect.returning_id:
            row = self._raw.execute(self.dialect.translate(f"{sql} RETURNING id"),
                                    params).fetchone()
            return int(row[0])
        cursor = self._raw.execute(self.dialect.translate(sql), params)
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @property
    def in_transaction(self) -> bool:
        return bool(self._raw.in_transaction)

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Statements whose failure the caller handles and goes on from (a duplicate, a row
        still referred to). SQLite undoes only the failed statement; PostgreSQL aborts the
        whole transaction unless the statement ran inside a savepoint, which this is."""
        if not self.dialect.postgres:
            yield
            return
        self.execute("SAVEPOINT attempt")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK TO SAVEPOINT attempt")
            raise
        self.execute("RELEASE SAVEPOINT attempt")

    def close(self) -> None:
        self._raw.close()

    def trace(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with every statement this connection runs (None: stop)."""
        self._raw.set_trace_callback(callback)


def connect(path: str, *, read_only: bool = False,
            functions: Mapping[str, Callable[[Any], Any]] | None = None) -> Conn:
    """A connection to the SQLite database at ``path`` in autocommit mode (transactions
    are begun by hand), its rows by name, with SQL ``functions`` of one argument. It is
    used on the thread that makes it, and only there (the driver checks)."""
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.row_factory = sqlite3.Row
        for name, function in (functions or {}).items():
            raw.create_function(name, 1, function, deterministic=True)
        if read_only:
            raw.execute("PRAGMA query_only = ON")
    except BaseException:
        raw.close()
        raise
    return Conn(raw)
