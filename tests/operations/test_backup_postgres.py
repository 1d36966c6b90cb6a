"""``sunbox backup`` and ``sunbox restore`` on PostgreSQL (issue 21): ``pg_dump``'s archive
format in the same tar archive as SQLite's, with a manifest naming the engine and the file
store beside it; restored with ``pg_restore`` into an empty schema (of the backup's name, or
another) or database, with the same hash for every table; a target holding tables is
refused and left as it was, and a backup goes back only to its own engine."""

from __future__ import annotations

import hashlib
import json
import stat
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
import pytest

from bot.cli import main
from bot.config import Config, default_config_path
from storage.copy import migrate_to_postgres
from storage.migrations import postgres
from storage.sql import IntegrityError
from storage.sql_postgres import connect as connect_postgres
from tests.conftest import Bench
from tests.handlers.staff import staffed
from tests.operations.test_lifecycle import config_file
from tests.operations.test_migrate_copy import SECRET, county, needs_postgres, target_digests
from tests.support import engines

pytestmark = [pytest.mark.sqlite_only, needs_postgres]


@pytest.fixture(autouse=True)
def _service_key(service_key: Path) -> Path:
    return service_key


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@", 1)


@contextmanager
def schema() -> Iterator[tuple[str, str]]:
    """A new schema's name and URL (with a password); dropped afterwards, if it still
    is there."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(engines.DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name, with_password(engines.with_options(engines.DSN, name))
    finally:
        with psycopg.connect(engines.DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@contextmanager
def database() -> Iterator[str]:
    """A new database's URL (its public schema); dropped afterwards."""
    name = f"sunbox_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(engines.DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield with_password(engines.DSN.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with psycopg.connect(engines.DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def pg_config_file(folder: Path, url: str, files: Path, key: Path) -> Path:
    """The example configuration on PostgreSQL: the URL, the file store, the seal key."""
    folder.mkdir(parents=True, exist_ok=True)
    text = default_config_path().read_text(encoding="utf-8")
    for old, new in (('database = "sunbox.db"', f'database = "{url}"'),
                     ('# seal_key_file = "/etc/sunbox/seal.key"', f'seal_key_file = "{key}"'),
                     ('# files = "/var/lib/sunbox/files"', f'files = "{files}"')):
        assert old in text
        text = text.replace(old, new)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def relations(url: str) -> list[str]:
    with closing(connect_postgres(url)) as conn:
        return [str(r[0]) for r in conn.execute_fetchall(
            "SELECT relname FROM pg_class WHERE relnamespace = "
            "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())")]


def stored(files: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in files.glob("*/*") if p.is_file()}


