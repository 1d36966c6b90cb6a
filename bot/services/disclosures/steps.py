"""The first three of the seven steps (拟定, 审定, 审签) and the fourth's start: a draft, its
review by the unit's committee, the head's sign-off, which numbers and freezes it.

Every call re-checks its caller's roles in the database, in the transaction that acts, and
moves the disclosure only from the stage it expects (so two presses act once). Each step is
an event of the disclosure's trail with the person, the role and the moment. Telegram is
never awaited here: what people are told is owed through the outbox in the same
transaction, and the posts in channels are owed in ``disclosure_posts``
(``bot.services.disclosures.publishing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config.sections_disclosure import DisclosureItemConfig
from bot.i18n import translator
from bot.runtime import Runtime
from bot.services import notify
from bot.services.disclosures import publishing, rights
from bot.services.disclosures.content import (
    ADOPTION_NAMES,
    BODY_MAX,
    MAJOR_SECTIONS,
    RESPONSES,
    TITLE_MAX,
    DisclosureError,
)
from bot.services.disclosures.texts import ask_buttons, ask_text, returned_text
from storage import directory
from storage import disclosures as repo
from storage import obligations as duty_repo
from storage.disclosures import DRAFT, REVIEW, SIGNOFF, Disclosure, NewDisclosure
from storage.models import Membership, Person
from storage.sql import Conn


@dataclass(frozen=True)
class Moved:
    """What a step did: the disclosure after it, and whether it moved (a second press of
    the same button finds it moved already)."""

    disclosure: Disclosure
    moved: bool


def needs_sections(runtime: Runtime, item: DisclosureItemConfig) -> bool:
    return runtime.config.seed_aspect(item.aspect) == "major_decisions"


def _item(runtime: Runtime, item_id: str, unit_id: str) -> DisclosureItemConfig:
    try:
        item = runtime.config.disclosure_item(item_id)
    except KeyError as exc:
        raise DisclosureError("invalid") from exc
    if item not in runtime.config.disclosure_items_of(unit_id):
        raise DisclosureError("invalid")
    return item


def _own(conn: Conn, person: Person, disclosure_id: int, stage: str | None = DRAFT
         ) -> Disclosure:
    disclosure = repo.get(conn, disclosure_id)
    if disclosure is None:
        raise DisclosureError("not_found")
    if not rights.drafts(directory.memberships_of(conn, person.telegram_id),
                         disclosure.unit_id):
        raise DisclosureError("not_official")
    if stage is not None and disclosure.stage != stage:
        raise DisclosureError("moved")
    return disclosure


def _role(conn: Conn, person: Person, unit_id: str, wanted: Sequence[str]) -> str:
    for m in directory.memberships_of(conn, person.telegram_id):
        if m.unit_id == unit_id and m.role in wanted:
            return m.role
    return wanted[0]


# ----------------------------------------------------------------------------- 1. draft

async def start_draft(runtime: Runtime, person: Person, unit_id: str, item_id: str, *,
                      obligation_id: int | None = None, pre: bool = False,
                      previous_id: int | None = None) -> Disclosure:
    """A new draft of a catalog item by an official of the unit; ``previous_id``: the
    published disclosure it corrects (a new version), or the pre-disclosure it finalises."""
    item = _item(runtime, item_id, unit_id)
    now = runtime.clock.now()

    def work(conn: Conn) -> Disclosure:
        roles = directory.memberships_of(conn, person.telegram_id)
        if not rights.drafts(roles, unit_id):
            raise DisclosureError("not_official")
        version, title, obligation = 1, item.name(runtime.config.general.default_language), \
            obligation_id
        body, sections = "", {}
        if previous_id is not None:
            before = repo.get(conn, previous_id)
            if (before is None or before.number is None or before.unit_id != unit_id
                    or before.item_id != item_id):
                raise DisclosureError("invalid")
            if before.pre:
                _check_final_allowed(conn, before, now)
            version, title = before.version + 1, before.title
            body, sections = before.body, dict(before.sections)
            sections.pop(RESPONSES, None)
            if before.pre:
                sections[RESPONSES] = _rulings(runtime, conn, before)
            obligation = obligation if obligation is not None else before.obligation_id
        if obligation is not None:
            duty = duty_repo.get(conn, obligation)
            if duty is None or duty.unit_id != unit_id or duty.item_id != item_id:
                raise DisclosureError("invalid")
            title = duty.title or title
        new = NewDisclosure(
            item_id=item.id, unit_id=unit_id, audience=item.audience, aspect=item.aspect,
            forms=item.forms, title=title, body=body, drafted_by=person.id,
            obligation_id=obligation, pre=pre, version=version, previous_id=previous_id,
            sections=sections)
        disclosure_id = repo.create(conn, new, now)
        repo.add_event(conn, disclosure_id, "drafted", person_id=person.id,
                       role=_role(conn, person, unit_id, rights.DRAFTING_ROLES), now=now,
                       payload={"previous_id": previous_id, "pre": pre})
        found = repo.get(conn, disclosure_id)
        assert found is not None
        return found
    return await runtime.db.write(work)


def _check_final_allowed(conn: Conn, pre: Disclosure, now: datetime) -> None:
    """A pre-disclosure's final version only once its window closed and every opinion on
    it is marked adopted, partly adopted or not adopted, with a reason."""
    if pre.comment_until is not None and now < pre.comment_until:
        raise DisclosureError("window_open")
    if any(o.adoption is None for o in repo.opinions(conn, pre.id)):
        raise DisclosureError("unmarked")


def _rulings(runtime: Runtime, conn: Conn, pre: Disclosure) -> str:
    t = translator(runtime.config.general.default_language)
    lines = [t("{number}: {ruling} — {reason}").format(
        number=o.number, ruling=t(ADOPTION_NAMES[o.adoption or "not_adopted"]),
        reason=o.reason or "") for o in repo.opinions(conn, pre.id)]
    return "\n".join(lines) or t("No opinions were given on the draft for comment.")


async def set_content(runtime: Runtime, person: Person, disclosure_id: int, *,
                      title: str | None = None, body: str | None = None,
                      section: tuple[str, str] | None = None,
                      forms: Sequence[str] | None = None) -> Disclosure:
    """Change a draft (only its unit's officials, only at the draft stage)."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Disclosure:
        d = _own(conn, person, disclosure_id)
        new_title = d.title if title is None else " ".join(title.split())
        new_body = d.body if body is None else body.strip()
        if not 1 <= len(new_title) <= TITLE_MAX or len(new_body) > BODY_MAX:
            raise DisclosureError("too_long")
        sections = dict(d.sections)
        if section is not None:
            key, text = section
            if key not in MAJOR_SECTIONS or not text.strip():
                raise DisclosureError("empty_section")
            sections[key] = text.strip()
        chosen = d.forms if forms is None else tuple(f for f in forms)
        if not chosen:
            raise DisclosureError("no_form")
        repo.set_content(conn, d.id, title=new_title, body=new_body, sections=sections,
                         forms=chosen, now=now)
        found = repo.get(conn, d.id)
        assert found is not None
        return found
    return await runtime.db.write(work)


async def add_file(runtime: Runtime, person: Person, disclosure_id: int, kind: str,
                   file_id: str, file_unique_id: str | None, name: str | None) -> int:
    """A photo or document of a draft (copied when published, never forwarded)."""
    def work(conn: Conn) -> int:
        d = _own(conn, person, disclosure_id)
        if len(repo.files_of(conn, d.id)) >= runtime.config.limits.max_attachments:
            raise DisclosureError("too_many_files")
        return repo.add_file(conn, d.id, kind, file_id, file_unique_id, name)
    return await runtime.db.write(work)


def missing(runtime: Runtime, d: Disclosure) -> list[str]:
    """What the draft still lacks: ``body``, or the sections a major decision needs."""
    lacking = [] if d.body.strip() else ["body"]
    if runtime.config.seed_aspect(d.aspect) == "major_decisions":
        lacking += [s for s in MAJOR_SECTIONS if not d.sections.get(s, "").strip()]
    return lacking


async def submit(runtime: Runtime, person: Person, disclosure_id: int) -> Moved:
    """Send a complete draft to review: the committee (or the head) is asked."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Moved:
        d = _own(conn, person, disclosure_id, stage=None)
        if d.stage == REVIEW:
            return Moved(d, False)
        if d.stage != DRAFT:
            raise DisclosureError("moved")
        if missing(runtime, d):
            raise DisclosureError("incomplete")
        repo.move(conn, d.id, DRAFT, REVIEW, now)
        repo.add_event(conn, d.id, "submitted", person_id=person.id,
                       role=_role(conn, person, d.unit_id, rights.DRAFTING_ROLES), now=now)
        members, _ = rights.reviewers(conn, d.unit_id)
        found = repo.get(conn, d.id)
        assert found is not None
        _ask(conn, runtime, found, [notify.Recipient(m.telegram_id,
                                                     notify.staff_language(runtime, m))
                                    for m in members], "review", now)
        return Moved(found, True)
    return await runtime.db.write(work)


def _ask(conn: Conn, runtime: Runtime, d: Disclosure, recipients: list[notify.Recipient],
         step: str, now: datetime) -> None:
    notify.send(conn, runtime, recipients,
                lambda t, lang: ask_text(runtime, conn, d, step, t, lang),
                buttons=ask_buttons(d, step), now=now)


# ----------------------------------------------------------------------------- 2. review

def _with_roles(conn: Conn, person: Person, disclosure_id: int
                ) -> tuple[Disclosure, list[Membership]]:
    """The disclosure and the person's roles, read now (``not_found`` if there is none)."""
    d = repo.get(conn, disclosure_id)
    if d is None:
        raise DisclosureError("not_found")
    return d, directory.memberships_of(conn, person.telegram_id)


async def approve(runtime: Runtime, person: Person, disclosure_id: int) -> Moved:
    """A committee member approves; at the quorum the head is asked to sign."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Moved:
        d, roles = _with_roles(conn, person, disclosure_id)
        if not rights.reviews(conn, roles, d.unit_id):
            raise DisclosureError("not_committee")
        if d.stage != REVIEW:
            return Moved(d, False)
        if person.id in repo.approvals(conn, d.id):
            return Moved(d, False)
        members, fallback = rights.reviewers(conn, d.unit_id)
        repo.add_event(conn, d.id, "approved", person_id=person.id,
                       role="head" if fallback else "committee", now=now)
        if len(repo.approvals(conn, d.id)) >= rights.quorum(runtime, len(members), fallback):
            repo.move(conn, d.id, REVIEW, SIGNOFF, now)
            repo.add_event(conn, d.id, "reviewed", person_id=None, role=None, now=now,
                           payload={"approvals": len(repo.approvals(conn, d.id))})
            found = repo.get(conn, d.id)
            assert found is not None
            _ask(conn, runtime, found, notify.heads_of(conn, runtime, d.unit_id), "signoff",
                 now)
            return Moved(found, True)
        found = repo.get(conn, d.id)
        assert found is not None
        return Moved(found, True)
    return await runtime.db.write(work)


async def send_back(runtime: Runtime, person: Person, disclosure_id: int, comment: str
                    ) -> Moved:
    """Return a disclosure to its drafters, with a comment: any committee member at review,
    the head at sign-off."""
    comment = comment.strip()
    if not 1 <= len(comment) <= runtime.config.limits.text_max_chars:
        raise DisclosureError("invalid")
    now = runtime.clock.now()

    def work(conn: Conn) -> Moved:
        d, roles = _with_roles(conn, person, disclosure_id)
        if d.stage == REVIEW and rights.reviews(conn, roles, d.unit_id):
            role = "committee"
        elif d.stage == SIGNOFF and rights.is_head(roles, d.unit_id):
            role = "head"
        elif d.stage in (REVIEW, SIGNOFF):
            raise DisclosureError("not_allowed")
        else:
            return Moved(d, False)
        repo.move(conn, d.id, d.stage, DRAFT, now)
        repo.add_event(conn, d.id, "returned", person_id=person.id, role=role, now=now,
                       payload={"stage": d.stage, "comment": comment})
        found = repo.get(conn, d.id)
        assert found is not None
        drafters = directory.unit_staff(conn, d.unit_id, rights.DRAFTING_ROLES)
        notify.send(conn, runtime,
                    [notify.Recipient(m.telegram_id, notify.staff_language(runtime, m))
                     for m in drafters if m.person_id == d.drafted_by] or
                    notify.unit_recipients(conn, runtime, d.unit_id),
                    lambda t, lang: returned_text(found, role, comment, t),
                    buttons=lambda t: [[(t("✏️ Edit the draft"), f"dd:open:{d.id}")]],
                    now=now)
        return Moved(found, True)
    return await runtime.db.write(work)


# ----------------------------------------------------------------------------- 3. sign-off

async def sign(runtime: Runtime, person: Person, disclosure_id: int) -> Moved:
    """The head signs: the disclosure is numbered, frozen and owed to its channels
    (``publishing.publish``)."""
    now = runtime.clock.now()

    def work(conn: Conn) -> Moved:
        d, roles = _with_roles(conn, person, disclosure_id)
        if not rights.is_head(roles, d.unit_id):
            raise DisclosureError("not_head")
        if d.stage != SIGNOFF:
            return Moved(d, False)
        repo.add_event(conn, d.id, "signed", person_id=person.id, role="head", now=now)
        published = publishing.publish(conn, runtime, d, now)
        return Moved(published, True)
    return await runtime.db.write(work)
