"""Cases that came by another channel, entered by a clerk on a resident's behalf.

The seed's paper suggestion box, the supervision phone line, visits and meetings reach
Sunbox through a clerk, who files the case for the resident. Such a case has no Telegram
account behind it yet: its receipt carries a one-time bind code (a deep link
``https://t.me/<bot>?start=bind_…``) the resident can open to follow the case in chat, and
anyone can look up a case's public status by its number.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, replace

from bot.runtime import Runtime
from bot.services import notify, routing, sealed
from bot.services.deadlines import due_times
from bot.services.roles import has_role, memberships, route_concerning_head
from storage import cases as case_repo
from storage import directory, people
from storage.models import Case, NewCase, Person
from storage.sql import Conn

__all__ = [
    "BIND_PREFIX", "CHANNELS", "KINDS", "Contact", "IntakeError", "bind", "clean_text",
    "file_for_resident", "is_clerk", "new_bind_code", "parse_contact", "public_status",
    "visible_length",
]

#: Channels a clerk enters (``chat`` is the bot itself); names in ``notify.CHANNEL_NAMES``.
CHANNELS = ("box", "phone", "visit", "meeting")
KINDS = ("suggestion", "report")
#: Every bind code starts with this; the rest is what Telegram allows in a deep link.
BIND_PREFIX = "bind_"
#: A public case number as ``storage.cases`` makes them, with its check part
#: (``S-2026-00042-K7P``); /status needs all of it.
NUMBER = re.compile(r"^[SR]-\d{4}-\d{5,6}-[A-Z0-9]{3}$")
PHONE_DIGITS = (7, 15)
_DIGITS = re.compile(r"\+?\d+")
_GAP = re.compile(r"[ \-]{1,3}")
# Words that label the phone number rather than belong to the name.
_LABELS = re.compile(r"联系电话|电话|手机|\b(?:phone|tel|mobile)\b\.?", re.IGNORECASE)
_SEPARATORS = " \t,，、;；:：/|-–—()（）"


# Bidirectional embeddings, overrides and isolates: they reorder what a reader sees (a case
# text could make its line read as something else), and are removed from stored text.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """A case text as stored: without bidirectional controls, without surrounding space."""
    return _BIDI_CONTROLS.sub("", text).strip()


def visible_length(text: str) -> int:
    """Characters that count towards the minimum length: invisible format characters
    (Unicode category Cf: zero-width spaces and joiners, direction marks) do not."""
    return sum(1 for char in text if unicodedata.category(char) != "Cf")


class IntakeError(Exception):
    """An intake or a bind that is not allowed; ``reason`` is a stable code.

    Reasons: ``not_allowed`` (no clerk role now), ``invalid`` (a draft naming unknown
    things), ``not_found`` (an unknown or used bind code), and for contact details
    ``phone_invalid``, ``two_phones``, ``name_invalid``, ``name_missing`` (a phone without
    a name), ``both_missing`` (a named report needs name and phone), ``phone_missing``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Contact:
    """A resident's contact details as the clerk took them down."""

    name: str | None
    phone: str | None


def new_bind_code() -> str:
    """A fresh, unguessable one-time code for a receipt's deep link."""
    return BIND_PREFIX + secrets.token_urlsafe(12)


async def is_clerk(runtime: Runtime, telegram_id: int) -> bool:
    """Holds the clerk role now (read from the database)."""
    return has_role(await memberships(runtime, telegram_id), "clerk")


def parse_contact(text: str, kind: str, name_max_chars: int) -> Contact:
    """A name and a phone number from what the clerk typed (``IntakeError`` if unusable).

    The phone is digits (7 to 15, spaces and dashes dropped) with an optional leading +; the
    name is what remains, without labels such as "phone" and separators. A suggestion may
    give a name alone; a phone needs a name with it. A named report needs both.
    """
    phones = _phone_spans(text)
    if len(phones) > 1:
        raise IntakeError("two_phones")
    phone = None
    rest = text
    if phones:
        start, end = phones[0]
        digits = re.sub(r"\D", "", text[start:end])
        if not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
            raise IntakeError("phone_invalid")
        phone = ("+" if text[start] == "+" else "") + digits
        rest = f"{text[:start]} {text[end:]}"
    name = " ".join(_LABELS.sub(" ", rest).split()).strip(_SEPARATORS) or None
    if name is not None and (len(name) < 2 or len(name) > name_max_chars
                             or any(ch.isdigit() for ch in name)):
        raise IntakeError("name_invalid")
    if kind == "report":
        if name is None and phone is None:
            raise IntakeError("both_missing")
        if phone is None:
            raise IntakeError("phone_missing")
    if name is None:
        raise IntakeError("name_missing" if phone else "both_missing")
    return Contact(name, phone)


def _phone_spans(text: str) -> list[tuple[int, int]]:
    """Where phone numbers are: runs of digits, grouped by spaces or dashes ("138 0013
    8000") as long as a group stays within 15 digits, so two numbers are told apart."""
    spans: list[tuple[int, int]] = []
    for match in _DIGITS.finditer(text):
        if spans:
            start, end = spans[-1]
            joined = re.sub(r"\D", "", text[start:match.end()])
            if (_GAP.fullmatch(text[end:match.start()]) and not match.group().startswith("+")
                    and len(joined) <= PHONE_DIGITS[1]):
                spans[-1] = (start, match.end())
                continue
        spans.append((match.start(), match.end()))
    return spans


