"""The disclosure register (党务公开): disclosures from draft to register, their trail, forms,
posts and opinions; the numbers D-YYYY-NNNNN. The obligations: ``storage.obligations``.

A disclosure's row is frozen once it has a number (at publication): the database refuses
any change or deletion of it and of its files (triggers of schema version 19), so the
register keeps what was published. A correction is a new row whose ``previous_id`` names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import from_db_time, to_db_time
from storage.sql import Conn, Row

#: The stages of a disclosure before it is published, then published, or withdrawn.
DRAFT, REVIEW, SIGNOFF, PUBLISHED, WITHDRAWN = (
    "draft", "review", "signoff", "published", "withdrawn")
STAGES = (DRAFT, REVIEW, SIGNOFF, PUBLISHED, WITHDRAWN)


@dataclass(frozen=True)
class Disclosure:
    id: int
    number: str | None
    item_id: str
    unit_id: str
    obligation_id: int | None
    audience: str
    aspect: str
    forms: tuple[str, ...]
    stage: str
    pre: bool
    version: int
    previous_id: int | None
    title: str
    body: str
    sections: dict[str, str]
    drafted_by: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    content_hash: str | None
    comment_until: datetime | None


@dataclass(frozen=True)
class NewDisclosure:
    item_id: str
    unit_id: str
    audience: str
    aspect: str
    forms: tuple[str, ...]
    title: str
    body: str
    drafted_by: int
    obligation_id: int | None = None
    pre: bool = False
    version: int = 1
    previous_id: int | None = None
    sections: dict[str, str] | None = None


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    person_id: int | None
    role: str | None
    at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class File:
    position: int
    kind: str
    file_id: str
    file_unique_id: str | None
    file_name: str | None


@dataclass(frozen=True)
class Form:
    form: str
    confirmed_at: datetime | None
    confirmed_by: int | None
    detail: str | None


@dataclass(frozen=True)
class Post:
    chat_id: int
    message_ids: tuple[int, ...] | None
    error: str | None
    opinions_shown: int
    edited_at: datetime | None


@dataclass(frozen=True)
class Opinion:
    case_id: int
    number: str
    state: str
    adoption: str | None
    reason: str | None


def _time(text: str | None) -> datetime | None:
    return from_db_time(text) if text else None


def _disclosure(row: Row) -> Disclosure:
    return Disclosure(
        id=row["id"], number=row["number"], item_id=row["item_id"], unit_id=row["unit_id"],
        obligation_id=row["obligation_id"], audience=row["audience"], aspect=row["aspect"],
        forms=tuple(json.loads(row["forms"])), stage=row["stage"], pre=bool(row["pre"]),
        version=row["version"], previous_id=row["previous_id"], title=row["title"],
        body=row["body"], sections=json.loads(row["sections"] or "{}"),
        drafted_by=row["drafted_by"], created_at=from_db_time(row["created_at"]),
        updated_at=from_db_time(row["updated_at"]), published_at=_time(row["published_at"]),
        content_hash=row["content_hash"], comment_until=_time(row["comment_until"]))


# ----------------------------------------------------------------------------- disclosures

def create(conn: Conn, new: NewDisclosure, now: datetime) -> int:
    """A new draft (stage ``draft``); returns its id."""
    moment = to_db_time(now)
    cur = conn.execute(
        "INSERT INTO disclosures (item_id, unit_id, obligation_id, audience, aspect, forms, "
        "stage, pre, version, previous_id, title, body, sections, drafted_by, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (new.item_id, new.unit_id, new.obligation_id, new.audience, new.aspect,
         json.dumps(list(new.forms)), DRAFT, int(new.pre), new.version, new.previous_id,
         new.title, new.body, json.dumps(new.sections or {}, ensure_ascii=False),
         new.drafted_by, moment, moment))
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def get(conn: Conn, disclosure_id: int) -> Disclosure | None:
    rows = conn.execute_fetchall("SELECT * FROM disclosures WHERE id = ?", (disclosure_id,))
    return _disclosure(rows[0]) if rows else None


def by_number(conn: Conn, number: str) -> Disclosure | None:
    rows = conn.execute_fetchall("SELECT * FROM disclosures WHERE number = ?", (number,))
    return _disclosure(rows[0]) if rows else None


def many(conn: Conn, ids: Sequence[int]) -> list[Disclosure]:
    """The disclosures of ``ids``, in that order (unknown ids left out)."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    found = {r["id"]: _disclosure(r) for r in conn.execute_fetchall(
        f"SELECT * FROM disclosures WHERE id IN ({marks})", tuple(ids))}
    return [found[i] for i in ids if i in found]


