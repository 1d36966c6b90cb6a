"""The supervisors' steps as one flow: its states, the drafts its steps keep, and what they
share (``handlers.meetings`` wires them).

One step group is open at a time, and its draft lives under ``user_data["meeting"]``: the
reason for an absence (:class:`AbsenceDraft`), a meeting being recorded
(:class:`MinutesDraft`), an issue raised at it (:class:`IssueDraft`), or a finding
(:class:`FindingDraft`). Each group starts by dropping whatever was there.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import Update

from bot.i18n import N_
from bot.services import meetings
from bot.services.meetings import MeetingError
from handlers.context import SunboxContext, answer_query
from handlers.flow import Flow
from handlers.flow_data import Slot, Stored
from storage.meetings import Meeting

KEY = "meeting"
MEETINGS = Flow("meetings", cancel_data="mtg:cancel", drops=(KEY,), private=True)
(REASON, REC_ATTEND, REC_MINUTES, ISSUES, ISSUE_WHO, ISSUE_CATEGORY, ISSUE_TEXT,
 FIND_CATEGORY, FIND_TEXT, FIND_CONFIRM) = MEETINGS.declare(
    "absence.reason", "attendance", "minutes", "issues", "issue.who", "issue.category",
    "issue.text", "finding.category", "finding.text", "finding.confirm")
MAX_MESSAGE = 4000
T = TypeVar("T")


@dataclass
class AbsenceDraft(Stored):
    """A supervisor who cannot attend a meeting, about to give the reason."""

    RENAMED = {"id": "meeting_id"}

    meeting_id: int = 0


@dataclass
class MinutesFile(Stored):
    """The minutes sent as a document or photo."""

    kind: str
    file_id: str
    name: str | None = None

    @classmethod
    def upgrade(cls, data: object) -> object:
        """Stored as ``[kind, file_id, name]`` before drafts were typed."""
        if isinstance(data, list) and len(data) == 3:
            return dict(zip(("kind", "file_id", "name"), data, strict=True))
        return super().upgrade(data)

    def as_tuple(self) -> tuple[str, str, str | None]:
        """As ``bot.services.meetings.record`` takes it."""
        return self.kind, self.file_id, self.name


@dataclass
class MinutesDraft(Stored):
    """A meeting being recorded: who is ticked present, the page of the list shown, the
    minutes typed so far and the file sent for them (a later one replaces it)."""

    RENAMED = {"id": "meeting_id"}

    meeting_id: int = 0
    present: list[int] = field(default_factory=list)
    page: int = 0
    minutes: list[str] = field(default_factory=list)
    file: MinutesFile | None = None


@dataclass
class CaseDraft(Stored):
    """An issue or a finding on its way to become a case: its key (filing it is idempotent)
    and its category."""

    key: str = ""
    category: str = ""


@dataclass
class IssueDraft(CaseDraft):
    """An issue raised at a held meeting, and the supervisor who raised it."""

    RENAMED = {"id": "meeting_id"}

    meeting_id: int = 0
    person: int = 0


@dataclass
class FindingDraft(CaseDraft):
    """A supervisor's own finding, and its text once written."""

    text: str = ""


ABSENCE = Slot(KEY, AbsenceDraft)
MINUTES = Slot(KEY, MinutesDraft)
ISSUE = Slot(KEY, IssueDraft)
FINDING = Slot(KEY, FindingDraft)

REFUSALS = {
    "not_found": N_("This meeting was not found; it may have been cancelled."),
    "not_supervisor": N_("Only the supervisors of this meeting's organization can answer "
                         "for it."),
    "not_organizer": N_("Only the meeting's organizer can do this."),
    "past": N_("This meeting has already taken place; answers are closed."),
    "not_yet": N_("The meeting has not taken place yet: record it afterwards."),
    "recorded": N_("This meeting has already been recorded."),
    "not_held": N_("Record the meeting first; then its issues can be filed as cases."),
    "invalid": N_("This button is no longer valid."),
}
INVALID = REFUSALS["invalid"]


def refusal_text(context: SunboxContext, error: MeetingError) -> str:
    """Why the service refused, in the presser's language."""
    return context.t(REFUSALS.get(error.reason, INVALID))


async def alert(update: Update, text: str) -> None:
    """Answer the press with ``text`` in an alert."""
    assert update.callback_query is not None
    await answer_query(update.callback_query, text, show_alert=True)


async def refused(update: Update, context: SunboxContext, error: MeetingError) -> None:
    """Answer the press with why the service refused it."""
    await alert(update, refusal_text(context, error))


async def checked(update: Update, context: SunboxContext, call: Awaitable[T]) -> T | None:
    """What a press asks of ``bot.services.meetings`` (``call``, which checks the presser
    again in the database); None, and the press answered with why, when it is refused."""
    try:
        return await call
    except MeetingError as error:
        await refused(update, context, error)
        return None


def meeting_id(update: Update) -> int:
    """The meeting of a ``mtg:<id>:<action>`` press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    return int(query.data.split(":")[1])


def typed(update: Update) -> str:
    """The message's text."""
    message = update.effective_message
    assert message is not None
    return (message.text or "").strip()


def title(context: SunboxContext, meeting: Meeting) -> str:
    """The meeting's title, in the reader's language."""
    return meetings.meeting_title(context.runtime, meeting, context.t, context.language)


def when(context: SunboxContext, meeting: Meeting) -> str:
    """When the meeting is, in the county's time."""
    return meetings.meeting_when(context.runtime, meeting, context.t)


async def length_ok(update: Update, context: SunboxContext, text: str, low: int) -> bool:
    """Between ``low`` and the configured maximum; else say so."""
    limits = context.runtime.config.limits
    if low <= len(text) <= limits.text_max_chars:
        return True
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t(
        "Please write a text of {min} to {max} characters.").format(
        min=low, max=limits.text_max_chars))
    return False


async def reply(update: Update, context: SunboxContext, text: str, markup: Any = None
                ) -> None:
    """Reply, split at line ends when too long for one message (buttons on the last)."""
    chunks: list[str] = []
    chunk = ""
    for line in text.split("\n"):
        if chunk and len(chunk) + 1 + len(line) > MAX_MESSAGE:
            chunks.append(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line[:MAX_MESSAGE]
    chunks.append(chunk)
    for index, part in enumerate(chunks):
        await MEETINGS.send(update, context, part, markup if index == len(chunks) - 1 else None)
