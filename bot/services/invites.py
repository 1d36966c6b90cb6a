"""Roles granted by a one-time invite, revoked, and listed: the same for chat and CLI.

Roles come only from the configuration (``[[members]]``, mirrored at start-up) or from an
invite an administrator created. An invite is a random code carried by a deep link
(``https://t.me/<bot>?start=inv_…``); opening it binds the Telegram account, by its numeric
user id, to the role. It works once and until it expires; a refused invite changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.config import ROLES, Config
from bot.config.sections import PARTY_MEMBER
from bot.durations import Duration, add_duration
from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services import notify, routing
from storage import directory, invites, people
from storage.invites import Invite
from storage.models import Membership, Person, StaffMember
from storage.sql import Conn

__all__ = [
    "CODE_PREFIX", "DEFAULT_EXPIRY", "MSG_CONFIGURED", "MSG_NOBODY", "MSG_NOT_HELD",
    "MSG_REVOKED", "ROLE_NAMES", "InviteError",
    "cancel_invite", "check_grant", "check_role_unit", "create_invite", "error_text",
    "invite_lines", "is_configured", "list_members", "members_lines", "new_code",
    "redeem", "revoke", "role_name", "unused_invites",
]

#: Every invite code starts with this; the rest is what Telegram allows in a deep link.
CODE_PREFIX = "inv_"
#: How long an invite stays valid when nobody says otherwise.
DEFAULT_EXPIRY = Duration(7, "d")
#: The longest display name kept from a Telegram account.
NAME_MAX_CHARS = 64

ROLE_NAMES = {
    "official": N_("official"),
    "head": N_("unit head"),
    "committee": N_("party committee member"),
    "clerk": N_("mailbox clerk"),
    "supervisor": N_("supervisor"),
    "supervision": N_("supervision group member"),
    "admin": N_("administrator"),
    "party_member": N_("party member"),  # PARTY_MEMBER: party_member = true in [[members]]
}

MSG_UNKNOWN_ROLE = N_('Unknown role "{role}". The roles are: {roles}.')
MSG_UNKNOWN_UNIT = N_('Unknown unit "{unit}".')
MSG_SUPERVISION_ONLY = N_(
    'The role supervision can be granted only in the supervision unit "{unit}", not in '
    '"{other}".')
MSG_TOO_LONG = N_("An invite can stay valid for at most {days} days ([limits] "
                  "invite_max_days).")
MSG_NO_SUCH_INVITE = N_("There is no unused invite number {id}; /invites lists them.")
MSG_NO_INVITES = N_("No invite is waiting to be used.")
MSG_INVITE_LINE = N_("• #{id}: {role} of {unit} ({unit_id}), valid until {expires}")
MSG_CANCELLED = N_("✅ Invite #{id} ({role} of {unit}) is cancelled: its link no longer "
                   "works.")
MSG_CONFIGURED = N_(
    "Note: the configuration file grants this role too ([[members]]), so it is granted "
    "again whenever Sunbox starts (the bot or any sunbox command). Remove it from the file "
    "to make the change last."
)
MSG_REVOKED = N_("✅ {telegram_id} is no longer {role} of {unit}.")
MSG_NOT_HELD = N_("{telegram_id} does not hold the role {role} in {unit}; nothing has changed.")
MSG_NOBODY = N_("Nobody holds a role yet.")
MSG_MEMBER = N_("• {role}: {name} (Telegram id {telegram_id})")
MSG_MEMBER_CONFIGURED = N_(
    "• {role}: {name} (Telegram id {telegram_id}, from the configuration file)"
)


class InviteError(Exception):
    """A refused invite or role change; ``reason`` is a stable code.

    Reasons: ``unknown_role``, ``unknown_unit`` (creating or revoking),
    ``supervision_unit`` (the supervision role outside the supervision unit), ``too_long``
    (an expiry beyond ``[limits] invite_max_days``), ``no_such_invite`` (cancelling), and
    for redeeming ``unknown`` (no such code), ``used``, ``expired``, ``cancelled``,
    ``invalid`` (its unit or role is no longer configured, or no longer allowed together)
    and ``already_member``.
    """

    def __init__(self, reason: str, *, role: str = "", unit_id: str = "",
                 invite: Invite | None = None, number: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.role = role
        self.unit_id = unit_id
        self.invite = invite
        self.number = number


@dataclass(frozen=True)
class Grant:
    """What redeeming an invite gave."""

    membership: Membership
    invite: Invite


def role_name(t: Translate, role: str) -> str:
    """A role's name in the reader's language."""
    return t(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def new_code() -> str:
    """A fresh invite code: ``inv_`` and 16 URL-safe characters (96 random bits)."""
    return CODE_PREFIX + secrets.token_urlsafe(12)


#: What an invite may grant: a role, or party membership of a unit's branch (the disclosure
#: register's party items reach its party members).
GRANTABLE = (*ROLES, PARTY_MEMBER)


def check_role_unit(config: Config, role: str, unit_id: str) -> None:
    """Refuse a role that does not exist or a unit that is not configured."""
    if role not in GRANTABLE:
        raise InviteError("unknown_role", role=role, unit_id=unit_id)
    try:
        config.unit(unit_id)
    except KeyError:
        raise InviteError("unknown_unit", role=role, unit_id=unit_id) from None


def check_grant(config: Config, role: str, unit_id: str) -> None:
    """Refuse what :func:`check_role_unit` refuses, and the supervision role anywhere but
    in the supervision unit (it sees every case: it belongs to the supervision group)."""
    check_role_unit(config, role, unit_id)
    supervision = config.supervision_unit()
    if role == "supervision" and (supervision is None or supervision.id != unit_id):
        raise InviteError("supervision_unit", role=role, unit_id=unit_id)


def error_text(t: Translate, error: InviteError, config: Config | None = None) -> str:
    """The message for an unknown role or unit, a role the unit cannot have, an expiry
    too far away or an invite that cannot be cancelled."""
    if error.reason == "unknown_role":
        return t(MSG_UNKNOWN_ROLE).format(role=error.role, roles=", ".join(GRANTABLE))
    if error.reason == "supervision_unit":
        supervision = config.supervision_unit() if config is not None else None
        return t(MSG_SUPERVISION_ONLY).format(
            unit=supervision.id if supervision is not None else "?", other=error.unit_id)
    if error.reason == "too_long":
        days = config.limits.invite_max_days if config is not None else error.number
        return t(MSG_TOO_LONG).format(days=days)
    if error.reason == "no_such_invite":
        return t(MSG_NO_SUCH_INVITE).format(id=error.number)
    return t(MSG_UNKNOWN_UNIT).format(unit=error.unit_id)


def is_configured(config: Config, telegram_id: int, role: str, unit_id: str) -> bool:
    """Whether ``[[members]]`` grants this role (it is granted again at every start)."""
    return any(m.telegram_id == telegram_id and m.role == role and m.unit == unit_id
               for m in config.members)


async def create_invite(
    runtime: Runtime, role: str, unit_id: str, created_by: Person | None,
    expires: Duration | None = None,
) -> Invite:
    """Store a new one-time invite into ``role`` of ``unit_id``, valid for ``expires``
    (default :data:`DEFAULT_EXPIRY`, at most ``[limits] invite_max_days``); the caller
    checked that ``created_by`` may. The returned invite carries its code, which is not
    stored (only its hash is)."""
    config = runtime.config
    check_grant(config, role, unit_id)
    now = runtime.clock.now()
    local_now = now.astimezone(config.general.tz)
    longest = timedelta(days=config.limits.invite_max_days)
    if expires is None:
        expires_at = min(add_duration(local_now, DEFAULT_EXPIRY, runtime.calendar),
                         local_now + longest)
    else:
        expires_at = add_duration(local_now, expires, runtime.calendar)
        if expires_at - local_now > longest:
            raise InviteError("too_long", role=role, unit_id=unit_id,
                              number=config.limits.invite_max_days)
    code = new_code()
    return await runtime.db.write(
        invites.create, code, role, unit_id, created_by.id if created_by else None, now, expires_at)


async def unused_invites(runtime: Runtime) -> list[Invite]:
    """The invites that can still be opened (not used, cancelled or expired)."""
    return await runtime.db.read(invites.unused, runtime.clock.now())


async def cancel_invite(runtime: Runtime, invite_id: int) -> Invite:
    """Cancel an unused invite: its link stops working. ``InviteError('no_such_invite')``
    if there is no such invite, or it was used or cancelled already."""
    invite = await runtime.db.write(invites.cancel, invite_id, runtime.clock.now())
    if invite is None:
        raise InviteError("no_such_invite", number=invite_id)
    return invite


def invite_lines(runtime: Runtime, t: Translate, language: str,
                 waiting: Iterable[Invite]) -> list[str]:
    """A listing of unused invites, one line each."""
    return [t(MSG_INVITE_LINE).format(
        id=invite.id, role=role_name(t, invite.role), unit_id=invite.unit_id,
        unit=notify.unit_name(runtime, invite.unit_id, language),
        expires=notify.local_time(runtime, invite.expires_at) if invite.expires_at else "—")
        for invite in waiting]


async def redeem(runtime: Runtime, code: str, person: Person, display_name: str) -> Grant:
    """Take up the role an invite offers, in one transaction with spending it.

    Keeps the person's display name (colleagues see who joined) and tells the unit's
    heads. Raises :class:`InviteError` (and changes nothing) for an unknown, used or
    expired code, one whose unit or role is gone, or a role the person already holds.
    """
    config = runtime.config
    now = runtime.clock.now()

    def work(conn: Conn) -> Invite:
        invite = invites.get(conn, code)
        if invite is None:
            raise InviteError("unknown")
        if invite.cancelled_at is not None:
            raise InviteError("cancelled", role=invite.role, unit_id=invite.unit_id,
                              invite=invite)
        if invite.used_by is not None:
            raise InviteError("used", role=invite.role, unit_id=invite.unit_id, invite=invite)
        if invite.expires_at is not None and invite.expires_at <= now:
            raise InviteError("expired", role=invite.role, unit_id=invite.unit_id,
                              invite=invite)
        try:
            check_grant(config, invite.role, invite.unit_id)
        except InviteError:
            raise InviteError("invalid", role=invite.role, unit_id=invite.unit_id,
                              invite=invite) from None
        if not directory.grant(conn, person.id, invite.unit_id, invite.role, "invite",
                               now):
            raise InviteError("already_member", role=invite.role, unit_id=invite.unit_id,
                              invite=invite)
        if not invites.use(conn, invite.id, person.id, now):
            raise InviteError("used", role=invite.role, unit_id=invite.unit_id, invite=invite)
        name = " ".join(display_name.split())[:NAME_MAX_CHARS] or person.display_name
        if name and name != person.display_name:
            people.set_display_name(conn, person.id, name)
        shown_name = name or str(person.telegram_id)
        heads = [r for r in notify.heads_of(conn, runtime, invite.unit_id)
                 if r.chat_id != person.telegram_id]

        def render(t: Translate, language: str) -> str:
            return t("👤 {name} (Telegram id {telegram_id}) joined {unit} as {role}, "
                     "through an invite.").format(
                name=shown_name, telegram_id=person.telegram_id, role=role_name(t, invite.role),
                unit=notify.unit_name(runtime, invite.unit_id, language))

        notify.send(conn, runtime, heads, render, now=now)
        return invite
    invite = await runtime.db.write(work)
    membership = Membership(person.id, person.telegram_id, invite.unit_id, invite.role,
                            "invite")
    return Grant(membership, invite)


async def revoke(runtime: Runtime, telegram_id: int, role: str, unit_id: str) -> bool:
    """Withdraw an active role and tell its holder; False if they did not hold it. The
    cards they hold for a unit where they no longer hold any role are withdrawn.

    A role that ``[[members]]`` grants comes back at the next start
    (:func:`is_configured` says whether that is the case).
    """
    check_role_unit(runtime.config, role, unit_id)
    now = runtime.clock.now()

    def work(conn: Conn) -> bool:
        if not directory.revoke(conn, telegram_id, unit_id, role, now):
            return False
        # Their cards of that unit's cases are edited once to say so, and never again.
        notify.withdraw_cards(conn, runtime, telegram_id, now=now)
        language = notify.chat_language(conn, runtime, telegram_id)

        def render(t: Translate, language: str) -> str:
            return t("You are no longer {role} of {unit}.").format(
                role=role_name(t, role), unit=notify.unit_name(runtime, unit_id, language))

        notify.send(conn, runtime, [notify.Recipient(telegram_id, language)], render, now=now)
        # The unit's last official or head gone: its open cases go up the tree.
        if role in routing.HANDLING_ROLES:
            routing.move_if_unstaffed(conn, runtime, unit_id, now=now)
        return True
    return await runtime.db.write(work)


async def list_members(runtime: Runtime, unit_id: str | None = None) -> list[StaffMember]:
    """Every active role, of one unit or of all."""
    if unit_id is not None:
        check_role_unit(runtime.config, ROLES[0], unit_id)
    return await runtime.db.read(directory.all_staff, unit_id)


def members_lines(
    runtime: Runtime, t: Translate, language: str, members: Iterable[StaffMember],
    units: Sequence[str] = (),
) -> list[str]:
    """A listing of members grouped by unit (in the configuration's order); ``units``
    are shown even when nobody holds a role there."""
    config = runtime.config
    order = {unit.id: index for index, unit in enumerate(config.units)}
    by_unit: dict[str, list[StaffMember]] = {unit_id: [] for unit_id in units}
    for member in members:
        by_unit.setdefault(member.unit_id, []).append(member)
    lines: list[str] = []
    for unit_id in sorted(by_unit, key=lambda u: (order.get(u, len(order)), u)):
        if lines:
            lines.append("")
        unit = notify.unit_name(runtime, unit_id, language)
        group = by_unit[unit_id]
        if not group:
            lines.append(t("{unit} ({unit_id}): nobody holds a role.").format(
                unit=unit, unit_id=unit_id))
            continue
        lines.append(t("{unit} ({unit_id}):").format(unit=unit, unit_id=unit_id))
        for member in group:
            message = (MSG_MEMBER_CONFIGURED
                       if is_configured(config, member.telegram_id, member.role, unit_id)
                       else MSG_MEMBER)
            lines.append(t(message).format(
                role=role_name(t, member.role), telegram_id=member.telegram_id,
                name=member.display_name or t("name not known yet")))
    return lines