def set_content(conn: Conn, disclosure_id: int, *, title: str, body: str,
                sections: dict[str, str], forms: Sequence[str], now: datetime) -> bool:
    """Change a draft's content; False unless it is at the draft stage."""
    cur = conn.execute(
        "UPDATE disclosures SET title = ?, body = ?, sections = ?, forms = ?, updated_at = ? "
        "WHERE id = ? AND stage = ?",
        (title, body, json.dumps(sections, ensure_ascii=False), json.dumps(list(forms)),
         to_db_time(now), disclosure_id, DRAFT))
    return cur.rowcount == 1


def move(conn: Conn, disclosure_id: int, from_stage: str, to_stage: str,
         now: datetime) -> bool:
    """Move an unpublished disclosure from one stage to another; False if it was not at
    ``from_stage`` (someone else moved it first)."""
    cur = conn.execute(
        "UPDATE disclosures SET stage = ?, updated_at = ? "
        "WHERE id = ? AND stage = ? AND number IS NULL",
        (to_stage, to_db_time(now), disclosure_id, from_stage))
    return cur.rowcount == 1


def next_number(conn: Conn, year: int) -> str:
    """The next register number of ``year``: D-YYYY-NNNNN."""
    conn.execute(
        "INSERT INTO disclosure_counters (year, last_seq) VALUES (?, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_seq = disclosure_counters.last_seq + 1",
        (year,))
    rows = conn.execute_fetchall(
        "SELECT last_seq FROM disclosure_counters WHERE year = ?", (year,))
    return f"D-{year}-{int(rows[0][0]):05d}"


def publish(conn: Conn, disclosure_id: int, *, number: str, content_hash: str,
            now: datetime, comment_until: datetime | None) -> bool:
    """Number and freeze a signed disclosure; False unless it was at sign-off."""
    cur = conn.execute(
        "UPDATE disclosures SET number = ?, content_hash = ?, published_at = ?, stage = ?, "
        "updated_at = ?, comment_until = ? WHERE id = ? AND stage = ? AND number IS NULL",
        (number, content_hash, to_db_time(now), PUBLISHED, to_db_time(now),
         to_db_time(comment_until) if comment_until else None, disclosure_id, SIGNOFF))
    return cur.rowcount == 1


def in_stage(conn: Conn, unit_ids: Iterable[str], stages: Sequence[str]) -> list[Disclosure]:
    """The unpublished disclosures of these units at these stages, oldest first."""
    units = list(unit_ids)
    if not units or not stages:
        return []
    rows = conn.execute_fetchall(
        f"SELECT * FROM disclosures WHERE unit_id IN ({', '.join('?' for _ in units)}) "
        f"AND stage IN ({', '.join('?' for _ in stages)}) ORDER BY id",
        (*units, *stages))
    return [_disclosure(r) for r in rows]


def later_versions(conn: Conn, disclosure_id: int) -> list[Disclosure]:
    """The disclosures that correct this one (or are its final version), oldest first."""
    rows = conn.execute_fetchall(
        "SELECT * FROM disclosures WHERE previous_id = ? ORDER BY id", (disclosure_id,))
    return [_disclosure(r) for r in rows]


def last_published(conn: Conn, unit_id: str) -> dict[str, datetime]:
    """When each catalog item of the unit was last published."""
    rows = conn.execute_fetchall(
        "SELECT item_id, MAX(published_at) FROM disclosures WHERE unit_id = ? "
        "AND number IS NOT NULL AND pre = 0 GROUP BY item_id", (unit_id,))
    return {r[0]: from_db_time(r[1]) for r in rows}


# ----------------------------------------------------------------------------- files

def add_file(conn: Conn, disclosure_id: int, kind: str, file_id: str,
             file_unique_id: str | None, file_name: str | None) -> int:
    """Attach a file to a draft; returns its position."""
    rows = conn.execute_fetchall(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM disclosure_files WHERE disclosure_id = ?",
        (disclosure_id,))
    position = int(rows[0][0])
    conn.execute(
        "INSERT INTO disclosure_files (disclosure_id, position, kind, file_id, "
        "file_unique_id, file_name) VALUES (?, ?, ?, ?, ?, ?)",
        (disclosure_id, position, kind, file_id, file_unique_id, file_name))
    return position


def files_of(conn: Conn, disclosure_id: int) -> list[File]:
    return [File(r["position"], r["kind"], r["file_id"], r["file_unique_id"], r["file_name"])
            for r in conn.execute_fetchall(
                "SELECT * FROM disclosure_files WHERE disclosure_id = ? ORDER BY position",
                (disclosure_id,))]


# ----------------------------------------------------------------------------- the trail

