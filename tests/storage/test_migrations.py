"""A database of every earlier schema version, with data in it, upgrades to the current one
without losing anything, and the bot then works on it.

Generic over ``MIGRATIONS``: a migration appended later is covered without editing this file.
For each earlier version the database is built with the migrations up to it, given one or
more representative rows in every table that exists at that version (only the columns that
exist then; a table this file does not know gets a row made from its declared columns), and
started as the real bot, which migrates it.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.emulator.core import Emulator
from handlers import clerk, my_cases, reporter
from handlers import filing_flow as filing
from handlers import meetings_flow as meetings
from handlers import official_flow as official
from handlers.conversation import build_dialog
from storage.migrations import FUNCTIONS, MIGRATIONS, V_FLOW_STATES, V_SEAL, migrate
from storage.sql import Conn, connect
from tests.conftest import START, Bench
from tests.handlers.staff import CIVIL_OFFICIAL, staffed

RESIDENT = 4301
AT = "2026-11-20T02:00:00.000000+00:00"
LATER = "2026-11-21T02:00:00.000000+00:00"
DUE = "2026-12-10T02:00:00.000000+00:00"
TEXT = "村里的低保名单已经三个月没有张榜公示了。"
OPEN_TEXT = "村东头的路灯坏了两个月，晚上老人出门很危险。"

#: Rows in an order that satisfies the foreign keys; columns a version lacks are left out.
ROWS: list[tuple[str, dict[str, Any]]] = [
    ("people", {"id": 1, "telegram_id": CIVIL_OFFICIAL, "created_at": AT,
                "display_name": "赵承办", "language": "zh_CN"}),
    ("people", {"id": 2, "telegram_id": RESIDENT, "created_at": AT, "language": "zh_CN",
                "telegram_language": "zh-hans"}),
    ("units", {"id": "county", "name_zh": "易县县委", "name_en": "Yi County Party Committee"}),
    ("units", {"id": "civil_affairs", "name_zh": "县民政局", "name_en": "Civil Affairs",
               "parent_id": "county"}),
    ("categories", {"id": "low_income_support", "name_zh": "低保", "name_en": "Low income",
                    "unit_id": "civil_affairs"}),
    ("memberships", {"id": 1, "person_id": 1, "unit_id": "civil_affairs", "role": "official",
                     "source": "config", "granted_at": AT}),
    ("case_counters", {"kind": "suggestion", "year": 2026, "last_seq": 1}),
    ("case_counters", {"kind": "report", "year": 2026, "last_seq": 1}),
    ("cases", {"id": 1, "number": "S-2026-00001", "kind": "suggestion",
               "category_id": "low_income_support", "unit_id": "civil_affairs",
               "state": "accepted", "anonymous": 1, "delivery_chat_id": RESIDENT,
               "language": "zh_CN", "text": TEXT, "created_at": AT, "updated_at": LATER,
               "accept_due": DUE, "answer_due": DUE, "idempotency_key": "k1",
               "accepted_by": 1, "accepted_at": LATER}),
    ("cases", {"id": 2, "number": "R-2026-00001", "kind": "report",
               "category_id": "low_income_support", "unit_id": "civil_affairs",
               "state": "new", "anonymous": 0, "reporter_person_id": 2,
               "delivery_chat_id": RESIDENT, "reporter_name": "李建国",
               "reporter_phone": "+8613800138000", "language": "zh_CN",
               "text": "村里修路资金的账目一直没有公开。", "created_at": AT, "updated_at": AT,
               "accept_due": DUE, "answer_due": DUE, "idempotency_key": "k2"}),
    ("case_events", {"id": 1, "case_id": 1, "at": AT, "actor_role": "resident",
                     "type": "filed", "state_after": "new",
                     "payload": json.dumps({"unit": "civil_affairs"})}),
    ("case_events", {"id": 2, "case_id": 1, "at": LATER, "actor_person_id": 1,
                     "actor_role": "official", "type": "accepted", "state_before": "new",
                     "state_after": "accepted"}),
    ("case_events", {"id": 3, "case_id": 2, "at": AT, "actor_person_id": 2,
                     "actor_role": "resident", "type": "filed", "state_after": "new",
                     "payload": json.dumps({"unit": "civil_affairs"})}),
    ("attachments", {"id": 1, "case_id": 1, "event_id": 1, "kind": "photo", "file_id": "F1",
                     "file_unique_id": "U1", "added_at": AT}),
    ("conversations", {"name": "filing", "key": f"[{RESIDENT}, {RESIDENT}]", "state": "1"}),
    # An open dialog: the resident was asked for their case's text (state 3 before the
    # states were named), with the draft so far.
    ("conversations", {"name": "dialog", "key": f"[{RESIDENT}]", "state": "3"}),
    ("user_data", {"user_id": RESIDENT, "data": json.dumps({"draft": {
        "key": "k-open", "kind": "suggestion", "category": "low_income_support",
        "unit": "civil_affairs"}})}),
    ("processed_updates", {"update_id": 10, "at": AT}),
    # Before V_LIMITS the code itself, from it on only its hash (whichever column exists).
    ("invites", {"code": "invite1", "code_hash": "0" * 64, "role": "official",
                 "unit_id": "civil_affairs", "created_by": 1, "created_at": AT, "expires_at": DUE}),
    ("answers", {"id": 1, "case_id": 1, "unit_id": "civil_affairs", "author_id": 1,
                 "outcome": "explained", "text": "正在核实。", "status": "pending",
                 "created_at": LATER}),
    ("answer_attachments", {"id": 1, "answer_id": 1, "kind": "document", "file_id": "F2",
                            "file_unique_id": "U2", "file_name": "a.pdf"}),
    ("outbox", {"id": 1, "created_at": AT, "chat_id": RESIDENT, "kind": "message",
                "case_id": 1, "payload": json.dumps({"text": "hi"}), "status": "sent",
                "attempts": 1, "sent_at": AT}),
    ("card_messages", {"case_id": 1, "unit_id": "civil_affairs", "chat_id": CIVIL_OFFICIAL,
                       "message_id": 5}),
    ("alarms", {"id": 1, "subject": "case", "subject_id": 2, "kind": "accept_due",
                "due": DUE, "fire_at": DUE}),
    ("extensions", {"id": 1, "case_id": 1, "deadline": "answer", "requested_by": 1,
                    "reason": "需要现场核实", "old_due": DUE, "new_due": DUE,
                    "status": "pending", "created_at": LATER}),
    ("inbox_updates", {"update_id": 11, "payload": json.dumps({"update_id": 11}),
                       "received_at": AT, "handled_at": AT}),
    ("scheduled_reports", {"period": "2026-10", "created_at": AT}),
    ("meetings", {"id": 1, "schedule_key": "m1", "slot": "2026-11-01",
                  "unit_id": "civil_affairs", "kind": "monthly", "starts_at": AT,
                  "place": "会议室", "organizer": str(CIVIL_OFFICIAL), "created_at": AT}),
    ("meeting_attendance", {"meeting_id": 1, "person_id": 1, "answer": "attend",
                            "answered_at": AT}),
    ("meeting_issues", {"meeting_id": 1, "case_id": 2, "person_id": 1, "created_at": AT}),
]

#: Facts that no upgrade may change (what assessments and handling rest on).
KEPT = {
    # A number keeps its first part; V_LIMITS appends a random check part to it.
    "cases": "SELECT id, substr(number, 1, 12), kind, unit_id, category_id, state FROM cases "
             "ORDER BY id",
    "case_events": "SELECT id, case_id, type, at FROM case_events ORDER BY id",
    "answers": "SELECT id, case_id, unit_id, outcome, status FROM answers ORDER BY id",
    "memberships": "SELECT person_id, unit_id, role FROM memberships ORDER BY id",
    "meetings": "SELECT id, unit_id, kind, starts_at FROM meetings ORDER BY id",
    "extensions": "SELECT id, case_id, status FROM extensions ORDER BY id",
}


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def _columns(conn: Conn) -> dict[str, list[sqlite3.Row]]:
    tables = [r[0] for r in conn.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: list(conn.execute_fetchall(f"PRAGMA table_info({t})")) for t in tables}


def _made_up(columns: list[sqlite3.Row]) -> dict[str, Any]:
    """A row for a table this file does not know: a value for each required column."""
    row: dict[str, Any] = {}
    for column in columns:
        if column["notnull"] and column["dflt_value"] is None and not column["pk"]:
            kind = (column["type"] or "").upper()
            row[column["name"]] = 1 if "INT" in kind else 1.0 if "REAL" in kind else AT
    return row


def _insert(conn: Conn, table: str, row: dict[str, Any]) -> None:
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))


async def _build(path: Path, version: int) -> tuple[dict[str, int], dict[str, Any]]:
    """A database at ``version`` with data; returns rows per table and the kept facts."""
    conn = connect(str(path), functions=FUNCTIONS)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, MIGRATIONS[:version])
        tables = _columns(conn)
        conn.execute("BEGIN")
        for table, row in ROWS:
            if table in tables:
                if (version > MIGRATIONS.index(V_FLOW_STATES) and table == "conversations"
                        and row["name"] == "dialog"):
                    # Since V_FLOW_STATES the dialog's step is stored by its name.
                    row = {**row, "state": json.dumps(NUMBERED_STATES[int(row["state"])])}
                known = {c["name"] for c in tables[table]}
                _insert(conn, table, {k: v for k, v in row.items() if k in known})
        for table in set(tables) - {t for t, _ in ROWS}:
            if not (conn.execute_fetchall(f"SELECT 1 FROM {table} LIMIT 1")):
                try:  # a table of a later migration: a row if its constraints allow one
                    conn.execute("SAVEPOINT made_up")
                    _insert(conn, table, _made_up(tables[table]))
                    conn.execute("RELEASE made_up")
                except sqlite3.DatabaseError:
                    conn.execute("ROLLBACK TO made_up")
                    conn.execute("RELEASE made_up")
        conn.execute("COMMIT")
        counts = {t: (conn.execute_fetchall(f"SELECT count(*) FROM {t}"))[0][0]
                  for t in tables}
        kept = {t: [tuple(r) for r in conn.execute_fetchall(sql)]
                for t, sql in KEPT.items() if t in tables}
    finally:
        conn.close()
    return counts, kept


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS)))
async def test_a_database_of_every_earlier_version_upgrades_with_its_data(
        config: Config, tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    counts, kept = await _build(path, version)
    clock = ManualClock(START)
    emu = Emulator(clock=lambda: clock.now().timestamp())
    bench = Bench(dataclasses.replace(config), path, emu, clock)
    await bench.start()  # migrates to the current version
    try:
        [(now,)] = await bench.rows("PRAGMA user_version")
        assert now == len(MIGRATIONS)
        for table, count in counts.items():
            [(after,)] = await bench.rows(f"SELECT count(*) FROM {table}")
            # Start-up adds (configured units, categories, members), never loses.
            assert after >= count, f"{table}: {count} rows before the upgrade, {after} after"
        for table, rows in kept.items():
            after_rows = await bench.rows(KEPT[table])
            assert [r for r in after_rows if r in rows] == rows, f"{table} changed"
        # The trail's facts (V6) cover the cases filed before.
        assert await bench.rows(
            "SELECT case_id, filed_at FROM case_facts WHERE case_id = 1") == [(1, AT)]
        # The bot works on it: the official opens the old case.
        official = bench.user(CIVIL_OFFICIAL, "赵承办")
        replies = await bench.say(official, "/case S-2026-00001")
        assert TEXT in "".join(m.text or "" for m in replies)
        # The resident's open step comes back under its name and goes on where it was.
        assert await bench.rows("SELECT state FROM conversations WHERE name = 'dialog'") == [
            (json.dumps(filing.TEXT),)]
        resident = bench.user(RESIDENT, "王秀兰")
        replies = await bench.say(resident, OPEN_TEXT)
        assert [data for m in replies for row in m.buttons() for _, data in row] == [
            "new:att:done", "new:cancel"]  # the attachments step, next after the text
        await bench.tap(resident, "new:att:done")
        await bench.tap(resident, "new:id:anonymous")
        number = bench.number_in(await bench.tap(resident, "new:confirm"))
        assert await bench.rows("SELECT text FROM cases WHERE number = ?", number) == [
            (OPEN_TEXT,)]
    finally:
        await bench.stop()
    assert not bench.errors


async def test_the_old_receipt_of_an_anonymous_case_forgets_its_chat_on_the_upgrade(
        tmp_path: Path) -> None:
    """Before the seal, a receipt was a message without a case id, stamped a moment after its
    case (here two seconds): after the upgrade a delivered one keeps neither chat nor text,
    and one still owed forgets them once delivered."""
    conn = connect(str(tmp_path / "old.db"), functions=FUNCTIONS)
    try:
        migrate(conn, MIGRATIONS[:MIGRATIONS.index(V_SEAL)])
        _insert(conn, "cases", {
            "id": 1, "number": "S-2026-00001-K7P", "kind": "suggestion",
            "category_id": "low_income_support", "unit_id": "civil_affairs", "state": "new",
            "anonymous": 1, "delivery_chat_id": RESIDENT, "language": "zh_CN", "text": "低保",
            "created_at": AT, "updated_at": AT, "accept_due": DUE, "answer_due": DUE,
            "idempotency_key": "k1"})
        two_seconds_later = AT.replace("02:00:00", "02:00:02")
        for row_id, status in ((1, "sent"), (2, "pending")):
            _insert(conn, "outbox", {
                "id": row_id, "created_at": two_seconds_later, "chat_id": RESIDENT,
                "kind": "message", "payload": json.dumps({"text": "✅ S-2026-00001"}),
                "status": status})
        migrate(conn)
        rows = conn.execute_fetchall(
            "SELECT id, chat_id, payload, forget FROM outbox ORDER BY id")
    finally:
        conn.close()
    assert [tuple(r) for r in rows] == [
        (1, None, "{}", 1), (2, RESIDENT, json.dumps({"text": "✅ S-2026-00001"}), 1)]


#: Every state the dialog stored as a number before the states were named, and its name now.
NUMBERED_STATES = {
    **dict(enumerate((filing.KIND, filing.CATEGORY, filing.UNIT, filing.TEXT, filing.ATTACH,
                      filing.IDENTITY, filing.NAME, filing.PHONE, filing.CONFIRM,
                      filing.CONCERNS))),
    100: my_cases.FOLLOWUP,
    **dict(enumerate((official.ANSWER_OUTCOME, official.ANSWER_REDIRECT, official.ANSWER_TEXT,
                      official.ANSWER_FILES, official.ANSWER_PREVIEW, official.TRANSFER_UNIT,
                      official.TRANSFER_REASON, official.ASK_TEXT, official.RETURN_COMMENT,
                      official.EXTEND_REASON, official.EXTEND_DATE), start=200)),
    300: reporter.REPLY, 310: reporter.RATE_COMMENT,
    **dict(enumerate((clerk.CHANNEL, clerk.KIND, clerk.CATEGORY, clerk.TEXT, clerk.CONTACT,
                      clerk.CONCERNS, clerk.CONFIRM), start=400)),
    **dict(enumerate((meetings.REASON, meetings.REC_ATTEND, meetings.REC_MINUTES,
                      meetings.ISSUES, meetings.ISSUE_WHO, meetings.ISSUE_CATEGORY,
                      meetings.ISSUE_TEXT, meetings.FIND_CATEGORY, meetings.FIND_TEXT,
                      meetings.FIND_CONFIRM), start=500)),
}


async def test_every_numbered_state_becomes_the_name_of_the_same_step(tmp_path: Path) -> None:
    """Each stored number of an open conversation turns into its step's name (as the flows
    declare it); a number no step had ends that conversation; other conversations and states
    stored as names are left alone."""
    conn = connect(str(tmp_path / "old.db"), functions=FUNCTIONS)
    try:
        migrate(conn, MIGRATIONS[:MIGRATIONS.index(V_FLOW_STATES)])
        for user_id, number in enumerate([*NUMBERED_STATES, 42, -1], start=1):
            _insert(conn, "conversations", {
                "name": "dialog", "key": json.dumps([user_id]), "state": json.dumps(number)})
        _insert(conn, "conversations", {"name": "dialog", "key": "[9001]",
                                        "state": json.dumps(filing.NAME)})
        _insert(conn, "conversations", {"name": "filing", "key": "[9002, 9002]",
                                        "state": "3"})
        migrate(conn)
        rows = {(r[0], json.loads(r[1])[0]): json.loads(r[2]) for r in conn.execute_fetchall(
            "SELECT name, key, state FROM conversations")}
    finally:
        conn.close()
    expected = {("dialog", user_id): name
                for user_id, name in enumerate(NUMBERED_STATES.values(), start=1)}
    expected |= {("dialog", 9001): filing.NAME, ("filing", 9002): 3}
    assert rows == expected
    # Every state there was when states were numbers is covered (the register's flow came
    # after they were named).
    assert set(NUMBERED_STATES.values()) == {
        state for state in build_dialog().states if not str(state).startswith("disclosures.")}
