"""Step 4 (公开) and what follows it: the number and the frozen version, the posts owed to
the unit's channel or party group, the party members' private copies, the forms confirmed
one by one, and the obligation met once all are.

- Public items go to the unit's ``public_channel_id``; party items to its ``party_chat_id``
  and, privately and at a lower priority than interactive messages (the outbox's bulk
  lane), to each of its party members.
- The posts are owed in ``disclosure_posts`` and sent by the posting job
  (``handlers.disclosure_posts``), outside any transaction. A chat the bot cannot post to
  keeps the post owed with its error; the unit and the administrators are told what to fix,
  and a retry clears the error.
- ``web`` is confirmed on publishing (the register is what the web shows); ``channel``
  once every post went out; ``notice_board`` by the clerk (or the head) with a photo of the
  poster; ``meeting`` and ``document`` by the head with the meeting's date or the
  document's number.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.runtime import Runtime
from bot.services import notify
from bot.services.disclosures import rights, texts
from bot.services.disclosures.content import DisclosureError, comment_until, content_hash
from storage import cases as case_repo
from storage import directory, outbox, text_search
from storage import disclosures as repo
from storage import obligations as duty_repo
from storage.disclosures import Disclosure
from storage.models import Person
from storage.sql import Conn

#: Forms a person confirms, and who may: the clerk or the head for the notice board.
CONFIRMERS = {"notice_board": ("clerk", "head"), "meeting": ("head",),
              "document": ("head",)}


def target_chats(runtime: Runtime, d: Disclosure) -> list[int]:
    """Where the bot posts the disclosure (none when the unit has no such chat)."""
    unit = runtime.config.unit(d.unit_id)
    chat = unit.public_channel_id if d.audience == "public" else unit.party_chat_id
    if chat is None or "channel" not in d.forms:
        return []
    return [chat]


def publish(conn: Conn, runtime: Runtime, d: Disclosure, now: datetime) -> Disclosure:
    """Number and freeze a signed disclosure, owe its posts, copies and confirmations."""
    year = now.astimezone(runtime.config.general.tz).year
    number = repo.next_number(conn, year)
    digest = content_hash(d, number, repo.files_of(conn, d.id))
    until = comment_until(runtime, now) if d.pre else None
    if not repo.publish(conn, d.id, number=number, content_hash=digest, now=now,
                        comment_until=until):
        raise DisclosureError("moved")
    published = repo.get(conn, d.id)
    assert published is not None
    repo.add_event(conn, d.id, "published", person_id=None, role=None, now=now,
                   payload={"number": number, "hash": digest})
    repo.init_forms(conn, d.id, d.forms)
    if "web" in d.forms:
        repo.confirm_form(conn, d.id, "web", person_id=None, now=now)
    chats = target_chats(runtime, published)
    repo.add_posts(conn, d.id, chats)
    text_search.index_disclosure(conn, d.id, text_search.disclosure_text(
        published.title, published.body, json.dumps(published.sections, ensure_ascii=False)))
    if d.audience == "party":
        members = directory.unit_staff(conn, d.unit_id, ("party_member",))
        by_language: dict[str, list[int]] = {}
        for m in members:
            by_language.setdefault(notify.staff_language(runtime, m), []).append(m.telegram_id)
        for language, chat_ids in by_language.items():
            t = texts.translator(language)
            outbox.enqueue_many(conn, now, chat_ids, "message", {
                "text": texts.private_copy(runtime, published, t, language),
                "buttons": [[[t("💬 Give an opinion"), f"dop:{published.id}"]]],
                "attachments": []}, bulk=True)
    if "channel" in d.forms and not chats:
        _tell_no_chat(conn, runtime, published, now)
    _tell_published(conn, runtime, published, now)
    if d.previous_id is not None:
        _tell_opinion_givers(conn, runtime, published, now)
    check_met(conn, runtime, published, now)
    return published


def _tell_published(conn: Conn, runtime: Runtime, d: Disclosure, now: datetime) -> None:
    notify.send(conn, runtime, notify.unit_recipients(conn, runtime, d.unit_id),
                lambda t, lang: texts.published_text(runtime, conn, d, t, lang),
                buttons=texts.form_buttons(conn, d), now=now)
    if "notice_board" in d.forms and not d.pre:
        texts.owe_poster(conn, runtime, d, _poster_recipients(conn, runtime, d.unit_id), now)


def _poster_recipients(conn: Conn, runtime: Runtime, unit_id: str) -> list[notify.Recipient]:
    staff = directory.unit_staff(conn, unit_id, ("clerk",)) or directory.unit_staff(
        conn, unit_id, ("head",))
    return [notify.Recipient(m.telegram_id, notify.staff_language(runtime, m)) for m in staff]


def _admins(conn: Conn, runtime: Runtime) -> list[notify.Recipient]:
    return [notify.Recipient(m.telegram_id, notify.staff_language(runtime, m))
            for m in directory.all_staff(conn) if m.role == "admin"]


def _tell_no_chat(conn: Conn, runtime: Runtime, d: Disclosure, now: datetime) -> None:
    notify.send(conn, runtime, notify.unit_recipients(conn, runtime, d.unit_id)
                + _admins(conn, runtime),
                lambda t, lang: texts.no_chat_text(runtime, d, t, lang), now=now)


def _tell_opinion_givers(conn: Conn, runtime: Runtime, d: Disclosure, now: datetime) -> None:
    """Everyone who gave an opinion on the earlier version hears of the new one."""
    assert d.previous_id is not None
    for opinion in repo.opinions(conn, d.previous_id):
        case = case_repo.get_case(conn, opinion.case_id)
        if case is not None:
            notify.to_reporter(conn, runtime, case,
                               lambda t, lang: texts.new_version_text(runtime, d, t, lang),
                               now=now)


def check_met(conn: Conn, runtime: Runtime, d: Disclosure, now: datetime) -> bool:
    """Mark the disclosure's obligation met once every required form is confirmed."""
    if d.obligation_id is None or d.pre:
        return False
    forms = repo.forms_of(conn, d.id)
    if any(f.confirmed_at is None for f in forms):
        return False
    if not duty_repo.claim_for(conn, d.obligation_id, d.id):
        return False
    if duty_repo.mark_met(conn, d.obligation_id, now):
        repo.add_event(conn, d.id, "obligation_met", person_id=None, role=None, now=now,
                       payload={"obligation_id": d.obligation_id})
        return True
    return False


