"""People and their language choice."""

from __future__ import annotations

from bot.runtime import Runtime
from storage import people
from storage.models import Person


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
        async with runtime.db.read() as conn:
            person = people.find_person(conn, telegram_id)
    if person is not None and person.blocked_at is None and (
            not language_code or person.telegram_language == language_code):
        return person
    async with runtime.db.transaction() as conn:
        person = people.ensure_person(conn, telegram_id, runtime.clock.now())
        if language_code and person.telegram_language != language_code:
            people.note_telegram(conn, person.id, language_code)
            person = people.ensure_person(conn, telegram_id, runtime.clock.now())
        if person.blocked_at is not None:
            people.clear_blocked(conn, person.id)
        return person


async def choose_language(runtime: Runtime, person: Person, language: str) -> None:
    """Remember the language a person picked with /language."""
    async with runtime.db.transaction() as conn:
        people.set_language(conn, person.id, language)
