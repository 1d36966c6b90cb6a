"""Cases, their append-only events and their attachments."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from storage.models import (
    Attachment,
    Case,
    CaseEvent,
    NewAttachment,
    NewCase,
    from_db_time,
    to_db_time,
)
from storage.sql import Conn, Row

NUMBER_PREFIX = {"suggestion": "S", "report": "R"}
#: The check part of a public number (``S-2026-00042-K7P``): letters and digits that cannot
#: be mistaken for one another (no 0/O, no 1/I). 32**3 choices per number.
CHECK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CHECK_LENGTH = 3


def _case(row: Row) -> Case:
    return Case(
        id=row["id"], number=row["number"], kind=row["kind"], category_id=row["category_id"],
        unit_id=row["unit_id"], channel=row["channel"], state=row["state"],
        anonymous=bool(row["anonymous"]), reporter_person_id=row["reporter_person_id"],
        delivery_chat_id=row["delivery_chat_id"], reporter_name=row["reporter_name"],
        reporter_phone=row["reporter_phone"], language=row["language"], text=row["text"],
        created_at=from_db_time(row["created_at"]), updated_at=from_db_time(row["updated_at"]),
        accept_due=from_db_time(row["accept_due"]), answer_due=from_db_time(row["answer_due"]),
        latitude=row["latitude"], longitude=row["longitude"],
        concerns_unit_id=row["concerns_unit_id"], transfers=row["transfers"],
        reopened=row["reopened"], accepted_by=row["accepted_by"],
        accepted_at=_maybe_time(row["accepted_at"]), answered_at=_maybe_time(row["answered_at"]),
        closed_at=_maybe_time(row["closed_at"]), delivery_sealed=row["delivery_sealed"],
    )


def _maybe_time(text: str | None) -> datetime | None:
    return from_db_time(text) if text else None


def _event(row: Row) -> CaseEvent:
    payload = json.loads(row["payload"])
    if row["texts"]:
        payload.update(json.loads(row["texts"]))
    return CaseEvent(
        id=row["id"], case_id=row["case_id"], at=from_db_time(row["at"]),
        actor_person_id=row["actor_person_id"], actor_role=row["actor_role"], type=row["type"],
        state_before=row["state_before"], state_after=row["state_after"],
        payload=payload, redacted=row["redacted_at"] is not None,
    )


#: Payload keys that hold what a person wrote, for every event type: kept apart from the
#: append-only trail, in ``case_event_texts``, where they can be redacted.
TEXT_KEYS = ("text", "comment")
#: Event types whose ``reason`` is written by a person (elsewhere it is a code, e.g. of a
#: refusal, and stays in the event).
WRITTEN_REASONS = ("transferred", "escalated", "extension_requested")


def _split_texts(event_type: str, payload: dict[str, Any]) -> tuple[dict[str, Any],
                                                                    dict[str, Any]]:
    """An event's payload as (what stays in the event, the personal texts kept apart)."""
    personal = TEXT_KEYS + (("reason",) if event_type in WRITTEN_REASONS else ())
    texts = {key: payload[key] for key in personal if key in payload}
    kept = {key: value for key, value in payload.items() if key not in texts}
    return kept, texts


def _next_number(conn: Conn, kind: str, year: int) -> str:
    conn.execute(
        "INSERT INTO case_counters (kind, year, last_seq) VALUES (?, ?, 1) "
        "ON CONFLICT (kind, year) DO UPDATE SET last_seq = case_counters.last_seq + 1",
        (kind, year),
    )
    with conn.execute(
        "SELECT last_seq FROM case_counters WHERE kind = ? AND year = ?", (kind, year)
    ) as cur:
        row = cur.fetchone()
    assert row is not None
    check = "".join(secrets.choice(CHECK_ALPHABET) for _ in range(CHECK_LENGTH))
    return f"{NUMBER_PREFIX[kind]}-{year}-{row[0]:05d}-{check}"


