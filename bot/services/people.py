"""People and their language choice."""

from __future__ import annotations

from bot.runtime import Runtime
from storage import people
from storage.models import Person
from storage.sql import Conn


async def touch(runtime: Runtime, telegram_id: int, language_code: str | None = None, *,
                found: Person | None = None) -> Person:
    """The person behind a Telegram user id, created on first contact.

    Telegram's language code is kept: messages others cause (cards, feedback) are written
    in it until the person picks a language with /language. Most updates come from someone
    known, not blocked, whose language is unchanged: one read and no write (none at all if
    the caller read the person already, as ``found``).
    """
    person = found
    if person is None:
        person = await runtime.db.read(people.find_person, telegram_id)
    if person is not None and person.blocked_at is None and (
            not language_code or person.telegram_language == language_code):
        return person
    now = runtime.clock.now()

    def work(conn: Conn) -> Person:
        person = people.ensure_person(conn, telegram_id, now)
        if language_code and person.telegram_language != language_code:
            people.note_telegram(conn, person.id, language_code)
            person = people.ensure_person(conn, telegram_id, now)
        if person.blocked_at is not None:
            people.clear_blocked(conn, person.id)
        return person
    return await runtime.db.write(work)


async def choose_language(runtime: Runtime, person: Person, language: str) -> None:
    """Remember the language a person picked with /language."""
    await runtime.db.write(people.set_language, person.id, language)
