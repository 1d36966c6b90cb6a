"""The outbox: messages owed to people, written with the change that owes them.

A row that must not outlive its delivery (``forget``: every row of an anonymous case, and a
receipt marked so) drops its chat and its text once sent or given up: it then links no case
to any chat, and, without a chat, no round of the sender can take it again.

Two lanes. A row is interactive (a receipt, a case card, a reply: someone waits for it) or
``bulk``: one of a broadcast owed to many people at once (``enqueue_many``, a party item
sent privately to every party member of a unit), which the sender takes only in its own
lane, at a lower priority and a capped rate (``bot.telegram.outbox_bulk``). A chat reads its
interactive rows in the order they were owed and its broadcast rows likewise; an interactive
row never waits for a broadcast row of its chat (it would wait for the whole broadcast),
while a broadcast row waits for every earlier row of its chat.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.leases import MEMBER, stamp
from storage.models import to_db_time
from storage.sql import Conn, Row


@dataclass(frozen=True)
class OutboxItem:
    id: int
    chat_id: int
    kind: str  # message | card | edit_card
    case_id: int | None
    payload: dict[str, Any]
    attempts: int
    resent: bool = False
    bulk: bool = False  # a broadcast's row (``enqueue_many``), in the sender's slow lane


def _item(r: Row) -> OutboxItem:
    return OutboxItem(r["id"], r["chat_id"], r["kind"], r["case_id"], json.loads(r["payload"]),
                      r["attempts"], bool(r["resent"]), bool(r["bulk"]))


def enqueue(
    conn: Conn, now: datetime, chat_id: int, kind: str,
    payload: dict[str, Any], case_id: int | None = None, *, forget: bool = False,
    bulk: bool = False,
) -> int:
    """Owe ``chat_id`` a message (inside the caller's transaction); its row's id.

    The row forgets its chat and text once delivered or given up if ``forget`` (or the
    payload's ``forget`` key, as ``notify.send`` marks receipts) or if ``case_id`` is an
    anonymous case's. A ``bulk`` row goes in the broadcast lane (see the module).
    """
    payload, forget = _forgetting(payload, forget)
    return conn.insert(
        "INSERT INTO outbox (created_at, chat_id, kind, case_id, payload, forget, bulk) "
        "VALUES (?, ?, ?, ?, ?, CASE WHEN ? = 1 OR coalesce((SELECT anonymous FROM cases "
        "WHERE id = ?), 0) = 1 THEN 1 ELSE 0 END, ?)",
        (to_db_time(now), chat_id, kind, case_id, json.dumps(payload, ensure_ascii=False),
         int(forget), case_id, int(bulk)),
    )


#: A broadcast of at least this many rows refreshes PostgreSQL's statistics of the outbox.
ANALYZE_AFTER = 1000


def enqueue_many(
    conn: Conn, now: datetime, chat_ids: Iterable[int], kind: str,
    payload: dict[str, Any], *, forget: bool = False, bulk: bool = True,
) -> int:
    """Owe every chat of ``chat_ids`` the same message, once each (a chat named twice gets
    it once), in one statement run for all of them (inside the caller's transaction): a
    broadcast, in the broadcast lane unless ``bulk`` is False. Returns how many rows were
    owed. No case: a broadcast's rows link no case (``forget`` as for :func:`enqueue`)."""
    payload, forget = _forgetting(payload, forget)
    created, text = to_db_time(now), json.dumps(payload, ensure_ascii=False)
    rows = [(created, chat_id, kind, text, int(forget), int(bulk))
            for chat_id in dict.fromkeys(chat_ids)]
    if rows:
        conn.executemany(
            "INSERT INTO outbox (created_at, chat_id, kind, payload, forget, bulk) "
            "VALUES (?, ?, ?, ?, ?, ?)", rows)
        if conn.dialect.postgres and len(rows) >= ANALYZE_AFTER:
            # Thousands of rows at once leave PostgreSQL's statistics stale: its planner
            # would read the lanes by the old ones (20-25 ms a batch instead of 0.5).
            conn.execute("ANALYZE outbox")
    return len(rows)


def _forgetting(payload: dict[str, Any], forget: bool) -> tuple[dict[str, Any], bool]:
    """The payload without its ``forget`` key, and whether the row must forget."""
    if "forget" in payload:
        payload = dict(payload)
        forget = bool(payload.pop("forget")) or forget
    return payload, forget


def pending(
    conn: Conn, now: datetime, limit: int = 100
) -> list[OutboxItem]:
    """The oldest undelivered interactive messages that may go now, in the order they were
    owed; never a broadcast's (:func:`pending_bulk`).

    A chat whose earlier message waits (a retry later) holds back its later ones, so each
    person still reads their messages in order; its broadcast rows hold back nothing here.
    """
    rows = conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM outbox o "
        "WHERE status = 'pending' AND bulk = 0 AND chat_id IS NOT NULL "
        "AND (not_before IS NULL OR not_before <= ?) "
        "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id "
        "AND e.id < o.id AND e.status IN ('pending', 'sending') AND e.bulk = 0) "
        "ORDER BY id LIMIT ?", (to_db_time(now), limit))
    return [_item(r) for r in rows]


def pending_bulk(
    conn: Conn, now: datetime, limit: int
) -> list[OutboxItem]:
    """The oldest undelivered broadcast rows that may go now, at most ``limit``, one per
    chat: each waits for every earlier row of its chat, interactive or not (the sender
    takes them in small batches, in a lane behind the interactive rows:
    ``bot.telegram.outbox_bulk``)."""
    rows = conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM outbox o "
        "WHERE status = 'pending' AND bulk = 1 AND chat_id IS NOT NULL "
        "AND (not_before IS NULL OR not_before <= ?) "
        "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id "
        "AND e.id < o.id AND e.status IN ('pending', 'sending')) "
        "ORDER BY id LIMIT ?", (to_db_time(now), limit))
    return [_item(r) for r in rows]


_COLUMNS = "o.id, o.chat_id, o.kind, o.case_id, o.payload, o.attempts, o.resent, o.bulk"


def due_for_chat(
    conn: Conn, chat_id: int, now: datetime
) -> list[OutboxItem]:
    """One chat's undelivered interactive messages that may go now, in order, up to the
    first that is being sent or must wait for a retry (the later ones stay behind it). Its
    broadcast rows are left to the broadcast lane."""
    rows = conn.execute_fetchall(
        f"SELECT {_DUE_COLUMNS} FROM outbox o "
        "WHERE chat_id = ? AND status IN ('pending', 'sending') AND bulk = 0 ORDER BY id",
        (chat_id,))
    return _due(rows, now)


def owed_now(
    conn: Conn, chat_id: int | None, now: datetime
) -> tuple[list[OutboxItem], int]:
    """``due_for_chat`` (none when ``chat_id`` is None) and the id of the last message owed
    to anyone, broadcasts included (rows are never deleted; 0 if none), in one statement:
    the two reads at the end of every update."""
    rows = list(conn.execute_fetchall(
        f"SELECT n.newest, {_DUE_COLUMNS} FROM (SELECT max(id) AS newest FROM outbox) n "
        "LEFT JOIN outbox o ON o.chat_id = ? AND o.status IN ('pending', 'sending') "
        "AND o.bulk = 0 ORDER BY o.id", (chat_id,)))
    newest = int(rows[0]["newest"] or 0)
    return _due([r for r in rows if r["id"] is not None], now), newest


_DUE_COLUMNS = f"{_COLUMNS}, o.status, o.not_before"


def _due(rows: Iterable[Row], now: datetime) -> list[OutboxItem]:
    due: list[OutboxItem] = []
    moment = to_db_time(now)
    for r in rows:
        if r["status"] != "pending" or (r["not_before"] is not None and r["not_before"] > moment):
            break
        due.append(_item(r))
    return due


def claim_for_chat(
    conn: Conn, chat_id: int, now: datetime, holder: str | None = None
) -> list[OutboxItem]:
    """One chat's messages that may go now, marked ``sending`` (by ``holder``) inside the
    transaction that owed them: the caller sends them as soon as it has committed
    (``send_claimed``), and no round of the sender can take them meanwhile and send them
    paced."""
    items = due_for_chat(conn, chat_id, now)
    for item in items:
        mark_sending(conn, item.id, holder)
    return items


def release(conn: Conn, item_ids: list[int]) -> None:
    """Claimed rows that were not sent after all go back to the queue, as if never claimed."""
    conn.executemany(
        "UPDATE outbox SET status = 'pending', attempts = attempts - 1 "
        "WHERE id = ? AND status = 'sending'", [(item_id,) for item_id in item_ids])


def mark_sending(conn: Conn, item_id: int, holder: str | None = None) -> bool:
    """Handed to Telegram from now on, by the instance ``holder`` (its lease holder name);
    False if another round has it already."""
    cur = conn.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_by = ? "
        "WHERE id = ? AND status = 'pending' AND chat_id IS NOT NULL", (holder, item_id),
    )
    return cur.rowcount == 1


