"""Evidence kept locally (issue 19): attachments are downloaded after the commit into a
content-addressed store (``[storage] files``), an anonymous case's store holds only the
scrubbed copy, the store goes into ``sunbox backup`` and back with ``sunbox restore``,
retention deletes a file nothing refers to, and a document over the Bot API's 20 MB
download limit is refused at every upload, and /case resends a forgotten file id from the store."""

from __future__ import annotations

import asyncio
import hashlib
import io
import shutil
import stat
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.cli import main
from bot.config import Config, parse_config
from bot.emulator.core import EmuUser
from handlers.jobs import KEEP_FILES, RETENTION, SCRUB
from tests.conftest import START, Bench
from tests.handlers.flows import to_text_step
from tests.handlers.staff import AGRI_OFFICIAL, CIVIL_HEAD, CIVIL_OFFICIAL, staffed
from tests.handlers.test_anonymous_attachments import CAMERA, jpeg_with_exif
from tests.operations.test_lifecycle import close_case
from tests.support import engines
from tests.support.config_files import config_file as bench_config_file

NAME = "李建国"
REPORT = "村里修路资金的账目一直没有公开。"


@pytest.fixture(autouse=True)
def _service_key(service_key: Path) -> Path:
    return service_key


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture(autouse=True)
def officials_have_started_the_bot(bench: Bench) -> None:
    bench.user(CIVIL_OFFICIAL, "赵承办")
    bench.user(CIVIL_HEAD, "钱局长")


def store(bench: Bench) -> Path:
    return Path(bench.config.storage.files_dir(bench.config.general.database))


def stored(bench: Bench) -> dict[str, bytes]:
    """Every file in the store, by name."""
    root = store(bench)
    return {p.name: p.read_bytes() for p in root.glob("*/*") if p.is_file()} \
        if root.exists() else {}


async def named_report_with_photo(bench: Bench, reporter: EmuUser, photo: bytes) -> None:
    await to_text_step(bench, reporter, "report")
    await bench.say(reporter, REPORT)
    await bench.send(reporter, "send_photo", photo)
    await bench.tap(reporter, "new:att:done")
    await bench.say(reporter, NAME)
    await bench.send(reporter, "send_contact", "+8613800138000")
    await bench.tap(reporter, "new:head:no")
    await bench.tap(reporter, "new:confirm")


async def test_a_named_reports_photo_lands_in_the_store_under_its_digest(bench: Bench) -> None:
    reporter = bench.user(2701, NAME)
    photo = jpeg_with_exif()
    await named_report_with_photo(bench, reporter, photo)
    assert stored(bench) == {}, "downloaded after the commit, by the job"
    await bench.run_job(KEEP_FILES)
    digest = hashlib.sha256(photo).hexdigest()
    assert stored(bench) == {digest: photo}
    path = store(bench) / digest[:2] / digest
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    [(unique,)] = await bench.rows("SELECT file_unique_id FROM attachments")
    assert await bench.rows("SELECT file_unique_id, sha256, size FROM stored_files") == [
        (unique, digest, len(photo))]
    downloads = len(bench.emu.calls_to("getFile"))
    await bench.run_job(KEEP_FILES)  # nothing more to fetch
    assert len(bench.emu.calls_to("getFile")) == downloads


async def test_a_meetings_minutes_are_kept_too(bench: Bench) -> None:
    """Minutes carry only a file id: the job learns their file_unique_id from getFile."""
    minutes = b"%PDF-1.4 minutes of the supervisors' meeting"
    sent = bench.emu.store_file("document", minutes, file_name="minutes.pdf",
                                mime_type="application/pdf")
    [(unit,)] = await bench.rows("SELECT id FROM units ORDER BY id LIMIT 1")

    def recorded(conn: Any) -> None:  # as handlers/meetings.py records them
        conn.execute(
            "INSERT INTO meetings (schedule_key, slot, unit_id, kind, starts_at, place, "
            "organizer, status, created_at, minutes_file_kind, minutes_file_id) "
            "VALUES ('m', '2026-12-01', ?, 'monthly', '2026-12-01 09:30', 'here', 'head:x', "
            "'held', '2026-12-01 12:00', 'document', ?)", (unit, sent.file_id))

    await bench.runtime.db.write(recorded)
    await bench.run_job(KEEP_FILES)
    assert stored(bench) == {hashlib.sha256(minutes).hexdigest(): minutes}
    kept = "SELECT minutes_file_unique_id FROM meetings WHERE schedule_key = 'm'"
    assert await bench.rows(kept) == [(sent.file_unique_id,)]


