"""``sunbox invite``, ``invites``, ``revoke`` and ``members``: roles granted and withdrawn
from the command line, on the configuration's database."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.cli_common import command_language, load_for_command, with_runtime
from bot.config import ROLES, Config
from bot.i18n import Translate, translator

if TYPE_CHECKING:
    from bot.runtime import Runtime

_BOT_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{4,31})")


def _role_unit_ok(config: Config, role: str, unit_id: str, t: Translate,
                  grant: bool = False) -> bool:
    """Whether the role and the unit exist (and, to ``grant``, go together); if not, say
    so."""
    from bot.services.invites import InviteError, check_grant, check_role_unit, error_text

    try:
        (check_grant if grant else check_role_unit)(config, role, unit_id)
    except InviteError as error:
        print(error_text(t, error, config), file=sys.stderr)
        return False
    return True


def cmd_invite(args: argparse.Namespace) -> int:
    from bot.durations import DurationError, parse_duration
    from bot.services import invites
    from bot.services.notify import local_time
    from storage.invites import Invite

    language = command_language(args)
    t = translator(language)
    config = load_for_command(args, language)
    if config is None:
        return 1
    if args.cancel is not None:
        return _cancel_invite(args, config, t, language)
    if args.role is None or args.unit is None:
        print(t("Both --role and --unit are needed to create an invite (or --cancel N to "
                "cancel one)."), file=sys.stderr)
        return 1
    if not _role_unit_ok(config, args.role, args.unit, t, grant=True):
        return 1
    try:
        expires = parse_duration(args.expires) if args.expires is not None else None
    except DurationError as error:
        print(t(error.msgid).format(**error.params), file=sys.stderr)
        return 1
    bot = None
    if args.bot is not None:
        match = _BOT_USERNAME.fullmatch(args.bot.strip())
        if match is None:
            print(t('"{bot}" is not a bot username (letters, digits and _, 5 to 32 '
                    "characters).").format(bot=args.bot), file=sys.stderr)
            return 1
        bot = match.group(1)

    async def create(runtime: Runtime) -> tuple[Invite, str] | str:
        try:
            invite = await invites.create_invite(runtime, args.role, args.unit, None, expires)
        except invites.InviteError as error:
            return invites.error_text(t, error, config)
        assert invite.expires_at is not None
        return invite, local_time(runtime, invite.expires_at)

    created = with_runtime(config, t, create)
    if created is None:
        return 1
    if isinstance(created, str):
        print(created, file=sys.stderr)
        return 1
    invite, until = created
    print(t("Invite created: {role} of {unit} ({unit_id}), valid once, until {expires}.").format(
        role=invites.role_name(t, args.role), unit=config.unit(args.unit).name(language),
        unit_id=args.unit, expires=until))
    if bot is not None:
        print(t("Link: {link}").format(link=f"https://t.me/{bot}?start={invite.code}"))
    else:
        print(t("Link: {link} (replace <bot> with the bot's username, or pass --bot)").format(
            link=f"https://t.me/<bot>?start={invite.code}"))
        print(t("Or the person sends this message to the bot: /start {code}").format(
            code=invite.code))
    return 0


def _cancel_invite(args: argparse.Namespace, config: Config, t: Translate, language: str
                   ) -> int:
    """``sunbox invite --cancel N``."""
    from bot.services import invites

    async def cancel(runtime: Runtime) -> str | None:
        try:
            invite = await invites.cancel_invite(runtime, args.cancel)
        except invites.InviteError as error:
            print(invites.error_text(t, error, config), file=sys.stderr)
            return None
        return t(invites.MSG_CANCELLED).format(
            id=invite.id, role=invites.role_name(t, invite.role),
            unit=config.unit(invite.unit_id).name(language))

    done = with_runtime(config, t, cancel)
    if done is None:
        return 1
    print(done)
    return 0


def cmd_invites(args: argparse.Namespace) -> int:
    """``sunbox invites``: the invites that can still be used."""
    from bot.services import invites

    language = command_language(args)
    t = translator(language)
    config = load_for_command(args, language)
    if config is None:
        return 1

    async def listing(runtime: Runtime) -> list[str]:
        waiting = await invites.unused_invites(runtime)
        return invites.invite_lines(runtime, t, language, waiting)

    lines = with_runtime(config, t, listing)
    if lines is None:
        return 1
    print("\n".join(lines) if lines else t(invites.MSG_NO_INVITES))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from bot.services import invites

    language = command_language(args)
    t = translator(language)
    config = load_for_command(args, language)
    if config is None or not _role_unit_ok(config, args.role, args.unit, t):
        return 1

    async def revoke(runtime: Runtime) -> bool:
        return await invites.revoke(runtime, args.telegram_id, args.role, args.unit)

    done = with_runtime(config, t, revoke)
    if done is None:
        return 1
    params = {"telegram_id": args.telegram_id, "role": invites.role_name(t, args.role),
              "unit": f"{config.unit(args.unit).name(language)} ({args.unit})"}
    if not done:
        print(t(invites.MSG_NOT_HELD).format(**params), file=sys.stderr)
        return 1
    print(t(invites.MSG_REVOKED).format(**params))
    if invites.is_configured(config, args.telegram_id, args.role, args.unit):
        print(t(invites.MSG_CONFIGURED))
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    from bot.services import invites

    language = command_language(args)
    t = translator(language)
    config = load_for_command(args, language)
    if config is None:
        return 1
    if args.unit is not None and not _role_unit_ok(config, ROLES[0], args.unit, t):
        return 1

    async def listing(runtime: Runtime) -> list[str]:
        members = await invites.list_members(runtime, args.unit)
        units = [args.unit] if args.unit is not None else []
        return invites.members_lines(runtime, t, language, members, units)

    lines = with_runtime(config, t, listing)
    if lines is None:
        return 1
    print("\n".join(lines) if lines else t(invites.MSG_NOBODY))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "invite": cmd_invite, "invites": cmd_invites, "revoke": cmd_revoke, "members": cmd_members,
}
