"""The PostgreSQL side of :mod:`storage.sql`: psycopg 3's synchronous connection behind the
same :class:`~storage.sql.Conn`, and the :data:`POSTGRES` dialect that turns the SQL storage
writes once (in SQLite's words, ``?`` placeholders) into what psycopg takes.

Only public psycopg API is used: ``psycopg.connect``, a row factory
(``psycopg.rows``), and a dumper and a loader registered on the connection's adapters
(``psycopg.adapt``).

What the translation does, outside quoted literals:

- ``?`` becomes ``%s`` and ``:name`` becomes ``%(name)s``; a literal ``%`` is doubled;
  ``::type`` casts are left alone (a ``%`` inside a literal is doubled too: parameters
  are always passed, so psycopg always reads the text for placeholders);
- ``json_extract(column, '$.key')`` becomes ``(column::jsonb ->> 'key')``;
- ``group_concat(`` becomes ``string_agg(``, ``instr(`` ``strpos(`` (the same arguments);
- ``SELECT value FROM json_each(?)`` (ids given as one JSON array) becomes the same over
  ``json_array_elements_text``.

Values keep the shapes they have on SQLite: the schema stores times as ISO text, flags as
integers 0/1 (a Python ``bool`` is sent as an integer), and an integral ``numeric`` (what
``sum`` of integers gives) comes back as an ``int``, a fractional one as a ``float``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus

from storage.sql import Conn, Cursor, Dialect, Params, Row

SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str) -> bool:
    """Whether a ``[general] database`` value names a PostgreSQL database."""
    return target.startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


_JSON_EXTRACT = re.compile(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.(\w+)'\s*\)")
_TOKEN = re.compile(r"'(?:[^']|'')*'|::|\?|%|(?<![\w:]):([A-Za-z_]\w*)")


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``sql`` as psycopg takes it (see the module's docstring)."""
    sql = _JSON_EXTRACT.sub(r"(\1::jsonb ->> '\2')", sql)
    sql = sql.replace("group_concat(", "string_agg(").replace("instr(", "strpos(")
    sql = sql.replace("SELECT value FROM json_each(?)",
                      "SELECT value::bigint FROM json_array_elements_text(?::json) AS e(value)")

    def token(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return text.replace("%", "%%")  # a quoted literal (parameters always go), or a cast

    return _TOKEN.sub(token, sql)


class _PostgresDialect(Dialect):
    def translate(self, sql: str) -> str:
        return translate(sql)


POSTGRES = _PostgresDialect("postgresql", returning_id=True)


class PgRow(tuple[Any, ...]):
    """A row of a result: by index, as a tuple, and by column name."""

    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=512)
def _row_class(names: tuple[bytes, ...]) -> type[PgRow]:
    """The class of the rows with these columns (names as the server sends them, UTF-8)."""
    return type("PgRow", (PgRow,),
                {"_index": {name.decode(): i for i, name in enumerate(names)}})


