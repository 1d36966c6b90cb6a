"""Reading the register and answering what it drew: the catalog with each item's cadence
and last publication (``/catalog``), the archive a person may browse and search
(``/disclosures``), one disclosure in full with its trail, the opinions grouped by
disclosure, one reply to all of a disclosure's opinions, and a pre-disclosure's opinions
marked adopted, partly adopted or not adopted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.config.sections_disclosure import ASPECTS, DisclosureItemConfig
from bot.runtime import Runtime
from bot.services import case_states, handling
from bot.services.acting import Actor, Refused
from bot.services.disclosures import rights
from bot.services.disclosures.content import DisclosureError
from storage import directory, obligations, text_search
from storage import disclosures as repo
from storage.disclosures import Disclosure
from storage.models import Membership, Person
from storage.sql import Conn

PAGE = 5
#: How many of the newest disclosures a one-character keyword reads.
SCAN_BOUND = text_search.SCAN_BOUND
ADOPTIONS = ("adopted", "partly", "not_adopted")


@dataclass(frozen=True)
class CatalogLine:
    item: DisclosureItemConfig
    last_published: datetime | None
    next_due: datetime | None


async def catalog(runtime: Runtime, unit_id: str) -> list[CatalogLine]:
    """The unit's catalog items with when each was last published and next falls due."""
    items = runtime.config.disclosure_items_of(unit_id)

    def work(conn: Conn) -> list[CatalogLine]:
        last = repo.last_published(conn, unit_id)
        due: dict[str, datetime] = {}
        for duty in obligations.open_of(conn, [unit_id]):
            due.setdefault(duty.item_id, duty.due_at)
        return [CatalogLine(i, last.get(i.id), due.get(i.id)) for i in items]
    return await runtime.db.read(work)


def audiences_for(runtime: Runtime, roles: list[Membership], unit_id: str) -> tuple[str, ...]:
    return ("party", "public") if rights.reads_party(runtime, roles, unit_id) else ("public",)


_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})|-([qQ][1-4])|-([hH][12]))?$")


@dataclass(frozen=True)
class Filters:
    """What ``/disclosures`` was asked: a keyword, an aspect (an id of the four items or of
    ``[[disclosure_aspects]]``) and a period (``2026``, ``2026-11``, ``2026-Q4``,
    ``2026-H2``: published within it, in the county's time)."""

    keyword: str = ""
    aspect: str | None = None
    period: tuple[datetime, datetime] | None = None


def parse_filters(runtime: Runtime, text: str) -> Filters:
    """Split what follows the unit into a keyword and its filters: a word that names an
    aspect or a period is a filter, the rest is the keyword."""
    aspects = set(ASPECTS) | {a.id for a in runtime.config.disclosure_aspects}
    words, aspect, period = [], None, None
    for word in text.split():
        found = _PERIOD.match(word)
        if word in aspects and aspect is None:
            aspect = word
        elif found and period is None and _period(runtime, found) is not None:
            period = _period(runtime, found)
        else:
            words.append(word)
    return Filters(" ".join(words), aspect, period)


def _period(runtime: Runtime, found: re.Match[str]) -> tuple[datetime, datetime] | None:
    year, month, quarter, half = found.groups()
    first, months = (int(month), 1) if month else (
        (3 * int(quarter[1]) - 2, 3) if quarter else (
            (6 * int(half[1]) - 5, 6) if half else (1, 12)))
    if not 1 <= first <= 12:
        return None
    tz = runtime.config.general.tz
    start = datetime(int(year), first, 1, tzinfo=tz)
    end_month = first + months
    end = datetime(int(year) + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=tz)
    return start, end


@dataclass(frozen=True)
class Page:
    disclosures: list[Disclosure]
    page: int
    has_more: bool
    partial: bool = False  # a one-character query read only the newest records


async def browse(runtime: Runtime, telegram_id: int, unit_id: str, *, query: str = "",
                 aspect: str | None = None, period: tuple[datetime, datetime] | None = None,
                 page: int = 0) -> Page:
    """A page of the unit's archive, newest first, as this person may read it (public items
    for everyone, party items for those entitled), searched by keyword, aspect and period."""
    runtime.config.unit(unit_id)  # KeyError for an unknown unit

    def work(conn: Conn) -> Page:
        roles = directory.memberships_of(conn, telegram_id)
        found = text_search.search_disclosures(
            conn, query=query, unit_id=unit_id, audiences=audiences_for(runtime, roles,
                                                                        unit_id),
            aspect=aspect, published_from=period[0] if period else None,
            published_to=period[1] if period else None, limit=PAGE, offset=page * PAGE)
        return Page(repo.many(conn, found.ids), page, found.has_more, found.partial)
    return await runtime.db.read(work)


@dataclass(frozen=True)
class Details:
    disclosure: Disclosure
    events: list[repo.Event]
    forms: list[repo.Form]
    opinions: list[repo.Opinion]
    later: list[Disclosure]
    earlier: Disclosure | None
    staff: bool  # the reader is of the unit or watches it: the trail and opinions are shown