def add_event(conn: Conn, disclosure_id: int, type_: str, *, person_id: int | None,
              role: str | None, now: datetime, payload: dict[str, Any] | None = None) -> int:
    cur = conn.execute(
        "INSERT INTO disclosure_events (disclosure_id, type, person_id, role, at, payload) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (disclosure_id, type_, person_id, role, to_db_time(now),
         json.dumps(payload or {}, ensure_ascii=False)))
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def events_of(conn: Conn, disclosure_id: int) -> list[Event]:
    return [Event(r["id"], r["type"], r["person_id"], r["role"], from_db_time(r["at"]),
                  json.loads(r["payload"]))
            for r in conn.execute_fetchall(
                "SELECT * FROM disclosure_events WHERE disclosure_id = ? ORDER BY id",
                (disclosure_id,))]


def approvals(conn: Conn, disclosure_id: int) -> set[int]:
    """Who approved the disclosure at review since it was last submitted."""
    rows = conn.execute_fetchall(
        "SELECT person_id FROM disclosure_events WHERE disclosure_id = ? AND type = 'approved' "
        "AND id > (SELECT COALESCE(MAX(id), 0) FROM disclosure_events "
        "          WHERE disclosure_id = ? AND type = 'submitted')",
        (disclosure_id, disclosure_id))
    return {int(r[0]) for r in rows}


# ----------------------------------------------------------------------------- forms, posts

def init_forms(conn: Conn, disclosure_id: int, forms: Iterable[str]) -> None:
    conn.executemany(
        "INSERT INTO disclosure_forms (disclosure_id, form) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING", [(disclosure_id, f) for f in forms])


def confirm_form(conn: Conn, disclosure_id: int, form: str, *, person_id: int | None,
                 now: datetime, detail: str | None = None) -> bool:
    """Confirm one form once; False if it was confirmed already or is not required."""
    cur = conn.execute(
        "UPDATE disclosure_forms SET confirmed_at = ?, confirmed_by = ?, detail = ? "
        "WHERE disclosure_id = ? AND form = ? AND confirmed_at IS NULL",
        (to_db_time(now), person_id, detail, disclosure_id, form))
    return cur.rowcount == 1


def forms_of(conn: Conn, disclosure_id: int) -> list[Form]:
    return [Form(r["form"], _time(r["confirmed_at"]), r["confirmed_by"], r["detail"])
            for r in conn.execute_fetchall(
                "SELECT * FROM disclosure_forms WHERE disclosure_id = ? ORDER BY form",
                (disclosure_id,))]


def add_posts(conn: Conn, disclosure_id: int, chat_ids: Iterable[int]) -> None:
    """Owe a post of the disclosure to each chat (sent by the posting job)."""
    conn.executemany(
        "INSERT INTO disclosure_posts (disclosure_id, chat_id) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING", [(disclosure_id, c) for c in chat_ids])


def _post(row: Row) -> Post:
    ids = tuple(json.loads(row["message_ids"])) if row["message_ids"] else None
    return Post(row["chat_id"], ids, row["error"], row["opinions_shown"],
                _time(row["edited_at"]))


def posts_of(conn: Conn, disclosure_id: int) -> list[Post]:
    return [_post(r) for r in conn.execute_fetchall(
        "SELECT * FROM disclosure_posts WHERE disclosure_id = ? ORDER BY chat_id",
        (disclosure_id,))]


def unposted(conn: Conn, limit: int = 20) -> list[tuple[int, int]]:
    """(disclosure id, chat id) of posts owed and not failed, oldest first."""
    rows = conn.execute_fetchall(
        "SELECT disclosure_id, chat_id FROM disclosure_posts "
        "WHERE message_ids IS NULL AND error IS NULL ORDER BY disclosure_id, chat_id LIMIT ?",
        (limit,))
    return [(int(r[0]), int(r[1])) for r in rows]


def record_post(conn: Conn, disclosure_id: int, chat_id: int,
                message_ids: Sequence[int]) -> None:
    conn.execute(
        "UPDATE disclosure_posts SET message_ids = ?, error = NULL "
        "WHERE disclosure_id = ? AND chat_id = ?",
        (json.dumps(list(message_ids)), disclosure_id, chat_id))


def post_failed(conn: Conn, disclosure_id: int, chat_id: int, error: str) -> bool:
    """Record why a post could not go out; False if that was recorded already."""
    cur = conn.execute(
        "UPDATE disclosure_posts SET error = ? WHERE disclosure_id = ? AND chat_id = ? "
        "AND message_ids IS NULL AND error IS NULL", (error, disclosure_id, chat_id))
    return cur.rowcount == 1


def retry_posts(conn: Conn, disclosure_id: int) -> int:
    """Forget the errors of a disclosure's failed posts, so they are tried again."""
    cur = conn.execute(
        "UPDATE disclosure_posts SET error = NULL WHERE disclosure_id = ? "
        "AND message_ids IS NULL AND error IS NOT NULL", (disclosure_id,))
    return cur.rowcount


