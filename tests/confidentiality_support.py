"""What an administrator holding only the database files could try, for the confidentiality
test (``tests/system/test_confidentiality.py``): byte encodings of an identity, the joins over every
table, and where in the files (which table, which page, free space or a stale log frame) a
byte found by searching lies.

Nothing here knows Sunbox's code: it reads the SQLite files as any tool would (a scratch
copy opened with ``sqlite3``, and the raw bytes parsed page by page).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.emulator.models import SentMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUFFIXES = ("", "-wal", "-shm")
WINDOW = 60.0  # seconds: a time this close to a case's times links a row to the case


# ============================================================================ encodings

def sqlite_varint(value: int) -> bytes:
    """SQLite's variable-length integer (big-endian groups of 7 bits, at most 9 bytes)."""
    if value < 0 or value > 0xFFFFFFFFFFFFFFFF:
        raise ValueError(value)
    if value > 0x00FFFFFFFFFFFFFF:
        out = [value & 0xFF]
        value >>= 8
        for _ in range(8):
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        return bytes(reversed(out))
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(groups))


def id_needles(value: int) -> dict[str, bytes]:
    """A Telegram id as the files could hold it: decimal text, big-endian integers of 4 and
    8 bytes, SQLite's record integers (1, 2, 3, 4, 6 or 8 bytes, big-endian: every size
    that can hold the value) and its varint (rowids, record headers)."""
    needles = {"decimal text": str(value).encode()}
    for size in (1, 2, 3, 4, 6, 8):
        if value < 1 << (8 * size):
            needles[f"big-endian {size} bytes"] = value.to_bytes(size, "big")
    needles["SQLite varint"] = sqlite_varint(value)
    # An encoding of 3 bytes or fewer is too short to mean anything in a file; ids have 9
    # digits or more, so those sizes never hold one.
    return {name: needle for name, needle in needles.items() if len(needle) >= 4}


def text_needles(text: str) -> dict[str, bytes]:
    """A name as the files could hold it: UTF-8, and JSON's \\u escapes (json.dumps)."""
    needles = {"UTF-8": text.encode()}
    escaped = json.dumps(text)[1:-1].encode()
    if escaped != needles["UTF-8"]:
        needles["JSON escapes"] = escaped
        needles["JSON escapes, upper case"] = re.sub(
            rb"\\u([0-9a-f]{4})", lambda m: b"\\u" + m.group(1).upper(), escaped)
    return needles


def find_all(data: bytes, needle: bytes) -> Iterator[int]:
    start = data.find(needle)
    while start != -1:
        yield start
        start = data.find(needle, start + 1)


def digit_bounded(data: bytes, offset: int, length: int) -> bool:
    """The decimal text at ``offset`` is a whole number (no digit either side)."""
    before = data[offset - 1:offset] if offset else b""
    after = data[offset + length:offset + length + 1]
    return not before.isdigit() and not after.isdigit()


# ============================================================================ copies

def copy_database(db: Path, into: Path) -> Path:
    """Copy the database files (``.db``, ``-wal``, ``-shm`` where they exist), as they are
    on disk; returns the copy of the main file."""
    into.mkdir(parents=True, exist_ok=True)
    target = into / db.name
    for suffix in SUFFIXES:
        source = Path(f"{db}{suffix}")
        if source.exists():
            shutil.copyfile(source, Path(f"{target}{suffix}"))
    return target


def read_files(db: Path) -> dict[str, bytes]:
    """The raw bytes of each database file present, by suffix ("", "-wal", "-shm")."""
    return {suffix: Path(f"{db}{suffix}").read_bytes() for suffix in SUFFIXES
            if Path(f"{db}{suffix}").exists()}


# ============================================================================ the pages

@dataclass
class PageInfo:
    owner: str                  # "table people", "freelist", "unaccounted" ...
    live: list[tuple[int, int]] = field(default_factory=list)  # byte ranges in use
    table: str | None = None    # the table whose b-tree (or index) the page belongs to


