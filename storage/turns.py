"""One person's turn: which instance handles that person's stored updates now.

Several instances on one PostgreSQL database each store the updates they receive
(``storage.inbox``); any of them may then handle a person's. Only the instance holding the
person's turn does, one update at a time, in ``update_id`` order (``bot.telegram.turns``).
The turn is a session-level advisory lock keyed by the schema and the person
(``pg_try_advisory_lock``): taking it never waits (an instance that finds it held goes on
to other people, as ``SKIP LOCKED`` skips a locked row), it is held across the person's
updates without a transaction open (a handler awaits Telegram), and the server drops it when
the holder's connection ends, so a killed instance's turns are free at once.

A lost connection drops the turns held on it too; the instance that lost it may still be
finishing one update of such a person while another takes the turn. Each update still acts
once (the gatekeeper records it handled with its effects); only the order of that person's
next update against the unfinished one is not kept then.

SQLite has one instance per database (``bot.instance_lock``): a turn is always free there.
"""

from __future__ import annotations

from storage.migrations.postgres import LOCK_PERSON
from storage.sql import Conn

_KEY = f"hashtextextended(current_schema() || '/' || ?::text, {LOCK_PERSON:d})"


def take(conn: Conn, person: int) -> bool:
    """Take ``person``'s turn if no other instance holds it (never waits)."""
    if not conn.dialect.postgres:
        return True
    with conn.execute(f"SELECT pg_try_advisory_lock({_KEY})", (person,)) as cur:
        row = cur.fetchone()
    return bool(row and row[0])


def give_back(conn: Conn, person: int) -> None:
    """Give ``person``'s turn back (nothing if it is not held: the connection was lost)."""
    if conn.dialect.postgres:
        with conn.execute(f"SELECT pg_advisory_unlock({_KEY})", (person,)) as cur:
            cur.fetchone()