async def confirm(runtime: Runtime, person: Person, disclosure_id: int, form: str,
                  detail: str) -> Disclosure:
    """Confirm one form of a published disclosure (the notice board with a photo's file id,
    a meeting with its date, a document with its number)."""
    detail = detail.strip()
    if form not in CONFIRMERS or not 1 <= len(detail) <= 200:
        raise DisclosureError("invalid")
    now = runtime.clock.now()

    def work(conn: Conn) -> Disclosure:
        d = repo.get(conn, disclosure_id)
        if d is None or d.number is None:
            raise DisclosureError("not_found")
        roles = directory.memberships_of(conn, person.telegram_id)
        role = next((m.role for m in roles if m.unit_id == d.unit_id
                     and m.role in CONFIRMERS[form]), None)
        if role is None:
            raise DisclosureError("not_allowed")
        if not repo.confirm_form(conn, d.id, form, person_id=person.id, now=now,
                                 detail=detail):
            raise DisclosureError("confirmed")
        repo.add_event(conn, d.id, "form_confirmed", person_id=person.id, role=role, now=now,
                       payload={"form": form})
        check_met(conn, runtime, d, now)
        return d
    return await runtime.db.write(work)


# ----------------------------------------------------------------------------- posts

async def posted(runtime: Runtime, disclosure_id: int, chat_id: int,
                 message_ids: list[int]) -> None:
    """A post went out: record it; the channel form is confirmed once all went out."""
    now = runtime.clock.now()

    def work(conn: Conn) -> None:
        repo.record_post(conn, disclosure_id, chat_id, message_ids)
        d = repo.get(conn, disclosure_id)
        assert d is not None
        repo.add_event(conn, d.id, "posted", person_id=None, role=None, now=now,
                       payload={"chat_id": chat_id})
        if all(p.message_ids for p in repo.posts_of(conn, d.id)):
            if repo.confirm_form(conn, d.id, "channel", person_id=None, now=now):
                check_met(conn, runtime, d, now)
    await runtime.db.write(work)


async def post_failed(runtime: Runtime, disclosure_id: int, chat_id: int, reason: str
                      ) -> None:
    """A post could not go out (``reason``: ``not_admin``, ``not_found``, ``kicked`` or
    ``other``): it stays owed; the unit and the administrators are told, once."""
    now = runtime.clock.now()

    def work(conn: Conn) -> None:
        if not repo.post_failed(conn, disclosure_id, chat_id, reason):
            return
        d = repo.get(conn, disclosure_id)
        assert d is not None
        repo.add_event(conn, d.id, "post_failed", person_id=None, role=None, now=now,
                       payload={"chat_id": chat_id, "reason": reason})
        notify.send(conn, runtime, notify.unit_recipients(conn, runtime, d.unit_id)
                    + _admins(conn, runtime),
                    lambda t, lang: texts.post_failed_text(runtime, d, chat_id, reason, t,
                                                           lang),
                    buttons=lambda t: [[(t("🔁 Post again"), f"dp:retry:{d.id}")]], now=now)
    await runtime.db.write(work)


async def retry(runtime: Runtime, person: Person, disclosure_id: int) -> int:
    """Try the failed posts again (the unit's officials, its head, an administrator)."""
    def work(conn: Conn) -> int:
        d = repo.get(conn, disclosure_id)
        if d is None or d.number is None:
            raise DisclosureError("not_found")
        roles = directory.memberships_of(conn, person.telegram_id)
        if not (rights.drafts(roles, d.unit_id) or any(m.role == "admin" for m in roles)):
            raise DisclosureError("not_allowed")
        for post in repo.posts_of(conn, d.id):
            if post.message_ids is None:
                wanted = target_chats(runtime, d)
                if wanted and wanted[0] != post.chat_id:
                    repo.move_post_chat(conn, d.id, post.chat_id, wanted[0])
        return repo.retry_posts(conn, d.id)
    return await runtime.db.write(work)


async def moved_chat(runtime: Runtime, disclosure_id: int, old: int, new: int) -> None:
    """The group was upgraded to a supergroup: post there instead."""
    await runtime.db.write(repo.move_post_chat, disclosure_id, old, new)
