"""Plain dataclasses returned by the repositories (no Telegram, no SQL outside storage/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def to_db_time(moment: datetime) -> str:
    """Aware datetime → ISO text in UTC (sorts lexicographically)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(text: str) -> datetime:
    """ISO text from the database → aware datetime in UTC."""
    return datetime.fromisoformat(text)


def to_db_day(moment: datetime) -> str:
    """Aware datetime → its UTC day (``YYYY-MM-DD``): what ``people`` keeps of a moment, so
    that none of a person's dates matches a case's moment."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).date().isoformat()


def from_db_day(text: str) -> datetime:
    """A stored day (or an older full moment) → the start of that day, UTC."""
    day = datetime.fromisoformat(text[:10])
    return day.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    id: int
    telegram_id: int
    language: str | None
    blocked_at: datetime | None = None
    display_name: str | None = None
    telegram_language: str | None = None


@dataclass(frozen=True)
class NewAttachment:
    kind: str  # photo | document
    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class Attachment(NewAttachment):
    id: int = 0
    case_id: int = 0
    event_id: int | None = None


@dataclass(frozen=True)
class NewCase:
    """Everything needed to store a case; the repository assigns number and id."""

    kind: str
    category_id: str
    unit_id: str
    channel: str
    anonymous: bool
    reporter_person_id: int | None
    delivery_chat_id: int | None
    reporter_name: str | None
    reporter_phone: str | None
    language: str
    text: str
    created_at: datetime
    accept_due: datetime
    answer_due: datetime
    idempotency_key: str
    attachments: tuple[NewAttachment, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    concerns_unit_id: str | None = None
    bind_code: str | None = None
    # An anonymous case's delivery chat, sealed (bot/seal.py); delivery_chat_id is then None.
    delivery_sealed: bytes | None = None


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    kind: str
    category_id: str
    unit_id: str
    channel: str
    state: str
    anonymous: bool
    reporter_person_id: int | None
    delivery_chat_id: int | None
    reporter_name: str | None
    reporter_phone: str | None
    language: str
    text: str
    created_at: datetime
    updated_at: datetime
    accept_due: datetime
    answer_due: datetime
    latitude: float | None = None
    longitude: float | None = None
    concerns_unit_id: str | None = None
    transfers: int = 0
    reopened: int = 0
    accepted_by: int | None = None
    accepted_at: datetime | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    # An anonymous case's delivery chat, sealed (bot/seal.py); delivery_chat_id is then None.
    delivery_sealed: bytes | None = None

    @property
    def reachable(self) -> bool:
        """Whether the reporter can hear back (a delivery chat, plain or sealed)."""
        return self.delivery_chat_id is not None or self.delivery_sealed is not None


@dataclass(frozen=True)
class CaseEvent:
    id: int
    case_id: int
    at: datetime
    actor_person_id: int | None
    actor_role: str
    type: str
    state_before: str | None
    state_after: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    # What people wrote into it (storage.cases.TEXT_KEYS) was redacted: gone from payload.
    redacted: bool = False


@dataclass(frozen=True)
class Membership:
    person_id: int
    telegram_id: int
    unit_id: str
    role: str
    source: str


@dataclass(frozen=True)
class Answer:
    id: int
    case_id: int
    unit_id: str
    author_id: int
    outcome: str
    text: str
    redirect: str | None
    status: str
    created_at: datetime
    comment: str | None = None
    rating: str | None = None
    attachments: tuple[NewAttachment, ...] = ()


@dataclass(frozen=True)
class StaffMember:
    """Someone holding a role in a unit, as needed to write to them."""

    person_id: int
    telegram_id: int
    role: str
    unit_id: str
    language: str | None
    telegram_language: str | None
    display_name: str | None
