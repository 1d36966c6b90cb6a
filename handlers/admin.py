"""Roles in chat: opening an invite link, and the administrators' /invite, /invites,
/revoke, /members; and their /health (what ``sunbox status`` prints).

Whoever sends a command, their roles are read from the database again before anything is
created, changed or shown; nothing a user types grants a role, only an invite does.
Register before ``handlers.start``, whose plain /start would otherwise take invite links.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CommandHandler, filters

from bot.durations import Duration, DurationError, parse_duration
from bot.i18n import N_
from bot.services import health, invites, roles
from bot.services.invites import InviteError, role_name
from bot.services.notify import local_time, unit_name
from handlers import menus
from handlers.context import SunboxContext
from storage.models import Membership

MAX_MESSAGE = 4000
INVITE_LINK = r"^/start inv_[\w-]+$"

REDEEM_ERRORS = {
    "unknown": N_("This invite link is not valid. Please check it, or ask an administrator "
                  "for a new one."),
    "used": N_("This invite has already been used; it works only once. Ask an administrator "
               "for a new one."),
    "expired": N_("This invite has expired. Ask an administrator for a new one."),
    "cancelled": N_("This invite has been cancelled. Ask an administrator for a new one."),
    "invalid": N_("This invite is no longer valid: its unit or role has been removed. Ask an "
                  "administrator for a new one."),
}


async def _reply(update: Update, text: str) -> None:
    """Reply, split into several messages at line ends if too long for one."""
    assert update.effective_message is not None
    chunk = ""
    for line in text.split("\n"):
        if chunk and len(chunk) + 1 + len(line) > MAX_MESSAGE:
            await update.effective_message.reply_text(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line[:MAX_MESSAGE]
    if chunk:
        await update.effective_message.reply_text(chunk)


async def _my_roles(context: SunboxContext) -> list[Membership]:
    return await roles.memberships(context.runtime, context.require_person().telegram_id)


async def redeem_invite(update: Update, context: SunboxContext) -> None:
    """/start inv_<code> (an invite link): take up the role it offers."""
    user = update.effective_user
    assert user is not None
    code = (context.args or [""])[0]
    t = context.t
    try:
        grant = await invites.redeem(context.runtime, code, context.require_person(),
                                     user.full_name)
    except InviteError as error:
        if error.reason == "already_member":
            text = t("You already are {role} of {unit}; nothing has changed, and the invite "
                     "can still be used by someone else.").format(
                role=role_name(t, error.role),
                unit=unit_name(context.runtime, error.unit_id, context.language))
        else:
            text = t(REDEEM_ERRORS.get(error.reason, REDEEM_ERRORS["unknown"]))
        await _reply(update, text)
        return
    membership = grant.membership
    await menus.refresh(context.bot, context.runtime, user.id, context.language)
    await _reply(update, t("✅ You are now {role} of {unit}.").format(
        role=role_name(t, membership.role),
        unit=unit_name(context.runtime, membership.unit_id, context.language)))


def _invite_usage(context: SunboxContext) -> str:
    t = context.t
    config = context.runtime.config
    lines = [t("Usage: /invite <role> <unit> [valid for]\n"
               "Example: /invite official finance 7d (a duration such as 48h or 7d; "
               "default 7d). The link works once."), "", t("Roles:")]
    lines += [f"• {role} — {role_name(t, role)}" for role in invites.GRANTABLE]
    lines += ["", t("Units:")]
    for unit in config.units:
        depth = len(config.unit_path(unit.id)) - 1
        lines.append(f"{'  ' * depth}• {unit.id} — {unit.name(context.language)}")
    return "\n".join(lines)


async def invite_command(update: Update, context: SunboxContext) -> None:
    """/invite <role> <unit> [valid for]: an administrator creates a one-time link."""
    t = context.t
    if not roles.has_role(await _my_roles(context), "admin"):
        await _reply(update, t("Only an administrator can create invites."))
        return
    args = context.args or []
    if len(args) not in (2, 3):
        await _reply(update, _invite_usage(context))
        return
    role, unit_id = args[0].lower(), args[1].lower()
    expires: Duration | None = None
    if len(args) == 3:
        try:
            expires = parse_duration(args[2])
        except DurationError as error:
            await _reply(update, t(error.msgid).format(**error.params))
            return
    try:
        invite = await invites.create_invite(context.runtime, role, unit_id,
                                             context.require_person(), expires)
    except InviteError as error:
        await _reply(update, "\n".join([invites.error_text(t, error, context.runtime.config),
                                        "", _invite_usage(context)]))
        return
    assert invite.expires_at is not None
    link = f"https://t.me/{context.bot.username}?start={invite.code}"
    await _reply(update, t(
        "✅ Invite for {role} of {unit}, valid until {expires}. It works once, for the first "
        "person who opens it: send it to the person privately.\n{link}").format(
        role=role_name(t, role), unit=unit_name(context.runtime, unit_id, context.language),
        expires=local_time(context.runtime, invite.expires_at), link=link))


async def invites_command(update: Update, context: SunboxContext) -> None:
    """/invites [cancel <number>]: an administrator lists the unused invites, or cancels one."""
    t = context.t
    if not roles.has_role(await _my_roles(context), "admin"):
        await _reply(update, t("Only an administrator can list or cancel invites."))
        return
    args = context.args or []
    runtime = context.runtime
    if not args:
        waiting = await invites.unused_invites(runtime)
        if not waiting:
            await _reply(update, t(invites.MSG_NO_INVITES))
            return
        lines = invites.invite_lines(runtime, t, context.language, waiting)
        lines += ["", t("/invites cancel <number> cancels one.")]
        await _reply(update, "\n".join(lines))
        return
    number = args[1].lstrip("#") if len(args) == 2 else ""
    if args[0].lower() != "cancel" or not re.fullmatch(r"[0-9]{1,12}", number):
        await _reply(update, t("Usage: /invites lists the unused invites; "
                               "/invites cancel <number> cancels one."))
        return
    try:
        invite = await invites.cancel_invite(runtime, int(number))
    except InviteError as error:
        await _reply(update, invites.error_text(t, error, runtime.config))
        return
    await _reply(update, t(invites.MSG_CANCELLED).format(
        id=invite.id, role=role_name(t, invite.role),
        unit=unit_name(runtime, invite.unit_id, context.language)))


async def revoke_command(update: Update, context: SunboxContext) -> None:
    """/revoke <telegram id> <role> <unit>: an administrator withdraws a role."""
    t = context.t
    if not roles.has_role(await _my_roles(context), "admin"):
        await _reply(update, t("Only an administrator can withdraw roles."))
        return
    args = context.args or []
    if len(args) != 3 or not args[0].isdigit():
        await _reply(update, t("Usage: /revoke <Telegram id> <role> <unit>\n"
                               "Example: /revoke 123456789 official finance\n"
                               "/members shows who holds which role."))
        return
    telegram_id, role, unit_id = int(args[0]), args[1].lower(), args[2].lower()
    runtime = context.runtime
    try:
        done = await invites.revoke(runtime, telegram_id, role, unit_id)
    except InviteError as error:
        await _reply(update, invites.error_text(t, error))
        return
    params = {"telegram_id": telegram_id, "role": role_name(t, role),
              "unit": unit_name(runtime, unit_id, context.language)}
    if not done:
        await _reply(update, t(invites.MSG_NOT_HELD).format(**params))
        return
    await menus.refresh(context.bot, runtime, telegram_id)  # their menu loses the role
    lines = [t(invites.MSG_REVOKED).format(**params)]
    if invites.is_configured(runtime.config, telegram_id, role, unit_id):
        lines.append(t(invites.MSG_CONFIGURED))
    await _reply(update, "\n".join(lines))


async def members_command(update: Update, context: SunboxContext) -> None:
    """/members [unit]: who holds which role (administrators: everywhere; heads: their
    own units)."""
    t = context.t
    runtime = context.runtime
    mine = await _my_roles(context)
    args = context.args or []
    wanted = args[0].lower() if args else None
    if roles.has_role(mine, "admin"):
        allowed: list[str] | None = None
    else:
        allowed = sorted({m.unit_id for m in mine if m.role == "head"})
        if not allowed:
            await _reply(update, t("Only administrators and unit heads can list members."))
            return
    if len(args) > 1:
        await _reply(update, t("Usage: /members [unit]"))
        return
    if wanted is not None and allowed is not None and wanted not in allowed:
        await _reply(update, t("You can list the members of your own units only."))
        return
    units = [wanted] if wanted is not None else (allowed or [])
    try:
        if units:
            members = [m for unit_id in units
                       for m in await invites.list_members(runtime, unit_id)]
        else:
            members = await invites.list_members(runtime)
    except InviteError as error:
        await _reply(update, invites.error_text(t, error))
        return
    lines = invites.members_lines(runtime, t, context.language, members, units)
    await _reply(update, "\n".join(lines) if lines else t(invites.MSG_NOBODY))


async def health_command(update: Update, context: SunboxContext) -> None:
    """/health: an administrator sees the report ``sunbox status`` prints."""
    if not roles.has_role(await _my_roles(context), "admin"):
        await _reply(update, context.t("Only an administrator can see the health of Sunbox."))
        return
    found = await health.check(context.runtime)
    await _reply(update, "\n".join(health.render(found, context.t, context.tn)))


def build_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The handlers of this module, in the order they must be tried."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", redeem_invite,
                       filters=filters.Regex(INVITE_LINK) & private),
        CommandHandler("invite", invite_command, filters=private),
        CommandHandler("invites", invites_command, filters=private),
        CommandHandler("revoke", revoke_command, filters=private),
        CommandHandler("members", members_command, filters=private),
        CommandHandler("health", health_command, filters=private),
    ]


def register(application: Application) -> None:
    """Install the handlers; call before ``handlers.start.register``."""
    for handler in build_handlers():
        application.add_handler(handler)