def _validate(runtime: Runtime, channel: str, kind: str, category_id: str, text: str,
              name: str | None, phone: str | None) -> None:
    config = runtime.config
    if channel not in CHANNELS or kind not in KINDS:
        raise IntakeError("invalid")
    try:
        config.category(category_id)
    except KeyError as exc:
        raise IntakeError("invalid") from exc
    if not (config.limits.text_min_chars <= visible_length(text)
            and len(text) <= config.limits.text_max_chars):
        raise IntakeError("invalid")
    if kind == "report" and (not name or not phone):
        raise IntakeError("invalid")
    if phone and not name:
        raise IntakeError("invalid")


async def file_for_resident(
    runtime: Runtime, clerk: Person, channel: str, kind: str, category_id: str, text: str,
    name: str | None, phone: str | None, key: str, *, bind_code: str,
    concerns_head: bool = False, clerk_name: str | None = None,
) -> Case:
    """Store a case a clerk entered, in one transaction, and owe the unit its card.

    No Telegram account is linked yet: the resident binds one later with ``bind_code``
    (the caller keeps it with the draft, so a repeated confirmation shows the same code).
    A suggestion without a name is anonymous. The ``filed`` event names the clerk. The
    same ``key`` always yields the same case.
    """
    _validate(runtime, channel, kind, category_id, text, name, phone)
    if not bind_code.startswith(BIND_PREFIX):
        raise IntakeError("invalid")
    config = runtime.config
    now = runtime.clock.now()
    accept_due, answer_due = due_times(config, runtime.calendar, kind, category_id, now)
    unit_id, concerns = config.category(category_id).unit, None
    if kind == "report" and concerns_head:
        # A report about a unit's own leadership never goes to that unit.
        unit_id, concerns = route_concerning_head(config, unit_id)
    new = NewCase(
        kind=kind, category_id=category_id, unit_id=unit_id, channel=channel,
        anonymous=name is None, reporter_person_id=None, delivery_chat_id=None,
        reporter_name=name, reporter_phone=phone if name else None,
        language=config.general.default_language, text=text, created_at=now,
        accept_due=accept_due, answer_due=answer_due, idempotency_key=key,
        concerns_unit_id=concerns, bind_code=bind_code,
    )
    year = now.astimezone(config.general.tz).year

    def work(conn: Conn) -> Case:
        if not has_role(directory.memberships_of(conn, clerk.telegram_id), "clerk"):
            raise IntakeError("not_allowed")
        if clerk_name:
            people.set_display_name(conn, clerk.id, clerk_name)
        target = routing.staffed_target(conn, runtime, unit_id, concerns)
        case, created = case_repo.create_case(
            conn, replace(new, unit_id=target), year=year, actor_role="clerk",
            actor_person_id=clerk.id)
        if created:
            if target != unit_id:
                routing.routed_up(conn, runtime, case, unit_id, now=now)
            notify.send_cards(conn, runtime, case, (), now=now)
        return case
    return await runtime.db.write(work)


async def bind(runtime: Runtime, code: str, person: Person, chat_id: int) -> Case:
    """Link a clerk-filed case to the resident who opened its one-time code.

    The code is used up. A named case gets the person and the chat; an anonymous
    suggestion only the sealed chat, where feedback goes (the case still names nobody), and
    goes on the person's sealed list of anonymous cases.
    ``IntakeError('not_found')`` for an unknown or used code: nothing changes.
    """
    if not code.startswith(BIND_PREFIX):
        raise IntakeError("not_found")
    now = runtime.clock.now()

    def work(conn: Conn) -> Case:
        case = case_repo.by_bind_code(conn, code)
        if case is None:
            raise IntakeError("not_found")
        person_id = None if case.anonymous else person.id
        if case.anonymous:
            case_repo.bind_reporter(conn, case.id, None, None, now,
                                    sealed=runtime.sealer.seal_chat(chat_id))
            sealed.add_case(conn, runtime.sealer, person.id, case.id)
        else:
            case_repo.bind_reporter(conn, case.id, person_id, chat_id, now)
        case_repo.append_event(
            conn, case.id, now, person_id, "reporter", "bound", case.state, case.state)
        bound = case_repo.get_case(conn, case.id)
        assert bound is not None
        return bound
    return await runtime.db.write(work)


async def public_status(runtime: Runtime, number: str) -> Case | None:
    """A case by its whole public number, check part included (``None`` if unknown, not
    a number, or without the right check part: all answered alike, so that nobody can walk
    through the numbers). The caller limits how often a person may ask
    (``[limits] status_per_hour``).

    The caller shows only what is public: number, kind, unit, state and deadlines.
    """
    number = number.strip().upper()
    if not NUMBER.match(number):
        return None
    return await runtime.db.read(case_repo.get_case_by_number, number)
