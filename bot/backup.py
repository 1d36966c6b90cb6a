"""``sunbox backup`` and ``sunbox restore``: the database as a tar archive with a manifest.

The archive holds ``manifest.json`` and ``database.db``: a consistent copy made while the
bot runs (``storage.snapshot.copy_consistent``), checked with ``PRAGMA integrity_check``,
and under ``files/`` every file of the local file store (``storage.files``) that copy
refers to, named by its SHA-256 as in the store.
The manifest gives the format, Sunbox's version, the schema version, the time, and each
member's size and SHA-256. The seal key is never in it: it lives outside the data
directory, and a backup reads nothing but the database. Archives and restored databases
are written with mode 0600.

A restore verifies the manifest, every member's size and digest, the copy's integrity and
its schema version before it replaces anything, and keeps the database it replaces beside
it (``<database>.before-restore-<time>``), with its log, until the operator removes it.
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
from storage.models import to_db_time
from storage.snapshot import SIDE_FILES, check_integrity, copy_consistent, file_schema_version

FORMAT = "sunbox-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database.db"
MEMBERS = (MANIFEST, DATABASE)
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

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "sunbox_version": self.sunbox_version, "schema_version": self.schema_version,
            "created_at": self.created_at,
            "members": {m.name: {"size": m.size, "sha256": m.sha256} for m in self.members},
        }

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """The manifest, or ValueError naming what is wrong with it."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("no Sunbox manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unknown format version {data.get('format_version')!r}")
        members = data.get("members")
        version = data.get("schema_version")
        if not isinstance(members, dict) or not isinstance(version, int):
            raise ValueError("incomplete manifest")
        parsed = []
        for name, entry in members.items():
            if (not isinstance(entry, dict) or not isinstance(entry.get("size"), int)
                    or not isinstance(entry.get("sha256"), str)):
                raise ValueError(f"incomplete manifest entry {name!r}")
            parsed.append(Member(str(name), entry["size"], entry["sha256"]))
        return cls(str(data.get("created_at", "")), version,
                   str(data.get("sunbox_version", "")), tuple(parsed))

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


def _stored_files(copy: Path, files: Path | None) -> list[tuple[Member, Path]]:
    """The store's files the copy refers to, each checked against its name (one missing or
    damaged on disk is left out: the download job fetches it again while Telegram has it)."""
    if files is None:
        return []
    store = FileStore(files)
    out = []
    for digest in sorted(digests_in(copy)):
        path = store.path(digest)
        if not path.is_file():
            continue
        member = _digest(path, f"files/{digest[:2]}/{digest}")
        if member.sha256 == digest:
            out.append((member, path))
    return out


def create_backup(database: str | Path, target: str | Path, now: datetime,
                  files: str | Path | None = None) -> Manifest:
    """Write the backup archive ``target`` (replaced whole, mode 0600) of ``database``, with
    the files of the store at ``files`` that the database refers to."""
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
        stored = _stored_files(copy, None if files is None else Path(files))
        manifest = Manifest(to_db_time(now), file_schema_version(copy), bot.__version__,
                            (member, *(m for m, _ in stored)))
        text = (json.dumps(manifest.to_json(), indent=2) + "\n").encode()
        partial = Path(scratch) / "archive.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            stamp = now.timestamp()
            tar.addfile(_tar_info(MANIFEST, len(text), stamp), io.BytesIO(text))
            with copy.open("rb") as data:
                tar.addfile(_tar_info(DATABASE, member.size, stamp), data)
            for file_member, path in stored:
                with path.open("rb") as data:
                    tar.addfile(_tar_info(file_member.name, file_member.size, stamp), data)
            tar.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    note_backup(source, now)  # for sunbox status: when the last backup was written
    return manifest


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    kept: Path | None  # where the database it replaced now is


def _read_manifest(tar: tarfile.TarFile, path: Path) -> Manifest:
    names = tar.getnames()
    stored = sorted(n for n in names if FILE_MEMBER.fullmatch(n))
    if sorted(n for n in names if n not in stored) != sorted(MEMBERS):
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path),
                          detail="members " + ", ".join(sorted(names)[:5]))
    file = _member_file(tar, MANIFEST, path)
    try:
        manifest = Manifest.from_json(json.loads(file.read(1 << 20).decode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path), detail=str(error)) from None
    listed = sorted(m.name for m in manifest.members if m.name != DATABASE)
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
    stored = [m for m in manifest.members if m.name != DATABASE]
    if not stored or files is None:
        return
    checked = []
    for index, member in enumerate(stored):
        copy = scratch / f"file-{index}"
        _extract(tar, member.name, path, copy)
        digest = member.name.rsplit("/", 1)[-1]
        if _digest(copy) != Member(copy.name, member.size, member.sha256) \
                or member.sha256 != digest:
            raise BackupError(MSG_DIGEST, path=str(path), member=member.name)
        checked.append((digest, copy))
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
    (``bot.instance_lock``): no bot runs meanwhile."""
    path, target = Path(archive), Path(database).resolve()
    try:
        tar = tarfile.open(path, mode="r:")
    except (OSError, tarfile.TarError) as error:
        raise BackupError(MSG_NOT_ARCHIVE, path=str(path), detail=str(error)) from None
    with tar, _private_temp_dir(target) as scratch:
        manifest = _read_manifest(tar, path)
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
