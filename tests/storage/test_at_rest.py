"""Confidentiality at rest: what the database keeps after the work is done.

Handled updates keep their ids only; the database zeroes what it deletes and empties its
log on a timer and at shutdown; its files are the owner's alone; what people wrote into a
case's trail sits apart from the append-only events, where it can be redacted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MethodType

import pytest

from bot.config import ConfigError, default_config_path, load_config
from bot.durations import Duration
from bot.telegram.poller import DurablePoller
from handlers.jobs import CHECKPOINT
from storage import cases as case_repo
from storage.db import Database
from storage.migrations import FUNCTIONS, MIGRATIONS, migrate
from storage.models import to_db_time
from storage.sql import Conn, connect
from tests.conftest import Bench, execute_script
from tests.handlers.flows import file_report, file_suggestion

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# Telegram-like ids (nine digits and more) and names found nowhere else.
RESIDENT, REPORTER = 731942856, 5820193746
NAME, USERNAME = "Qzwxlyra", "qzwx_lyra_77"
SECRET = "东关村的账本放在会计家里没有公开"


def _files(db_path: Path) -> Iterator[Path]:
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            yield path


async def _deliver_durably(bench: Bench) -> None:
    """What ``sunbox run`` does with updates: the durable poller stores each, hands it to
    the Application and marks it handled; returns once every pending update is handled."""
    assert bench.app is not None
    ids = [u["update_id"] for u in bench.emu.pending_updates()]
    if not ids:
        return
    poller = DurablePoller(bench.app, timeout=1)
    polling = asyncio.create_task(poller.run())
    marks = ", ".join("?" for _ in ids)
    try:
        for _ in range(1000):
            [(handled,)] = await bench.rows(
                f"SELECT COUNT(*) FROM inbox_updates WHERE update_id IN ({marks}) "
                "AND handled_at IS NOT NULL", *ids)
            if handled == len(ids):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the poller did not handle every update")
    finally:
        poller.stop()
        await polling
    await bench.app.bot_data.sender.drain()


async def test_a_handled_update_leaves_nothing_of_the_person_who_sent_it(
        bench: Bench) -> None:
    bench.deliver = MethodType(_deliver_durably, bench)  # type: ignore[method-assign]
    resident = bench.emu.user(RESIDENT, NAME, username=USERNAME)
    reporter = bench.emu.user(REPORTER, "Vorlandt", username="vorlandt_k")
    number = await file_suggestion(bench, resident, "anonymous", text=SECRET)
    await file_report(bench, reporter, "柯伟业")
    assert any(number in text for text in bench.texts(resident))  # the receipt (then the photo)
    rows = await bench.rows("SELECT update_id, payload, handled_at FROM inbox_updates")
    assert len(rows) > 10 and all(payload == "" and handled for _, payload, handled in rows)
    # Each was recorded handled with its effects (the gate's finish), its payload gone there.
    [(processed,)] = await bench.rows(
        "SELECT COUNT(*) FROM inbox_updates i JOIN processed_updates p USING (update_id)")
    assert processed == len(rows)
    # After a clean stop (the log emptied into the file), no byte of the files holds the
    # names, the usernames or the anonymous reporter's id as text.
    await bench.stop()
    blob = b"".join(path.read_bytes() for path in _files(bench.db_path))
    for needle in (NAME, USERNAME, "Vorlandt", "vorlandt_k", str(RESIDENT)):
        assert needle.encode() not in blob, needle


async def test_database_files_are_the_owners_alone_and_deletions_are_zeroed(
        tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = await Database.open(tmp_path / "sunbox.db")
    finally:
        os.umask(old)
    try:
        def work3(conn: Conn) -> None:
            conn.execute("CREATE TABLE t (x TEXT)")
            conn.execute("INSERT INTO t VALUES (?)", (SECRET * 20,))
        await db.write(work3)
        modes = {path.name: path.stat().st_mode & 0o777 for path in _files(Path(db.path))}
        assert modes == {"sunbox.db": 0o600, "sunbox.db-wal": 0o600, "sunbox.db-shm": 0o600}

        def work2(conn: Conn) -> None:
            with conn.execute("PRAGMA secure_delete") as cur:
                assert (cur.fetchone())[0] == 1
        await db.read(work2)

        def work(conn: Conn) -> None:
            conn.execute("DELETE FROM t")
        await db.write(work)
        assert Path(f"{db.path}-wal").stat().st_size > 0
        assert await db.checkpoint()
        # TRUNCATE: the log is cut to nothing (PASSIVE would leave its old frames).
        assert Path(f"{db.path}-wal").stat().st_size == 0
        assert SECRET.encode() not in Path(db.path).read_bytes()
        assert not db.written_since_checkpoint
    finally:
        await db.close()


@pytest.mark.sqlite_only  # SQLite's write-ahead log
async def test_the_log_is_emptied_on_the_configured_timer(bench: Bench, tmp_path: Path
                                                           ) -> None:
    assert bench.app is not None and bench.app.job_queue is not None
    [job] = bench.app.job_queue.get_jobs_by_name(CHECKPOINT)
    assert job.trigger.interval == timedelta(seconds=60)  # [storage] checkpoint_every
    resident = bench.user(4101, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    wal = Path(f"{bench.db_path}-wal")
    assert wal.stat().st_size > 0
    await bench.run_job(CHECKPOINT)
    assert wal.stat().st_size == 0
    checkpoints = bench.runtime.db.checkpoints
    await bench.run_job(CHECKPOINT)  # nothing written since: nothing to do
    assert bench.runtime.db.checkpoints == checkpoints


def test_storage_and_draft_keys_are_checked(tmp_path: Path) -> None:
    base = default_config_path().read_text(encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text(base.replace('checkpoint_every = "60s"', 'checkpoint_every = "5m"')
                    .replace('draft_ttl = "7d"', 'draft_ttl = "12h"'), encoding="utf-8")
    loaded = load_config(good)
    assert loaded.storage.checkpoint_every == Duration(5, "m")
    assert loaded.limits.draft_ttl == Duration(12, "h")
    bad = tmp_path / "bad.toml"
    bad.write_text(base.replace('checkpoint_every = "60s"', 'checkpoint_every = "2d"')
                   .replace('draft_ttl = "7d"', 'draft_ttl = "5wd"'), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(bad)
    keys = {problem.key for problem in raised.value.problems}
    assert keys == {"storage.checkpoint_every", "limits.draft_ttl"}


# ----------------------------------------------------------------- texts in the case trail

async def _case_with_texts(db: Database) -> tuple[int, int]:
    """A case with a question and a reply; returns the case id and the reply's event id."""
    def work(conn: Conn):
        conn.execute("INSERT INTO units (id, name_zh, name_en) VALUES ('u', '单', 'U')")
        conn.execute("INSERT INTO categories (id, name_zh, name_en, unit_id) "
                     "VALUES ('c', '类', 'C', 'u')")
        cur = conn.execute(
            "INSERT INTO cases (number, kind, category_id, unit_id, state, anonymous, language, "
            "text, created_at, updated_at, accept_due, answer_due, idempotency_key) VALUES "
            "('S-2026-00001', 'suggestion', 'c', 'u', 'accepted', 1, 'zh_CN', '路灯', ?, ?, ?, "
            "?, 'k')", (to_db_time(NOW),) * 4)
        case_id = cur.lastrowid
        assert case_id is not None
        case_repo.append_event(conn, case_id, NOW, None, "official", "question",
                               "accepted", "info_requested", {"text": "哪个村？"})
        reply = case_repo.append_event(
            conn, case_id, NOW, None, "reporter", "reply", "info_requested", "accepted",
            {"text": SECRET, "attachments": 0, "paused_seconds": 60})
        case_repo.append_event(conn, case_id, NOW, None, "official", "transferred",
                               "accepted", "new", {"from": "u", "to": "u",
                                                   "reason": "不归我们管"})
        case_repo.append_event(conn, case_id, NOW, None, "none", "refused", None, None,
                                     {"action": "accept", "reason": "not_allowed"})
        return case_id, reply
    case_id, reply = await db.write(work)
    return case_id, reply


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "t.db")
    yield database  # type: ignore[misc]
    await database.close()