def find_by_key(conn: Conn, idempotency_key: str) -> Case | None:
    """The case created under this idempotency key, if any."""
    with conn.execute(
        "SELECT * FROM cases WHERE idempotency_key = ?", (idempotency_key,)
    ) as cur:
        row = cur.fetchone()
    return _case(row) if row else None


def create_case(
    conn: Conn, new: NewCase, *, year: int, actor_role: str,
    actor_person_id: int | None = None,
) -> tuple[Case, bool]:
    """Store a case with its ``filed`` event and attachments.

    The event's actor is ``actor_person_id`` (a clerk filing on a resident's behalf), by
    default the reporter. Idempotent: a second call with the same key returns the first
    case and ``False``.
    """
    existing = find_by_key(conn, new.idempotency_key)
    if existing is not None:
        return existing, False
    number = _next_number(conn, new.kind, year)
    created = to_db_time(new.created_at)
    case_id = conn.insert(
        "INSERT INTO cases (number, kind, category_id, unit_id, channel, state, anonymous, "
        "reporter_person_id, delivery_chat_id, reporter_name, reporter_phone, language, text, "
        "latitude, longitude, created_at, updated_at, accept_due, answer_due, idempotency_key, "
        "concerns_unit_id, bind_code, delivery_sealed) "
        "VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (number, new.kind, new.category_id, new.unit_id, new.channel, int(new.anonymous),
         new.reporter_person_id, new.delivery_chat_id, new.reporter_name, new.reporter_phone,
         new.language, new.text, new.latitude, new.longitude, created, created,
         to_db_time(new.accept_due), to_db_time(new.answer_due), new.idempotency_key,
         new.concerns_unit_id, new.bind_code, new.delivery_sealed),
    )
    event_id = append_event(
        conn, case_id, new.created_at,
        new.reporter_person_id if actor_person_id is None else actor_person_id, actor_role,
        "filed",
        None, "new",
        {"unit": new.unit_id, "category": new.category_id, "channel": new.channel,
         "attachments": len(new.attachments)},
    )
    add_attachments(conn, case_id, event_id, new.attachments, new.created_at)
    case = get_case(conn, case_id)
    assert case is not None
    return case, True


def append_event(
    conn: Conn,
    case_id: int,
    at: datetime,
    actor_person_id: int | None,
    actor_role: str,
    event_type: str,
    state_before: str | None,
    state_after: str | None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Append one event to a case's audit trail; returns its id.

    What a person wrote (``TEXT_KEYS``, a written reason) goes to ``case_event_texts``
    under the event's id, to be redacted one day; the event keeps the rest. Readers
    (``events_of``) see the payload whole again until it is redacted.
    """
    kept, texts = _split_texts(event_type, payload or {})
    event_id = conn.insert(
        "INSERT INTO case_events (case_id, at, actor_person_id, actor_role, type, state_before, "
        "state_after, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (case_id, to_db_time(at), actor_person_id, actor_role, event_type, state_before,
         state_after, json.dumps(kept, ensure_ascii=False)),
    )
    if texts:
        conn.execute("INSERT INTO case_event_texts (event_id, texts) VALUES (?, ?)",
                           (event_id, json.dumps(texts, ensure_ascii=False)))
    return event_id


def redact_event_texts(
    conn: Conn, case_id: int, now: datetime, *, purpose: str,
    actor_person_id: int | None = None, actor_role: str = "system",
    event_ids: Iterable[int] | None = None, actor_roles: Iterable[str] | None = None,
) -> int:
    """Empty what people wrote into a case's trail; returns how many events' texts went.

    Every text of the case not yet redacted is set to NULL: only those of ``event_ids``
    and/or of events whose ``actor_role`` is in ``actor_roles`` (e.g. ``["reporter"]``,
    what the reporter wrote), if given. The redaction is recorded as an event of its own
    (``redacted``, with ``purpose`` such as ``"retention"`` or ``"erasure"`` and the count,
    nothing of the texts). Nothing to redact: no event, 0. The events themselves do not
    change. Call inside the caller's write transaction.
    """
    params: list[object] = [case_id]
    only = ""
    for column, values in (("e.id", event_ids), ("e.actor_role", actor_roles)):
        if values is None:
            continue
        chosen = list(values)
        if not chosen:
            return 0
        only += f" AND {column} IN ({', '.join('?' for _ in chosen)})"
        params += chosen
    with conn.execute(
        "SELECT t.event_id FROM case_event_texts t JOIN case_events e ON e.id = t.event_id "
        f"WHERE e.case_id = ? AND t.redacted_at IS NULL{only} ORDER BY t.event_id", params,
    ) as cur:
        targets = [int(row[0]) for row in cur.fetchall()]
    if not targets:
        return 0
    at = to_db_time(now)
    conn.executemany(
        "UPDATE case_event_texts SET texts = NULL, redacted_at = ? WHERE event_id = ?",
        [(at, event_id) for event_id in targets])
    with conn.execute("SELECT state FROM cases WHERE id = ?", (case_id,)) as cur:
        row = cur.fetchone()
    state = row[0] if row else None
    append_event(conn, case_id, now, actor_person_id, actor_role, "redacted", state, state,
                       {"purpose": purpose, "events": len(targets)})
    return len(targets)


def add_attachments(
    conn: Conn,
    case_id: int,
    event_id: int | None,
    attachments: Iterable[NewAttachment],
    at: datetime,
) -> None:
    """Store Telegram file ids of a case's attachments."""
    conn.executemany(
        "INSERT INTO attachments (case_id, event_id, kind, file_id, file_unique_id, file_name, "
        "mime_type, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(case_id, event_id, a.kind, a.file_id, a.file_unique_id, a.file_name, a.mime_type,
          to_db_time(at)) for a in attachments],
    )


