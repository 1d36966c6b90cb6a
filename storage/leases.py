"""Leases held in the database: which of several Sunbox instances on one database does a
piece of work that must be done once (``bot.services.leadership``).

A lease is a row of ``leases``: its ``name``, its ``holder`` and the moment it runs out
(``until``, ISO UTC text like every time). :func:`claim` takes a lease or renews it in one
statement, so two instances claiming together cannot both win: the row's key decides
between two inserts, and the write transaction's lock (or SQLite's one writer) between an
insert and an update. Times compare as text, which sorts as the moments do; they come from
the claimers' clocks, which must agree to well within a lease's length.

Unlike other times (``storage.models.to_db_time``), a lease's keeps its microseconds: a
lease lasts seconds, and a whole second cut off would delay a takeover by up to one. Every
value of the column is written here in that one form, so they still sort as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage.models import from_db_time
from storage.sql import Conn

#: The name of an instance's membership lease, before its holder name: renewed with every
#: claim of the leader's lease (:func:`claim_as_member`), it says the instance is alive.
MEMBER = "member:"


def stamp(moment: datetime) -> str:
    """An aware moment as ISO text in UTC, to the microsecond (always the same length)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Lease:
    """Who holds a lease, and until when (it may have run out already)."""

    name: str
    holder: str
    until: datetime


def claim(conn: Conn, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Take the lease ``name`` for ``holder`` until ``until``, or renew it: it is free, or
    already ``holder``'s, or ran out before ``now``. False when another holds it still.

    One statement: an insert, or an update where the row is the holder's own or has run
    out; the row count says whether either happened (an upsert whose update is skipped
    counts none, on both engines). The columns the update's condition reads are qualified
    by the table's name, as PostgreSQL requires (``holder`` alone would be ambiguous with
    ``excluded.holder``)."""
    cur = conn.execute(
        "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until "
        "WHERE leases.holder = excluded.holder OR leases.until < ?",
        (name, holder, stamp(until), stamp(now)))
    return cur.rowcount == 1


def claim_as_member(conn: Conn, name: str, holder: str, now: datetime, until: datetime
                    ) -> bool:
    """:func:`claim` the lease ``name``, and renew ``holder``'s membership lease until
    ``until`` (it is always theirs); memberships that ran out are deleted."""
    conn.execute("DELETE FROM leases WHERE name LIKE 'member:%' AND until < ?", (stamp(now),))
    claim(conn, MEMBER + holder, holder, now, until)
    return claim(conn, name, holder, now, until)


def release(conn: Conn, name: str, holder: str) -> bool:
    """Give the lease up if ``holder`` has it, so another may take it at once; whether it
    had."""
    cur = conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
    return cur.rowcount == 1


def release_as_member(conn: Conn, name: str, holder: str) -> None:
    """:func:`release` the lease ``name``, and ``holder``'s membership."""
    release(conn, name, holder)
    release(conn, MEMBER + holder, holder)


def holder_of(conn: Conn, name: str) -> Lease | None:
    """The lease ``name`` as it is recorded (None: nobody has taken it, or it was
    released); compare its ``until`` with the time to know whether it still holds."""
    with conn.execute("SELECT name, holder, until FROM leases WHERE name = ?",
                      (name,)) as cur:
        row = cur.fetchone()
    if row is None:
        return None
    return Lease(str(row["name"]), str(row["holder"]), from_db_time(str(row["until"])))