async def test_what_people_wrote_is_kept_apart_from_the_events(db: Database) -> None:
    case_id, reply = await _case_with_texts(db)

    def work(conn: Conn):
        with conn.execute("SELECT type, payload FROM case_events ORDER BY id") as cur:
            stored = {row[0]: json.loads(row[1]) for row in cur.fetchall()}
        with conn.execute("SELECT texts FROM case_event_texts WHERE event_id = ?",
                                (reply,)) as cur:
            (texts,) = cur.fetchone()
        events = case_repo.events_of(conn, case_id)
        return events, stored, texts
    events, stored, texts = await db.read(work)
    assert stored == {"question": {}, "reply": {"attachments": 0, "paused_seconds": 60},
                      "transferred": {"from": "u", "to": "u"},
                      "refused": {"action": "accept", "reason": "not_allowed"}}
    assert json.loads(texts) == {"text": SECRET}
    # Readers see the whole payload again.
    assert [e.payload.get("text") or e.payload.get("reason") for e in events] == [
        "哪个村？", SECRET, "不归我们管", "not_allowed"]


async def test_redaction_empties_the_texts_and_is_an_event_of_its_own(db: Database) -> None:
    case_id, reply = await _case_with_texts(db)
    later = NOW + timedelta(days=3)

    def work3(conn: Conn) -> None:
        assert case_repo.redact_event_texts(conn, case_id, later,
                                            purpose="retention") == 3
    await db.write(work3)

    def work2(conn: Conn) -> None:
        assert case_repo.redact_event_texts(conn, case_id, later,
                                            purpose="retention") == 0
    await db.write(work2)

    def work(conn: Conn):
        events = case_repo.events_of(conn, case_id)
        with conn.execute("SELECT texts, redacted_at FROM case_event_texts") as cur:
            rows = [tuple(r) for r in cur.fetchall()]
        return events, rows
    events, rows = await db.read(work)
    assert rows == [(None, to_db_time(later))] * 3
    assert [e.type for e in events][-1] == "redacted"
    assert events[-1].payload == {"purpose": "retention", "events": 3}
    assert events[-1].state_before == events[-1].state_after == "accepted"
    assert [e.redacted for e in events] == [True, True, True, False, False]
    assert all("text" not in e.payload for e in events)
    assert not any(SECRET in json.dumps(e.payload, ensure_ascii=False) for e in events)
    assert reply in {e.id for e in events}


