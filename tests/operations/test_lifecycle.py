"""The data lifecycle: retention (with the hand-moved clock), ``sunbox erase``, ``sunbox
export``, ``sunbox backup`` while the bot runs, and ``sunbox restore`` (refused while it runs).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import Config, RetentionPeriod, default_config_path, parse_config
from bot.emulator.core import Emulator, EmuUser
from bot.emulator.server import start_server
from bot.instance_lock import InstanceLock, acquire_postgres, lock_path
from handlers.jobs import RETENTION
from storage.migrations import MIGRATIONS
from tests.conftest import SHANGHAI, START, Bench
from tests.handlers.flows import TEXT, file_report, file_suggestion, to_text_step
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, FINANCE_OFFICIAL, staffed
from tests.support import engines
from tests.support.config_files import config_file as bench_config_file
from tests.system.test_crash import ROOT, Deployment

NAME, PHONE = "李建国", "+8613800138000"
REPORT_TEXT = "村里修路资金的账目一直没有公开。"



@pytest.fixture(autouse=True)
def _service_key(service_key: Path) -> Path:
    """As after the first start of ``sunbox run``: the administrators' commands find a key."""
    return service_key


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def config_file(tmp_path: Path, database: Path, **replace: str) -> Path:
    """The example configuration as a file, naming ``database``."""
    path = tmp_path / "config.toml"
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('database = "sunbox.db"', f'database = "{database.as_posix()}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


async def in_thread(argv: list[str]) -> int:
    """``sunbox …`` beside the running bench (it runs its own event loop)."""
    return await asyncio.to_thread(main, argv)


def officials(bench: Bench) -> None:
    """Officials have opened a private chat with the bot (Telegram requires it)."""
    for telegram_id, name in ((CIVIL_OFFICIAL, "赵承办"), (CIVIL_HEAD, "钱局长"),
                              (FINANCE_OFFICIAL, "周会计")):
        bench.user(telegram_id, name)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def close_case(bench: Bench, resident: EmuUser, case_id: int) -> None:
    """The civil affairs official accepts and answers; the resident is satisfied."""
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, f"case:{case_id}:accept")
    await bench.tap(official, f"case:{case_id}:answer")
    await bench.tap(official, "ans:out:resolved")
    await bench.say(official, "修路资金账目已在村务公开栏张贴。")
    await bench.tap(official, "ans:files:done")
    await bench.tap(official, "ans:send")
    await bench.tap(resident, f"rate:{case_id}:satisfied")
    await bench.tap(resident, "ratec:skip")


async def half_year_figures(bench: Bench) -> Any:
    """The assessment of the bench's half year, as of a month after its start."""
    from bot.services import assessment

    runtime = bench.runtime
    period = assessment.current_half(START, runtime.config.general.tz)
    as_of = START + timedelta(days=30)
    facts = await assessment.load(runtime, period, as_of)
    return assessment.compute(runtime.config, runtime.calendar, facts, period, as_of)


# ------------------------------------------------------------------------------ retention

def test_retention_is_configured_in_years_or_days() -> None:
    base = {"units": [{"id": "top", "name_zh": "县委", "name_en": "T"},
                      {"id": "sup", "name_zh": "纪委", "name_en": "S", "supervision": True,
                       "parent": "top"}],
            "categories": [{"id": "c", "name_zh": "类", "name_en": "C", "unit": "sup"}],
            "routing": {"above_supervision": "top"}}
    config, problems = parse_config(base)
    assert config is not None and config.retention.closed_after == RetentionPeriod(3, "y")
    config, _ = parse_config({**base, "retention": {"closed_after": "30d", "run_at": "04:00"}})
    assert config is not None and str(config.retention.closed_after) == "30d"
    assert config.retention.run_at.hour == 4
    moment = datetime(2028, 2, 29, 12, 0, tzinfo=SHANGHAI)
    assert RetentionPeriod(1, "y").cutoff(moment) == datetime(2027, 2, 28, 12, 0,
                                                              tzinfo=SHANGHAI)
    _, problems = parse_config({**base, "retention": {"closed_after": "3 years",
                                                      "run_at": "late"}})
    keys = [problem.key for problem in problems]
    assert keys == ["retention.closed_after", "retention.run_at"]
    _, problems = parse_config({**base, "retention": {"closed_after": "101y"}})
    assert [p.key for p in problems] == ["retention.closed_after"]


