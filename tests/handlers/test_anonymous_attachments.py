"""Attachments of anonymous cases reach the unit without what could identify the reporter:
pictures re-encoded without metadata, every file renamed after the case number, uploaded
once and reused by file id; documents come with a warning and a keep / drop choice."""

from __future__ import annotations

import io
import logging
import struct
from datetime import timedelta

import pytest
from PIL import Image, ImageFile

from bot.config import Config
from bot.emulator.core import EmuUser, SentMessage
from handlers.jobs import SCRUB
from storage.sql import Conn
from tests.conftest import Bench, short
from tests.handlers.flows import TEXT, to_text_step
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, staffed
from tests.support import engines

CAMERA = "Sunbox Phone X1"
PDF = b"%PDF-1.4\n1 0 obj << /Author (Wang Xiulan) >> endobj\n"


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture(autouse=True)
def officials_have_started_the_bot(bench: Bench) -> None:
    bench.user(CIVIL_OFFICIAL, "赵承办")
    bench.user(CIVIL_HEAD, "钱局长")


def jpeg_with_exif(color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A photo as a phone takes it: EXIF with the camera and the GPS position."""
    image = Image.new("RGB", (64, 48), color)
    exif = Image.Exif()
    exif[0x0110] = CAMERA  # Model
    exif[0x010F] = "Sunbox Devices"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 21.0, 7.0), 3: "E", 4: (115.0, 29.0, 51.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get(0x0110) == CAMERA
    return data


def assert_no_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert dict(image.getexif()) == {}
    assert not image.info.get("exif") and not image.info.get("icc_profile")
    assert CAMERA.encode() not in data and b"Exif" not in data


def media_of(bench: Bench, chat_id: int) -> list[SentMessage]:
    return [m for m in bench.emu.sent(chat_id) if m.kind in ("photo", "document")]


async def to_attachments(bench: Bench, resident: EmuUser) -> None:
    await to_text_step(bench, resident)
    await bench.say(resident, TEXT)


async def test_anonymous_files_reach_the_unit_scrubbed_and_named_after_the_case(
    bench: Bench,
) -> None:
    resident = bench.user(2401, "王秀兰")
    await to_attachments(bench, resident)
    photo = jpeg_with_exif()
    await bench.send(resident, "send_photo", photo)
    [warned] = await bench.send(resident, "send_document", "王秀兰_低保申请表.jpg",
                                jpeg_with_exif((10, 20, 30)), "image/jpeg")
    assert "王秀兰_低保申请表.jpg" in (warned.text or "") and "匿名" in (warned.text or "")
    [warned_pdf] = await bench.send(resident, "send_document", "王秀兰_证明.pdf", PDF)
    originals = {f.file_id for f in bench.emu.files.values()}

    [dropped] = await bench.press(resident, "删除", warned)
    assert "王秀兰_低保申请表.jpg" in (dropped.text or "") and "不会发送" in (dropped.text or "")
    assert not any("new:doc:" in (d or "") for row in dropped.buttons() for _, d in row)
    await bench.press(resident, "保留", warned_pdf)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    summary = bench.find_data_message(resident, "new:confirm")
    assert "附件：2" in (summary.text or "")
    replies = await bench.tap(resident, "new:confirm")
    number = bench.number_in(replies)

    for member in (CIVIL_OFFICIAL, CIVIL_HEAD):
        sent_photo, sent_pdf = media_of(bench, member)
        assert sent_photo.kind == "photo" and sent_pdf.kind == "document"
        assert sent_photo.file_id not in originals and sent_pdf.file_id not in originals
        assert_no_metadata(bench.emu.file_bytes(sent_photo.file_id or ""))
        assert bench.emu.files[sent_photo.file_id or ""].file_name == f"{short(number)}-1.jpg"
        assert sent_pdf.raw["document"]["file_name"] == f"{short(number)}-2.pdf"
        assert bench.emu.file_bytes(sent_pdf.file_id or "") == PDF, "kept as the reporter chose"
        card = bench.emu.sent(member)[-1]
        assert number in (card.text or "") and "附件：2" in (card.text or "")
    # Uploaded once (to the reporter, who sees what goes on), then reused by file id.
    assert len(bench.emu.calls_to("sendPhoto")) == 3
    scrubbed = media_of(bench, resident)
    assert [m.kind for m in scrubbed] == ["photo", "document"]
    assert f"{short(number)}-1.jpg" in (scrubbed[0].text or "")
    assert {m.file_id for m in scrubbed} == {m.file_id for m in media_of(bench, CIVIL_OFFICIAL)}

    # Nothing of the originals is kept: not their file ids, not their names.
    stored = await bench.rows("SELECT kind, file_id, file_name FROM attachments ORDER BY id")
    assert [(kind, name) for kind, _, name in stored] == [
        ("photo", f"{short(number)}-1.jpg"), ("document", f"{short(number)}-2.pdf")]
    assert not {file_id for _, file_id, _ in stored} & originals
    assert await bench.rows("SELECT COUNT(*) FROM scrub_pending") == [(0,)]
    for (payload,) in await bench.rows("SELECT payload FROM outbox"):
        assert "王秀兰" not in payload and not any(o in payload for o in originals)
    shown = [m for m in bench.emu.all_sent() if m.chat_id != resident.id]
    assert not any("王秀兰" in (m.text or "") + str(m.raw) for m in shown)


async def test_the_cards_wait_for_the_scrubbed_files_across_a_crash(bench: Bench) -> None:
    resident = bench.user(2402, "王秀兰")
    await to_attachments(bench, resident)
    await bench.send(resident, "send_photo", jpeg_with_exif())
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:no_feedback")
    bench.emu.fail_next("getFile", 502, times=20)  # Telegram is unwell right after the commit
    replies = await bench.tap(resident, "new:confirm")
    number = bench.number_in(replies)
    assert media_of(bench, CIVIL_OFFICIAL) == [] and bench.emu.sent(CIVIL_OFFICIAL) == []
    assert await bench.rows("SELECT COUNT(*) FROM scrub_pending") == [(1,)]
    assert await bench.rows("SELECT COUNT(*) FROM attachments") == [(0,)]
    bench.emu.faults.clear()

    await bench.restart(crash=True)
    await bench.run_job(SCRUB)
    assert bench.emu.sent(CIVIL_OFFICIAL) == [], "not before the retry time"
    bench.clock.advance(timedelta(minutes=2))
    await bench.run_job(SCRUB)
    [sent_photo, card] = bench.emu.sent(CIVIL_OFFICIAL)
    assert number in (card.text or "")
    assert_no_metadata(bench.emu.file_bytes(sent_photo.file_id or ""))
    # After the crash nobody's chat was at hand but the unit's: the upload went to the first
    # official, whose card does not carry the photo twice; the other gets a copy.
    [copy, other_card] = bench.emu.sent(CIVIL_HEAD)
    assert copy.file_id == sent_photo.file_id and number in (other_card.text or "")
    assert len(bench.emu.calls_to("sendPhoto")) == 2
    assert await bench.rows("SELECT COUNT(*) FROM scrub_pending") == [(0,)]
    await bench.run_job(SCRUB)
    assert len(bench.emu.sent(CIVIL_OFFICIAL)) == 2, "done once"


async def test_a_named_reports_files_go_on_as_they_came(bench: Bench) -> None:
    reporter = bench.user(2403, "李建国")
    await to_text_step(bench, reporter, "report")
    await bench.say(reporter, "村里修路资金的账目一直没有公开。")
    photo = jpeg_with_exif()
    await bench.send(reporter, "send_photo", photo)
    [ack] = await bench.send(reporter, "send_document", "李建国_账目.pdf", PDF)
    assert not ack.buttons()[0][0][1].startswith("new:doc:"), "no warning: it is signed"
    originals = [f for f in bench.emu.files.values()]
    await bench.tap(reporter, "new:att:done")
    await bench.say(reporter, "李建国")
    await bench.send(reporter, "send_contact", "+8613800138000")
    await bench.tap(reporter, "new:head:no")
    await bench.tap(reporter, "new:confirm")
    stored = await bench.rows("SELECT kind, file_id, file_name FROM attachments ORDER BY id")
    assert stored == [("photo", originals[1].file_id, None),
                      ("document", originals[2].file_id, "李建国_账目.pdf")]
    sent_photo, sent_pdf = media_of(bench, CIVIL_OFFICIAL)
    assert (sent_photo.file_id, sent_pdf.file_id) == (originals[1].file_id, originals[2].file_id)
    assert bench.emu.file_bytes(sent_photo.file_id or "") == photo
    assert bench.emu.calls_to("getFile") == [] and media_of(bench, reporter.id) == []


async def test_a_file_added_later_to_an_anonymous_case_goes_on_scrubbed(bench: Bench) -> None:
    resident = bench.user(2404, "王秀兰")
    await to_attachments(bench, resident)
    await bench.send(resident, "send_photo", jpeg_with_exif())
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    number = bench.number_in(await bench.tap(resident, "new:confirm"))
    [(case_id,)] = await bench.rows("SELECT id FROM cases")
    [listing] = await bench.say(resident, "/my")
    await bench.press_data(resident, listing, f"my:open:{case_id}")
    await bench.tap(resident, f"my:add:{case_id}")
    before = len(bench.emu.sent(CIVIL_OFFICIAL))
    added = jpeg_with_exif((0, 90, 180))
    await bench.send(resident, "send_photo", added)
    original = next(f for f in bench.emu.files.values() if f.data == added)

    [sent_photo, note] = bench.emu.sent(CIVIL_OFFICIAL)[before:]
    assert number in (note.text or "") and sent_photo.file_id != original.file_id
    assert_no_metadata(bench.emu.file_bytes(sent_photo.file_id or ""))
    assert bench.emu.files[sent_photo.file_id or ""].file_name == f"{short(number)}-2.jpg"
    stored = await bench.rows("SELECT file_id FROM attachments ORDER BY id")
    assert len(stored) == 2 and (original.file_id,) not in stored


async def test_a_document_can_be_dropped_later_and_a_forged_choice_is_refused(
    bench: Bench,
) -> None:
    resident = bench.user(2405, "王秀兰")
    await to_attachments(bench, resident)
    [warned] = await bench.send(resident, "send_document", "王秀兰_户口本.pdf", PDF)
    await bench.send(resident, "send_photo", jpeg_with_exif())
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:no_feedback")
    await bench.press_data(resident, warned, "new:doc:drop:99")
    [(_, alert, shown)] = bench.emu.callback_answers[-1:]
    assert shown and alert == "此按钮已失效。"
    await bench.press(resident, "删除", warned)  # from the summary: still the filing's
    replies = await bench.tap(resident, "new:confirm")
    number = bench.number_in(replies)
    assert await bench.rows("SELECT kind, file_name FROM attachments") == [
        ("photo", f"{short(number)}-1.jpg")]
    assert await bench.rows("SELECT COUNT(*) FROM scrub_pending") == [(0,)]
    assert [m.kind for m in media_of(bench, CIVIL_OFFICIAL)] == ["photo"]
    assert any(number in (m.text or "") for m in bench.emu.sent(CIVIL_OFFICIAL))


async def test_a_picture_sent_as_a_document_is_scrubbed_and_one_that_cannot_be_is_dropped(
    bench: Bench,
) -> None:
    resident = bench.user(2406, "王秀兰")
    await to_attachments(bench, resident)
    await bench.send(resident, "send_document", "王秀兰_扫描.jpg", jpeg_with_exif(), "image/jpeg")
    await bench.send(resident, "send_document", "IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic" +
                     CAMERA.encode(), "image/heic")
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    number = bench.number_in(await bench.tap(resident, "new:confirm"))
    [scan] = media_of(bench, CIVIL_OFFICIAL)
    assert scan.kind == "document" and scan.raw["document"]["file_name"] == f"{short(number)}-1.jpg"
    assert_no_metadata(bench.emu.file_bytes(scan.file_id or ""))
    assert not any(CAMERA.encode() in bench.emu.file_bytes(m.file_id or "")
                   for m in bench.emu.all_sent() if m.file_id)
    assert await bench.rows("SELECT file_name FROM attachments") == [(f"{short(number)}-1.jpg",)]


async def test_a_reply_to_a_question_carries_a_scrubbed_photo(bench: Bench) -> None:
    resident = bench.user(2407, "王秀兰")
    await to_attachments(bench, resident)
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    number = bench.number_in(await bench.tap(resident, "new:confirm"))
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问是哪个村？")
    await bench.tap(resident, "rep:1:reply")
    await bench.send(resident, "send_photo", jpeg_with_exif(), caption="北关村，照片是公示栏")
    [photo] = media_of(bench, CIVIL_OFFICIAL)
    assert_no_metadata(bench.emu.file_bytes(photo.file_id or ""))
    assert bench.emu.files[photo.file_id or ""].file_name == f"{short(number)}-1.jpg"
    assert await bench.rows("SELECT state FROM cases") == [("accepted",)]


async def test_the_reporter_sees_the_caption_of_a_scrubbed_file_in_their_language(
    bench: Bench,
) -> None:
    """The caption was a literal the catalogs never took in: Chinese readers saw English."""
    resident = bench.user(2408, "王秀兰")
    await to_attachments(bench, resident)
    await bench.send(resident, "send_photo", jpeg_with_exif())
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    number = bench.number_in(await bench.tap(resident, "new:confirm"))
    [echo] = media_of(bench, resident.id)
    assert echo.text == (f"📎 {short(number)}-1.jpg："
                         "已按此形式转交，不含原文件名、拍摄位置、相机等隐藏信息。")


# --- one case that fails cannot hold back the others ------------------------------------

CRAFTED = b"CRAFTED\x00" + CAMERA.encode()


class _Crafted(ImageFile.ImageFile):
    """Stands for a crafted file on which Pillow raises what it does not document: its
    header reads as a picture, and decoding it fails with ``struct.error``."""

    format = "CRAFTED"
    format_description = "a picture Pillow fails on"

    def _open(self) -> None:
        self._size = (64, 48)
        self._mode = "RGB"
        self.tile = []

    def load(self) -> None:  # type: ignore[override]
        raise struct.error("unpack requires a buffer of 4 bytes")


@pytest.fixture
def crafted_files_break_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow (not our code) learns to open ``CRAFTED`` files, for this test only."""
    monkeypatch.setattr(Image, "ID", list(Image.ID))
    monkeypatch.setattr(Image, "OPEN", dict(Image.OPEN))
    Image.register_open(_Crafted.format, _Crafted, lambda prefix: prefix[:7] == b"CRAFTED")


async def file_held(bench: Bench, resident: EmuUser, *, crafted: bool = False) -> str:
    """File an anonymous case with one file while Telegram will not give it: it is held for
    the sweep. Returns the case number."""
    await to_attachments(bench, resident)
    if crafted:
        await bench.send(resident, "send_document", "扫描.jpg", CRAFTED, "image/jpeg")
    else:
        await bench.send(resident, "send_photo", jpeg_with_exif())
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    bench.emu.fail_next("getFile", 502)
    number = bench.number_in(await bench.tap(resident, "new:confirm"))
    return number


def cards_of(bench: Bench, number: str) -> list[SentMessage]:
    return [m for m in bench.emu.sent(CIVIL_OFFICIAL) if number in (m.text or "")]


@pytest.mark.usefixtures("crafted_files_break_pillow")
async def test_a_file_pillow_fails_on_oddly_is_dropped_and_the_next_case_still_goes(
    bench: Bench,
) -> None:
    """Pillow raised ``struct.error`` on a crafted file, which nothing caught: the sweep
    ended at that case, and neither its cards nor those of any later case ever went."""
    first = await file_held(bench, bench.user(2409, "王秀兰"), crafted=True)
    second = await file_held(bench, bench.user(2410, "李建国"))
    assert await bench.rows("SELECT COUNT(*) FROM scrub_pending") == [(2,)]
    bench.clock.advance(timedelta(minutes=2))
    await bench.run_job(SCRUB)
    [card] = cards_of(bench, first)
    assert "附件" not in (card.text or ""), "the crafted file is dropped, never forwarded"
    assert len(cards_of(bench, second)) == 1
    sent = [m for m in bench.emu.all_sent() if m.file_id]
    assert sent and not any(CAMERA.encode() in bench.emu.file_bytes(m.file_id or "")
                            for m in sent)
    assert await bench.rows("SELECT COUNT(*) FROM scrub_pending") == [(0,)]


async def test_an_unforeseen_error_on_one_case_leaves_it_for_later_and_the_others_go(
    bench: Bench, caplog: pytest.LogCaptureFixture,
) -> None:
    """An answer nobody expected (a 409: PTB's ``Conflict``) while downloading one case's
    file ended the sweep there; now that case waits for its next try and the rest go."""
    first = await file_held(bench, bench.user(2411, "王秀兰"))
    second = await file_held(bench, bench.user(2412, "李建国"))
    bench.clock.advance(timedelta(minutes=2))
    bench.emu.fail_next("getFile", 409)
    with caplog.at_level(logging.INFO):
        await bench.run_job(SCRUB)
    assert cards_of(bench, first) == [] and len(cards_of(bench, second)) == 1
    [(case_id,)] = await bench.rows("SELECT DISTINCT case_id FROM scrub_pending")
    failed = [r.getMessage() for r in caplog.records if "scrubbing its files failed" in
              r.getMessage()]
    assert failed == [f"case {case_id}: scrubbing its files failed (Conflict); tried again later"]
    assert not any("王秀兰" in r.getMessage() for r in caplog.records)
    bench.clock.advance(timedelta(minutes=10))
    await bench.run_job(SCRUB)
    assert len(cards_of(bench, first)) == 1
    assert await bench.rows("SELECT COUNT(*) FROM scrub_pending") == [(0,)]


async def test_a_case_whose_files_cannot_be_put_in_place_does_not_stop_the_sweep(
    bench: Bench,
) -> None:
    """An error outside the files themselves (here the last write of one case refused by a
    constraint) ended the sweep too: every later case waited behind it, for good."""
    first = await file_held(bench, bench.user(2413, "王秀兰"))
    second = await file_held(bench, bench.user(2414, "李建国"))
    [(first_id,)] = await bench.rows("SELECT id FROM cases WHERE number = ?", first)

    def work(conn: Conn) -> None:
        engines.refusing_trigger(conn, "keep_held", "BEFORE DELETE ON scrub_pending",
                                 f"OLD.case_id = {first_id}", "refused")
    await bench.runtime.db.write(work)
    bench.clock.advance(timedelta(minutes=2))
    await bench.run_job(SCRUB)
    assert cards_of(bench, first) == [] and len(cards_of(bench, second)) == 1
    assert await bench.rows("SELECT case_id, attempts FROM scrub_pending") == [(first_id, 2)]
    [(due,)] = await bench.rows("SELECT COUNT(*) FROM scrub_pending WHERE not_before IS NULL")
    assert due == 0, "it waits for its next try"