async def test_the_trail_refuses_every_change_but_a_redaction(db: Database) -> None:
    case_id, reply = await _case_with_texts(db)
    refused = (
        ("UPDATE case_events SET payload = '{}' WHERE id = ?", (reply,), "append-only"),
        ("DELETE FROM case_events WHERE id = ?", (reply,), "append-only"),
        ("UPDATE case_event_texts SET texts = '{\"text\": \"x\"}' WHERE event_id = ?", (reply,),
         "only be redacted"),
        ("UPDATE case_event_texts SET event_id = 999, texts = NULL, redacted_at = 'x' "
         "WHERE event_id = ?", (reply,), "only be redacted"),
        ("DELETE FROM case_event_texts WHERE event_id = ?", (reply,), "only be redacted"),
    )
    for statement, params, message in refused:
        with pytest.raises(sqlite3.IntegrityError, match=message):
            await db.write(Conn.execute, statement, params)

    def work2(conn: Conn) -> None:
        assert case_repo.redact_event_texts(conn, case_id, NOW, purpose="erasure",
                                            actor_roles=["reporter"]) == 1
    await db.write(work2)
    # A redacted text cannot be written again.
    with pytest.raises(sqlite3.IntegrityError, match="only be redacted"):
        def work(conn: Conn) -> None:
            conn.execute("UPDATE case_event_texts SET texts = ?, redacted_at = NULL "
                         "WHERE event_id = ?", ('{"text": "x"}', reply))
        await db.write(work)
    events = await db.read(case_repo.events_of, case_id)
    assert [e.redacted for e in events] == [False, True, False, False, False]
    assert events[-1].payload == {"purpose": "erasure", "events": 1}