def set_state(
    conn: Conn, case_id: int, expected: Iterable[str], new_state: str,
    at: datetime,
) -> str | None:
    """Move a case to ``new_state`` if it is in one of ``expected``; returns the old state."""
    expected = tuple(expected)
    marks = ", ".join("?" for _ in expected)
    with conn.execute(
        f"SELECT state FROM cases WHERE id = ? AND state IN ({marks})", (case_id, *expected)
    ) as cur:
        row = cur.fetchone()
    if row is None:
        return None
    conn.execute(
        "UPDATE cases SET state = ?, updated_at = ? WHERE id = ?",
        (new_state, to_db_time(at), case_id),
    )
    return str(row["state"])


def touch(conn: Conn, case_id: int, at: datetime) -> None:
    """Record that a case changed without a change of state."""
    conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (to_db_time(at), case_id))


def get_case(conn: Conn, case_id: int) -> Case | None:
    """A case by id."""
    with conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)) as cur:
        row = cur.fetchone()
    return _case(row) if row else None


def get_case_by_number(conn: Conn, number: str) -> Case | None:
    """A case by its whole public number, check part included (``S-2026-00042-K7P``)."""
    with conn.execute("SELECT * FROM cases WHERE number = ?", (number,)) as cur:
        row = cur.fetchone()
    return _case(row) if row else None


def get_case_by_short_number(conn: Conn, short: str) -> Case | None:
    """A case by its number without the check part (``S-2026-00042``), as staff may type
    it; /status never looks up by this."""
    # The numbers that start with "S-2026-00042-": a range of the unique index (or the short
    # number itself, on a row written without a check part).
    with conn.execute(
        "SELECT * FROM cases WHERE number = ? OR (number > ? AND number < ?) ORDER BY number",
        (short, f"{short}-", f"{short}.")
    ) as cur:
        row = cur.fetchone()
    return _case(row) if row else None


# The anonymous ones come from the person's sealed list (bot/services/sealed.py), given as a
# JSON array: the cases themselves hold nothing that finds their reporter.
_REPORTER_FILTER = (
    "(reporter_person_id = ? OR (reporter_person_id IS NULL "
    "AND id IN (SELECT value FROM json_each(?))))"
)