@dataclass
class Layout:
    """Which bytes of which file hold what, for the present state of the database."""

    page_size: int
    pages: dict[int, PageInfo]
    # file suffix -> list of (file offset, page number, is the present version of the page)
    regions: dict[str, list[tuple[int, int, bool]]]
    problems: list[str]
    present: dict[int, bytes] = field(default_factory=dict)  # page number -> its bytes now

    def page_at(self, suffix: str, offset: int) -> int | None:
        """The page number whose copy (present or stale) holds that byte of the file."""
        for start, page, _current in self.regions.get(suffix, []):
            if start <= offset < start + self.page_size:
                return page
        return None

    def live_in_present(self, page: int, needle: bytes) -> bool:
        """Whether the present version of ``page`` holds ``needle`` in a live cell."""
        data = self.present.get(page, b"")
        info = self.pages.get(page)
        return info is not None and any(
            any(a <= at < b for a, b in info.live) for at in find_all(data, needle))

    def where(self, suffix: str, offset: int) -> tuple[str, str | None]:
        """(description, table) of the byte at ``offset`` of file ``suffix``. The table is
        given when the byte is in a live cell (or header) of a present page of one of its
        b-trees (the table's or an index's): a query of that table can see it."""
        if suffix == "-shm":
            return "the shared-memory index (-shm)", None
        for start, page, current in self.regions.get(suffix, []):
            if start <= offset < start + self.page_size:
                info = self.pages.get(page)
                if suffix == "-wal":
                    place = f"WAL frame of page {page}"
                else:
                    place = f"page {page}"
                if not current:
                    return f"{place}, an old version of the page (stale)", None
                if info is None:
                    return f"{place}, beyond the database's pages", None
                within = offset - start
                live = any(a <= within < b for a, b in info.live)
                return (f"{place} ({info.owner}, {'a live cell' if live else 'free space'})",
                        info.table if live else None)
        if suffix == "-wal":
            return "WAL header or frame header", None
        return "outside any page", None


class _Image:
    def __init__(self, page_size: int, pages: dict[int, bytes], usable: int) -> None:
        self.page_size = page_size
        self.pages = pages
        self.usable = usable


def _wal_frames(wal: bytes) -> tuple[int, list[tuple[int, int, bool]], dict[int, bytes], int]:
    """Parse the WAL: (page size, frames as (offset, page, committed), the newest committed
    version of each page, database size in pages after the last commit (0: none))."""
    if len(wal) < 32:
        return 0, [], {}, 0
    magic, _version, page_size = struct.unpack(">III", wal[:12])
    if magic not in (0x377F0682, 0x377F0683):
        return 0, [], {}, 0
    salt = wal[16:24]
    frames: list[tuple[int, int, bool]] = []
    offset = 32
    pending: list[tuple[int, int]] = []
    latest: dict[int, bytes] = {}
    size = 0
    valid = True
    while offset + 24 + page_size <= len(wal):
        page, commit = struct.unpack(">II", wal[offset:offset + 8])
        if not valid or wal[offset + 8:offset + 16] != salt or page == 0:
            valid = False  # SQLite stops at the first frame of another generation
            frames.append((offset + 24, page, False))
        else:
            pending.append((offset + 24, page))
            if commit:
                for data_offset, pending_page in pending:
                    latest[pending_page] = wal[data_offset:data_offset + page_size]
                    frames.append((data_offset, pending_page, True))
                pending = []
                size = commit
        offset += 24 + page_size
    frames += [(data_offset, page, False) for data_offset, page in pending]
    return page_size, frames, latest, size