async def test_a_postgresql_backup_restores_into_an_empty_schema_with_the_same_hashes(
    bench: Bench, tmp_path: Path, service_key: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    source = await county(bench)
    files = source.parent / "files"
    assert len(stored(files)) == 2
    with schema() as (kept, kept_url), schema() as (fresh, fresh_url):
        assert migrate_to_postgres(source, kept_url, tmp_path).matches
        hashes = target_digests(kept_url)
        kept_config = pg_config_file(tmp_path / "kept", kept_url, files, service_key)
        archive = tmp_path / "backup.tar"
        assert main(["backup", "--config", str(kept_config), "--lang", "en",
                     str(archive)]) == 0
        out = capsys.readouterr().out
        assert f"pg_dump archive of the schema {kept} of" in out and SECRET not in out
        assert "It holds 2 attachments from the file store" in out
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
        with tarfile.open(archive) as tar:
            assert sorted(tar.getnames()) == sorted(
                ["database.pgdump", "manifest.json",
                 *(f"files/{d[:2]}/{d}" for d in stored(files))])
            manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
            dump = tar.extractfile("database.pgdump").read()  # type: ignore[union-attr]
        assert manifest["engine"] == "postgresql"
        assert manifest["schema_version"] == postgres.latest()
        assert manifest["postgresql"] == {"schema": kept, "whole_database": False}
        assert manifest["members"]["database.pgdump"] == {
            "size": len(dump), "sha256": hashlib.sha256(dump).hexdigest()}
        assert dump.startswith(b"PGDMP")  # pg_dump's archive format
        with closing(connect_postgres(kept_url)) as conn:
            assert conn.execute_fetchall(
                "SELECT count(*) FROM meta WHERE key = 'last_backup'") == [(1,)]
        backed_up = target_digests(kept_url)

        # A schema holding tables is refused, and left as it was.
        assert main(["restore", "--config", str(kept_config), "--lang", "en",
                     str(archive)]) == 1
        err = capsys.readouterr().err
        assert "is not empty" in err and "Nothing was restored." in err and SECRET not in err
        assert target_digests(kept_url) == backed_up
        # Into another schema while the backup's own is there: refused, nothing made.
        restored_files = tmp_path / "restored-files"
        fresh_config = pg_config_file(tmp_path / "fresh", fresh_url, restored_files,
                                      service_key)
        assert main(["restore", "--config", str(fresh_config), "--lang", "en",
                     str(archive)]) == 1
        assert f"holds the schema {kept}, which that database has" in capsys.readouterr().err
        assert relations(fresh_url) == []

        # The schema is lost: the backup goes into the new one, under its name.
        with psycopg.connect(engines.DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {kept} CASCADE")
        assert main(["restore", "--config", str(fresh_config), "--lang", "en",
                     str(archive)]) == 0
        out = capsys.readouterr().out
        assert "Restored" in out and SECRET not in out
        assert target_digests(fresh_url) == hashes
        assert stored(restored_files) == stored(files)
        with closing(connect_postgres(fresh_url)) as conn:
            # Its triggers and sequences came along: a new event is numbered on and
            # counted in the case's facts; the trail stays append-only.
            [[largest]] = conn.execute_fetchall("SELECT max(id) FROM case_events")
            new = conn.insert(
                "INSERT INTO case_events (case_id, at, actor_role, type, payload) "
                "VALUES (1, '2027-01-04T02:00:00+00:00', 'system', 'noted', '{}')")
            assert new == largest + 1
            assert conn.execute_fetchall("SELECT last_at FROM case_facts WHERE case_id = 1"
                                         ) == [("2027-01-04T02:00:00+00:00",)]
            with pytest.raises(IntegrityError):
                conn.execute("DELETE FROM case_events WHERE id = 1")

        # Or into an empty schema of the backup's own name, made by the operator.
        with psycopg.connect(engines.DSN, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {kept}")
        assert main(["restore", "--config", str(kept_config), "--lang", "en",
                     str(archive)]) == 0
        capsys.readouterr()
        assert target_digests(kept_url) == hashes

    # A backup goes back to its own engine only.
    sqlite_config = config_file(tmp_path, tmp_path / "other.db")
    assert main(["restore", "--config", str(sqlite_config), "--lang", "en",
                 str(archive)]) == 1
    assert "is a backup of a PostgreSQL database" in capsys.readouterr().err
    assert not (tmp_path / "other.db").exists()


async def test_without_a_search_path_the_whole_database_is_backed_up_and_restored(
    bench: Bench, tmp_path: Path, service_key: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    source = await county(bench)
    with database() as first, database() as second:
        assert migrate_to_postgres(source, first, tmp_path).matches
        hashes = target_digests(first)
        files = source.parent / "files"
        archive = tmp_path / "backup.tar"
        assert main(["backup", "--config",
                     str(pg_config_file(tmp_path / "first", first, files, service_key)),
                     "--lang", "en", str(archive)]) == 0
        assert "pg_dump archive of the whole database" in capsys.readouterr().out
        restored = pg_config_file(tmp_path / "second", second, tmp_path / "files2", service_key)
        assert main(["restore", "--config", str(restored), "--lang", "en", str(archive)]) == 0
        assert target_digests(second) == hashes
        # A SQLite backup does not go into PostgreSQL.
        lite = tmp_path / "lite.tar"
        assert main(["backup", "--config", str(config_file(tmp_path, source)),
                     str(lite)]) == 0
        capsys.readouterr()
        with database() as third:
            config = pg_config_file(tmp_path / "third", third, tmp_path / "files3",
                                    service_key)
            assert main(["restore", "--config", str(config), "--lang", "en",
                         str(lite)]) == 1
            assert "is a backup of a SQLite database" in capsys.readouterr().err
            assert relations(third) == []
