"""``sunbox backup`` and ``sunbox restore``: the database as a tar archive with a manifest.

The archive holds ``manifest.json``, the database, and under ``files/`` every file of the
local file store (``storage.files``) the database refers to, named by its SHA-256 as in the
store. The database is, by the engine the manifest names:

- SQLite: ``database.db``, a consistent copy made while the bot runs
  (``storage.snapshot.copy_consistent``), checked with ``PRAGMA integrity_check``;
- PostgreSQL: ``database.pgdump``, ``pg_dump``'s archive format (``storage.snapshot.pg_dump``)
  of Sunbox's schema when the URL names one (its ``search_path``), else of the whole
  database, read by ``pg_restore --list`` before it is kept; the files are those its
  snapshot refers to.

The manifest gives the format, the engine, Sunbox's version, the schema version, the time,
and each member's size and SHA-256. The seal key is never in it: it lives outside the data
directory, and a backup reads nothing but the database. Archives and restored databases
are written with mode 0600.

A restore verifies the manifest, every member's size and digest, the copy's integrity and
its schema version before it replaces anything, and keeps the database it replaces beside
it (``<database>.before-restore-<time>``), with its log, until the operator removes it.
On PostgreSQL nothing is replaced: ``pg_restore`` fills an empty database or schema in one
transaction, and a target holding any table is refused. A backup goes back to the engine it
was taken from (from SQLite to PostgreSQL, ``sunbox migrate`` copies).
The files go back into the store (named by their content, they never replace another).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import bot
from bot.i18n import N_
from storage.files import FileStore, digests_in
from storage.health import note_backup
from storage.migrations import MIGRATIONS
from storage.migrations.postgres import latest as latest_postgres
from storage.models import to_db_time
from storage.snapshot import (
    SIDE_FILES,
    PgNotEmpty,
    PgSchemaTaken,
    PgToolFailed,
    check_archive,
    check_integrity,
    copy_consistent,
    file_schema_version,
    pg_dump,
    pg_note_backup,
    pg_restore,
)
from storage.sql_postgres import is_postgres, redact

FORMAT = "sunbox-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database.db"
PG_DATABASE = "database.pgdump"
SQLITE, POSTGRESQL = "sqlite", "postgresql"
#: The database's member, by the engine the manifest names.
DATABASE_MEMBERS = {SQLITE: DATABASE, POSTGRESQL: PG_DATABASE}
#: A stored file's member: ``files/ab/abcdef...`` (its SHA-256, as in the store).
FILE_MEMBER = re.compile(r"files/([0-9a-f]{2})/(\1[0-9a-f]{62})")
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore refused; ``msgid``/``params`` make the translated message."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid.format(**params))
        self.msgid = msgid
        self.params = params


MSG_NO_DATABASE = N_("{path}: there is no database to back up")
MSG_NOT_SOUND = N_("the copy of the database failed its integrity check: {detail}")
MSG_NOT_ARCHIVE = N_("{path} is not a Sunbox backup: {detail}")
MSG_DIGEST = N_("{path}: {member} does not match its manifest (damaged or altered)")
MSG_TOO_NEW = N_("{path} holds schema version {version}; this Sunbox knows up to {known}")
MSG_OTHER_ENGINE = N_("{path} is a backup of a {engine} database, and {database} is not "
                      "one: restore it into a database of its kind (sunbox migrate copies "
                      "from SQLite to PostgreSQL)")
MSG_PG_NOT_EMPTY = N_("{database} is not empty (the schema {schema} holds {tables}): restore "
                      "only into an empty database or schema")
MSG_PG_SCHEMA_TAKEN = N_("the backup holds the schema {schema}, which that database has "
                         "already: restore into it once it is empty, or into another "
                         "database")
MSG_PG_TOOL = N_("{tool} failed: {detail}")
ENGINE_NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str
    schema_version: int
    sunbox_version: str
    members: tuple[Member, ...]
    engine: str = SQLITE
    #: PostgreSQL: the schema Sunbox's tables were in, and whether the whole database was
    #: dumped (else only that schema).
    schema: str | None = None
    whole: bool = False

    @property
    def database(self) -> str:
        """The database's member."""
        return DATABASE_MEMBERS[self.engine]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "engine": self.engine,
            "sunbox_version": self.sunbox_version, "schema_version": self.schema_version,
            "created_at": self.created_at,
            "members": {m.name: {"size": m.size, "sha256": m.sha256} for m in self.members},
        }
        if self.engine == POSTGRESQL:
            data["postgresql"] = {"schema": self.schema, "whole_database": self.whole}
        return data

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """The manifest, or ValueError naming what is wrong with it."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("no Sunbox manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unknown format version {data.get('format_version')!r}")
        members = data.get("members")
        version = data.get("schema_version")
        engine = data.get("engine", SQLITE)  # archives from before PostgreSQL name none
        if engine not in DATABASE_MEMBERS:
            raise ValueError(f"unknown engine {engine!r}")
        if not isinstance(members, dict) or not isinstance(version, int):
            raise ValueError("incomplete manifest")
        postgresql = data.get("postgresql") if engine == POSTGRESQL else {}
        if not isinstance(postgresql, dict) or (
                engine == POSTGRESQL and not isinstance(postgresql.get("schema"), str)):
            raise ValueError("incomplete manifest: no schema")
        parsed = []
        for name, entry in members.items():
            if (not isinstance(entry, dict) or not isinstance(entry.get("size"), int)
                    or not isinstance(entry.get("sha256"), str)):
                raise ValueError(f"incomplete manifest entry {name!r}")
            parsed.append(Member(str(name), entry["size"], entry["sha256"]))
        return cls(str(data.get("created_at", "")), version,
                   str(data.get("sunbox_version", "")), tuple(parsed), str(engine),
                   postgresql.get("schema"), bool(postgresql.get("whole_database")))

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)


def _digest(path: Path, name: str | None = None) -> Member:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return Member(name or path.name, size, sha.hexdigest())


def _private_temp_dir(near: Path) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder (mode 0700) beside ``near``: the copy never leaves its file system."""
    return tempfile.TemporaryDirectory(prefix=".sunbox-", dir=near.parent)