async def test_the_migration_moves_texts_out_of_the_trail_and_empties_handled_updates(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    at = to_db_time(NOW)
    with closing(connect(str(path), functions=FUNCTIONS)) as conn:
        migrate(conn, MIGRATIONS[:6])
        execute_script(conn, f"""
            INSERT INTO units (id, name_zh, name_en) VALUES ('u', '单', 'U'), ('v', '单2', 'V');
            INSERT INTO categories (id, name_zh, name_en, unit_id) VALUES ('c', '类', 'C', 'u');
            INSERT INTO cases (number, kind, category_id, unit_id, state, anonymous, language,
                text, created_at, updated_at, accept_due, answer_due, idempotency_key)
            VALUES ('S-2026-00001', 'suggestion', 'c', 'v', 'reopened', 1, 'zh_CN', '路灯',
                    '{at}', '{at}', '{at}', '{at}', 'k');
            INSERT INTO case_events (case_id, at, actor_role, type, state_before, state_after,
                                     payload) VALUES
              (1, '{at}', 'reporter', 'filed', NULL, 'new', '{{"unit": "u", "attachments": 0}}'),
              (1, '{at}', 'reporter', 'followup', 'new', 'new', '{{"text": "{SECRET}"}}'),
              (1, '{at}', 'official', 'transferred', 'new', 'new',
               '{{"from": "u", "to": "v", "reason": "归二科"}}'),
              (1, '{at}', 'head', 'answer_returned', 'new', 'new',
               '{{"answer": 1, "comment": "重写"}}'),
              (1, '{at}', 'system', 'closed', 'answered', 'closed', '{{"reason": "not_rated"}}'),
              (1, '{at}', 'reporter', 'rated', 'answered', 'reopened',
               '{{"answer": 1, "rating": "unsatisfied", "then": "escalated"}}');
            INSERT INTO inbox_updates VALUES (1, '{{"message": {{"text": "{SECRET}"}}}}',
                                              '{at}', '{at}'),
                                             (2, '{{"message": {{"text": "x"}}}}', '{at}', NULL),
                                             (3, '{{"message": {{"text": "y"}}}}', '{at}', NULL);
            INSERT INTO processed_updates VALUES (1, '{at}'), (2, '{at}');
        """)
        with conn.execute("SELECT * FROM case_facts") as cur:
            facts = [tuple(r) for r in cur.fetchall()]
    db = await Database.open(path)
    try:
        def work(conn: Conn):
            with conn.execute("SELECT type, payload FROM case_events ORDER BY id") as cur:
                payloads = [(r[0], json.loads(r[1])) for r in cur.fetchall()]
            events = case_repo.events_of(conn, 1)
            with conn.execute("SELECT * FROM case_facts") as cur:
                assert [tuple(r) for r in cur.fetchall()] == facts
            with conn.execute("SELECT update_id, payload, handled_at IS NOT NULL "
                              "FROM inbox_updates ORDER BY update_id") as cur:
                updates = [tuple(r) for r in cur.fetchall()]
            return events, payloads, updates
        events, payloads, updates = await db.read(work)
    finally:
        await db.close()
    assert payloads == [
        ("filed", {"unit": "u", "attachments": 0}), ("followup", {}),
        ("transferred", {"from": "u", "to": "v"}), ("answer_returned", {"answer": 1}),
        ("closed", {"reason": "not_rated"}),
        ("rated", {"answer": 1, "rating": "unsatisfied", "then": "escalated"})]
    assert [e.payload for e in events][1:4] == [
        {"text": SECRET}, {"from": "u", "to": "v", "reason": "归二科"},
        {"answer": 1, "comment": "重写"}]
    # Handled (by either record) keep their ids only; the one never handled is kept whole.
    assert updates == [(1, "", 1), (2, "", 1), (3, '{"message": {"text": "y"}}', 0)]
    # The trail is append-only again after the move.
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with sqlite3.connect(path) as raw:
            raw.execute("UPDATE case_events SET payload = '{}'")