def reporter_cases(
    conn: Conn, person_id: int, anonymous_ids: Iterable[int], offset: int,
    limit: int,
) -> tuple[list[Case], int]:
    """A reporter's cases (theirs by name, and the anonymous ones with these ids), newest
    first, one page, with the total count."""
    ids = json.dumps([int(i) for i in anonymous_ids])
    with conn.execute(
        f"SELECT * FROM cases WHERE {_REPORTER_FILTER} ORDER BY id DESC LIMIT ? OFFSET ?",
        (person_id, ids, limit, offset),
    ) as cur:
        rows = cur.fetchall()
    with conn.execute(
        f"SELECT COUNT(*) FROM cases WHERE {_REPORTER_FILTER}", (person_id, ids)
    ) as cur:
        total_row = cur.fetchone()
    return [_case(r) for r in rows], int(total_row[0]) if total_row else 0


def events_of(conn: Conn, case_id: int) -> list[CaseEvent]:
    """A case's audit trail, oldest first."""
    with conn.execute(
        "SELECT e.*, t.texts, t.redacted_at FROM case_events e "
        "LEFT JOIN case_event_texts t ON t.event_id = e.id WHERE e.case_id = ? ORDER BY e.id",
        (case_id,),
    ) as cur:
        rows = cur.fetchall()
    return [_event(r) for r in rows]


def attachments_of(conn: Conn, case_id: int) -> list[Attachment]:
    """A case's attachments, in the order they came."""
    with conn.execute(
        "SELECT * FROM attachments WHERE case_id = ? ORDER BY id", (case_id,)
    ) as cur:
        rows = cur.fetchall()
    return [Attachment(kind=r["kind"], file_id=r["file_id"], file_unique_id=r["file_unique_id"],
                       file_name=r["file_name"], mime_type=r["mime_type"], id=r["id"],
                       case_id=r["case_id"], event_id=r["event_id"]) for r in rows]


def mark_accepted(
    conn: Conn, case_id: int, person_id: int, at: datetime
) -> bool:
    """New → accepted, if still new (the first acceptance wins)."""
    cur = conn.execute(
        "UPDATE cases SET state = 'accepted', accepted_by = ?, accepted_at = ?, updated_at = ? "
        "WHERE id = ? AND state = 'new'",
        (person_id, to_db_time(at), to_db_time(at), case_id),
    )
    return cur.rowcount == 1


def move_to_unit(
    conn: Conn, case_id: int, unit_id: str, accept_due: datetime,
    at: datetime, *, count_transfer: bool,
) -> None:
    """Hand a case to another unit: it is new there, with a fresh acceptance deadline."""
    conn.execute(
        "UPDATE cases SET unit_id = ?, state = 'new', accepted_by = NULL, accepted_at = NULL, "
        "accept_due = ?, transfers = transfers + ?, updated_at = ? WHERE id = ?",
        (unit_id, to_db_time(accept_due), int(count_transfer), to_db_time(at), case_id),
    )


def mark_answered(conn: Conn, case_id: int, at: datetime) -> None:
    """Open → answered (a withdrawn or closed case is never revived)."""
    conn.execute(
        "UPDATE cases SET state = 'answered', answered_at = ?, updated_at = ? WHERE id = ? "
        "AND state IN ('new', 'accepted', 'reopened', 'info_requested')",
        (to_db_time(at), to_db_time(at), case_id),
    )


def mark_closed(conn: Conn, case_id: int, at: datetime) -> None:
    conn.execute(
        "UPDATE cases SET state = 'closed', closed_at = ?, updated_at = ? WHERE id = ?",
        (to_db_time(at), to_db_time(at), case_id),
    )


def mark_reopened(conn: Conn, case_id: int, at: datetime) -> None:
    conn.execute(
        "UPDATE cases SET state = 'reopened', reopened = reopened + 1, updated_at = ? "
        "WHERE id = ?", (to_db_time(at), case_id),
    )