async def test_a_card_whose_file_id_telegram_forgot_is_sent_from_the_store(
    bench: Bench,
) -> None:
    """File ids expire and belong to one bot token: after a token change the transfer's card
    still carries the photo, uploaded from the store, and later cards use the new id."""
    reporter = bench.user(2707, NAME)
    agri = bench.user(AGRI_OFFICIAL, "郑农技")
    photo = jpeg_with_exif((30, 30, 200))
    await named_report_with_photo(bench, reporter, photo)
    await bench.run_job(KEEP_FILES)
    [(old_id,)] = await bench.rows("SELECT file_id FROM attachments")
    del bench.emu.files[old_id]  # what a new token (or time) does to the old id
    civil = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(civil, "case:1:transfer")
    await bench.tap(civil, "trf:tree:county:0")
    await bench.tap(civil, "trf:pick:agriculture")
    await bench.say(civil, "属于惠农补贴范围。")
    [sent] = [m for m in bench.emu.sent(agri.id) if m.kind == "photo"]
    assert sent.file_id != old_id and bench.emu.file_bytes(sent.file_id or "") == photo
    assert await bench.rows("SELECT file_id FROM attachments") == [(sent.file_id,)]
    assert await bench.rows("SELECT COUNT(*) FROM outbox WHERE status = 'failed'") == [(0,)]


async def test_an_anonymous_cases_store_holds_only_the_scrubbed_copy(bench: Bench) -> None:
    resident = bench.user(2702, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, "路灯坏了很久，晚上出行不安全。")
    photo = jpeg_with_exif()
    await bench.send(resident, "send_photo", photo)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    await bench.tap(resident, "new:confirm")
    await bench.run_job(SCRUB)
    await bench.run_job(KEEP_FILES)
    [(file_id,)] = await bench.rows("SELECT file_id FROM attachments")
    scrubbed = bench.emu.file_bytes(file_id)
    files = stored(bench)
    assert files == {hashlib.sha256(scrubbed).hexdigest(): scrubbed}
    [data] = files.values()
    assert data != photo and CAMERA.encode() not in data and b"Exif" not in data
    assert dict(Image.open(io.BytesIO(data)).getexif()) == {}