def _rows(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    """psycopg's row factory protocol: called per result, returns the maker of its rows.
    The column names come from the result itself (``pgresult``): ``cursor.description``
    builds a column object per column and call, a third of a one-row read's CPU."""
    result = cursor.pgresult
    if result is None or not result.nfields:
        return tuple  # type: ignore[return-value]  # no result: nothing is made
    return _row_class(tuple(result.fname(i) for i in range(result.nfields)))


class _BoolAsInt(Dumper):
    """Flags are integer columns (as on SQLite): ``True`` is sent as 1."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _Numeric(Loader):
    """``numeric`` (a ``sum`` of integers, say) as ``int`` when integral, else ``float``:
    what SQLite gives for the same SQL."""

    def load(self, data: Any) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


_JSON_NUL = re.compile(r"(?<!\\)\\u0000")


def _escaped_fffd(match: re.Match[str]) -> str:
    return "\\ufffd"


def _text_safe(params: Params) -> Params:
    """PostgreSQL's text holds no NUL character (SQLite's does), nor does jsonb its JSON
    escape: where one comes (junk sent to the bot), it is kept as U+FFFD, the character
    that stands for what could not be represented. Anything else is passed as it is."""
    def safe(value: Any) -> Any:
        if isinstance(value, str) and ("\x00" in value or "\\u0000" in value):
            return _JSON_NUL.sub(_escaped_fffd, value.replace("\x00", "\ufffd"))
        return value

    if isinstance(params, dict):
        return {key: safe(value) for key, value in params.items()}
    return [safe(value) for value in params]


class PgConn(Conn):
    """A psycopg connection in autocommit mode (transactions are begun by hand), as
    :class:`~storage.sql.Conn`. Used on the thread that made it only.

    Statements whose results nobody reads (:meth:`later`, and a write's ``BEGIN`` and its
    lock: :meth:`begin`) wait, and go to the server together with the next statement, or
    with ``COMMIT`` (:meth:`commit`), in psycopg's pipeline mode: one round trip instead of
    one each. A step's write (its drafts, its dialog state, its update recorded handled)
    is one round trip, not six; the results of the last statement sent are read once the
    pipeline is synced, rows and counts alike."""

    __slots__ = ("_trace", "_waiting")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        super().__init__(raw, POSTGRES)
        self._trace: Callable[[str], object] | None = None
        self._waiting: list[tuple[str, Params | None]] = []

    def _sql(self, sql: str) -> str:
        if self._trace is not None:
            self._trace(sql)
        return translate(sql)

    def _run(self, sql: str, params: Params | None) -> Any:
        """Execute ``sql`` (translated), after whatever waits, in one round trip."""
        if not self._waiting:
            return self._raw.execute(sql, params)
        waiting, self._waiting = self._waiting, []
        with self._raw.pipeline():
            for earlier, values in waiting:
                self._raw.execute(earlier, values)
            return self._raw.execute(sql, params)

    def later(self, sql: str, params: Params = ()) -> None:
        self._waiting.append((self._sql(sql), _text_safe(params)))

    def begin(self, *statements: str) -> None:
        """Begin a transaction with ``statements`` (no parameters: a lock), sent with the
        first statement of the transaction that needs an answer, or its commit."""
        for sql in ("BEGIN", *statements):
            if self._trace is not None:
                self._trace(sql)
            self._waiting.append((sql, None))

    def commit(self) -> None:
        """Commit, with whatever waits."""
        if self._trace is not None:
            self._trace("COMMIT")
        self._run("COMMIT", None)

    def discard(self) -> None:
        """Forget what waits (the unit of work failed before it was sent)."""
        self._waiting.clear()

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return Cursor(self._run(self._sql(sql), _text_safe(params)))

    def executemany(self, sql: str, params: Iterable[Params]) -> Cursor:
        rows = [_text_safe(one) for one in params]
        if self._waiting:
            self._run("SELECT 1", None)
        if self._trace is not None:
            for _ in rows[1:]:  # as SQLite's hook, once per row (the first in _sql)
                self._trace(sql)
        cursor = self._raw.cursor()
        cursor.executemany(self._sql(sql), rows)
        return Cursor(cursor)

    def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = self._run(self._sql(sql), _text_safe(params)).fetchall()
        return rows

    def insert(self, sql: str, params: Params = ()) -> int:
        row = self._run(self._sql(f"{sql} RETURNING id"), _text_safe(params)).fetchone()
        return int(row[0])

    def script(self, sql: str) -> None:
        """Run several statements without parameters at once (schema, locks)."""
        if self._trace is not None:
            self._trace(sql)
        if self._waiting:
            self._run("SELECT 1", None)
        self._raw.execute(sql)  # no parameters: taken as it is, several statements at once

    @property
    def in_transaction(self) -> bool:
        return bool(self._raw.info.transaction_status != TransactionStatus.IDLE)

    @property
    def broken(self) -> bool:
        """Whether the server is lost (a new connection is needed)."""
        return bool(self._raw.closed or self._raw.broken)

    def trace(self, callback: Callable[[str], object] | None) -> None:
        self._trace = callback


def connect(url: str, *, application: str = "sunbox") -> PgConn:
    """A connection to the PostgreSQL database at ``url``."""
    raw = psycopg.connect(url, autocommit=True, row_factory=_rows,
                          application_name=application, connect_timeout=10)
    try:
        raw.adapters.register_dumper(bool, _BoolAsInt)
        raw.adapters.register_loader("numeric", _Numeric)
    except BaseException:
        raw.close()
        raise
    return PgConn(raw)

