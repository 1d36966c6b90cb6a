"""The data lifecycle's SQL: redaction of closed cases after the retention period, erasure
of one person's personal data, and what an export of it reads.

A redaction keeps what assessments need (kind, unit, category, channel, states, times,
deadlines, outcomes, ratings, the event trail) and empties what identifies or was written by
a person: the reporter's name and phone, the case's text and location, the answers' texts,
the attachments' file ids and names, the delivery address, the texts of sent outbox rows.
Columns declared ``NOT NULL`` (a named report's name and phone, texts, file ids) become
``''``. Each redaction appends a ``redacted`` event holding no personal data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage import cases
from storage.cases import append_event
from storage.models import to_db_time
from storage.sql import Conn, IntegrityError

#: The ``type`` of the event that records a redaction.
REDACTED = "redacted"
#: States in which a case is over (it is never revived from them).
ENDED_STATES = ("closed", "withdrawn")


# ------------------------------------------------------------------------------ retention

# Ended cases not redacted yet whose ending came before the cutoff. A closed case's ending is
# its ``closed_at`` (a range of the partial index ``cases_unredacted``, which holds only the
# cases not redacted yet); a withdrawn case has none: its ending is the one in its trail.
ENDED_BEFORE = """
SELECT id FROM cases
WHERE redacted_at IS NULL AND state = 'closed' AND closed_at < :cutoff
UNION
SELECT c.id FROM cases c LEFT JOIN case_facts f ON f.case_id = c.id
WHERE c.redacted_at IS NULL AND c.state = 'withdrawn'
  AND coalesce(f.ended_at, c.updated_at) < :cutoff
UNION
SELECT id FROM cases
WHERE redacted_at IS NULL AND state = 'closed' AND closed_at IS NULL AND updated_at < :cutoff
ORDER BY 1 LIMIT :limit
"""


def ended_before(conn: Conn, cutoff: datetime, limit: int) -> list[int]:
    """Ids of ended (closed, withdrawn) cases not redacted yet whose ending came before
    ``cutoff``, at most ``limit``, oldest id first."""
    rows = list(conn.execute_fetchall(
        ENDED_BEFORE, {"cutoff": to_db_time(cutoff), "limit": limit}))
    return [int(row[0]) for row in rows]


def redact_event_texts(conn: Conn, case_id: int, now: datetime) -> int:
    """Redact the personal texts of this case's events (questions, the reporter's replies,
    follow-ups, reasons), kept apart from the append-only events by event id; how many went.
    Runs in the transaction of :func:`redact_case`, before its ``redacted`` event."""
    return cases.redact_event_texts(conn, case_id, now, purpose="retention")


def redact_case(conn: Conn, case_id: int, now: datetime
                      ) -> dict[str, int] | None:
    """Redact one ended case's personal data and record it; what was redacted (counts), or
    None when the case is not ended or was redacted before (nothing changes: idempotent)."""
    cur = conn.execute(
        "UPDATE cases SET reporter_name = CASE WHEN kind = 'report' THEN '' END, "
        "reporter_phone = CASE WHEN kind = 'report' THEN '' END, text = '', latitude = NULL, "
        "longitude = NULL, delivery_chat_id = NULL, delivery_sealed = NULL, "
        "reporter_person_id = NULL, "
        "bind_code = NULL, redacted_at = ? "
        "WHERE id = ? AND redacted_at IS NULL AND state IN ('closed', 'withdrawn')",
        (to_db_time(now), case_id))
    if cur.rowcount != 1:
        return None
    counts = {
        "answers": (conn.execute(
            "UPDATE answers SET text = '', redirect = NULL, comment = NULL WHERE case_id = ?",
            (case_id,))).rowcount,
        "answer_files": (conn.execute(
            "UPDATE answer_attachments SET file_id = '', file_unique_id = '', file_name = NULL "
            "WHERE answer_id IN (SELECT id FROM answers WHERE case_id = ?)",
            (case_id,))).rowcount,
        "files": (conn.execute(
            "UPDATE attachments SET file_id = '', file_unique_id = '', file_name = NULL "
            "WHERE case_id = ?", (case_id,))).rowcount,
        "extensions": (conn.execute(
            "UPDATE extensions SET reason = '' WHERE case_id = ?", (case_id,))).rowcount,
        "messages": _forget_messages(conn, case_id),
        "event_texts": redact_event_texts(conn, case_id, now),
    }
    append_event(conn, case_id, now, None, "system", REDACTED, None, None,
                       {"reason": "retention", **counts})
    return counts


def _forget_messages(conn: Conn, case_id: int) -> int:
    """Sent and failed outbox rows of a case lose their text and chat (rows still owed are
    left to the sender)."""
    cur = conn.execute(
        "UPDATE outbox SET payload = '{}', chat_id = NULL, error = NULL "
        "WHERE case_id = ? AND status IN ('sent', 'failed')", (case_id,))
    return cur.rowcount


# -------------------------------------------------------------------------------- erasure

def person_id_of(conn: Conn, telegram_id: int) -> int | None:
    """The internal id of the person with this Telegram id, if known."""
    rows = list(conn.execute_fetchall(
        "SELECT id FROM people WHERE telegram_id = ?", (telegram_id,)))
    return int(rows[0][0]) if rows else None


def named_cases_of(conn: Conn, person_id: int) -> list[int]:
    """The cases that name this person as their reporter."""
    rows = list(conn.execute_fetchall(
        "SELECT id FROM cases WHERE reporter_person_id = ? ORDER BY id", (person_id,)))
    return [int(row[0]) for row in rows]


def cases_delivered_to(conn: Conn, telegram_id: int) -> list[int]:
    """The cases whose replies go to this person's private chat in plain (a private chat's id
    is the user's id): only a database an older Sunbox wrote and no key has opened yet has
    any; sealed addresses are found through the person's sealed list
    (``bot.services.sealed.erase``)."""
    rows = list(conn.execute_fetchall(
        "SELECT id FROM cases WHERE delivery_chat_id = ? ORDER BY id", (telegram_id,)))
    return [int(row[0]) for row in rows]


def clear_delivery(conn: Conn, case_ids: list[int]) -> None:
    """Forget where these cases' replies go. Nothing else changes on them (no event and no
    new time: either would tell which anonymous cases were one person's)."""
    conn.executemany("UPDATE cases SET delivery_chat_id = NULL WHERE id = ?",
                           [(case_id,) for case_id in case_ids])


