"""A document over the Bot API's 20 MB download limit could never be kept as evidence: the
upload steps that had no test of it yet refuse it with the clear message, keep waiting for
a file that fits, and store nothing of the large one (handlers/uploads.py,
``refused_too_big``). Filing and a reporter's follow-up are in
tests/operations/test_file_store.py."""

from __future__ import annotations

import pytest

from bot.config import Config
from tests.conftest import Bench
from tests.handlers.flows import file_report
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL
from tests.handlers.test_meetings import (
    ORGANIZER,
    RECORD_PROMPT,
    at,
    county,
    last_answer,
    meeting_id,
    people,
)

TOO_LARGE = "That file is too large (25.0 MB): the limit is 20 MB, so it was not added."
BIG = b"\0" * (25 * 2 ** 20)
SMALL = b"%PDF-1.4 small enough\n"


@pytest.fixture
def config(config: Config) -> Config:
    """The staffed county with its supervisors' meetings (tests/handlers/test_meetings.py)."""
    return county(config)


async def test_a_document_over_20_mb_is_refused_in_a_reply_to_the_units_question(
    bench: Bench,
) -> None:
    reporter = bench.user(6101, "李建国", language="en")
    official = bench.user(CIVIL_OFFICIAL, "Zhao", language="en")
    bench.user(CIVIL_HEAD, "Qian", language="en")
    number = await file_report(bench, reporter)
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "Which village is it?")
    await bench.tap(reporter, "rep:1:reply")
    relayed = len(bench.emu.sent(official.id))

    [reply] = await bench.send(reporter, "send_document", "video.pdf", BIG)
    assert (reply.text or "").startswith(TOO_LARGE)
    assert await bench.rows("SELECT state FROM cases") == [("info_requested",)]
    assert len(bench.emu.sent(official.id)) == relayed, "nothing reached the unit"

    [passed] = await bench.send(reporter, "send_document", "small.pdf", SMALL,
                                caption="Beiguan village")
    assert passed.text == f"Your reply about {number} was passed on to the unit.", \
        "the reply step was still waiting"
    assert await bench.rows("SELECT state FROM cases") == [("accepted",)]
    assert await bench.rows("SELECT kind, file_name FROM attachments") == [
        ("document", "small.pdf")]
    documents = [m for m in bench.emu.sent(official.id)[relayed:] if m.kind == "document"]
    assert [bench.emu.file_bytes(m.file_id or "") for m in documents] == [SMALL]


async def test_a_document_over_20_mb_is_refused_in_an_officials_answer(bench: Bench) -> None:
    reporter = bench.user(6102, "李建国", language="en")
    official = bench.user(CIVIL_OFFICIAL, "Zhao", language="en")
    bench.user(CIVIL_HEAD, "Qian", language="en")
    await file_report(bench, reporter)
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:answer")
    await bench.tap(official, "ans:out:resolved")
    await bench.say(official, "The list was posted today.")

    [refused] = await bench.send(official, "send_document", "video.pdf", BIG)
    assert (refused.text or "").startswith(TOO_LARGE)
    assert "ans:files:done" in [d for row in refused.buttons() for _, d in row]

    [received] = await bench.send(official, "send_document", "small.pdf", SMALL)
    assert (received.text or "").startswith("Received (1/"), "the large one was not counted"
    [preview] = await bench.tap(official, "ans:files:done")
    assert "(1 attachment)" in (preview.text or "")
    await bench.tap(official, "ans:send")
    assert await bench.rows("SELECT kind, file_name FROM answer_attachments") == [
        ("document", "small.pdf")]
    documents = [m for m in bench.emu.sent(reporter.id) if m.kind == "document"]
    assert [bench.emu.file_bytes(m.file_id or "") for m in documents] == [SMALL]


async def test_a_document_over_20_mb_is_refused_as_a_meetings_minutes(bench: Bench) -> None:
    users = await people(bench)
    organizer = users[ORGANIZER]
    mid = await meeting_id(bench)
    await at(bench, RECORD_PROMPT)
    await bench.tap(organizer, f"mtg:{mid}:rec")
    await bench.tap(organizer, "mtr:done")

    [refused] = await bench.send(organizer, "send_document", "video.pdf", BIG)
    assert (refused.text or "").startswith(TOO_LARGE)
    assert "mtr:min:done" in [d for row in refused.buttons() for _, d in row]
    await bench.tap(organizer, "mtr:min:done")
    assert last_answer(bench).startswith("Please send the minutes first"), \
        "the large file was not kept as the minutes"
    minutes = "SELECT status, minutes_file_kind, minutes_file_id, minutes_file_name " \
              "FROM meetings WHERE id = ?"
    [(status, kind, file_id, name)] = await bench.rows(minutes, mid)
    assert status != "held" and (kind, file_id, name) == (None, None, None)

    [received] = await bench.send(organizer, "send_document", "small.pdf", SMALL)
    assert received.text == "Received the file (small.pdf). Send more text, or press Done."
    [recorded] = await bench.tap(organizer, "mtr:min:done")
    assert "is recorded as held" in (recorded.text or "")
    [(status, kind, file_id, name)] = await bench.rows(minutes, mid)
    assert (status, kind, name) == ("held", "document", "small.pdf")
    assert bench.emu.file_bytes(file_id) == SMALL