def recover(conn: Conn) -> tuple[int, int]:
    """After a crash: messages handed to Telegram without a recorded answer go once more
    (if they had not already been retried that way), otherwise they are recorded as failed.
    Returns (to resend, given up)."""
    cur = conn.execute(
        f"UPDATE outbox SET status = 'failed', error = 'no answer after a crash, twice', "
        f"{_FORGET} WHERE status = 'sending' AND resent = 1")
    given_up = cur.rowcount
    cur = conn.execute(
        "UPDATE outbox SET status = 'pending', resent = 1 WHERE status = 'sending'")
    return cur.rowcount, given_up


def recover_orphans(conn: Conn, now: datetime) -> tuple[int, int]:
    """:func:`recover`, for the rows of instances that are gone only: those marked
    ``sending`` by an instance without a live membership lease (``storage.leases``), or by
    no instance named. A live instance's rows are its own to finish."""
    orphan = ("status = 'sending' AND (claimed_by IS NULL OR claimed_by NOT IN "
              f"(SELECT substr(name, {len(MEMBER) + 1}) FROM leases "
              "WHERE name LIKE 'member:%' AND until >= ?))")
    at = stamp(now)
    cur = conn.execute(
        f"UPDATE outbox SET status = 'failed', error = 'no answer after a crash, twice', "
        f"{_FORGET} WHERE {orphan} AND resent = 1", (at,))
    given_up = cur.rowcount
    cur = conn.execute(f"UPDATE outbox SET status = 'pending', resent = 1 WHERE {orphan}", (at,))
    return cur.rowcount, given_up


