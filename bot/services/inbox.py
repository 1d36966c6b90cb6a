"""An official's inbox and opening one case, as far as the reader is entitled.

Roles are read from the database on every call: whatever a button or a command names, the
reader's rights are decided now (``bot.services.roles``). A case the reader may not see is
reported exactly like a case that does not exist, so numbers cannot be probed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.runtime import Runtime
from bot.services import case_states, cases, roles
from storage import calendar as calendar_repo
from storage import cases as case_repo
from storage import people
from storage.models import Attachment, Case, CaseEvent, Membership, Person
from storage.sql import Conn

# Open cases waiting for the unit (answered ones wait for the reporter's rating): the state
# machine's ``LIVE``.
INBOX_STATES = case_states.LIVE
FILTERS = ("all", "new", "accepted", "overdue")
FILTER_STATES = {
    "all": INBOX_STATES,
    "new": ("new",),
    # accepted and still in work: waiting for the reporter, or reopened after an answer
    "accepted": ("accepted", "info_requested", "reopened"),
    "overdue": INBOX_STATES,
}
# Events that are not a step of the case (a refused press) stay out of the history.
HIDDEN_EVENTS = ("refused",)
# Actor roles whose person may be named to those who see the case.
NAMED_ACTOR_ROLES = ("official", "head", "supervision", "clerk", "admin")
# A case number, with or without its check part: staff may type the short form.
NUMBER = re.compile(r"^[SR]-\d{4}-\d{5,6}(-[A-Z0-9]{3})?$")


@dataclass(frozen=True)
class InboxPage:
    """One page of a reader's inbox under a filter, with the count of every filter."""

    filter: str
    cases: list[Case]
    page: int
    pages: int
    counts: dict[str, int]
    now: datetime
    #: Cases whose deadline was counted on Monday–Friday in a year the calendar does not
    #: cover, marked for review (``[calendar] unknown_years = "flag"``).
    review: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CaseView:
    """One case with what the reader may see of it.

    ``as_reporter``: the reader filed it and sees the reporter's view only. Otherwise the
    reader sees the unit's card; ``handles``: may act on it; ``show_identity``: may see a
    named reporter's name and phone; ``actors``: display names of staff who acted on it.
    """

    case: Case
    events: list[CaseEvent]
    attachments: list[Attachment]
    as_reporter: bool = False
    handles: bool = False
    show_identity: bool = False
    actors: dict[int, str] = field(default_factory=dict)


def is_staff(memberships: list[Membership]) -> bool:
    """Holds a role that has an inbox."""
    return any(m.role in roles.STAFF_ROLES for m in memberships)


def due(case: Case) -> tuple[str, datetime]:
    """The deadline that matters now: ``("accept", …)`` for new cases, else the answer."""
    if case.state == "new":
        return "accept", case.accept_due
    return "answer", case.answer_due


def is_overdue(case: Case, now: datetime) -> bool:
    return due(case)[1] < now


async def inbox_page(
    runtime: Runtime, memberships: list[Membership], filter_name: str, page: int
) -> InboxPage:
    """The open cases the reader sees under a filter, soonest deadline first, one page.

    A page past the end (cases closed meanwhile) shows the last page.
    """
    if filter_name not in FILTERS:
        filter_name = "all"
    units = roles.visible_units(runtime.config, memberships)
    # Reports about the reader's own unit's leadership are not even listed (``roles.sees``).
    concerned, handled = roles.concerned_units(memberships), roles.handled_units(memberships)
    size = runtime.config.limits.page_size
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[dict[str, int], list[Case], int, int, set[int]]:
        counts: dict[str, int] = {}
        for name in FILTERS:
            _, counts[name] = case_repo.open_cases_of_units(
                conn, units, FILTER_STATES[name], 0, 0,
                overdue_at=now if name == "overdue" else None,
                not_concerning=concerned, unless_of=handled,
            )
        pages = max(1, math.ceil(counts[filter_name] / size))
        shown = min(max(page, 0), pages - 1)
        items, _ = case_repo.open_cases_of_units(
            conn, units, FILTER_STATES[filter_name], shown * size, size,
            overdue_at=now if filter_name == "overdue" else None,
            not_concerning=concerned, unless_of=handled,
        )
        review = calendar_repo.flagged_cases(conn, (case.id for case in items))
        return counts, items, shown, pages, review
    counts, items, shown, pages, review = await runtime.db.read(work)
    return InboxPage(filter_name, items, shown, pages, counts, now, frozenset(review))


def parse_number(text: str) -> str | None:
    """A case number as typed (any case, surrounding spaces), or None if malformed."""
    number = text.strip().upper()
    return number if NUMBER.match(number) else None


def _has_check(number: str) -> bool:
    match = NUMBER.match(number)
    return bool(match and match.group(1))


async def open_case(
    runtime: Runtime, person: Person, chat_id: int, *, case_id: int | None = None,
    number: str | None = None,
) -> CaseView | None:
    """A case by id or number as the reader may see it; None: "not found" to this reader.

    Staff who see the case get the unit's view; otherwise its reporter gets theirs; anyone
    else gets nothing, the same as for a case that does not exist.
    """
    memberships = await roles.memberships(runtime, person.telegram_id)

    def find(conn: Conn) -> Case | None:
        if case_id is not None:
            return case_repo.get_case(conn, case_id)
        if number is not None and _has_check(number):
            return case_repo.get_case_by_number(conn, number)
        if number is not None:
            # The short form: a reader who neither sees the case nor filed it is told "not
            # found" below, exactly as for a number that does not exist.
            return case_repo.get_case_by_short_number(conn, number)
        return None

    case = await runtime.db.read(find)
    if case is None:
        return None
    if not roles.sees(runtime.config, memberships, case):
        try:
            case = await cases.own_case(runtime, case.id, person, chat_id)
        except cases.CaseError:
            return None
        events, attachments = await cases.history(runtime, case)
        return CaseView(case, events, attachments, as_reporter=True)
    seen = case

    def work(conn: Conn) -> tuple[dict[int, str], list[Attachment], list[CaseEvent]]:
        events = [e for e in case_repo.events_of(conn, seen.id)
                  if e.type not in HIDDEN_EVENTS]
        attachments = case_repo.attachments_of(conn, seen.id)
        actors: dict[int, str] = {}
        for event in events:
            person_id = event.actor_person_id
            if (person_id is None or person_id in actors
                    or event.actor_role not in NAMED_ACTOR_ROLES):
                continue
            actor = people.get_person(conn, person_id)
            if actor is not None and actor.display_name:
                actors[person_id] = actor.display_name
        return actors, attachments, events
    actors, attachments, shown_events = await runtime.db.read(work)
    return CaseView(
        case, shown_events, attachments, handles=roles.handles(memberships, case),
        show_identity=roles.sees_identity(memberships, case), actors=actors,
    )
