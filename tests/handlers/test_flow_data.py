"""Drafts are dataclasses kept in user data as JSON, and what an older Sunbox stored still
loads (handlers/flow_data.py)."""

from __future__ import annotations

import json
from typing import Any

from handlers.clerk import IntakeDraft
from handlers.filing_flow import FilingDraft
from handlers.flow_data import Attachment
from handlers.meetings_flow import (
    AbsenceDraft,
    FindingDraft,
    IssueDraft,
    MinutesDraft,
    MinutesFile,
)
from handlers.official_flow import OfficialAction

#: A resident's draft as Sunbox stored it before drafts were typed (a photo, a document with
#: its Keep / Drop number, a location).
OLD_FILING: dict[str, Any] = {
    "key": "6f1c", "kind": "suggestion", "category": "low_income_support",
    "unit": "civil_affairs", "text": "村里的低保名单已经三个月没有张榜公示了。",
    "attachments": [
        {"kind": "photo", "file_id": "F1", "file_unique_id": "U1"},
        {"kind": "document", "file_id": "F2", "file_unique_id": "U2", "file_name": "a.pdf",
         "mime_type": "application/pdf", "ref": 1}],
    "doc_ref": 1, "lat": 31.2304, "lon": 121, "identity": "anonymous",
    "touched": "2026-11-25"}


def test_a_filing_draft_reads_back_what_an_older_sunbox_stored_and_writes_the_same() -> None:
    draft = FilingDraft.from_json(OLD_FILING)
    assert draft.attachments == [
        Attachment("photo", "F1", "U1"),
        Attachment("document", "F2", "U2", "a.pdf", "application/pdf", 1)]
    assert (draft.lat, draft.lon, draft.doc_ref, draft.touched) == (
        31.2304, 121.0, 1, "2026-11-25")
    # The stored form is unchanged: what reads user data as JSON (the draft expiry,
    # storage.lifecycle's stamp) sees the same keys.
    assert draft.to_json() == {**OLD_FILING, "lon": 121.0}
    assert json.loads(json.dumps(draft.to_json())) == draft.to_json()


def test_unknown_keys_are_ignored_and_missing_ones_take_their_defaults() -> None:
    draft = FilingDraft.from_json({"key": "k", "kind": "report", "colour": "blue"})
    assert draft == FilingDraft(key="k", kind="report")
    assert draft.to_json() == {"key": "k", "kind": "report", "attachments": []}
    assert FilingDraft.from_json(None) == FilingDraft()  # no draft: a fresh one
    assert FilingDraft.from_json({"expired": True}).key is None  # an expired draft's marker


def test_a_value_of_the_wrong_type_falls_back_to_the_default() -> None:
    draft = MinutesDraft.from_json({"meeting_id": True, "page": "2", "present": [3, "x", 1],
                                    "minutes": "not a list", "file": 7})
    assert draft == MinutesDraft(meeting_id=0, page=0, present=[3, 1], minutes=[], file=None)
    broken = FilingDraft.from_json({"key": "k", "attachments": [
        {"kind": "photo"}, {"kind": "photo", "file_id": "F", "file_unique_id": "U"}, 5]})
    assert broken.attachments == [Attachment("photo", "F", "U")]  # the readable one is kept


def test_a_meeting_being_recorded_reads_back_its_older_form() -> None:
    old = {"id": 5, "present": [2, 9], "page": 1, "minutes": ["议程一"],
           "file": ["document", "F9", "minutes.pdf"]}
    draft = MinutesDraft.from_json(old)
    assert draft == MinutesDraft(meeting_id=5, present=[2, 9], page=1, minutes=["议程一"],
                                 file=MinutesFile("document", "F9", "minutes.pdf"))
    assert draft.file is not None
    assert draft.file.as_tuple() == ("document", "F9", "minutes.pdf")
    photo = MinutesDraft.from_json({"id": 5, "file": ["photo", "F8", None]})
    assert photo.file == MinutesFile("photo", "F8")
    assert MinutesDraft.from_json(draft.to_json()) == draft
    assert AbsenceDraft.from_json({"id": 4}) == AbsenceDraft(meeting_id=4)
    assert IssueDraft.from_json({"id": 5, "key": "k", "person": 2, "category": "c"}) == (
        IssueDraft(key="k", category="c", meeting_id=5, person=2))
    assert FindingDraft.from_json({"key": "k", "category": "c", "text": "t"}) == (
        FindingDraft(key="k", category="c", text="t"))


def test_an_official_s_action_reads_back_its_older_form() -> None:
    answer = OfficialAction.from_json({
        "case": 3, "number": "S-2026-00003-K7P", "outcome": "explained", "text": "正在核实",
        "files": [{"kind": "photo", "file_id": "F", "file_unique_id": "U"}]})
    assert answer.files == [Attachment("photo", "F", "U")]
    assert answer.files[0].new().file_id == "F"
    assert OfficialAction.from_json({"answer": 7}) == OfficialAction(answer=7)
    more_time = OfficialAction.from_json({"case": 3, "number": "n", "deadline": "answer",
                                          "reason": "现场核实"})
    assert (more_time.deadline, more_time.reason) == ("answer", "现场核实")


def test_an_intake_draft_round_trips() -> None:
    draft = IntakeDraft(key="k", code="bind_x", channel="phone", kind="suggestion",
                        category="c", unit="u", text="t", name="王秀兰", phone=None,
                        concerns_head=False)
    stored = draft.to_json()
    assert "phone" not in stored and stored["concerns_head"] is False
    assert IntakeDraft.from_json(json.loads(json.dumps(stored, ensure_ascii=False))) == draft