def _tar_info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(mtime)
    return info


def _stored_files(digests: set[str] | frozenset[str], files: Path | None
                  ) -> list[tuple[Member, Path]]:
    """The store's files of these digests (those the database refers to), each checked
    against its name (one missing or damaged on disk is left out: the download job fetches
    it again while Telegram has it)."""
    if files is None:
        return []
    store = FileStore(files)
    out = []
    for digest in sorted(digests):
        path = store.path(digest)
        if not path.is_file():
            continue
        member = _digest(path, f"files/{digest[:2]}/{digest}")
        if member.sha256 == digest:
            out.append((member, path))
    return out


def create_backup(database: str | Path, target: str | Path, now: datetime,
                  files: str | Path | None = None) -> Manifest:
    """Write the backup archive ``target`` (replaced whole, mode 0600) of ``database`` (a
    file, or a PostgreSQL URL), with the files of the store at ``files`` that the database
    refers to."""
    if is_postgres(str(database)):
        return _create_pg_backup(str(database), Path(target).resolve(), now,
                                 None if files is None else Path(files))
    source, target = Path(database), Path(target).resolve()
    if not source.is_file():
        raise BackupError(MSG_NO_DATABASE, path=str(source))
    with _private_temp_dir(target) as scratch:
        copy = Path(scratch) / DATABASE
        copy_consistent(source, copy)
        verdict = check_integrity(copy)
        if verdict != ["ok"]:
            raise BackupError(MSG_NOT_SOUND, detail="; ".join(verdict[:3]))
        member = _digest(copy)
        stored = _stored_files(digests_in(copy), None if files is None else Path(files))
        manifest = Manifest(to_db_time(now), file_schema_version(copy), bot.__version__,
                            (member, *(m for m, _ in stored)))
        _write_archive(Path(scratch), target, manifest, copy, stored, now)
    note_backup(source, now)  # for sunbox status: when the last backup was written
    return manifest


def _create_pg_backup(url: str, target: Path, now: datetime, files: Path | None) -> Manifest:
    """The PostgreSQL side of :func:`create_backup`: ``pg_dump``, beside the running bots."""
    with _private_temp_dir(target) as scratch:
        dump = Path(scratch) / PG_DATABASE
        try:
            dumped = pg_dump(url, dump)
        except PgToolFailed as failed:
            raise BackupError(MSG_PG_TOOL, tool=failed.tool, detail=failed.detail) from None
        if not dumped.schema_version:
            raise BackupError(MSG_NO_DATABASE, path=redact(url))
        member = _digest(dump)
        stored = _stored_files(dumped.digests, files)
        manifest = Manifest(to_db_time(now), dumped.schema_version, bot.__version__,
                            (member, *(m for m, _ in stored)), POSTGRESQL, dumped.schema,
                            dumped.whole)
        _write_archive(Path(scratch), target, manifest, dump, stored, now)
    pg_note_backup(url, now)
    return manifest