def move_post_chat(conn: Conn, disclosure_id: int, old_chat_id: int, new_chat_id: int) -> None:
    conn.execute(
        "UPDATE disclosure_posts SET chat_id = ?, error = NULL "
        "WHERE disclosure_id = ? AND chat_id = ?", (new_chat_id, disclosure_id, old_chat_id))


def counts_to_show(conn: Conn, before: datetime, limit: int = 50
                   ) -> list[tuple[int, int, tuple[int, ...], int]]:
    """Posts whose opinion count changed and were last edited before ``before``:
    (disclosure id, chat id, message ids, opinions now)."""
    rows = conn.execute_fetchall(
        "SELECT p.disclosure_id, p.chat_id, p.message_ids, "
        "       (SELECT COUNT(*) FROM disclosure_opinions o "
        "        WHERE o.disclosure_id = p.disclosure_id) AS n "
        "FROM disclosure_posts p WHERE p.message_ids IS NOT NULL "
        "AND (p.edited_at IS NULL OR p.edited_at <= ?) "
        "AND p.opinions_shown <> (SELECT COUNT(*) FROM disclosure_opinions o "
        "                         WHERE o.disclosure_id = p.disclosure_id) "
        "ORDER BY p.disclosure_id LIMIT ?", (to_db_time(before), limit))
    return [(int(r[0]), int(r[1]), tuple(json.loads(r[2])), int(r[3])) for r in rows]


def count_shown(conn: Conn, disclosure_id: int, chat_id: int, shown: int,
                now: datetime) -> None:
    conn.execute(
        "UPDATE disclosure_posts SET opinions_shown = ?, edited_at = ? "
        "WHERE disclosure_id = ? AND chat_id = ?",
        (shown, to_db_time(now), disclosure_id, chat_id))


# ----------------------------------------------------------------------------- opinions

def link_opinion(conn: Conn, case_id: int, disclosure_id: int) -> None:
    conn.execute(
        "INSERT INTO disclosure_opinions (case_id, disclosure_id) VALUES (?, ?) "
        "ON CONFLICT DO NOTHING", (case_id, disclosure_id))


def opinion_of(conn: Conn, case_id: int) -> int | None:
    """The disclosure a case is an opinion on."""
    rows = conn.execute_fetchall(
        "SELECT disclosure_id FROM disclosure_opinions WHERE case_id = ?", (case_id,))
    return int(rows[0][0]) if rows else None


def opinions(conn: Conn, disclosure_id: int) -> list[Opinion]:
    rows = conn.execute_fetchall(
        "SELECT o.case_id, c.number, c.state, o.adoption, o.reason "
        "FROM disclosure_opinions o JOIN cases c ON c.id = o.case_id "
        "WHERE o.disclosure_id = ? ORDER BY o.case_id", (disclosure_id,))
    return [Opinion(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def mark_opinion(conn: Conn, case_id: int, adoption: str, reason: str, person_id: int,
                 now: datetime) -> bool:
    cur = conn.execute(
        "UPDATE disclosure_opinions SET adoption = ?, reason = ?, marked_by = ?, "
        "marked_at = ? WHERE case_id = ?",
        (adoption, reason, person_id, to_db_time(now), case_id))
    return cur.rowcount == 1


def with_opinions(conn: Conn, unit_ids: Iterable[str]) -> list[tuple[Disclosure, int, int]]:
    """The units' published disclosures that drew opinions: (disclosure, opinions, still
    open), newest first."""
    units = list(unit_ids)
    if not units:
        return []
    rows = conn.execute_fetchall(
        "SELECT d.*, COUNT(*) AS n, "
        "       SUM(CASE WHEN c.state IN ('closed', 'withdrawn', 'answered') "
        "           THEN 0 ELSE 1 END) AS open "
        "FROM disclosures d JOIN disclosure_opinions o ON o.disclosure_id = d.id "
        "JOIN cases c ON c.id = o.case_id "
        f"WHERE d.unit_id IN ({', '.join('?' for _ in units)}) "
        "GROUP BY d.id ORDER BY d.id DESC", tuple(units))
    return [(_disclosure(r), int(r["n"]), int(r["open"] or 0)) for r in rows]


def incomplete(conn: Conn, limit: int = 50) -> list[tuple[Disclosure, list[str]]]:
    """Published disclosures with forms not confirmed yet (and those forms), oldest first."""
    rows = conn.execute_fetchall(
        "SELECT d.*, f.form AS missing FROM disclosures d "
        "JOIN disclosure_forms f ON f.disclosure_id = d.id "
        "WHERE d.number IS NOT NULL AND f.confirmed_at IS NULL AND d.pre = 0 "
        "ORDER BY d.id, f.form LIMIT ?", (limit,))
    found: dict[int, tuple[Disclosure, list[str]]] = {}
    for r in rows:
        found.setdefault(r["id"], (_disclosure(r), []))[1].append(r["missing"])
    return list(found.values())