def erase_reporter(conn: Conn, case_id: int, now: datetime) -> None:
    """A named case forgets its reporter (name, phone, person, delivery address, the texts of
    its sent messages, which carried them), what they wrote (the case's text, as retention
    empties it) and where they were (the location), and records that it did. The case and
    its facts stay for the assessment, which needs none of these."""
    rows = list(conn.execute_fetchall(
        "SELECT text != '' AS case_text, "
        "latitude IS NOT NULL OR longitude IS NOT NULL AS location FROM cases WHERE id = ?",
        (case_id,)))
    # (not "text": that key of a payload is taken for the redactable texts)
    held = {key: bool(rows[0][key]) for key in ("case_text", "location")} if rows else {}
    conn.execute(
        "UPDATE cases SET reporter_name = CASE WHEN kind = 'report' THEN '' END, "
        "reporter_phone = CASE WHEN kind = 'report' THEN '' END, reporter_person_id = NULL, "
        "delivery_chat_id = NULL, delivery_sealed = NULL, bind_code = NULL, text = '', "
        "latitude = NULL, longitude = NULL WHERE id = ?",
        (case_id,))
    _forget_messages(conn, case_id)
    # Messages still owed about the case (a card queued before the bot stopped) carry the
    # name, phone and text just erased: they are not sent any more.
    conn.execute(
        "DELETE FROM outbox WHERE case_id = ? AND status IN ('pending', 'sending')", (case_id,))
    # What the reporter wrote into the trail (replies, follow-ups, comments) goes too.
    cases.redact_event_texts(conn, case_id, now, purpose="erasure",
                             actor_roles=["reporter"])
    # Recorded: whether a text and a location were removed (never what they were).
    append_event(conn, case_id, now, None, "system", REDACTED, None, None,
                       {"reason": "erase", "scope": "reporter", **held})