def retry_later(
    conn: Conn, item_id: int, error: str, not_before: datetime, *,
    resent: bool = False,
) -> None:
    """Back to pending, not before ``not_before``."""
    conn.execute(
        "UPDATE outbox SET status = 'pending', error = ?, not_before = ?, "
        "resent = CASE WHEN ? = 1 THEN 1 ELSE resent END WHERE id = ?",
        (error[:200], to_db_time(not_before), int(resent), item_id),
    )


# What a row that must forget keeps of its delivery: neither the chat nor the text.
_FORGET = ("chat_id = CASE WHEN forget = 1 THEN NULL ELSE chat_id END, "
           "payload = CASE WHEN forget = 1 THEN '{}' ELSE payload END")


def mark_sent(conn: Conn, item_id: int, now: datetime) -> None:
    """Delivered; a row that must forget drops its chat and text now."""
    conn.execute(
        f"UPDATE outbox SET status = 'sent', sent_at = ?, error = NULL, {_FORGET} "
        "WHERE id = ?", (to_db_time(now), item_id),
    )


def mark_failed(conn: Conn, item_id: int, error: str) -> None:
    """Given up; a row that must forget drops its chat and text now."""
    conn.execute(
        f"UPDATE outbox SET status = 'failed', error = ?, {_FORGET} WHERE id = ?",
        (error[:200], item_id),
    )