def answered_before(conn: Conn, moment: datetime) -> list[Case]:
    """Answered cases whose answer went out before ``moment`` (not rated since)."""
    with conn.execute(
        "SELECT * FROM cases WHERE state = 'answered' AND answered_at < ? ORDER BY id",
        (to_db_time(moment),),
    ) as cur:
        return [_case(r) for r in cur.fetchall()]


def by_bind_code(conn: Conn, code: str) -> Case | None:
    with conn.execute("SELECT * FROM cases WHERE bind_code = ?", (code,)) as cur:
        row = cur.fetchone()
    return _case(row) if row else None


def bind_reporter(
    conn: Conn, case_id: int, person_id: int | None, chat_id: int | None,
    at: datetime, *, sealed: bytes | None = None,
) -> None:
    """Link a clerk-filed case to the resident's account (the code is used up): a named
    case gets the person and the plain chat, an anonymous one only the ``sealed`` chat."""
    conn.execute(
        "UPDATE cases SET reporter_person_id = ?, delivery_chat_id = ?, delivery_sealed = ?, "
        "bind_code = NULL, updated_at = ? WHERE id = ?",
        (person_id, chat_id, sealed, to_db_time(at), case_id),
    )


def open_cases_of_units(
    conn: Conn, unit_ids: list[str] | None, states: tuple[str, ...],
    offset: int, limit: int, overdue_at: datetime | None = None,
    not_concerning: Sequence[str] = (), unless_of: Sequence[str] = (),
) -> tuple[list[Case], int]:
    """Open cases of some units (all units for ``None``), soonest deadline first.

    The deadline that matters is acceptance for new cases and the answer otherwise;
    ``overdue_at`` keeps only cases whose deadline passed before that moment.
    ``not_concerning`` leaves out reports about the leadership of those units, except the
    cases of a unit in ``unless_of`` (those the reader handles).
    """
    due = "CASE WHEN state = 'new' THEN accept_due ELSE answer_due END"
    where = [f"state IN ({', '.join('?' for _ in states)})"]
    params: list[object] = list(states)
    if unit_ids is not None:
        where.append(f"unit_id IN ({', '.join('?' for _ in unit_ids) or 'NULL'})")
        params += unit_ids
    if not_concerning:
        hidden = (f"concerns_unit_id IS NOT NULL "
                  f"AND concerns_unit_id IN ({', '.join('?' for _ in not_concerning)})")
        params += not_concerning
        if unless_of:
            hidden += f" AND unit_id NOT IN ({', '.join('?' for _ in unless_of)})"
            params += unless_of
        where.append(f"NOT ({hidden})")
    if overdue_at is not None:
        where.append(f"{due} < ?")
        params.append(to_db_time(overdue_at))
    clause = " AND ".join(where)
    with conn.execute(
        f"SELECT * FROM cases WHERE {clause} ORDER BY {due}, id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    ) as cur:
        rows = cur.fetchall()
    with conn.execute(f"SELECT COUNT(*) FROM cases WHERE {clause}", params) as cur:
        total = cur.fetchone()
    return [_case(r) for r in rows], int(total[0]) if total else 0


def set_due(
    conn: Conn, case_id: int, deadline: str, due: datetime, at: datetime
) -> None:
    """Move one of a case's deadlines (an extension, or the clock paused while asking)."""
    column = {"accept": "accept_due", "answer": "answer_due"}[deadline]
    conn.execute(
        f"UPDATE cases SET {column} = ?, updated_at = ? WHERE id = ?",
        (to_db_time(due), to_db_time(at), case_id),
    )


def overdue_cases(
    conn: Conn, now: datetime, limit: int = 50,
    not_concerning: Sequence[str] = (),
) -> tuple[list[Case], int]:
    """The first ``limit`` open cases past the deadline that matters for their state (oldest
    deadline first), and how many there are in all; none about the leadership of a unit in
    ``not_concerning``."""
    return open_cases_of_units(
        conn, None, ("new", "accepted", "info_requested", "reopened"), 0, limit,
        overdue_at=now, not_concerning=not_concerning)