def _write_archive(scratch: Path, target: Path, manifest: Manifest, database: Path,
                   stored: list[tuple[Member, Path]], now: datetime) -> None:
    """Write the archive in ``scratch``, on disk, then rename it to ``target``."""
    text = (json.dumps(manifest.to_json(), indent=2) + "\n").encode()
    partial = scratch / "archive.tar"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        stamp = now.timestamp()
        tar.addfile(_tar_info(MANIFEST, len(text), stamp), io.BytesIO(text))
        with database.open("rb") as data:
            tar.addfile(_tar_info(manifest.database, manifest.members[0].size, stamp), data)
        for file_member, path in stored:
            with path.open("rb") as data:
                tar.addfile(_tar_info(file_member.name, file_member.size, stamp), data)
        tar.close()
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, target)


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    kept: Path | None  # where the database it replaced now is


def _read_manifest(tar: tarfile.TarFile, path: Path) -> Manifest:
    names = tar.getnames()
    stored = sorted(n for n in names if FILE_MEMBER.fullmatch(n))
    rest = sorted(n for n in names if n not in stored)
    if rest not in ([DATABASE, MANIFEST], [PG_DATABASE, MANIFEST]):
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path),
                          detail="members " + ", ".join(sorted(names)[:5]))
    file = _member_file(tar, MANIFEST, path)
    try:
        manifest = Manifest.from_json(json.loads(file.read(1 << 20).decode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path), detail=str(error)) from None
    if manifest.database not in rest:
        raise BackupError(MSG_DIGEST, path=str(path), member=MANIFEST)
    listed = sorted(m.name for m in manifest.members if m.name != manifest.database)
    if listed != stored:
        raise BackupError(MSG_DIGEST, path=str(path), member=MANIFEST)
    return manifest


def _member_file(tar: tarfile.TarFile, name: str, path: Path) -> IO[bytes]:
    info = tar.getmember(name)
    file = tar.extractfile(info) if info.isfile() else None
    if file is None:
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path), detail=f"{name} is not a file")
    return file


def _extract(tar: tarfile.TarFile, name: str, path: Path, copy: Path) -> None:
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        source = _member_file(tar, name, path)
        while chunk := source.read(_CHUNK):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def _restore_files(tar: tarfile.TarFile, manifest: Manifest, path: Path, scratch: Path,
                   files: Path | None) -> None:
    """Verify every stored file of the archive, then put it into the store at ``files``."""
    _put_files(_check_files(tar, manifest, path, scratch, files), files)


def _check_files(tar: tarfile.TarFile, manifest: Manifest, path: Path, scratch: Path,
                 files: Path | None) -> list[tuple[str, Path]]:
    """Every stored file of the archive, extracted into ``scratch`` and verified: (digest,
    extracted copy); none when there is no store to put them in."""
    stored = [m for m in manifest.members if m.name != manifest.database]
    if not stored or files is None:
        return []
    checked = []
    for index, member in enumerate(stored):
        copy = scratch / f"file-{index}"
        _extract(tar, member.name, path, copy)
        digest = member.name.rsplit("/", 1)[-1]
        if _digest(copy) != Member(copy.name, member.size, member.sha256) \
                or member.sha256 != digest:
            raise BackupError(MSG_DIGEST, path=str(path), member=member.name)
        checked.append((digest, copy))
    return checked


def _put_files(checked: list[tuple[str, Path]], files: Path | None) -> None:
    if not checked or files is None:
        return
    store = FileStore(files)
    store.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for digest, copy in checked:
        target = store.path(digest)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(copy, target)