def _payload_limits(usable: int, index: bool) -> tuple[int, int]:
    x = ((usable - 12) * 64 // 255) - 23 if index else usable - 35
    m = ((usable - 12) * 32 // 255) - 23
    return x, m


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = data[offset + i]
        if i == 8:
            return (value << 8) | byte, 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + 1
    raise AssertionError("unreachable")


def _walk(image: _Image, root: int, owner: str, table: str | None,
          pages: dict[int, PageInfo], problems: list[str]) -> None:
    """Mark every page of the b-tree at ``root`` (and its overflow chains) with ``owner``
    and the byte ranges its cells use."""
    stack = [root]
    while stack:
        number = stack.pop()
        data = image.pages.get(number)
        if data is None or number in pages:
            problems.append(f"b-tree {owner}: page {number} missing or seen twice")
            continue
        header = 100 if number == 1 else 0
        kind = data[header]
        if kind not in (2, 5, 10, 13):
            problems.append(f"b-tree {owner}: page {number} has type {kind}")
            pages[number] = PageInfo(owner + " (unreadable page)")
            continue
        interior = kind in (2, 5)
        size = 12 if interior else 8
        cells = struct.unpack(">H", data[header + 3:header + 5])[0]
        info = PageInfo(owner, [(0, header + size + 2 * cells)], table)
        pages[number] = info
        if interior:
            stack.append(struct.unpack(">I", data[header + 8:header + 12])[0])
        x, m = _payload_limits(image.usable, kind in (2, 10))
        for i in range(cells):
            at = struct.unpack(">H", data[header + size + 2 * i:header + size + 2 * i + 2])[0]
            cursor = at
            if interior:
                stack.append(struct.unpack(">I", data[cursor:cursor + 4])[0])
                cursor += 4
            if kind == 5:  # interior table cell: child and key only
                _, length = _read_varint(data, cursor)
                info.live.append((at, cursor + length))
                continue
            payload, length = _read_varint(data, cursor)
            cursor += length
            if kind == 13:
                _, length = _read_varint(data, cursor)
                cursor += length
            if payload <= x:
                info.live.append((at, cursor + payload))
                continue
            k = m + ((payload - m) % (image.usable - 4))
            local = k if k <= x else m
            info.live.append((at, cursor + local + 4))
            overflow = struct.unpack(">I", data[cursor + local:cursor + local + 4])[0]
            remaining = payload - local
            while overflow and remaining > 0:
                page = image.pages.get(overflow)
                if page is None or overflow in pages:
                    problems.append(f"b-tree {owner}: overflow page {overflow} missing")
                    break
                used = min(remaining, image.usable - 4)
                pages[overflow] = PageInfo(owner + " (overflow)", [(0, 4 + used)], table)
                remaining -= used
                overflow = struct.unpack(">I", page[:4])[0]


def layout(files: dict[str, bytes], roots: list[tuple[str, str, int]]) -> Layout:
    """Where each page of the present database is, and which bytes of it are in use.

    ``roots``: (owner, table, root page) of every table and index (``sqlite_master``). The
    present version of a page is its newest committed WAL frame, else the page in the main
    file; a main-file page the WAL replaces with different bytes, and every older frame,
    are stale.
    """
    main = files.get("", b"")
    wal_page_size, frames, latest, wal_size = _wal_frames(files.get("-wal", b""))
    page_size = wal_page_size
    if len(main) >= 100:
        raw = struct.unpack(">H", main[16:18])[0]
        page_size = 65536 if raw == 1 else raw
    problems: list[str] = []
    if not page_size:
        return Layout(4096, {}, {}, ["no database header found"])
    pages: dict[int, bytes] = {}
    for i in range(len(main) // page_size):
        pages[i + 1] = main[i * page_size:(i + 1) * page_size]
    pages.update(latest)
    first = pages.get(1, b"")
    count = wal_size or (struct.unpack(">I", first[28:32])[0] if len(first) >= 32 else 0)
    count = count or len(main) // page_size
    pages = {n: d for n, d in pages.items() if n <= count}
    reserved = first[20] if len(first) > 20 else 0
    image = _Image(page_size, pages, page_size - reserved)

    info: dict[int, PageInfo] = {}
    for owner, table, root in [("schema (sqlite_master)", "sqlite_master", 1), *roots]:
        if root:
            _walk(image, root, owner, table, info, problems)
    trunk = struct.unpack(">I", first[32:36])[0] if len(first) >= 36 else 0
    while trunk and trunk in pages and trunk not in info:
        data = pages[trunk]
        info[trunk] = PageInfo("freelist trunk", [(0, 8)])
        leaves = struct.unpack(">I", data[4:8])[0]
        for i in range(min(leaves, (page_size - 8) // 4)):
            leaf = struct.unpack(">I", data[8 + 4 * i:12 + 4 * i])[0]
            info.setdefault(leaf, PageInfo("freelist leaf"))
            info[trunk].live.append((8 + 4 * i, 12 + 4 * i))
        trunk = struct.unpack(">I", data[:4])[0]
    for number in pages:
        info.setdefault(number, PageInfo("unaccounted for"))

    regions: dict[str, list[tuple[int, int, bool]]] = {"": [], "-wal": []}
    for i in range(len(main) // page_size):
        number = i + 1
        own = main[i * page_size:(i + 1) * page_size]
        current = number <= count and (number not in latest or latest[number] == own)
        regions[""].append((i * page_size, number, current))
    newest: dict[int, int] = {}  # only the newest committed frame of a page is present
    for data_offset, number, committed in frames:
        if committed:
            newest[number] = max(newest.get(number, 0), data_offset)
    for data_offset, number, committed in frames:
        current = committed and number <= count and newest.get(number) == data_offset
        regions["-wal"].append((data_offset, number, current))
    return Layout(page_size, info, regions, problems, pages)


# ============================================================================ the rows

@dataclass(frozen=True)
class RowRef:
    table: str
    key: Any

    def __str__(self) -> str:
        return f"{self.table} row {self.key}"


@dataclass
class Tables:
    """Every row of every table of a database, and its foreign keys."""

    rows: dict[str, list[tuple[RowRef, dict[str, Any]]]]
    foreign: dict[str, dict[str, tuple[str, str]]]  # table -> column -> (table, column)
    roots: list[tuple[str, str, int]]  # (owner, table, root page) of tables and indexes


def read_tables(db: Path) -> Tables:
    """Open a scratch copy (SQLite may write to what it opens) and read everything."""
    scratch = db.parent / "scratch"
    copy = copy_database(db, scratch)
    conn = sqlite3.connect(copy)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, rootpage FROM sqlite_master").fetchall()
        rows: dict[str, list[tuple[RowRef, dict[str, Any]]]] = {}
        foreign: dict[str, dict[str, tuple[str, str]]] = {}
        roots = [(f"{kind} {name}" if kind == "table" else f"index {name} of table {table}",
                  table, root) for kind, name, table, root in schema if root]
        for kind, name, _, _ in schema:
            if kind != "table":
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            try:
                cursor = conn.execute(f"SELECT rowid AS _rowid_key, * FROM {quoted}")
            except sqlite3.OperationalError:  # WITHOUT ROWID
                cursor = conn.execute(f"SELECT NULL AS _rowid_key, * FROM {quoted}")
            columns = [d[0] for d in cursor.description]
            rows[name] = []
            for number, values in enumerate(cursor.fetchall()):
                record = dict(zip(columns[1:], values[1:], strict=True))
                key = values[0] if values[0] is not None else number
                rows[name].append((RowRef(name, key), record))
            foreign[name] = {
                row[3]: (row[2], row[4] or "id")
                for row in conn.execute(f"PRAGMA foreign_key_list({quoted})")}
        return Tables(rows, foreign, roots)
    finally:
        conn.close()


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a value, and in the JSON a text holds."""
    if isinstance(value, str):
        yield value
        if value[:1] in ("{", "["):
            try:
                decoded = json.loads(value)
            except ValueError:
                return
            yield from strings_in(decoded)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings_in(v)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def json_items(value: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) pairs of the JSON a text holds, at every depth."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k), v
            yield from json_items(v)
    elif isinstance(value, list):
        for item in value:
            yield from json_items(item)


def moments_in(value: Any, around: datetime) -> Iterator[datetime]:
    """Every moment a value holds, within two days of ``around``: ISO texts with a time of
    day, and integers that read as Unix seconds or milliseconds (in JSON too: Telegram's
    ``date``). Far moments are left out: an id of 10 digits also reads as Unix seconds."""
    candidates: list[Any] = [value]
    if isinstance(value, str):
        candidates += [v for _, v in json_items(value)]
    for item in candidates:
        moment: datetime | None = None
        if isinstance(item, bool):
            continue
        if isinstance(item, int | float):
            if 1.0e9 <= item <= 4.0e9:
                moment = datetime.fromtimestamp(item, UTC)
            elif 1.0e12 <= item <= 4.0e12:
                moment = datetime.fromtimestamp(item / 1000, UTC)
            if moment is not None and abs((moment - around).total_seconds()) < 2 * 86400:
                yield moment
        elif isinstance(item, str):
            for found in re.finditer(
                    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                    r"(?:Z|[+-]\d{2}:?\d{2})?", item):
                try:
                    moment = datetime.fromisoformat(found.group(0).replace("Z", "+00:00"))
                except ValueError:
                    continue
                yield moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def finer_than_a_day(moment: datetime) -> bool:
    """A moment that is not a day's start (in UTC or in the county's time zone)."""
    return (moment.astimezone(UTC).time() != time(0)
            and moment.astimezone(SHANGHAI).time() != time(0))


# ============================================================================ the joins

@dataclass(frozen=True)
class Identity:
    """What identifies one simulated person: the Telegram id, names (first name, full
    name, username, a typed name) and a phone number."""

    telegram_id: int
    names: tuple[str, ...]
    phone: str | None = None

    def texts(self) -> dict[str, str]:
        """Each identifying text by a label ("name 'x'", "phone", "phone digits")."""
        out = {f"name {n!r}": n for n in self.names}
        if self.phone:
            out["phone"] = self.phone
            out["phone digits"] = self.phone.lstrip("+")
        return out

    def found_in_text(self, text: str) -> list[str]:
        """Which identifiers the text contains."""
        found = [label for label, needle in self.texts().items() if needle in text]
        if holds_id_text(text, self.telegram_id):
            found.append("the id as text")
        return found


def holds_id_text(text: str, telegram_id: int) -> bool:
    return re.search(rf"(?<!\d){telegram_id}(?!\d)", text) is not None


def value_holds_id(value: Any, telegram_id: int) -> str | None:
    """How a column value holds the id (an integer, text or JSON, a blob), or None."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        return "the id as an integer" if value == telegram_id else None
    if isinstance(value, bytes):
        for label, needle in id_needles(telegram_id).items():
            if needle in value:
                return f"the id ({label}) in a blob"
        return None
    if isinstance(value, str):
        return "the id as text" if any(holds_id_text(s, telegram_id)
                                       for s in strings_in(value)) else None
    return None


def value_holds_text(value: Any, text: str) -> str | None:
    """How a column value holds a text (as text or in JSON, or in a blob), or None."""
    if isinstance(value, bytes):
        for form, needle in text_needles(text).items():
            if needle in value:
                return f"{form} in a blob"
        return None
    if isinstance(value, str) and any(text in s for s in strings_in(value)):
        return "as text"
    return None


@dataclass(frozen=True)
class CaseTruth:
    """One anonymous case as the test filed it."""

    number: str                # the short number, S-YYYY-NNNNN
    reporter: Identity
    strings: tuple[str, ...]   # texts only this case's reporter wrote (its text, replies)


SKIP_TOKENS = ("created_at", "updated_at", "number", "idempotency_key")
Finding = tuple[str, str]  # (what kind of link, the details)


class Joins:
    """The joins an administrator can make over one snapshot, for the anonymous cases."""

    def __init__(self, tables: Tables, cases: list[CaseTruth], now: datetime) -> None:
        self.tables = tables
        self.cases = cases
        self.now = now
        self.records = {ref: rec for rows in tables.rows.values() for ref, rec in rows}
        self.by_key = {(ref.table, ref.key): ref for ref in self.records}
        self.case_ids = {int(ref.key): rec for ref, rec in tables.rows.get("cases", [])}
        self.case_by_number = {str(rec["number"])[:12]: case_id
                               for case_id, rec in self.case_ids.items()}
        self._refs = self._case_references()
        self._holding: dict[Any, set[RowRef]] = {}  # distinctive value -> rows holding it
        for ref in self.records:
            for token in self._tokens_of([ref]):
                self._holding.setdefault(token, set()).add(ref)

    # --- which cases a row refers to ------------------------------------------------------

    def _direct_refs(self, ref: RowRef, rec: dict[str, Any]) -> set[int]:
        refs: set[int] = set()
        if ref.table == "cases":
            refs.add(int(ref.key))
        foreign = self.tables.foreign.get(ref.table, {})
        for column, value in rec.items():
            if isinstance(value, int) and not isinstance(value, bool):
                target = foreign.get(column, (None, None))[0]
                if target == "cases" or (target is None and column == "case_id"):
                    refs.add(value)
        if rec.get("subject") == "case" and isinstance(rec.get("subject_id"), int):
            refs.add(rec["subject_id"])
        for value in rec.values():
            if not isinstance(value, str):
                continue
            for key, item in json_items(value):
                if "case" in key.lower() and isinstance(item, int) and item in self.case_ids:
                    refs.add(item)
            for text in strings_in(value):
                for number in re.findall(r"[SR]-\d{4}-\d{5}(?!\d)", text):
                    if number in self.case_by_number:
                        refs.add(self.case_by_number[number])
                for case in self.cases:
                    if case.number in self.case_by_number and any(
                            s in text for s in case.strings):
                        refs.add(self.case_by_number[case.number])
            if ref.table != "cases":
                for case_id, case_rec in self.case_ids.items():
                    token = case_rec.get("idempotency_key")
                    if isinstance(token, str) and len(token) >= 8 and token in value:
                        refs.add(case_id)
        return {r for r in refs if r in self.case_ids}

    def _case_references(self) -> dict[RowRef, set[int]]:
        refs = {ref: self._direct_refs(ref, rec) for ref, rec in self.records.items()}
        for _ in range(3):  # rows that refer to rows that refer to a case
            for table, rows in self.tables.rows.items():
                for column, (target, _col) in self.tables.foreign.get(table, {}).items():
                    if target in ("cases", "people"):
                        continue
                    for ref, rec in rows:
                        parent = self.by_key.get((target, rec.get(column)))
                        if parent is not None:
                            refs[ref] |= refs[parent]
        return refs

    def refs(self, ref: RowRef) -> set[int]:
        return self._refs.get(ref, set())

    # --- which rows hold a person -------------------------------------------------------

    def rows_of(self, person: Identity) -> dict[RowRef, list[str]]:
        """Every row that holds the person's id or one of their texts in any column, or
        refers by a foreign key to such a row; with what it holds."""
        held: dict[RowRef, list[str]] = {}
        person_ids = {int(ref.key) for ref, rec in self.tables.rows.get("people", [])
                      if rec.get("telegram_id") == person.telegram_id}
        for ref, rec in self.records.items():
            what = []
            foreign = self.tables.foreign.get(ref.table, {})
            for column, value in rec.items():
                # A person column without a declared foreign key (person_id, *_by, author_id)
                if column not in foreign and ref.table != "people" and value in person_ids \
                        and not isinstance(value, bool) and (
                            column.endswith(("person_id", "_by")) or column == "author_id"):
                    what.append(f"{column}: the person's row id (people.id)")
            for column, value in rec.items():
                how = value_holds_id(value, person.telegram_id)
                if how:
                    what.append(f"{column}: {how}")
                for label, text in person.texts().items():
                    how = value_holds_text(value, text)
                    if how:
                        what.append(f"{column}: {label} {how}")
            if what:
                held[ref] = what
        for _ in range(3):  # not through cases: a case row holding the person is the link
            keys = {(ref.table, ref.key) for ref in held}
            for table, rows in self.tables.rows.items():
                for column, (target, _col) in self.tables.foreign.get(table, {}).items():
                    if target == "cases":
                        continue
                    for ref, rec in rows:
                        if ref not in held and (target, rec.get(column)) in keys:
                            held[ref] = [f"{column}: refers to {target} row {rec[column]}, "
                                         "which holds the person"]
        return held

    def tables_holding(self, person: Identity, label: str) -> set[str]:
        """Tables with a row that holds the identifier ``label`` ("id", or a label of
        :meth:`Identity.texts`) itself."""
        texts = person.texts()
        out = set()
        for ref, rec in self.records.items():
            for value in rec.values():
                how = (value_holds_id(value, person.telegram_id) if label == "id"
                       else value_holds_text(value, texts[label]))
                if how:
                    out.add(ref.table)
                    break
        return out

    # --- the links ------------------------------------------------------------------------

    def case_moments(self, case_id: int) -> list[datetime]:
        """The case's own times: its filing, and every event of it."""
        moments = list(moments_in(self.case_ids[case_id].get("created_at"), self.now))
        for _, rec in self.tables.rows.get("case_events", []):
            if rec.get("case_id") == case_id:
                moments += moments_in(rec.get("at"), self.now)
        return moments

    def links(self) -> list[Finding]:
        """Every way found to tie an anonymous case to its reporter."""
        found: list[Finding] = []
        by_reporter: dict[int, list[CaseTruth]] = {}
        for case in self.cases:
            by_reporter.setdefault(case.reporter.telegram_id, []).append(case)
        for reporter_cases in by_reporter.values():
            person = reporter_cases[0].reporter
            mine: dict[int, str] = {}
            for case in reporter_cases:
                if case.number not in self.case_by_number:
                    found.append(("cases: missing", f"{case.number}: not in the database"))
                    continue
                mine[self.case_by_number[case.number]] = case.number
            found += self._links_of(person, mine)
            if len(mine) > 1:
                found += self._equal_between(mine)
        return found

    def _links_of(self, person: Identity, mine: dict[int, str]) -> list[Finding]:
        found: list[Finding] = []
        moments = {case_id: self.case_moments(case_id) for case_id in mine}
        for ref, what in sorted(self.rows_of(person).items(), key=lambda i: str(i[0])):
            label = f"reporter {person.telegram_id} ({', '.join(sorted(mine.values()))}): {ref}"
            held = "; ".join(what[:3])
            refs = self.refs(ref)
            if refs & set(mine):
                numbers = sorted(mine[c] for c in refs & set(mine))
                found.append((f"{ref.table}: holds the reporter and refers to the case",
                              f"{label} holds [{held}] and refers to {numbers}"))
                continue  # its times and values add nothing to that
            if refs:
                numbers = sorted(str(self.case_ids[c].get("number")) for c in refs)
                found.append((f"{ref.table}: holds the reporter and refers to a case",
                              f"{label} holds [{held}] and refers to other cases {numbers} "
                              "(a row of an anonymous reporter refers to no case)"))
            fine: list[str] = []
            near: list[str] = []
            for column, value in self.records[ref].items():
                if isinstance(value, int) and value == person.telegram_id:
                    continue
                for moment in moments_in(value, self.now):
                    if not finer_than_a_day(moment):
                        continue
                    fine.append(f"{column} = {str(value)[:40]!r}")
                    near += [f"{column} {moment.isoformat()} ~ {mine[c]} {t.isoformat()}"
                             for c, times in moments.items() for t in times
                             if abs((t - moment).total_seconds()) <= WINDOW][:1]
            if ref.table == "people" and fine:
                found.append((f"{ref.table}: holds the reporter and a time finer than a day",
                              f"{label} holds [{held}] and {', '.join(fine)}"))
            elif near:
                found.append((f"{ref.table}: holds the reporter and a time within "
                              f"{WINDOW:.0f} s of the case's",
                              f"{label} holds [{held}] and {'; '.join(near)}"))
            shared = [token for token in self._tokens_of([ref])
                      if token != person.telegram_id
                      and (self._holding[token] - {ref})
                      and all(self.refs(other) & set(mine)
                              for other in self._holding[token] - {ref})]
            if shared:
                found.append((f"{ref.table}: holds the reporter and a value only rows of the "
                              "case share (an equality join)",
                              f"{label} holds [{held}] and {shared[0]!r:.60}, found only in "
                              f"rows of the case: {sorted(map(str, self._holding[shared[0]]))[:3]}"
                              ))
        return found

    def _tokens_of(self, refs: Iterable[RowRef]) -> set[Any]:
        """Values distinctive enough for an equality join: blobs and unbroken texts of 16
        bytes or more (not JSON, not times), integers beyond 32 bits."""
        out: set[Any] = set()
        for ref in refs:
            for column, value in self.records[ref].items():
                if column in SKIP_TOKENS:
                    continue
                if isinstance(value, bytes) and len(value) >= 16:
                    out.add(value)
                elif isinstance(value, str) and len(value) >= 16 and not re.search(
                        r"\s", value) and value[:1] not in "{[" and not list(
                        moments_in(value, self.now)):
                    out.add(value)
                elif isinstance(value, int) and not isinstance(value, bool) and \
                        abs(value) >= 1 << 32 and not list(moments_in(value, self.now)):
                    out.add(value)
        return out

    def _equal_between(self, mine: dict[int, str]) -> list[Finding]:
        """A value that rows of two or more of one reporter's cases hold, and no row of any
        other case nor any row without a case (a deterministic index of the reporter, e.g. a
        hash of the chat), links those cases to each other."""
        found: list[Finding] = []
        for token, rows in self._holding.items():
            cases: set[int] = set()
            for row in rows:
                cases |= self.refs(row)
            if len(cases) > 1 and cases <= set(mine) and all(self.refs(r) for r in rows):
                found.append(("cases of one reporter share a value (an equality join)",
                              f"{sorted(mine[c] for c in cases)} all hold {token!r:.50} in "
                              f"{sorted(map(str, rows))[:3]}, and no other case does"))
        return found


# ============================================================================ the bytes

def byte_hits(files: dict[str, bytes], person: Identity, joins: Joins,
              where: Layout) -> list[Finding]:
    """Search the files for the person's id (every encoding) and texts. A hit in a live
    cell of a table (or of its index) with a row that, queried, holds that identifier is
    accounted for: :meth:`Joins.links` judged those rows. Any other hit (free space, a
    stale page or WAL frame, the -shm, a table none of whose rows holds it) is reported."""
    needles: list[tuple[str, str, bytes]] = [
        ("id", f"id {person.telegram_id} ({form})", needle)
        for form, needle in id_needles(person.telegram_id).items()]
    for label, text in person.texts().items():
        needles += [(label, f"{label} ({form})", needle)
                    for form, needle in text_needles(text).items()]
    holders = {label: joins.tables_holding(person, label)
               for label in {kind for kind, _, _ in needles}}
    found: list[Finding] = []
    for suffix, data in files.items():
        for kind, label, needle in needles:
            for offset in find_all(data, needle):
                if needle.isdigit() and not digit_bounded(data, offset, len(needle)):
                    continue
                place, table = where.where(suffix, offset)
                if table is not None and table in holders[kind]:
                    continue
                page = where.page_at(suffix, offset)
                if "stale" in place and page is not None and where.live_in_present(
                        page, needle):
                    continue  # an old copy of a page that still holds it: nothing deleted
                found.append((_byte_category(place, table),
                              f"reporter {person.telegram_id}: {label} in file "
                              f"{suffix or '.db'} at byte {offset}: {place}"
                              + (", but no row of that table holds it" if table else "")))
    return found


def _byte_category(place: str, table: str | None) -> str:
    if table is not None:
        return f"bytes: live cells of {table} whose rows do not hold it"
    owner = re.search(r"\((.*), (?:a live cell|free space)\)", place)
    if "stale" in place:
        return "bytes: an old version of a page (WAL frame or superseded page)"
    if owner:
        return f"bytes: free space of {re.sub(r' [(].*', '', owner.group(1))}"
    return f"bytes: {re.sub(r'[0-9]+', 'N', place)}"


def live_tables(files: dict[str, bytes], telegram_id: int, where: Layout) -> set[str]:
    """Tables in whose live cells one of the id's encodings is found (a check that the
    byte search sees what is there)."""
    out: set[str] = set()
    for suffix, data in files.items():
        for needle in id_needles(telegram_id).values():
            for offset in find_all(data, needle):
                if needle.isdigit() and not digit_bounded(data, offset, len(needle)):
                    continue
                table = where.where(suffix, offset)[1]
                if table is not None:
                    out.add(table)
    return out


def key_hits(files: dict[str, bytes], key: str) -> list[Finding]:
    """The sealing key (as given, and decoded) must not be in the database files."""
    forms = {"as given": key.encode()}
    try:
        raw = base64.urlsafe_b64decode(key)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) >= 16:
        forms["decoded"] = raw
    return [("the seal key in the files",
             f"the seal key ({form}) in file {suffix or '.db'} at byte {offset}")
            for suffix, data in files.items() for form, needle in forms.items()
            for offset in find_all(data, needle)]


# ============================================================================ the messages

def message_contents(message: SentMessage, files: dict[str, bytes]) -> list[str]:
    """Everything a message showed its chat: each version of its text (after edits), its
    buttons, the names of its files, and the files' bytes (as Latin-1, so any byte
    sequence, a UTF-8 name included, can be searched as text)."""
    out = [t for t in [message.text, message.source, *message.edits] if t]
    out += [f"{label} {data}" for row in message.buttons() for label, data in row]
    for key, value in json_items(json.dumps(message.raw)):
        if key in ("file_name", "caption", "title", "performer") and isinstance(value, str):
            out.append(value)
        if key == "file_id" and isinstance(value, str) and value in files:
            out.append(files[value].decode("latin-1"))
    return out


def identity_in(contents: list[str], person: Identity) -> list[str]:
    """Which of the person's identifiers the contents show (names also as UTF-8 bytes read
    as Latin-1, the way :func:`message_contents` gives file bytes)."""
    found: set[str] = set()
    for text in contents:
        found.update(person.found_in_text(text))
        for label, needle in person.texts().items():
            raw = needle.encode().decode("latin-1")
            if raw != needle and raw in text:
                found.add(f"{label} (UTF-8 bytes of a file)")
    return sorted(found)
