"""The data lifecycle: the retention job, erasing one person, exporting what is held on them.

Nothing here logs or returns personal data: the job and the erasure report counts only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import bot
from bot.runtime import Runtime
from bot.services import files, sealed
from storage import lifecycle as repo
from storage.models import to_db_time
from storage.sql import Conn

log = logging.getLogger(__name__)

#: Cases redacted per transaction (each a short hop for the one writer).
BATCH = 50


# ------------------------------------------------------------------------------ retention

async def redact_expired(runtime: Runtime, *, batch: int = BATCH) -> int:
    """Redact the personal data of every case ended longer ago than ``[retention]
    closed_after``; returns how many. Idempotent: a redacted case is never taken again."""
    now = runtime.clock.now()
    cutoff = runtime.config.retention.closed_after.cutoff(now)

    def step(conn: Conn) -> tuple[int, int]:  # on the database thread
        ids = repo.ended_before(conn, cutoff, batch)
        done = 0
        for case_id in ids:
            if repo.redact_case(conn, case_id, now) is not None:
                done += 1
        return len(ids), done

    redacted = 0
    while True:
        found, done = await runtime.db.write(step)
        redacted += done
        if found < batch:
            break
    await files.collect(runtime)  # the stored files of what was redacted
    if redacted:
        log.info("retention: redacted the personal data of %d case(s) ended before %s",
                 redacted, to_db_time(cutoff))
    return redacted


# -------------------------------------------------------------------------------- erasure

@dataclass(frozen=True)
class Erased:
    """What an erasure removed, in counts. The anonymous cases whose delivery address was
    cleared are not counted: a count would tell that this person filed anonymously."""

    person: str            # "deleted", "anonymised" or "unknown" (no row for the id)
    named_cases: int       # cases that named them: reporter, text, location removed
    drafts: int            # draft data and conversation states deleted
    messages: int          # outbox rows to their chat deleted
    updates: int           # stored (handled) updates carrying their id deleted

    @property
    def anything(self) -> bool:
        return self.person != "unknown" or any(
            (self.named_cases, self.drafts, self.messages, self.updates))


async def erase_person(runtime: Runtime, telegram_id: int) -> Erased:
    """Remove a person's personal data everywhere it is stored, in one transaction.

    Their row (Telegram id, name, languages; roles revoked), their drafts and conversation
    states, the outbox rows to their chat, the stored updates they sent; on cases that name
    them, the name, phone and link, the case's text and location and what they wrote into
    its trail (the case stays for the assessment, with a ``redacted`` event); on their
    anonymous cases the delivery address, silently. A running bot keeps a
    conversation in memory until the person writes again or it restarts.
    """
    now = runtime.clock.now()

    def erase(conn: Conn) -> Erased:  # on the database thread
        person_id = repo.person_id_of(conn, telegram_id)
        named = repo.named_cases_of(conn, person_id) if person_id is not None else []
        for case_id in named:
            repo.erase_reporter(conn, case_id, now)
        # Their anonymous cases: found through the person's sealed list, which goes with
        # each case's sealed delivery address; a plain address an older Sunbox left too.
        if person_id is not None:
            sealed.erase(conn, runtime.sealer, person_id)
        repo.clear_delivery(conn, repo.cases_delivered_to(conn, telegram_id))
        drafts = repo.delete_drafts(conn, telegram_id)
        messages = repo.delete_messages_to(conn, telegram_id)
        updates = repo.delete_handled_updates_from(conn, telegram_id)
        person = ("unknown" if person_id is None
                  else repo.erase_person_row(conn, person_id, now))
        return Erased(person, len(named), drafts, messages, updates)

    erased = await runtime.db.write(erase)
    await files.collect(runtime)
    log.info("erase: person %s, %d named case(s), %d draft(s), %d message(s), %d update(s)",
             erased.person, erased.named_cases, erased.drafts, erased.messages,
             erased.updates)
    return erased


# --------------------------------------------------------------------------------- export

async def export_person(runtime: Runtime, telegram_id: int) -> dict[str, Any]:
    """What Sunbox holds about a person, as JSON-ready data (``person`` None when it knows
    no one with that id).

    Their row, roles, the cases that name them (with their trail, in which their own events
    carry what they wrote, the answers sent and the attachments' names), and their drafts.
    Other people appear only by role. Anonymous cases are not linked to a person and are
    left out (``anonymous_cases_included``): finding them for an export would identify
    their reporter to whoever runs it.
    """
    def work(conn: Conn) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any] | None,
                                  list[dict[str, Any]]]:
        person = repo.person_row(conn, telegram_id)
        drafts = repo.drafts_of(conn, telegram_id)
        roles: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        if person is not None:
            person_id = int(person.pop("id"))
            roles = repo.roles_of(conn, person_id)
            for case in repo.named_case_rows(conn, person_id):
                case_id = case.pop("id")
                case["events"] = repo.events_of(conn, case_id, person_id)
                case["answers"] = repo.answers_of(conn, case_id)
                case["attachments"] = repo.files_of(conn, case_id)
                cases.append(case)
        return cases, drafts, person, roles
    cases, drafts, person, roles = await runtime.db.read(work)
    return {
        "sunbox_version": bot.__version__,
        "exported_at": to_db_time(runtime.clock.now()),
        "telegram_id": telegram_id,
        "person": person,
        "roles": roles,
        "named_cases": cases,
        "anonymous_cases_included": False,
        "drafts": drafts,
    }