async def test_a_stored_file_survives_backup_and_restore(
    bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    reporter = bench.user(2703, NAME)
    photo = jpeg_with_exif((10, 200, 30))
    await named_report_with_photo(bench, reporter, photo)
    await bench.run_job(KEEP_FILES)
    digest = hashlib.sha256(photo).hexdigest()
    path = bench_config_file(tmp_path, bench.config)
    archive = tmp_path / "backup.tar"
    assert await asyncio.to_thread(
        main, ["backup", "--config", str(path), "--lang", "en", str(archive)]) == 0
    assert "It holds 1 attachment from the file store" in capsys.readouterr().out
    with tarfile.open(archive) as tar:
        member = f"files/{digest[:2]}/{digest}"
        copy = "database.pgdump" if engines.is_postgres(bench.db_path) else "database.db"
        assert sorted(tar.getnames()) == sorted([copy, member, "manifest.json"])
        extracted = tar.extractfile(member)
        assert extracted is not None and extracted.read() == photo
    await bench.stop()
    shutil.rmtree(store(bench))  # the disk with the store is lost
    if engines.is_postgres(bench.db_path):  # restored only into an empty database
        engines.empty_again(str(bench.db_path))
    assert main(["restore", "--config", str(path), "--lang", "en", str(archive)]) == 0
    assert stored(bench) == {digest: photo}
    assert stat.S_IMODE(store(bench).stat().st_mode) == 0o700
    assert stat.S_IMODE((store(bench) / digest[:2] / digest).stat().st_mode) == 0o600


async def test_a_restore_refuses_a_stored_file_that_was_altered(
    bench: Bench, tmp_path: Path,
) -> None:
    reporter = bench.user(2704, NAME)
    photo = jpeg_with_exif((90, 20, 30))
    await named_report_with_photo(bench, reporter, photo)
    await bench.run_job(KEEP_FILES)
    path = bench_config_file(tmp_path, bench.config)
    archive = tmp_path / "backup.tar"
    assert await asyncio.to_thread(main, ["backup", "--config", str(path), str(archive)]) == 0
    await bench.stop()
    altered = tmp_path / "altered.tar"
    with tarfile.open(archive) as source, tarfile.open(altered, "w") as target:
        for info in source.getmembers():
            data = source.extractfile(info)
            assert data is not None
            content = data.read()
            if info.name.startswith("files/"):
                content = content[:-1] + bytes([content[-1] ^ 1])
            target.addfile(info, io.BytesIO(content))
    shutil.rmtree(store(bench))
    assert main(["restore", "--config", str(path), "--lang", "en", str(altered)]) == 1
    assert stored(bench) == {}


async def test_retention_deletes_a_file_no_case_refers_to(bench: Bench) -> None:
    reporter = bench.user(2705, NAME)
    await named_report_with_photo(bench, reporter, jpeg_with_exif())
    await bench.run_job(KEEP_FILES)
    assert len(stored(bench)) == 1
    await close_case(bench, reporter, 1)
    bench.clock.set(START.replace(year=START.year + 3) + timedelta(days=1))
    await bench.run_job(RETENTION)
    assert stored(bench) == {}
    assert await bench.rows("SELECT COUNT(*) FROM stored_files") == [(0,)]


async def test_a_document_over_20_mb_is_refused_at_filing(bench: Bench) -> None:
    resident = bench.user(2706, "王秀兰", language="en")
    await to_text_step(bench, resident)
    await bench.say(resident, "The street lights have been broken for weeks.")
    [reply] = await bench.send(resident, "send_document", "video.pdf", b"\0" * (25 * 2 ** 20))
    assert "too large (25.0 MB): the limit is 20 MB, so it was not added" in (reply.text or "")
    [reply] = await bench.send(resident, "send_document", "small.pdf", b"%PDF-1.4\n")
    assert "Received (1/" in (reply.text or ""), "the large one was not counted"


def test_a_self_hosted_bot_api_server_has_no_download_limit(config: Config) -> None:
    assert config.telegram.download_limit == 20 * 2 ** 20
    local = config.telegram.__class__(api_base_url="http://127.0.0.1:8081")
    assert local.download_limit is None


def test_postgresql_needs_storage_files() -> None:
    base = {"units": [{"id": "top", "name_zh": "县委", "name_en": "T"},
                      {"id": "sup", "name_zh": "纪委", "name_en": "S", "supervision": True,
                       "parent": "top"}],
            "categories": [{"id": "c", "name_zh": "类", "name_en": "C", "unit": "sup"}],
            "routing": {"above_supervision": "top"},
            "general": {"database": "postgresql://sunbox@db/sunbox"}}
    _, problems = parse_config(base, env={"SUNBOX_SEAL_KEY": "x" * 44})
    assert [p.key for p in problems] == ["storage.files"]
    config, problems = parse_config({**base, "storage": {"files": "/srv/sunbox/files"}},
                                    env={"SUNBOX_SEAL_KEY": "x" * 44})
    assert problems == [] and config is not None
    assert config.storage.files_dir(config.general.database) == Path("/srv/sunbox/files")


async def test_a_document_over_20_mb_is_refused_as_a_follow_up(bench: Bench) -> None:
    """Every upload path refuses what could never be kept, not only filing."""
    reporter = bench.user(2708, NAME, language="en")
    await named_report_with_photo(bench, reporter, jpeg_with_exif())
    [(case_id,)] = await bench.rows("SELECT id FROM cases")
    [listing] = await bench.say(reporter, "/my")
    await bench.press_data(reporter, listing, f"my:open:{case_id}")
    await bench.tap(reporter, f"my:add:{case_id}")
    [reply] = await bench.send(reporter, "send_document", "video.pdf", b"\0" * (25 * 2 ** 20))
    assert "too large (25.0 MB): the limit is 20 MB, so it was not added" in (reply.text or "")
    [added] = await bench.send(reporter, "send_document", "small.pdf", b"%PDF-1.4\n")
    assert (added.text or "").startswith("Added to "), "still waiting for the addition"
    assert await bench.rows(
        "SELECT file_name FROM attachments ORDER BY id") == [(None,), ("small.pdf",)]


async def test_case_shows_a_photo_whose_file_id_telegram_forgot_from_the_store(
    bench: Bench,
) -> None:
    """After a token change /case still shows the official the case's photo."""
    reporter = bench.user(2709, NAME)
    civil = bench.user(CIVIL_OFFICIAL, "赵承办")
    photo = jpeg_with_exif((200, 30, 30))
    await named_report_with_photo(bench, reporter, photo)
    await bench.run_job(KEEP_FILES)
    [(old_id,)] = await bench.rows("SELECT file_id FROM attachments")
    [(number,)] = await bench.rows("SELECT number FROM cases")
    del bench.emu.files[old_id]
    before = len(bench.emu.sent(civil.id))
    await bench.say(civil, f"/case {number}")
    [shown] = [m for m in bench.emu.sent(civil.id)[before:] if m.kind == "photo"]
    assert shown.file_id != old_id and bench.emu.file_bytes(shown.file_id or "") == photo
    assert await bench.rows("SELECT file_id FROM attachments") == [(shown.file_id,)]