def restore_backup(archive: str | Path, database: str | Path, now: datetime,
                   files: str | Path | None = None) -> Restored:
    """Put the backup ``archive`` in place of ``database`` after verifying it, and its
    stored files into the store at ``files``. The caller holds the instance lock
    (``bot.instance_lock``): no bot runs meanwhile. A PostgreSQL ``database`` (a URL) is
    restored into, and must be empty."""
    postgresql = is_postgres(str(database))
    path = Path(archive)
    target = Path(database).resolve() if not postgresql else _store_side(files, path)
    try:
        tar = tarfile.open(path, mode="r:")
    except (OSError, tarfile.TarError) as error:
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path), detail=str(error)) from None
    with tar, _private_temp_dir(target) as scratch:
        manifest = _read_manifest(tar, path)
        if manifest.engine != (POSTGRESQL if postgresql else SQLITE):
            raise BackupError(MSG_OTHER_ENGINE, path=str(path),
                              engine=ENGINE_NAMES[manifest.engine],
                              database=redact(str(database)))
        if postgresql:
            return _restore_pg(tar, manifest, path, str(database), Path(scratch),
                               None if files is None else Path(files))
        expected = manifest.member(DATABASE)
        if expected is None:
            raise BackupError(MSG_NOT_ARCHIVE, path=str(path), detail=f"no {DATABASE}")
        copy = Path(scratch) / DATABASE
        _extract(tar, DATABASE, path, copy)
        if _digest(copy) != expected:
            raise BackupError(MSG_DIGEST, path=str(path), member=DATABASE)
        verdict = check_integrity(copy)
        if verdict != ["ok"]:
            raise BackupError(MSG_NOT_SOUND, detail="; ".join(verdict[:3]))
        version = file_schema_version(copy)
        if version != manifest.schema_version:
            raise BackupError(MSG_DIGEST, path=str(path), member=MANIFEST)
        if version > len(MIGRATIONS):
            raise BackupError(MSG_TOO_NEW, path=str(path), version=version,
                              known=len(MIGRATIONS))
        _restore_files(tar, manifest, path, Path(scratch),
                       None if files is None else Path(files))
        kept = _move_aside(target, now)
        os.replace(copy, target)
    _sync_folder(target.parent)
    return Restored(manifest, kept)


def _store_side(files: str | Path | None, archive: Path) -> Path:
    """Where a PostgreSQL restore's scratch folder goes: beside the file store, whose files
    are then renamed into it on one file system (beside the archive with no store)."""
    if files is None:
        return archive.resolve()
    root = Path(files).resolve()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def _restore_pg(tar: tarfile.TarFile, manifest: Manifest, path: Path, url: str,
                scratch: Path, files: Path | None) -> Restored:
    """The PostgreSQL side of :func:`restore_backup`: everything verified, then
    ``pg_restore`` into the empty target, then the files into the store."""
    expected = manifest.member(PG_DATABASE)
    if expected is None or manifest.schema is None:
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path), detail=f"no {PG_DATABASE}")
    if manifest.schema_version > latest_postgres():
        raise BackupError(MSG_TOO_NEW, path=str(path), version=manifest.schema_version,
                          known=latest_postgres())
    copy = scratch / PG_DATABASE
    _extract(tar, PG_DATABASE, path, copy)
    if _digest(copy) != expected:
        raise BackupError(MSG_DIGEST, path=str(path), member=PG_DATABASE)
    checked = _check_files(tar, manifest, path, scratch, files)
    try:
        check_archive(copy)
        pg_restore(url, copy, manifest.schema, manifest.whole, scratch)
    except PgToolFailed as failed:
        raise BackupError(MSG_PG_TOOL, tool=failed.tool, detail=failed.detail) from None
    except PgNotEmpty as full:
        raise BackupError(MSG_PG_NOT_EMPTY, database=redact(url), schema=full.schema,
                          tables=", ".join(full.tables)) from None
    except PgSchemaTaken as taken:
        raise BackupError(MSG_PG_SCHEMA_TAKEN, schema=taken.schema) from None
    _put_files(checked, files)
    return Restored(manifest, None)


def _move_aside(target: Path, now: datetime) -> Path | None:
    """Rename the database being replaced, with its log (SQLite finds a log by the
    database's name, so the pair stays whole); None if there was none."""
    stamp = now.strftime("%Y%m%dT%H%M%S")
    kept = target.with_name(f"{target.name}.before-restore-{stamp}")
    moved = None
    if target.exists():
        os.replace(target, kept)
        moved = kept
    for suffix in SIDE_FILES:
        side = target.with_name(target.name + suffix)
        if side.exists():
            if moved is not None:
                os.replace(side, kept.with_name(kept.name + suffix))
            else:
                side.unlink()  # a log without its database cannot be used
    return moved


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