async def test_retention_redacts_closed_cases_once_and_keeps_the_facts(bench: Bench) -> None:
    officials(bench)
    reporter = bench.user(4101, NAME)
    await file_report(bench, reporter, NAME)
    other = bench.user(4102, "王秀兰")
    await file_suggestion(bench, other, "anonymous", photo=True)  # stays open
    await close_case(bench, reporter, 1)
    [(closed_at,)] = await bench.rows("SELECT closed_at FROM cases WHERE id = 1")
    assert closed_at is not None
    facts = "SELECT kind, category_id, unit_id, state, created_at, closed_at FROM cases"
    before = await bench.rows(facts)
    figures = await half_year_figures(bench)
    assert (figures.total.received, figures.total.rated, figures.total.satisfied) == (2, 1, 1)

    bench.clock.set(START.replace(year=START.year + 3) - timedelta(hours=1))
    await bench.run_job(RETENTION)
    assert await bench.rows("SELECT COUNT(*) FROM case_events WHERE type = 'redacted'") == [
        (0,)]
    bench.clock.set(START.replace(year=START.year + 3) + timedelta(days=1))
    await bench.run_job(RETENTION)
    await bench.run_job(RETENTION)  # idempotent: a redacted case is not taken again

    assert await bench.rows(facts) == before
    assert await half_year_figures(bench) == figures  # the assessment sees the same
    [case] = await bench.rows(
        "SELECT reporter_name, reporter_phone, text, delivery_chat_id, reporter_person_id, "
        "latitude, redacted_at IS NOT NULL, delivery_sealed FROM cases WHERE id = 1")
    assert case == ("", "", "", None, None, None, 1, None)
    assert await bench.rows("SELECT outcome, rating, text, status FROM answers") == [
        ("resolved", "satisfied", "", "sent")]
    [(payload,)] = await bench.rows(
        "SELECT payload FROM case_events WHERE type = 'redacted' AND case_id = 1")
    assert json.loads(payload)["reason"] == "retention" and NAME not in payload
    messages = await bench.rows(
        "SELECT DISTINCT payload, chat_id FROM outbox WHERE case_id = 1 AND status = 'sent'")
    assert messages == [("{}", None)]
    # The open case keeps everything.
    [(text, sealed)] = await bench.rows(
        "SELECT text, delivery_sealed FROM cases WHERE id = 2")
    assert "低保名单" in text and bench.runtime.sealer.unseal_chat(sealed) == other.id
    assert await bench.rows("SELECT COUNT(*) FROM attachments WHERE case_id = 2 "
                            "AND file_id != ''") == [(1,)]
    assert await bench.rows("SELECT case_id, COUNT(*) FROM case_events WHERE type = "
                            "'redacted' GROUP BY case_id") == [(1, 1)]
    # Nothing anywhere in the case rows still names the reporter.
    for table in ("cases", "answers", "outbox"):
        rows = await bench.rows(f"SELECT * FROM {table} WHERE case_id = 1"
                                if table != "cases" else "SELECT * FROM cases WHERE id = 1")
        assert NAME not in repr(rows) and PHONE not in repr(rows)


async def test_retention_of_a_withdrawn_case_counts_from_the_withdrawal(bench: Bench) -> None:
    officials(bench)
    resident = bench.user(4103, "王秀兰")
    await file_suggestion(bench, resident, "anonymous", photo=True)
    bench.clock.advance(timedelta(days=10))
    [listing] = await bench.say(resident, "/my")
    await bench.press_data(resident, listing, "my:open:1")
    await bench.tap(resident, "my:wd:1")
    await bench.tap(resident, "my:wdyes:1")
    assert await bench.rows("SELECT state, closed_at FROM cases") == [("withdrawn", None)]
    withdrawn = bench.clock.now()
    bench.clock.set(withdrawn.replace(year=withdrawn.year + 3) - timedelta(minutes=1))
    await bench.run_job(RETENTION)
    assert await bench.rows("SELECT redacted_at FROM cases") == [(None,)]
    bench.clock.advance(timedelta(minutes=2))
    await bench.run_job(RETENTION)
    assert await bench.rows("SELECT text, delivery_chat_id FROM cases") == [("", None)]
    assert await bench.rows("SELECT kind, file_id, file_name FROM attachments") == [
        ("photo", "", None)]