async def details(runtime: Runtime, telegram_id: int, disclosure_id: int) -> Details:
    """One disclosure, if this person may read it; its trail and opinions for the unit's
    people and those who watch it."""
    def work(conn: Conn) -> Details:
        d = repo.get(conn, disclosure_id)
        if d is None:
            raise DisclosureError("not_found")
        roles = directory.memberships_of(conn, telegram_id)
        staff = (rights.drafts(roles, d.unit_id) or rights.reviews(conn, roles, d.unit_id)
                 or rights.watches(runtime, roles, d.unit_id))
        if d.number is None and not staff:
            raise DisclosureError("not_found")
        if d.audience == "party" and not rights.reads_party(runtime, roles, d.unit_id):
            raise DisclosureError("not_found")
        earlier = repo.get(conn, d.previous_id) if d.previous_id else None
        return Details(d, repo.events_of(conn, d.id) if staff else [],
                       repo.forms_of(conn, d.id), repo.opinions(conn, d.id) if staff else [],
                       repo.later_versions(conn, d.id), earlier, staff)
    return await runtime.db.read(work)


async def opinion_target(runtime: Runtime, telegram_id: int, disclosure_id: int
                         ) -> Disclosure:
    """The published disclosure an opinion may be given on by this person."""
    def work(conn: Conn) -> Disclosure:
        d = repo.get(conn, disclosure_id)
        if d is None or d.number is None:
            raise DisclosureError("not_found")
        if d.audience == "party" and not rights.reads_party(
                runtime, directory.memberships_of(conn, telegram_id), d.unit_id):
            raise DisclosureError("not_found")
        return d
    return await runtime.db.read(work)


def opinion_category(runtime: Runtime, unit_id: str) -> str:
    """The category an opinion is filed under: the unit's first, else the first one."""
    categories = runtime.config.categories
    for category in categories:
        if category.unit == unit_id:
            return category.id
    return categories[0].id


async def grouped(runtime: Runtime, person: Person) -> list[tuple[Disclosure, int, int]]:
    """The opinions of the person's units, grouped by disclosure: (disclosure, opinions,
    still open)."""
    def work(conn: Conn) -> list[tuple[Disclosure, int, int]]:
        roles = directory.memberships_of(conn, person.telegram_id)
        units = sorted({m.unit_id for m in roles if m.role in rights.DRAFTING_ROLES})
        return repo.with_opinions(conn, units)
    return await runtime.db.read(work)


async def answer_all(runtime: Runtime, actor: Actor, disclosure_id: int, text: str,
                     outcome: str = "resolved") -> int:
    """One reply to every open opinion on a disclosure, sent to each reporter as the
    answer of their case (accepted first where needed). Returns how many were answered."""
    def work(conn: Conn) -> list[repo.Opinion]:
        d = repo.get(conn, disclosure_id)
        if d is None:
            raise DisclosureError("not_found")
        if not rights.drafts(directory.memberships_of(conn, actor.person.telegram_id),
                             d.unit_id):
            raise DisclosureError("not_official")
        return repo.opinions(conn, d.id)
    answered = 0
    for opinion in await runtime.db.read(work):
        try:
            if opinion.state == case_states.NEW:
                await handling.accept(runtime, opinion.case_id, actor)
            if opinion.state in (case_states.NEW, case_states.ACCEPTED,
                                 case_states.REOPENED, case_states.INFO_REQUESTED):
                await handling.submit_answer(runtime, opinion.case_id, actor, outcome, text,
                                             None, ())
                answered += 1
        except Refused:
            continue  # answered meanwhile, or pending the head's sign-off: left as it is
    return answered


async def mark(runtime: Runtime, person: Person, case_id: int, adoption: str, reason: str
               ) -> Disclosure:
    """Mark an opinion on a pre-disclosure adopted, partly adopted or not, with a reason;
    only once its comment window closed, by the unit's officials."""
    reason = reason.strip()
    if adoption not in ADOPTIONS or not 2 <= len(reason) <= 1000:
        raise DisclosureError("invalid")
    now = runtime.clock.now()

    def work(conn: Conn) -> Disclosure:
        disclosure_id = repo.opinion_of(conn, case_id)
        d = repo.get(conn, disclosure_id) if disclosure_id else None
        if d is None or not d.pre:
            raise DisclosureError("not_found")
        if not rights.drafts(directory.memberships_of(conn, person.telegram_id), d.unit_id):
            raise DisclosureError("not_official")
        if d.comment_until is not None and now < d.comment_until:
            raise DisclosureError("window_open")
        repo.mark_opinion(conn, case_id, adoption, reason, person.id, now)
        repo.add_event(conn, d.id, "opinion_marked", person_id=person.id, role="official",
                       now=now, payload={"case_id": case_id, "adoption": adoption})
        return d
    return await runtime.db.write(work)
