"""Storage: migrations, whole transactions, the append-only trail, idempotent filing."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import cases as case_repo
from storage import people
from storage.db import Database
from storage.migrations import FUNCTIONS, MIGRATIONS, SchemaTooNew, migrate, schema_version
from storage.models import NewAttachment, NewCase
from storage.sql import Conn, connect

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def _seed(db: Database) -> None:
    def work(conn: Conn) -> None:
        conn.execute("INSERT INTO units (id, name_zh, name_en) VALUES ('u', '单位', 'Unit')")
        conn.execute(
            "INSERT INTO categories (id, name_zh, name_en, unit_id) VALUES ('c', '类', 'Cat', 'u')"
        )
    await db.write(work)


def _new_case(key: str, **overrides: object) -> NewCase:
    values: dict[str, object] = dict(
        kind="suggestion", category_id="c", unit_id="u", channel="chat", anonymous=True,
        reporter_person_id=None, delivery_chat_id=42, reporter_name=None, reporter_phone=None,
        language="zh_CN", text="路灯坏了", created_at=NOW, accept_due=NOW + timedelta(days=1),
        answer_due=NOW + timedelta(days=15), idempotency_key=key,
        attachments=(NewAttachment("photo", "f1", "u1"),),
    )
    values.update(overrides)
    return NewCase(**values)  # type: ignore[arg-type]


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "t.db")
    yield database  # type: ignore[misc]
    await database.close()


async def test_fresh_database_is_migrated_with_wal_and_foreign_keys(db: Database) -> None:
    def work(conn: Conn) -> None:  # the writer's connection
        assert schema_version(conn) == len(MIGRATIONS)
        with conn.execute("PRAGMA journal_mode") as cur:
            assert (cur.fetchone())[0] == "wal"
        with conn.execute("PRAGMA foreign_keys") as cur:
            assert (cur.fetchone())[0] == 1
    await db.write(work)


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    first = await Database.open(tmp_path / "t.db")
    await _seed(first)
    await first.close()
    again = await Database.open(tmp_path / "t.db")
    assert await again.read(lambda conn: conn.execute_fetchall(
        "SELECT COUNT(*) FROM units")[0][0]) == 1
    await again.close()


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNew, match="newer than this Sunbox"):
        await Database.open(path)


async def test_a_failing_migration_leaves_the_version_unchanged(tmp_path: Path) -> None:
    with closing(connect(str(tmp_path / "t.db"), functions=FUNCTIONS)) as conn:
        migrate(conn)
        broken = (*MIGRATIONS, "CREATE TABLE extra (x INTEGER);\nTHIS IS NOT SQL;")
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, broken)
        assert schema_version(conn) == len(MIGRATIONS)
        with conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'extra'"
        ) as cur:
            assert (cur.fetchone())[0] == 0


async def test_case_numbers_count_per_kind_and_year(db: Database) -> None:
    await _seed(db)

    def work(conn: Conn):
        first, _ = case_repo.create_case(conn, _new_case("a"), year=2026, actor_role="r")
        second, _ = case_repo.create_case(conn, _new_case("b"), year=2026, actor_role="r")
        report, _ = case_repo.create_case(
            conn, _new_case("c", kind="report", anonymous=False, reporter_name="张三",
                            reporter_phone="+8613800000000"), year=2026, actor_role="r")
        next_year, _ = case_repo.create_case(conn, _new_case("d"), year=2027,
                                             actor_role="r")
        return first, next_year, report, second
    first, next_year, report, second = await db.write(work)
    numbers = [first.number, second.number, report.number, next_year.number]
    assert [n.rsplit("-", 1)[0] for n in numbers] == [
        "S-2026-00001", "S-2026-00002", "R-2026-00001", "S-2027-00001"]
    # Each public number ends with a random check part that /status needs.
    assert all(re.fullmatch(r"[SR]-\d{4}-\d{5}-[A-Z2-9]{3}", n) for n in numbers)


async def test_the_same_key_never_files_twice(db: Database) -> None:
    await _seed(db)
    one, created_one = await db.write(
        case_repo.create_case, _new_case("k"), year=2026, actor_role="r")

    def work(conn: Conn):
        two, created_two = case_repo.create_case(conn, _new_case("k"), year=2026,
                                                 actor_role="r")
        with conn.execute("SELECT COUNT(*) FROM cases") as cur:
            count = (cur.fetchone())[0]
        return count, created_two, two
    count, created_two, two = await db.write(work)
    assert (created_one, created_two, one.id == two.id, count) == (True, False, True, 1)


async def test_events_are_append_only(db: Database) -> None:
    await _seed(db)
    case, _ = await db.write(case_repo.create_case, _new_case("k"), year=2026, actor_role="r")
    for statement in ("UPDATE case_events SET type = 'x'", "DELETE FROM case_events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            await db.write(Conn.execute, statement)

    def work(conn: Conn):
        events = case_repo.events_of(conn, case.id)
        attachments = case_repo.attachments_of(conn, case.id)
        return attachments, events
    attachments, events = await db.read(work)
    assert [e.type for e in events] == ["filed"]
    assert [a.file_id for a in attachments] == ["f1"]


async def test_an_anonymous_case_cannot_hold_a_person(db: Database) -> None:
    await _seed(db)
    with pytest.raises(sqlite3.IntegrityError):
        def work2(conn: Conn) -> None:
            person = people.ensure_person(conn, 7, NOW)
            case_repo.create_case(
                conn, _new_case("k", reporter_person_id=person.id), year=2026, actor_role="r")
        await db.write(work2)

    def work(conn: Conn) -> None:
        with conn.execute("SELECT COUNT(*) FROM people") as cur:
            assert (cur.fetchone())[0] == 0, "the failed transaction was rolled back"
    await db.read(work)


async def test_concurrent_transactions_do_not_interleave(db: Database) -> None:
    """Writers sent at once: each transaction commits or rolls back whole."""
    await _seed(db)

    async def file(key: str, fail: bool) -> None:
        def work(conn: Conn) -> None:
            case_repo.create_case(conn, _new_case(key), year=2026, actor_role="r")
            if fail:
                raise RuntimeError("boom")
        await db.write(work)

    results = await asyncio.gather(
        *(file(f"k{i}", fail=i % 2 == 1) for i in range(10)), return_exceptions=True
    )
    assert sum(isinstance(r, RuntimeError) for r in results) == 5

    def work(conn: Conn):
        with conn.execute("SELECT idempotency_key FROM cases ORDER BY id") as cur:
            keys = [row[0] for row in cur.fetchall()]
        return keys
    keys = await db.read(work)
    assert keys == ["k0", "k2", "k4", "k6", "k8"]


async def test_the_limits_migration_adds_check_parts_and_hashes_invite_codes(
    tmp_path: Path,
) -> None:
    """Cases filed before public numbers had a check part get one (random, so /status needs
    it); invites created before keep working, but only a hash of their code stays."""
    from storage import invites
    from storage.migrations import V_LIMITS

    before = MIGRATIONS[:MIGRATIONS.index(V_LIMITS)]
    with closing(connect(str(tmp_path / "t.db"), functions=FUNCTIONS)) as conn:
        migrate(conn, before)
        conn.execute("INSERT INTO units (id, name_zh, name_en) VALUES ('u', '单', 'U')")
        conn.execute("INSERT INTO categories (id, name_zh, name_en, unit_id) "
                     "VALUES ('c', '类', 'C', 'u')")
        for n in (1, 2):
            conn.execute(
                "INSERT INTO cases (number, kind, category_id, unit_id, state, language, text, "
                "created_at, updated_at, accept_due, answer_due, idempotency_key) VALUES "
                "(?, 'suggestion', 'c', 'u', 'new', 'zh_CN', '路灯坏了', ?, ?, ?, ?, ?)",
                (f"S-2026-{n:05d}", NOW.isoformat(), NOW.isoformat(), NOW.isoformat(),
                 NOW.isoformat(), f"k{n}"))
        conn.execute(
            "INSERT INTO invites (code, role, unit_id, created_at, expires_at) VALUES "
            "('inv_OldCodeOldCode00', 'official', 'u', ?, ?)",
            (NOW.isoformat(), (NOW + timedelta(days=7)).isoformat()))
    db = await Database.open(tmp_path / "t.db")
    try:
        def work(conn: Conn):
            numbers = [row[0] for row in conn.execute_fetchall(
                "SELECT number FROM cases ORDER BY id")]
            assert [n.rsplit("-", 1)[0] for n in numbers] == ["S-2026-00001", "S-2026-00002"]
            assert all(re.fullmatch(r"S-2026-0000\d-[A-Z2-9]{3}", n) for n in numbers)
            rows = [tuple(r) for r in conn.execute_fetchall("SELECT * FROM invites")]
            assert rows and not any("OldCode" in str(v) for row in rows for v in row)
            invite = invites.get(conn, "inv_OldCodeOldCode00")
            assert invite is not None and (invite.id, invite.role) == (1, "official")
            assert (case_repo.get_case_by_short_number(conn, "S-2026-00002")) is not None
        await db.read(work)
    finally:
        await db.close()