# -------------------------------------------------------------------------------- erasure

def everything_holding(database: Path | str, *needles: str | int) -> list[str]:
    """Every table.column of the database whose value contains one of ``needles``
    (text) or equals it (integer)."""
    found = []
    with engines.outside(database) as conn:
        for table in engines.tables_in(conn):
            for row in conn.execute_fetchall(f"SELECT * FROM {table}"):
                for column, value in zip(row.keys(), row, strict=True):
                    for needle in needles:
                        if (isinstance(needle, int) and value == needle) or (
                                isinstance(needle, str) and isinstance(value, str)
                                and needle in value):
                            found.append(f"{table}.{column}")
    return found


async def test_erase_removes_a_reporter_everywhere_and_keeps_the_case(
    bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """End to end: a named report and an anonymous suggestion through the emulator, an
    unfinished second report holding the name; then ``sunbox erase`` (refused while the bot
    runs), and the bot starts again on the erased database."""
    officials(bench)
    reporter = bench.user(4201, NAME)
    await to_text_step(bench, reporter, "report")  # a named report, with where they are
    await bench.say(reporter, REPORT_TEXT)
    await bench.send(reporter, "send_location", 31.2304, 121.4737)
    await bench.tap(reporter, "new:att:done")
    await bench.say(reporter, NAME)
    await bench.send(reporter, "send_contact", PHONE)
    await bench.tap(reporter, "new:head:no")
    number = bench.number_in(await bench.tap(reporter, "new:confirm"))
    assert db_rows(bench.db_path, "SELECT latitude FROM cases") == [(31.2304,)]
    await file_suggestion(bench, reporter, "anonymous", photo=False)
    await to_text_step(bench, reporter, "report")  # a draft, left unfinished
    await bench.say(reporter, "第二件事：村里的账目。")
    await bench.tap(reporter, "new:att:done")
    await bench.say(reporter, NAME)
    holding = everything_holding(bench.db_path, NAME, PHONE, reporter.id)
    assert {"cases.reporter_name", "cases.reporter_phone", "cases.delivery_chat_id",
            "people.telegram_id", "user_data.data", "outbox.chat_id"} <= set(holding)

    path = bench_config_file(tmp_path, bench.config)
    erase = ["erase", "--config", str(path), "--lang", "en", "--telegram-id", str(reporter.id)]
    lock = lock_path(str(bench.db_path))
    held = (acquire_postgres(str(bench.db_path)) if lock is None
            else InstanceLock.acquire(lock, "run"))
    with held:  # as `sunbox run` holds it
        assert await in_thread(erase) == 1
        err = capsys.readouterr().err
        assert f"pid {os.getpid()}" in err and "Nothing was erased." in err
    await bench.stop()
    assert await in_thread(erase) == 0
    out = capsys.readouterr().out
    assert "1 named case(s) kept without the reporter's identity" in out
    assert NAME not in out and PHONE not in out

    assert everything_holding(bench.db_path, NAME, PHONE, "13800138000", reporter.id,
                              REPORT_TEXT) == []
    # The report stays for the assessment, marked, without what the reporter wrote or where
    # they were; the anonymous case got no event.
    assert db_rows(bench.db_path, "SELECT number, kind, unit_id, state, reporter_name, text, "
                                  "latitude, longitude FROM cases WHERE id = 1") == [
        (number, "report", "civil_affairs", "new", "", "", None, None)]
    [(case_id, payload)] = db_rows(bench.db_path, "SELECT case_id, payload FROM case_events "
                                                  "WHERE type = 'redacted'")
    assert case_id == 1 and json.loads(str(payload)) == {
        "reason": "erase", "scope": "reporter", "case_text": True, "location": True}
    # The messages sent about the report keep neither text nor chat (as retention leaves them).
    assert set(db_rows(bench.db_path, "SELECT chat_id, payload FROM outbox WHERE case_id = 1 "
                                      "AND status = 'sent'")) == {(None, "{}")}
    assert db_rows(bench.db_path, "SELECT delivery_chat_id, text FROM cases WHERE id = 2") == [
        (None, TEXT)]
    # A second erase finds nothing left.
    assert await in_thread(erase) == 0
    assert "holds no personal data" in capsys.readouterr().out
    # The bot starts on it: the official still has the case, the person is a stranger.
    await bench.start()
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    [view, *_] = [m for m in await bench.say(official, f"/case {number}") if m.text]
    assert number in (view.text or "") and NAME not in (view.text or "")
    assert "举报人：—" in (view.text or "") and "个人信息已删除" in (view.text or "")
    await bench.say(reporter, "/my")
    assert number not in bench.last_text(reporter)


async def test_erase_of_an_official_revokes_and_empties_their_row(
    bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    officials(bench)
    official = bench.user(FINANCE_OFFICIAL, "周会计")
    await bench.say(official, "/inbox")
    await bench.stop()
    with engines.outside(bench.db_path) as conn:  # as the durable poller stores updates
        for update_id, sender in ((9001, FINANCE_OFFICIAL), (9002, CIVIL_OFFICIAL)):
            payload = {"update_id": update_id, "message": {
                "message_id": 5, "date": 0, "text": "/inbox",
                "from": {"id": sender, "is_bot": False, "first_name": "x"},
                "chat": {"id": sender, "type": "private"}}}
            conn.execute("INSERT INTO inbox_updates (update_id, payload, received_at, "
                         "handled_at) VALUES (?, ?, 'x', 'x')", (update_id, json.dumps(payload)))
    path = bench_config_file(tmp_path, bench.config)
    assert await in_thread(["erase", "--config", str(path), "--lang", "en",
                 "--telegram-id", str(FINANCE_OFFICIAL)]) == 0
    out = capsys.readouterr().out
    assert "person record is kept without name" in out and "[[members]]" in out
    assert "1 stored update(s)" in out
    assert db_rows(bench.db_path, "SELECT update_id FROM inbox_updates") == [(9002,)]
    assert db_rows(bench.db_path, f"SELECT COUNT(*) FROM people WHERE telegram_id = "
                                  f"{FINANCE_OFFICIAL}") == [(0,)]
    assert db_rows(bench.db_path,
                   "SELECT COUNT(*) FROM memberships m JOIN people p ON p.id = m.person_id "
                   "WHERE p.telegram_id < 0 AND m.revoked_at IS NULL") == [(0,)]


# --------------------------------------------------------------------------------- export

async def test_export_writes_the_persons_row_roles_cases_and_drafts(
    bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    officials(bench)
    reporter = bench.user(4301, NAME, language="en")
    number = await file_report(bench, reporter, NAME)
    anonymous = await file_suggestion(bench, reporter, "anonymous", photo=False)
    await close_case(bench, reporter, 1)
    await to_text_step(bench, reporter, "suggestion")
    await bench.say(reporter, "An unfinished draft about the village well.")
    path = bench_config_file(tmp_path, bench.config)
    out = tmp_path / "export.json"
    assert await in_thread(["export", "--config", str(path), "--lang", "en",
                 "--telegram-id", str(reporter.id), "--out", str(out)]) == 0
    assert mode(out) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["telegram_id"] == reporter.id and data["person"]["telegram_id"] == reporter.id
    assert data["roles"] == [] and data["anonymous_cases_included"] is False
    [case] = data["named_cases"]
    assert (case["number"], case["reporter_name"], case["reporter_phone"], case["state"]) == (
        number, NAME, PHONE, "closed")
    types = [event["type"] for event in case["events"]]
    assert types == ["filed", "accepted", "answered", "rated"]
    assert any(event["you"] for event in case["events"])
    assert [a["text"] for a in case["answers"]] == ["修路资金账目已在村务公开栏张贴。"]
    assert "actor_person_id" not in json.dumps(data)
    assert anonymous not in out.read_text(encoding="utf-8")
    drafts = json.dumps(data["drafts"], ensure_ascii=False)
    assert "village well" in drafts
    # To standard output, and an official's roles.
    capsys.readouterr()
    assert await in_thread(["export", "--config", str(path),
                            "--telegram-id", str(CIVIL_OFFICIAL)]) == 0
    official = json.loads(capsys.readouterr().out)
    assert {(r["unit"], r["role"]) for r in official["roles"]} >= {
        ("civil_affairs", "official")}
    assert official["named_cases"] == []


async def test_export_holds_what_the_reporter_wrote_into_the_trail_and_no_one_else(
    bench: Bench, tmp_path: Path,
) -> None:
    """A follow-up and a reply live apart from the events (``case_event_texts``): the
    export gives the person back what they wrote, and not what an official wrote."""
    officials(bench)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    reporter = bench.user(4302, NAME)
    await file_report(bench, reporter, NAME)
    [listing] = await bench.say(reporter, "/my")
    await bench.press_data(reporter, listing, "my:open:1")
    await bench.tap(reporter, "my:add:1")
    await bench.say(reporter, "补充：账本在会计家里。")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问是哪一年的账目？")
    await bench.tap(reporter, "rep:1:reply")
    await bench.say(reporter, "二〇二五年的修路款。")
    path = bench_config_file(tmp_path, bench.config)
    out = tmp_path / "export.json"
    assert await in_thread(["export", "--config", str(path), "--lang", "en",
                            "--telegram-id", str(reporter.id), "--out", str(out)]) == 0
    [case] = json.loads(out.read_text(encoding="utf-8"))["named_cases"]
    written = {event["type"]: event["payload"].get("text") for event in case["events"]
               if event["you"]}
    assert written["followup"] == "补充：账本在会计家里。"
    assert written["reply"] == "二〇二五年的修路款。"
    assert "哪一年" not in out.read_text(encoding="utf-8")


# ------------------------------------------------------------------------ backup, restore

def db_rows(database: Path | str, sql: str) -> list[tuple[object, ...]]:
    with engines.outside(database) as conn:
        return [tuple(r) for r in conn.execute_fetchall(sql)]


def read_archive(archive: Path) -> tuple[dict[str, object], bytes]:
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["database.db", "manifest.json"]
        manifest_file = tar.extractfile("manifest.json")
        data_file = tar.extractfile("database.db")
        assert manifest_file is not None and data_file is not None
        return json.loads(manifest_file.read()), data_file.read()


def test_restore_puts_a_backup_back_when_sunbox_is_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "data" / "sunbox.db"
    database.parent.mkdir()
    path = config_file(tmp_path, database)
    assert main(["members", "--config", str(path)]) == 0  # creates the database
    archive = tmp_path / "backup.tar"
    assert main(["backup", "--config", str(path), "--lang", "en", str(archive)]) == 0
    assert "integrity checked" in capsys.readouterr().out
    assert mode(archive) == 0o600
    manifest, data = read_archive(archive)
    assert manifest["schema_version"] == len(MIGRATIONS)
    members = manifest["members"]
    assert isinstance(members, dict)
    assert members["database.db"] == {"size": len(data),
                                      "sha256": hashlib.sha256(data).hexdigest()}
    # A change after the backup, then the restore takes it back.
    assert main(["revoke", "--config", str(path), "--telegram-id", "1001", "--role",
                 "official", "--unit", "finance"]) == 0
    revoked = "SELECT COUNT(*) FROM memberships WHERE revoked_at IS NOT NULL"
    assert db_rows(database, revoked) == [(1,)]
    assert main(["restore", "--config", str(path), "--lang", "en", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "Restored" in out and "before-restore" in out
    assert db_rows(database, revoked) == [(0,)]
    assert db_rows(database, "PRAGMA integrity_check") == [("ok",)]
    assert mode(database) == 0o600
    [kept] = [p for p in database.parent.iterdir() if ".before-restore-" in p.name
              and not p.name.endswith(("-wal", "-shm"))]
    assert db_rows(kept, revoked) == [(1,)]  # the replaced database, whole with its log


def test_restore_refuses_while_an_instance_holds_the_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "sunbox.db"
    path = config_file(tmp_path, database)
    assert main(["members", "--config", str(path)]) == 0
    archive = tmp_path / "backup.tar"
    assert main(["backup", "--config", str(path), str(archive)]) == 0
    lock = lock_path(str(database))
    assert lock is not None
    with InstanceLock.acquire(lock, "run"):
        assert main(["restore", "--config", str(path), "--lang", "en", str(archive)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"pid {os.getpid()}" in err
        assert "stop it first" in err
        # And a second `sunbox run` refuses to start on the same database.
        token = config_file(tmp_path, database, **{'token = ""': 'token = "1:x"'})
        assert main(["run", "--config", str(token), "--lang", "en"]) == 1
        assert f"pid {os.getpid()}" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.before-restore-*"))
    assert main(["restore", "--config", str(path), str(archive)]) == 0


def test_restore_refuses_an_altered_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "sunbox.db"
    path = config_file(tmp_path, database)
    assert main(["members", "--config", str(path)]) == 0
    archive = tmp_path / "backup.tar"
    assert main(["backup", "--config", str(path), str(archive)]) == 0
    manifest, data = read_archive(archive)
    altered = tmp_path / "altered.tar"
    with tarfile.open(altered, "w") as tar:
        for name, blob in (("manifest.json", json.dumps(manifest).encode()),
                           ("database.db", data[:-1] + b"\x01")):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    capsys.readouterr()
    assert main(["restore", "--config", str(path), "--lang", "en", str(altered)]) == 1
    assert "does not match its manifest" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.before-restore-*"))
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    assert main(["restore", "--config", str(path), "--lang", "en",
                 str(tmp_path / "junk.tar")]) == 1
    assert "is not a Sunbox backup" in capsys.readouterr().err


@pytest.fixture
async def deployment(tmp_path: Path, config: Config) -> AsyncIterator[Deployment]:
    emu = Emulator()
    server = await start_server(emu)
    deployment = Deployment(emu, server, tmp_path, config)
    try:
        yield deployment
    finally:
        await deployment.stop()
        await server.stop()


async def cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, "--lang", "en", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def file_one(d: Deployment, resident: EmuUser, text: str) -> None:
    await d.say(resident, "/new", "What would you like to file?")
    await d.press(resident, "new:kind:suggestion", "Which area")
    await d.press(resident, "new:cat:finance", "It will go to")
    await d.press(resident, "new:unit:ok", "Describe it")
    await d.say(resident, text, "photos")
    await d.press(resident, "new:att:done", "How do you want")
    await d.press(resident, "new:id:anonymous", "Please check your case")
    await d.press(resident, "new:confirm", "Your case number is")


@pytest.mark.sqlite_only  # the lock file and the file copy (tests/operations/
# test_backup_postgres.py takes PostgreSQL's backups while it runs)
async def test_a_backup_taken_while_running_restores_and_the_bot_shows_the_cases(
    deployment: Deployment, tmp_path: Path,
) -> None:
    d = deployment
    config = str(d.config)
    database = tmp_path / "sunbox.db"
    resident = d.emu.user(8101, "Resident", language_code="en")
    d.emu.user(FINANCE_OFFICIAL, "Official", language_code="en")
    await d.start()
    await file_one(d, resident, "The village accounts have not been published.")
    assert d.process is not None
    pid = d.process.pid
    holder = json.loads((tmp_path / "sunbox.db.lock").read_text())
    assert holder["pid"] == pid

    archive = tmp_path / "running.tar"
    code, out, err = await cli("backup", "--config", config, str(archive))
    assert code == 0, err
    manifest, data = read_archive(archive)
    assert manifest["schema_version"] == len(MIGRATIONS)
    assert manifest["sunbox_version"] and manifest["created_at"]
    copy = tmp_path / "copy.db"
    copy.write_bytes(data)
    assert db_rows(copy, "PRAGMA integrity_check") == [("ok",)]
    assert db_rows(copy, "SELECT COUNT(*) FROM cases") == [(1,)]
    assert mode(archive) == 0o600
    assert not list(tmp_path.glob(".sunbox-*"))  # no scratch copy left behind

    code, out, err = await cli("restore", "--config", config, str(archive))
    assert code == 1 and len(err.strip().splitlines()) == 1 and f"pid {pid}" in err

    await file_one(d, resident, "The second case, filed after the backup.")
    await d.stop()
    assert db_rows(database, "SELECT COUNT(*) FROM cases") == [(2,)]
    code, out, err = await cli("restore", "--config", config, str(archive))
    assert code == 0, err
    assert mode(database) == 0o600
    await d.start()
    await d.say(resident, "/my", "Your cases (1)")
    await d.say(resident, "/new", "What would you like to file?")  # and it works on



@pytest.mark.parametrize("command", ["erase", "export", "backup", "restore"])
def test_every_lifecycle_subcommand_has_help_and_config(
    command: str, capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "--config" in capsys.readouterr().out