def delete_drafts(conn: Conn, telegram_id: int) -> int:
    """Delete the person's draft data and every conversation state keyed by them (a key is
    the JSON list of chat and user id)."""
    users = conn.execute("DELETE FROM user_data WHERE user_id = ?", (telegram_id,))
    states = conn.execute(f"DELETE FROM conversations WHERE {_keyed_by(conn)}", (telegram_id,))
    return users.rowcount + states.rowcount


def _keyed_by(conn: Conn) -> str:
    """A condition on ``conversations.key`` (a JSON list of ids): one of them is ``?``."""
    if conn.dialect.postgres:
        return ("jsonb_path_exists(sunbox_jsonb(key), 'lax $[*] ? (@ == $v)', "
                "jsonb_build_object('v', ?::bigint))")
    return ("json_valid(key) AND EXISTS "
            "(SELECT 1 FROM json_each(conversations.key) WHERE value = ?)")


def stamp_drafts(conn: Conn, user_ids: list[int], stamp: str) -> int:
    """Stamp the stored drafts of these people that have no stamp yet (saved before drafts
    were stamped) with ``stamp`` (a day, as ``handlers.drafts`` writes it), so they expire
    counted from it and not from each start; nothing else of their data changes. Returns
    how many were stamped."""
    stamped = 0
    if conn.dialect.postgres:
        sql = ("UPDATE user_data SET data = jsonb_set(data::jsonb, '{draft,touched}', "
               "to_jsonb(?::text))::text WHERE user_id = ? "
               "AND jsonb_typeof(sunbox_jsonb(data) -> 'draft') = 'object' "
               "AND sunbox_jsonb(data) -> 'draft' -> 'touched' IS NULL")
    else:
        sql = ("UPDATE user_data SET data = json_set(data, '$.draft.touched', ?) "
               "WHERE user_id = ? AND json_valid(data) AND json_type(data, '$.draft') = "
               "'object' AND json_type(data, '$.draft.touched') IS NULL")
    for user_id in user_ids:
        cur = conn.execute(sql, (stamp, user_id))
        stamped += cur.rowcount
    return stamped


def delete_messages_to(conn: Conn, chat_id: int) -> int:
    """Delete every outbox row addressed to this chat, owed or done, and where cards sit in
    it (so no card is edited there again); returns the outbox rows deleted."""
    conn.execute("DELETE FROM card_messages WHERE chat_id = ?", (chat_id,))
    cur = conn.execute("DELETE FROM outbox WHERE chat_id = ?", (chat_id,))
    return cur.rowcount


def delete_handled_updates_from(conn: Conn, telegram_id: int) -> int:
    """Delete the stored updates already handled that carry this person's id anywhere (as
    sender, chat or shared contact)."""
    if conn.dialect.postgres:
        carries = ("jsonb_path_exists(sunbox_jsonb(payload), "
                   "'lax $.** ? (@.id == $v || @.user_id == $v)', "
                   "jsonb_build_object('v', ?::bigint))")
    else:
        carries = ("json_valid(payload) AND EXISTS (SELECT 1 FROM json_tree("
                   "inbox_updates.payload) WHERE key IN ('id', 'user_id') AND value = ?)")
    cur = conn.execute(
        f"DELETE FROM inbox_updates WHERE handled_at IS NOT NULL AND {carries}", (telegram_id,))
    return cur.rowcount


def erase_person_row(conn: Conn, person_id: int, now: datetime) -> str:
    """Remove the person: ``deleted`` when nothing refers to the row, else ``anonymised``
    (their Telegram id replaced by minus the row's id, which no Telegram user has; name,
    languages and blocked mark emptied; roles revoked)."""
    conn.execute(
        "UPDATE memberships SET revoked_at = ? WHERE person_id = ? AND revoked_at IS NULL",
        (to_db_time(now), person_id))
    try:
        with conn.attempt():
            conn.execute("DELETE FROM people WHERE id = ?", (person_id,))
        return "deleted"
    except IntegrityError:  # referred to (events, roles, answers): keep it, empty
        pass
    conn.execute(
        "UPDATE people SET telegram_id = -id, language = NULL, display_name = NULL, "
        "telegram_language = NULL, blocked_at = NULL WHERE id = ?", (person_id,))
    return "anonymised"


