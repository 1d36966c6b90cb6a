"""What units owe the register (公开时限): one obligation per catalog item and period, per
stage of a staged matter, per recorded event; met once every required form of the
disclosure that meets it is confirmed. Staged matters and recorded events are kept here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from storage.models import from_db_time, to_db_time
from storage.sql import Conn, Row


@dataclass(frozen=True)
class ObligationRow:
    id: int
    item_id: str
    unit_id: str
    period_key: str
    title: str | None
    due_at: datetime
    disclosure_id: int | None
    met_at: datetime | None


@dataclass(frozen=True)
class Matter:
    id: int
    item_id: str
    unit_id: str
    kind: str  # staged | temporary
    title: str
    opened_at: datetime


def _obligation(row: Row) -> ObligationRow:
    return ObligationRow(row["id"], row["item_id"], row["unit_id"], row["period_key"],
                         row["title"], from_db_time(row["due_at"]), row["disclosure_id"],
                         from_db_time(row["met_at"]) if row["met_at"] else None)


def ensure(conn: Conn, rows: Iterable[tuple[str, str, str, str | None, datetime]],
           now: datetime) -> list[int]:
    """Record obligations ((item, unit, period key, title, due) tuples) not recorded yet;
    returns the ids of those new."""
    new: list[int] = []
    moment = to_db_time(now)
    for item_id, unit_id, key, title, due in rows:
        cur = conn.execute(
            "INSERT INTO disclosure_obligations (item_id, unit_id, period_key, title, due_at, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (item_id, unit_id, key, title, to_db_time(due), moment))
        row = cur.fetchone()
        if row is not None:
            new.append(int(row[0]))
    return new


def get(conn: Conn, obligation_id: int) -> ObligationRow | None:
    rows = conn.execute_fetchall(
        "SELECT * FROM disclosure_obligations WHERE id = ?", (obligation_id,))
    return _obligation(rows[0]) if rows else None


def open_of(conn: Conn, unit_ids: Iterable[str], *, due_before: datetime | None = None
            ) -> list[ObligationRow]:
    """The units' obligations not met yet (due before ``due_before`` if given), the
    earliest due first."""
    units = list(unit_ids)
    if not units:
        return []
    sql = (f"SELECT * FROM disclosure_obligations WHERE met_at IS NULL "
           f"AND unit_id IN ({', '.join('?' for _ in units)})")
    params: list[object] = list(units)
    if due_before is not None:
        sql += " AND due_at < ?"
        params.append(to_db_time(due_before))
    return [_obligation(r) for r in conn.execute_fetchall(sql + " ORDER BY due_at, id",
                                                          tuple(params))]


def overdue(conn: Conn, now: datetime) -> list[ObligationRow]:
    """Every obligation past due and not met, the most overdue first."""
    return [_obligation(r) for r in conn.execute_fetchall(
        "SELECT * FROM disclosure_obligations WHERE met_at IS NULL AND due_at < ? "
        "ORDER BY due_at, id", (to_db_time(now),))]


def claim_for(conn: Conn, obligation_id: int, disclosure_id: int) -> bool:
    """Tie a disclosure to the obligation it meets; False if another one is tied to it."""
    cur = conn.execute(
        "UPDATE disclosure_obligations SET disclosure_id = ? WHERE id = ? "
        "AND (disclosure_id IS NULL OR disclosure_id = ?) AND met_at IS NULL",
        (disclosure_id, obligation_id, disclosure_id))
    return cur.rowcount == 1


def release(conn: Conn, obligation_id: int, disclosure_id: int) -> None:
    conn.execute(
        "UPDATE disclosure_obligations SET disclosure_id = NULL WHERE id = ? "
        "AND disclosure_id = ? AND met_at IS NULL", (obligation_id, disclosure_id))


def mark_met(conn: Conn, obligation_id: int, now: datetime) -> bool:
    cur = conn.execute(
        "UPDATE disclosure_obligations SET met_at = ? WHERE id = ? AND met_at IS NULL",
        (to_db_time(now), obligation_id))
    return cur.rowcount == 1


def rows_between(conn: Conn, start: datetime, end: datetime) -> list[ObligationRow]:
    """Obligations due in [start, end) (the assessment's)."""
    return [_obligation(r) for r in conn.execute_fetchall(
        "SELECT * FROM disclosure_obligations WHERE due_at >= ? AND due_at < ? ORDER BY id",
        (to_db_time(start), to_db_time(end)))]


# ----------------------------------------------------------------------------- matters

def open_matter(conn: Conn, item_id: str, unit_id: str, kind: str, title: str,
                person_id: int, now: datetime) -> int:
    cur = conn.execute(
        "INSERT INTO disclosure_matters (item_id, unit_id, kind, title, opened_by, opened_at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (item_id, unit_id, kind, title, person_id, to_db_time(now)))
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def matter(conn: Conn, matter_id: int) -> Matter | None:
    rows = conn.execute_fetchall("SELECT * FROM disclosure_matters WHERE id = ?", (matter_id,))
    if not rows:
        return None
    r = rows[0]
    return Matter(r["id"], r["item_id"], r["unit_id"], r["kind"], r["title"],
                  from_db_time(r["opened_at"]))


def matters_of(conn: Conn, unit_id: str, kind: str) -> list[Matter]:
    return [Matter(r["id"], r["item_id"], r["unit_id"], r["kind"], r["title"],
                   from_db_time(r["opened_at"]))
            for r in conn.execute_fetchall(
                "SELECT * FROM disclosure_matters WHERE unit_id = ? AND kind = ? ORDER BY id",
                (unit_id, kind))]


def stages_reached(conn: Conn, item_id: str, unit_id: str, matter_id: int) -> set[str]:
    """The stages of a staged matter recorded as reached (their obligations exist)."""
    prefix = f"{matter_id}:"
    rows = conn.execute_fetchall(
        "SELECT period_key FROM disclosure_obligations WHERE item_id = ? AND unit_id = ? "
        "AND substr(period_key, 1, ?) = ?", (item_id, unit_id, len(prefix), prefix))
    return {str(r[0])[len(prefix):] for r in rows}
