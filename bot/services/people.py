"""People and their language choice."""

from __future__ import annotations

from bot.runtime import Runtime
from storage import people
from storage.models import Person


async def touch(runtime: Runtime, telegram_id: int) -> Person:
    """The person behind a Telegram user id, created on first contact."""
    async with runtime.db.transaction() as conn:
        return await people.ensure_person(conn, telegram_id, runtime.clock.now())


async def choose_language(runtime: Runtime, person: Person, language: str) -> None:
    """Remember the language a person picked with /language."""
    async with runtime.db.transaction() as conn:
        await people.set_language(conn, person.id, language)