# --------------------------------------------------------------------------------- export

def _row(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}


def person_row(conn: Conn, telegram_id: int) -> dict[str, Any] | None:
    rows = list(conn.execute_fetchall(
        "SELECT id, telegram_id, language, telegram_language, display_name, created_at, "
        "blocked_at FROM people WHERE telegram_id = ?", (telegram_id,)))
    return _row(rows[0]) if rows else None


def roles_of(conn: Conn, person_id: int) -> list[dict[str, Any]]:
    rows = list(conn.execute_fetchall(
        "SELECT unit_id AS unit, role, source, granted_at, revoked_at FROM memberships "
        "WHERE person_id = ? ORDER BY id", (person_id,)))
    return [_row(row) for row in rows]


def named_case_rows(conn: Conn, person_id: int) -> list[dict[str, Any]]:
    """The person's named cases as stored (internal links to other people left out)."""
    rows = list(conn.execute_fetchall(
        "SELECT id, number, kind, category_id AS category, unit_id AS unit, channel, state, "
        "reporter_name, reporter_phone, language, text, latitude, longitude, created_at, "
        "updated_at, accept_due, answer_due, accepted_at, answered_at, closed_at, redacted_at "
        "FROM cases WHERE reporter_person_id = ? ORDER BY id", (person_id,)))
    return [_row(row) for row in rows]


def events_of(conn: Conn, case_id: int, person_id: int
                    ) -> list[dict[str, Any]]:
    """A case's trail: who acted is given as a role (and ``you`` for the person), never as
    another person's id. What the person wrote into it (follow-ups, replies, comments,
    reasons: kept apart in ``case_event_texts``) is in their own events' payloads; what
    others wrote is not (``texts_redacted`` tells when the person's own is gone)."""
    rows = list(conn.execute_fetchall(
        "SELECT e.at, e.type, e.actor_role, e.actor_person_id = ? AS you, e.state_before, "
        "e.state_after, e.payload, "
        "CASE WHEN e.actor_person_id = ? THEN t.texts END AS texts, "
        "CASE WHEN e.actor_person_id = ? THEN t.redacted_at IS NOT NULL END AS texts_redacted "
        "FROM case_events e LEFT JOIN case_event_texts t ON t.event_id = e.id "
        "WHERE e.case_id = ? ORDER BY e.id", (person_id, person_id, person_id, case_id)))
    events = []
    for row in rows:
        event = _row(row)
        event["you"] = bool(event["you"])
        texts, redacted = event.pop("texts"), event.pop("texts_redacted")
        try:
            event["payload"] = json.loads(event["payload"])
        except (TypeError, ValueError):
            pass
        if texts and isinstance(event["payload"], dict):
            event["payload"].update(json.loads(texts))
        if redacted:
            event["texts_redacted"] = True
        events.append(event)
    return events


def answers_of(conn: Conn, case_id: int) -> list[dict[str, Any]]:
    rows = list(conn.execute_fetchall(
        "SELECT unit_id AS unit, outcome, text, redirect, status, created_at, rating, rated_at "
        "FROM answers WHERE case_id = ? AND status = 'sent' ORDER BY id", (case_id,)))
    return [_row(row) for row in rows]


def files_of(conn: Conn, case_id: int) -> list[dict[str, Any]]:
    rows = list(conn.execute_fetchall(
        "SELECT kind, file_name, mime_type, added_at FROM attachments WHERE case_id = ? "
        "ORDER BY id", (case_id,)))
    return [_row(row) for row in rows]


def drafts_of(conn: Conn, telegram_id: int) -> dict[str, Any]:
    """The person's stored draft data and conversation states."""
    data = list(conn.execute_fetchall(
        "SELECT data FROM user_data WHERE user_id = ?", (telegram_id,)))
    states = conn.execute_fetchall(
        f"SELECT name, key, state FROM conversations WHERE {_keyed_by(conn)} "
        "ORDER BY name, key", (telegram_id,))
    return {
        "user_data": json.loads(data[0][0]) if data else {},
        "conversations": [{"name": row[0], "key": json.loads(row[1]),
                           "state": json.loads(row[2])} for row in states],
    }
