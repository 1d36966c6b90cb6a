"""What a disclosure holds and the words every step shares: the sections a major decision
publishes, the rulings on a draft's opinions, the refusal every step raises, the content hash
of the published version and the end of a comment window."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from bot.durations import add_duration
from bot.i18n import N_
from bot.runtime import Runtime
from storage import disclosures as repo
from storage.disclosures import Disclosure

#: The sections a major decision (重大事项决策) must publish, as the seed requires: the
#: procedure, the basis, the principles and the stages of the decision.
MAJOR_SECTIONS = ("procedure", "basis", "principles", "stages")
SECTION_NAMES = {
    "procedure": N_("Procedure (程序)"),
    "basis": N_("Basis (依据)"),
    "principles": N_("Principles (原则)"),
    "stages": N_("Stages of the decision (环节)"),
}
#: A pre-disclosure's final version publishes how each opinion on the draft was ruled on,
#: with the reason, under this key of its sections (not editable).
RESPONSES = "responses"
ADOPTION_NAMES = {"adopted": N_("adopted"), "partly": N_("partly adopted"),
                  "not_adopted": N_("not adopted")}
TITLE_MAX = 120
BODY_MAX = 20000


class DisclosureError(Exception):
    """A step refused; ``reason`` names why (``handlers.disclosures`` words it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_hash(disclosure: Disclosure, number: str, files: Sequence[repo.File]) -> str:
    """SHA-256 over what is published, in a canonical form."""
    doc = {"number": number, "unit": disclosure.unit_id, "item": disclosure.item_id,
           "audience": disclosure.audience, "version": disclosure.version,
           "previous": disclosure.previous_id, "title": disclosure.title,
           "body": disclosure.body, "sections": disclosure.sections,
           "files": [[f.kind, f.file_unique_id or f.file_id] for f in files]}
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def comment_until(runtime: Runtime, now: datetime) -> datetime:
    """The end of a pre-disclosure's comment window opened now."""
    return add_duration(now.astimezone(runtime.config.general.tz),
                        runtime.config.disclosure.comment_window, runtime.calendar)
