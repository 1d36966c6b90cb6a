"""``sunbox migrate --from sqlite:PATH --to postgresql://…`` (issue 21): a county's SQLite
database, filled by driving the bot, is copied into a fresh PostgreSQL schema and proved
equal table by table; a second run refuses the target, which it leaves as it was; a row
changed on PostgreSQL afterwards is caught by the hash; an older source is migrated in a
copy (the file is not written), a newer one refused, and a source a bot runs on too."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Config
from bot.instance_lock import InstanceLock, lock_path
from handlers.jobs import KEEP_FILES
from storage.copy import digests, migrate_to_postgres, tables, verify
from storage.migrations import FUNCTIONS, MIGRATIONS, migrate, postgres
from storage.sql import Conn, IntegrityError, connect
from storage.sql_postgres import connect as connect_postgres
from storage.text_search import disclosure_text, index_disclosure, search_disclosures
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion, to_text_step
from tests.handlers.staff import CIVIL_OFFICIAL, staffed
from tests.handlers.test_anonymous_attachments import jpeg_with_exif
from tests.operations.test_file_store import named_report_with_photo
from tests.operations.test_lifecycle import officials
from tests.support import engines

#: These tests copy into PostgreSQL: skipped only when it cannot be reached and is not
#: required (``SUNBOX_REQUIRE_POSTGRES=1`` makes the session fail instead).
needs_postgres = pytest.mark.skipif(
    engines.unreachable() is not None and not engines.required(),
    reason=f"PostgreSQL is not reachable at {engines.DSN}")

# The bench is the SQLite source; the target is a schema of the test's own.
pytestmark = [pytest.mark.sqlite_only, needs_postgres]

SECRET = "s3cret-pw"


@pytest.fixture(autouse=True)
def _service_key(service_key: Path) -> Path:
    return service_key


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture
def target() -> Iterator[str]:
    """A fresh schema's URL, with a password in it (the server trusts; the password must
    show nowhere)."""
    with engines.fresh_schema() as url:
        yield url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@", 1)


async def county(bench: Bench) -> Path:
    """A county's database as the bot filled it, closed: a named report with a photo
    answered, rated with a comment and closed, an anonymous suggestion with a photo (sealed
    bytes), a draft half typed, the photos in the file store, the meetings the configuration
    schedules; then issues raised at a meeting in another order than their cases' (SQLite's
    rowid, which PostgreSQL keeps in a column) and a location (floats)."""
    officials(bench)
    reporter = bench.user(2802, "李建国")
    await named_report_with_photo(bench, reporter, jpeg_with_exif())
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:answer")
    await bench.tap(official, "ans:out:resolved")
    await bench.say(official, "修路资金账目已在村务公开栏张贴。")
    await bench.tap(official, "ans:files:done")
    await bench.tap(official, "ans:send")
    await bench.tap(reporter, "rate:1:satisfied")
    await bench.say(reporter, "谢谢，已经看到了。")  # a comment: a text kept apart
    await file_suggestion(bench, bench.user(2801, "王秀兰"), "anonymous")
    await to_text_step(bench, bench.user(2803, "张三"))
    await bench.run_job(KEEP_FILES)
    await bench.stop()
    path = Path(bench.db_path)
    with closing(connect(str(path))) as conn:
        [[meeting]] = conn.execute_fetchall("SELECT min(id) FROM meetings")
        conn.execute("BEGIN")
        for case_id in (2, 1):
            conn.execute("INSERT INTO meeting_issues VALUES (?, ?, 1, ?)",
                         (meeting, case_id, f"2026-12-01T0{case_id}:00:00+00:00"))
        # Where the anonymous case happened (floats: compared by their repr).
        conn.execute("UPDATE cases SET latitude = 39.904211, longitude = 116.407395 "
                     "WHERE id = 2")
        disclosures(conn)
        conn.execute("COMMIT")
    return path


def disclosures(conn: Conn) -> None:
    """Two published disclosures, indexed for search (SQLite's FTS5 table, which the copy
    cannot read), and a draft (not indexed)."""
    [[unit]] = conn.execute_fetchall("SELECT min(id) FROM units")
    for n, title, body, number in (
            (1, "低保户名单公示", "经评议，现将低保户名单公示。", "D-2026-00001"),
            (2, "村务公开", "保户信息已核对；户名登记见附件。", "D-2026-00002"),
            (3, "低保户名单（草稿）", "尚未发布。", None)):
        at = f"2026-11-0{n}T02:00:00+00:00"
        conn.execute(
            "INSERT INTO disclosures (id, number, item_id, unit_id, audience, aspect, forms, "
            "stage, title, body, created_at, updated_at, published_at) "
            "VALUES (?, ?, 'item', ?, 'public', 'party_building', '[]', ?, ?, ?, ?, ?, ?)",
            (n, number, unit, "published" if number else "draft", title, body, at, at,
             number and at))
        if number:
            index_disclosure(conn, n, disclosure_text(title, body, "{}"))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def target_digests(url: str) -> dict[str, object]:
    with closing(connect_postgres(url)) as conn:
        return dict(digests(conn, tables(conn)))


async def test_the_copy_checks_every_table_and_a_second_run_refuses_the_target(
    bench: Bench, target: str, capsys: pytest.CaptureFixture[str],
) -> None:
    source = await county(bench)
    before = sha256_of(source)
    assert main(["migrate", "--from", f"sqlite:{source}", "--to", target, "--lang", "en"]) == 0
    out, err = capsys.readouterr()
    assert "every count and hash matches the source" in out and not err
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:] if line}
    for name in ("cases", "case_events", "case_facts", "case_event_texts", "answers",
                 "attachments", "stored_files", "people", "units", "meeting_issues",
                 "conversations", "outbox", "alarms", "meta", "disclosures"):
        rows, target_rows, verdict = lines[name]
        assert rows == target_rows and int(rows) > 0 and verdict == "matches", (name, out)
    # The search index is built again, not copied: neither it nor SQLite's shadow tables
    # are in the proof, nor among the tables skipped.
    assert not [name for name in lines if name.startswith("disclosure_grams")], out
    assert "disclosure_grams" not in out
    assert SECRET not in out and ":***@" in out
    assert sha256_of(source) == before, "the source is only read"

    with closing(connect_postgres(target)) as pg:
        # What the bot reads on PostgreSQL is what it wrote on SQLite.
        with closing(connect(str(source))) as lite:
            for sql in ("SELECT id, number, anonymous, delivery_sealed, latitude, longitude "
                        "FROM cases ORDER BY id",
                        "SELECT * FROM case_facts ORDER BY case_id",
                        "SELECT case_id FROM meeting_issues ORDER BY rowid"):
                assert [tuple(r) for r in pg.execute_fetchall(sql)] == \
                    [tuple(r) for r in lite.execute_fetchall(sql)], sql
        assert [tuple(r) for r in pg.execute_fetchall(
            "SELECT case_id FROM meeting_issues ORDER BY rowid")] == [(2,), (1,)]
        # Every identity goes on past the largest id copied.
        for table in tables(pg):
            for column in table.identities:
                [[largest, following]] = pg.execute_fetchall(
                    f"SELECT coalesce(max({column}), 0), "
                    f"nextval(pg_get_serial_sequence('{table.name}', '{column}')) "
                    f"FROM {table.name}")
                assert following == largest + 1, table.name
        # The triggers are on again: the append-only rule holds on the copy.
        assert {str(r[0]) for r in pg.execute_fetchall(
            "SELECT tgenabled FROM pg_trigger WHERE NOT tgisinternal")} == {"O"}
        with pytest.raises(IntegrityError):
            pg.execute("UPDATE case_events SET payload = '{}' WHERE id = 1")
        # Search works on the copy: the index was built from the published disclosures.
        assert pg.execute_fetchall(
            "SELECT disclosure_id FROM disclosure_grams ORDER BY 1") == [(1,), (2,)]
        for query, found in (("低保", [1]), ("保户", [2, 1]), ("保户名", [1]),
                             ("户", [2, 1]), ("草稿", [])):
            page = search_disclosures(pg, query=query, audiences=("public",))
            assert page.ids == found and not page.has_more, query

    copied = target_digests(target)
    assert main(["migrate", "--from", f"sqlite:{source}", "--to", target, "--lang", "en"]) == 1
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert "is not empty" in line and "Nothing was copied." in line and SECRET not in line
    assert not out
    assert target_digests(target) == copied, "a refused run writes nothing"


async def test_a_row_changed_on_postgresql_after_the_copy_is_caught_by_the_hash(
    bench: Bench, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = await county(bench)
    # Pages of three rows: every table longer than that is read on from its last key, on
    # both engines (keys of one and of three columns, of integers and of text).
    monkeypatch.setattr("storage.copy.PAGE", 3)
    copied = migrate_to_postgres(source, target, tmp_path)
    assert copied.matches and copied.skipped == () and copied.migrated_from is None
    assert copied.rebuilt == ("disclosure_grams",)
    assert "disclosures" in {check.table for check in copied.checks}
    with closing(connect_postgres(target)) as pg, closing(connect(str(source))) as lite:
        pg.execute("UPDATE cases SET text = text || '。' WHERE id = 1")
        checks = {check.table: check for check in verify(lite, pg, tables(pg))}
    assert not checks["cases"].matches
    assert checks["cases"].source.rows == checks["cases"].target.rows
    assert [name for name, check in checks.items() if not check.matches] == ["cases"]


async def test_an_older_source_is_migrated_in_a_copy_and_a_newer_one_is_refused(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str],
) -> None:
    older = tmp_path / "older.db"
    with closing(connect(str(older), functions=FUNCTIONS)) as conn:
        migrate(conn, MIGRATIONS[:12])
        conn.execute("INSERT INTO people (telegram_id, created_at) VALUES (7, '2026-01-01')")
    before = sha256_of(older)
    assert main(["migrate", "--from", f"sqlite://{older}", "--to", target, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert ("is at schema version 12: a copy of it was brought to version "
            f"{postgres.latest()}") in out
    assert sha256_of(older) == before
    assert not list(tmp_path.glob(".sunbox-*")), "the migrated copy is removed"

    newer = tmp_path / "newer.db"
    with closing(connect(str(newer))) as conn:
        conn.execute("PRAGMA user_version = 99")
    with engines.fresh_schema() as empty:
        assert main(["migrate", "--from", f"sqlite:{newer}", "--to", empty,
                     "--lang", "en"]) == 1
        [line] = capsys.readouterr().err.strip().splitlines()
        assert "holds schema version 99" in line and "Nothing was copied." in line
        with closing(connect_postgres(empty)) as pg:
            assert pg.execute_fetchall(
                "SELECT to_regclass('sunbox_schema') IS NULL") == [(True,)]


def test_a_source_a_bot_runs_on_and_wrong_addresses_are_refused(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "sunbox.db"
    with closing(connect(str(source), functions=FUNCTIONS)) as conn:
        migrate(conn)
    lock = lock_path(str(source))
    assert lock is not None
    with InstanceLock.acquire(lock, "run"):
        assert main(["migrate", "--from", f"sqlite:{source}", "--to", target,
                     "--lang", "en"]) == 1
        [line] = capsys.readouterr().err.strip().splitlines()
        assert "stop it first" in line and "Nothing was copied." in line
    assert main(["migrate", "--from", str(source), "--to", target, "--lang", "en"]) == 1
    assert "sqlite:PATH" in capsys.readouterr().err
    assert main(["migrate", "--from", f"sqlite:{source}", "--to", str(source),
                 "--lang", "en"]) == 1
    assert "postgresql:// URL" in capsys.readouterr().err
    assert main(["migrate", "--from", f"sqlite:{tmp_path / 'none.db'}", "--to", target,
                 "--lang", "en"]) == 1
    assert "there is no database to copy" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
