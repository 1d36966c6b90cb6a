"""A write transaction made in one hop to the database thread (``Database.run``).

aiosqlite sends each statement to its thread and back, and the caller's next statement
waits for its turn on the event loop: at 50 users a transaction of five statements held the
writer's lock for five turns of a busy loop (a turn being a few milliseconds), and every
other writer queued behind it. ``Database.run`` sends the whole transaction at once. There,
the storage functions get :class:`InThread`, a stand-in for the aiosqlite connection whose
methods run their statement at once and never suspend, so the body (a coroutine) runs to its
end in a single step.

A body runs on the database thread: it may use only the connection and its own arguments,
never state that the event loop's thread changes, and it awaits nothing but the connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar, cast

import aiosqlite

T = TypeVar("T")
Body = Callable[[aiosqlite.Connection], Awaitable[T]]


class NotInOneStep(RuntimeError):
    """A body awaited something other than the database."""


class _Cursor:
    """What storage functions use of an aiosqlite cursor."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Done:
    """A statement already run: ``await``-ed, or used as ``async with … as cursor``."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: _Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, _Cursor]:
        return self._cursor
        yield  # a generator that never suspends

    async def __aenter__(self) -> _Cursor:
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        await self._cursor.close()


class InThread:
    """The aiosqlite connection's methods, on the database thread's own connection."""

    __slots__ = ("_raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def execute(self, sql: str, parameters: Any = ()) -> _Done:
        return _Done(_Cursor(self._raw.execute(sql, parameters)))

    def executemany(self, sql: str, parameters: Any) -> _Done:
        return _Done(_Cursor(self._raw.executemany(sql, parameters)))

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        return self._raw.execute(sql, parameters).fetchall()


def transact(raw: sqlite3.Connection, body: Body[T], committed: Callable[[], None]) -> T:
    """Run on the database thread: ``body`` between BEGIN IMMEDIATE and COMMIT (ROLLBACK on
    any exception), then ``committed()``."""
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = _in_one_step(body(cast(aiosqlite.Connection, InThread(raw))))
        raw.execute("COMMIT")
    except BaseException:
        # A failed COMMIT leaves the transaction open (every later BEGIN would fail); after
        # an I/O error SQLite may have rolled back already.
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    committed()
    return result


def commit(raw: sqlite3.Connection, committed: Callable[[], None]) -> None:
    """Run on the database thread: COMMIT, then ``committed()`` (a transaction of many
    hops, ``Database.transaction``)."""
    raw.execute("COMMIT")
    committed()


def _in_one_step(awaitable: Awaitable[T]) -> T:
    coroutine = cast(Coroutine[Any, Any, T], awaitable)
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise NotInOneStep("a transaction on the database thread awaited something else")
