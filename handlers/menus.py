"""Command menus and the bot's descriptions.

Telegram shows one command list per chat, picked from the narrowest scope that has one, and
never merges scopes. So:

- the default menu (``BotCommandScopeDefault``) holds only what a resident may do;
- each member of a unit gets a menu of their own chat (``BotCommandScopeChat``): the
  resident's commands plus their roles' own, in their Sunbox language and with no
  ``language_code`` (Telegram matches that field to the app's language, not to /language);
- a person whose last role is withdrawn gets ``deleteMyCommands`` for their chat.

What was last set is kept on the person (``people.menu``), so the menu is set when a member
first writes (members from the configuration have no chat before that), and again whenever
their roles or language differ from it, whoever changed them (an invite, /revoke, the
command line, the configuration). Each call goes through the bot's rate limiter; a call that
fails is tried again on the person's next update.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import Application

from bot.i18n import LANGUAGES, N_, resolve_language, translator
from bot.runtime import Runtime
from storage import people as people_repo
from storage.models import Person
from storage.sql import Conn

log = logging.getLogger(__name__)
NAME_MAX_CHARS = 64

#: Every command, in the order menus list them, with its description.
COMMANDS: dict[str, str] = {
    "new": N_("Make a suggestion or file a named report"),
    "my": N_("My cases"),
    "status": N_("Check a case's state by its number"),
    "inbox": N_("Open cases of my units"),
    "case": N_("Open a case by its number"),
    "intake": N_("Enter a case from another channel"),
    "meetings": N_("Supervisors' meetings: upcoming and past, attendance, minutes"),
    "finding": N_("File a finding"),
    "supervisors": N_("Supervisors of a unit"),
    "assessment": N_("Assessment of the units for a period"),
    "invite": N_("Invite someone into a role"),
    "invites": N_("Open invites"),
    "revoke": N_("Withdraw someone's role"),
    "members": N_("Who holds which role"),
    "health": N_("Is Sunbox healthy: polling, outbox, backups, calendar"),
    "help": N_("How Sunbox works"),
    "language": N_("Language: 中文 / English"),
    "cancel": N_("Leave what you are doing"),
}

RESIDENT = ("new", "my", "status", "help", "language", "cancel")
#: What each role adds to the resident's commands.
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "official": ("inbox", "case"),
    "head": ("inbox", "case", "meetings", "supervisors", "assessment", "members"),
    "supervision": ("inbox", "case", "assessment"),
    "clerk": ("intake", "status"),
    "supervisor": ("meetings", "finding"),
    "admin": ("meetings", "supervisors", "invite", "invites", "revoke", "members",
              "health"),
}

DESCRIPTION = N_(
    "Sunbox (阳光信箱) is the county's open-affairs mailbox. Make a suggestion (anonymously "
    "if you wish) or file a named report: it goes to the unit responsible, which must answer "
    "within a deadline, and you hear back at every step. Press Start to begin.")
SHORT_DESCRIPTION = N_(
    "The county's open-affairs mailbox: suggestions and named reports, answered within a "
    "deadline.")


def commands_for(roles: Iterable[str]) -> list[str]:
    """The commands of a person holding ``roles``, in menu order."""
    wanted = set(RESIDENT)
    for role in roles:
        wanted.update(ROLE_COMMANDS.get(role, ()))
    return [name for name in COMMANDS if name in wanted]


def _listed(names: Iterable[str], language: str) -> list[BotCommand]:
    t = translator(language)
    return [BotCommand(name, t(COMMANDS[name])) for name in names]


async def publish_defaults(application: Application[Any, Any, Any, Any, Any, Any],
                           default_language: str) -> None:
    """At start-up: the residents' menu and the bot's descriptions, in each language (for
    the app's language) and in the configured default (for every other app language)."""
    bot = application.bot
    scope = BotCommandScopeDefault()
    for language in LANGUAGES:
        code = "zh" if language == "zh_CN" else "en"
        t = translator(language)
        await bot.set_my_commands(_listed(RESIDENT, language), scope=scope,
                                  language_code=code)
        await bot.set_my_description(t(DESCRIPTION), language_code=code)
        await bot.set_my_short_description(t(SHORT_DESCRIPTION), language_code=code)
    t = translator(default_language)
    await bot.set_my_commands(_listed(RESIDENT, default_language), scope=scope)
    await bot.set_my_description(t(DESCRIPTION))
    await bot.set_my_short_description(t(SHORT_DESCRIPTION))


async def on_message(bot: Bot, runtime: Runtime, person: Person, name: str, language: str,
                     state: tuple[str | None, list[str]]) -> None:
    """A person wrote in their private chat: if they hold a role, keep the name Telegram
    shows for them (colleagues and organisers see it, e.g. on a meeting's attendance list,
    before the person has done anything there), and bring their menu up to date.

    ``state`` is the menu last set and the roles held, as the gate read them with the
    person (``storage.people.find_sender``): a resident costs no further read.
    """
    stored, roles = state
    if not roles and stored is None:
        return  # a resident: their name is not kept, their menu is the default one
    name = " ".join(name.split())[:NAME_MAX_CHARS]
    if roles and name and name != person.display_name:
        await runtime.db.write(people_repo.set_display_name, person_id=person.id, name=name)
    await _apply(bot, runtime, person.telegram_id, language, stored, roles)


async def refresh(bot: Bot, runtime: Runtime, telegram_id: int, language: str | None = None
                  ) -> None:
    """Bring a person's own menu in line with their roles and language (``language``: the
    one they are answered in now; by default their saved one). Never raises for Telegram:
    what fails is tried again on their next update."""
    def work(conn: Conn) -> tuple[str, str | None, list[str]] | None:
        stored, roles = people_repo.menu_and_roles(conn, telegram_id)
        if stored is None and not roles:
            return None  # a resident (or someone who never wrote: no chat yet)
        if language is not None:
            return language, stored, roles
        person = people_repo.find_person(conn, telegram_id)
        if person is None:
            return None
        return (resolve_language(person.language, person.telegram_language,
                                 runtime.config.general.default_language), stored, roles)
    found = await runtime.db.read(work)
    if found is not None:
        await _apply(bot, runtime, telegram_id, *found)


async def _apply(bot: Bot, runtime: Runtime, telegram_id: int, language: str,
                 stored: str | None, roles: list[str]) -> None:
    """Set (or delete) the chat's menu unless it is what was set last."""
    names = commands_for(roles) if roles else []
    wanted = f"{language}:{','.join(names)}" if roles else None
    if wanted == stored:
        return
    scope = BotCommandScopeChat(telegram_id)
    try:
        if wanted is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(_listed(names, language), scope=scope)
    except TelegramError as error:
        log.warning("menu of a member not set (%s); tried again later", type(error).__name__)
        return
    await runtime.db.write(people_repo.set_menu, telegram_id=telegram_id, menu=wanted)