def record_card(
    conn: Conn, case_id: int, unit_id: str, chat_id: int, message_id: int
) -> None:
    """Remember where a copy of a case's card (sent to a unit) was delivered."""
    conn.execute(
        "INSERT INTO card_messages (case_id, unit_id, chat_id, message_id) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (case_id, unit_id, chat_id, message_id),
    )


def card_chats(conn: Conn, case_id: int, unit_id: str) -> list[int]:
    """Chats holding a copy of a case's card sent to a unit (delivered or still owed)."""
    with conn.execute(
        "SELECT chat_id FROM card_messages WHERE case_id = ? AND unit_id = ? UNION "
        "SELECT chat_id FROM outbox WHERE case_id = ? AND kind = 'card' AND status = 'pending' "
        "AND json_extract(payload, '$.unit_id') = ?",
        (case_id, unit_id, case_id, unit_id),
    ) as cur:
        return [row[0] for row in cur.fetchall()]


def card_messages(
    conn: Conn, case_id: int, unit_id: str, chat_id: int
) -> list[int]:
    """Message ids of a case's card (as sent to a unit) in one chat."""
    with conn.execute(
        "SELECT message_id FROM card_messages WHERE case_id = ? AND unit_id = ? AND chat_id = ? "
        "ORDER BY message_id", (case_id, unit_id, chat_id),
    ) as cur:
        return [row[0] for row in cur.fetchall()]


def cards_in_chat(conn: Conn, chat_id: int) -> list[tuple[int, str]]:
    """(case id, unit id) of every case card a chat holds (delivered or still owed)."""
    with conn.execute(
        "SELECT case_id, unit_id FROM card_messages WHERE chat_id = ? UNION "
        "SELECT case_id, json_extract(payload, '$.unit_id') FROM outbox WHERE chat_id = ? "
        "AND kind = 'card' AND status = 'pending' AND case_id IS NOT NULL ORDER BY 1, 2",
        (chat_id, chat_id),
    ) as cur:
        return [(row[0], row[1]) for row in cur.fetchall()]


def drop_card(
    conn: Conn, case_id: int, unit_id: str, chat_id: int
) -> list[int]:
    """A chat loses its copy of a case's card (sent to a unit): a copy still owed is never
    sent, and the delivered ones are forgotten, so no later edit reaches them. Returns the
    message ids that were delivered (for one last edit)."""
    message_ids = card_messages(conn, case_id, unit_id, chat_id)
    conn.execute(
        "DELETE FROM card_messages WHERE case_id = ? AND unit_id = ? AND chat_id = ?",
        (case_id, unit_id, chat_id))
    conn.execute(
        "UPDATE outbox SET status = 'failed', error = 'card withdrawn', payload = '{}' "
        "WHERE chat_id = ? AND case_id = ? AND kind = 'card' AND status = 'pending' "
        "AND json_extract(payload, '$.unit_id') = ?", (chat_id, case_id, unit_id))
    return message_ids


def counts(conn: Conn) -> dict[str, int]:
    """How many outbox rows are in each status."""
    with conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status") as cur:
        return {row[0]: row[1] for row in cur.fetchall()}


def move_chat(conn: Conn, old_chat_id: int, new_chat_id: int) -> int:
    """Messages still owed to a group that became a supergroup go to its new id."""
    cur = conn.execute(
        "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND status IN ('pending', 'sending')",
        (new_chat_id, old_chat_id))
    return cur.rowcount
