"""PostgreSQL's schema: the baseline equals SQLite's schema at the same version, later
versions are numbered alike, migrations run once however many start together, a newer
database is refused, and the append-only rules hold as triggers."""

from __future__ import annotations

import threading

import pytest

from storage.db import Database
from storage.migrations import MIGRATIONS, SchemaTooNew
from storage.migrations import postgres as pg
from storage.sql import Conn, IntegrityError
from storage.sql_postgres import connect as connect_postgres


def _columns_sqlite(tmp_path_db: str) -> dict[str, set[str]]:
    import sqlite3

    conn = sqlite3.connect(tmp_path_db)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    finally:
        conn.close()


def _columns_postgres(conn: Conn) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in conn.execute_fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"):
        found.setdefault(table, set()).add(column)
    return found


async def test_both_engines_have_the_same_tables_and_columns(postgres_url: str,
                                                              tmp_path: object) -> None:
    path = f"{tmp_path}/s.db"
    for target in (path, postgres_url):
        db = await Database.open(target)
        await db.close()
    conn = connect_postgres(postgres_url)
    try:
        on_postgres = _columns_postgres(conn)
        assert pg.schema_version(conn) == pg.latest() == len(MIGRATIONS)
    finally:
        conn.close()
    on_postgres.pop("sunbox_schema")  # where PostgreSQL keeps the version (SQLite: PRAGMA)
    on_postgres["meeting_issues"].discard("rowid")  # SQLite's own rowid, made explicit
    on_sqlite = _columns_sqlite(path)
    # the text search's index: FTS5's virtual table and its shadow tables on SQLite, a
    # GIN-indexed array keyed by the disclosure on PostgreSQL (storage/text_search.py)
    for shadow in ("config", "data", "docsize", "idx", "content"):
        on_sqlite.pop(f"disclosure_grams_{shadow}", None)
    assert on_postgres.pop("disclosure_grams") == {"disclosure_id", "grams"}
    assert on_sqlite.pop("disclosure_grams") == {"grams"}
    assert on_postgres == on_sqlite


def _baseline_with_data(url: str) -> None:
    """A database at the baseline, as a Sunbox of that version left it, with a case."""
    conn = connect_postgres(url)
    try:
        conn.script(pg.BASELINE_SCHEMA)  # type: ignore[attr-defined]
        conn.execute("CREATE TABLE sunbox_schema (version BIGINT NOT NULL)")
        conn.execute("INSERT INTO sunbox_schema VALUES (?)", (pg.BASELINE,))
        conn.execute("INSERT INTO units (id, name_zh, name_en) VALUES ('u', '单位', 'Unit')")
        conn.execute("INSERT INTO categories (id, name_zh, name_en, unit_id) "
                     "VALUES ('c', '类', 'C', 'u')")
        conn.execute(
            "INSERT INTO cases (number, kind, category_id, unit_id, state, language, text, "
            "created_at, updated_at, accept_due, answer_due, idempotency_key) VALUES "
            "('S-2026-00001-ABC', 'suggestion', 'c', 'u', 'new', 'zh_CN', '路灯坏了', "
            "'2026-11-25T02:00:00+00:00', '2026-11-25T02:00:00+00:00', "
            "'2026-11-27T15:59:59+00:00', '2026-12-09T15:59:59+00:00', 'k1')")
        conn.execute("INSERT INTO case_events (case_id, at, actor_role, type, state_after, "
                     "payload) VALUES (1, '2026-11-25T02:00:00+00:00', 'reporter', 'filed', "
                     "'new', '{\"unit\": \"u\"}')")
    finally:
        conn.close()


async def test_from_the_baseline_with_data_every_later_version(postgres_url: str) -> None:
    _baseline_with_data(postgres_url)
    db = await Database.open(postgres_url)
    try:
        rows = await db.read(lambda conn: conn.execute_fetchall(
            "SELECT c.number, c.text, f.filed_unit, f.filed_at FROM cases c "
            "JOIN case_facts f ON f.case_id = c.id"))
        assert [tuple(r) for r in rows] == [
            ("S-2026-00001-ABC", "路灯坏了", "u", "2026-11-25T02:00:00+00:00")]
        version = await db.read(pg.schema_version)
        assert version == pg.latest() == pg.BASELINE + len(pg.LATER)
        # Version 17's table is there, and a new case goes on being numbered after the old.
        await db.write(lambda conn: conn.execute(
            "INSERT INTO leases (name, holder, until) VALUES ('x', 'h', 'z')"))
    finally:
        await db.close()


async def test_a_newer_database_is_refused_and_left_alone(postgres_url: str) -> None:
    db = await Database.open(postgres_url)
    await db.write(lambda conn: conn.execute("UPDATE sunbox_schema SET version = ?",
                                             (pg.latest() + 1,)))
    await db.close()
    with pytest.raises(SchemaTooNew, match="newer than this Sunbox"):
        await Database.open(postgres_url)
    conn = connect_postgres(postgres_url)
    try:
        assert pg.schema_version(conn) == pg.latest() + 1
    finally:
        conn.close()


def test_instances_starting_together_migrate_once(postgres_url: str) -> None:
    """Four connections migrate an empty schema at once: one creates it, the others wait
    for the lock and find it done."""
    start = threading.Barrier(4)
    results: list[int | BaseException] = []

    def one() -> None:
        conn = connect_postgres(postgres_url)
        try:
            start.wait()
            results.append(pg.migrate(conn))
        except BaseException as error:  # noqa: BLE001 - reported below
            results.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [pg.latest()] * 4
    conn = connect_postgres(postgres_url)
    try:
        assert [tuple(r) for r in conn.execute_fetchall("SELECT * FROM sunbox_schema")] == [
            (pg.latest(),)]
    finally:
        conn.close()


async def test_the_trail_is_append_only_on_postgresql_too(postgres_url: str) -> None:
    _baseline_with_data(postgres_url)
    db = await Database.open(postgres_url)
    try:
        await db.write(lambda conn: conn.execute(
            "INSERT INTO case_event_texts (event_id, texts) VALUES (1, '{}')"))
        for sql in ("UPDATE case_events SET type = 'closed'", "DELETE FROM case_events",
                    "TRUNCATE case_events CASCADE", "DELETE FROM case_event_texts",
                    "UPDATE case_event_texts SET texts = '{\"x\": 1}'"):
            with pytest.raises(IntegrityError, match="append-only|only be redacted"):
                await db.write(lambda conn, sql=sql: conn.execute(sql))
        [(count,)] = await db.read(lambda conn: conn.execute_fetchall(
            "SELECT count(*) FROM case_events"))
        assert count == 1
    finally:
        await db.close()


def test_versions_are_numbered_alike_on_both_engines() -> None:
    """Each SQLite migration after the baseline has its PostgreSQL twin of the same number."""
    assert pg.BASELINE == 16 and pg.latest() == len(MIGRATIONS)
