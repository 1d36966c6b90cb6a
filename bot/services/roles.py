"""Who may see and do what, decided from the database on every press.

- Officials, heads and (for the supervision unit) supervision members *handle* the cases of
  their own unit: accept, answer, transfer, ask the reporter, ask for more time.
- Heads also sign off answers of their unit, and *see* (read only) the cases of every unit
  below theirs.
- The supervision group sees every case.
- A named report's identity is seen by those who handle it and by the supervision group,
  and never by the unit the report concerns (which does not see such a case at all). A
  unit's group chat is not a person: its members are not known, so it never sees an
  identity; entitled members open the case privately.
- A report about a unit's own leadership goes to the supervision group; one about the
  supervision unit's own leadership goes to ``[routing] above_supervision``.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import Config, UnitConfig
from bot.runtime import Runtime
from storage import directory
from storage.models import Case, Membership

HANDLING_ROLES = ("official", "head", "supervision")
STAFF_ROLES = ("official", "head", "supervision")


async def memberships(runtime: Runtime, telegram_id: int) -> list[Membership]:
    """A person's active roles, read now."""
    return await runtime.db.read(directory.memberships_of, telegram_id)


def has_role(roles: Iterable[Membership], role: str, unit_id: str | None = None) -> bool:
    return any(m.role == role and (unit_id is None or m.unit_id == unit_id) for m in roles)


def is_supervision(roles: Iterable[Membership]) -> bool:
    return has_role(roles, "supervision")


def handles(roles: Iterable[Membership], case: Case) -> bool:
    """May act on the case as its unit."""
    return any(m.role in HANDLING_ROLES and m.unit_id == case.unit_id for m in roles)


def signs_off(roles: Iterable[Membership], case: Case) -> bool:
    """May approve or return the unit's answer."""
    return has_role(roles, "head", case.unit_id) or (
        has_role(roles, "supervision", case.unit_id))


def concerned(roles: Iterable[Membership], case: Case) -> bool:
    """Belongs to the unit whose own leadership the report is about."""
    return bool(case.concerns_unit_id) and any(
        m.unit_id == case.concerns_unit_id for m in roles)


def sees(config: Config, roles: Iterable[Membership], case: Case) -> bool:
    """May read the case."""
    roles = list(roles)
    if concerned(roles, case) and not handles(roles, case):
        return False
    if handles(roles, case) or is_supervision(roles):
        return True
    try:
        above = set(config.unit_path(case.unit_id)[:-1])
    except KeyError:
        return False
    return any(m.role == "head" and m.unit_id in above for m in roles)


def sees_identity(roles: Iterable[Membership], case: Case) -> bool:
    """May see a named reporter's name and phone."""
    roles = list(roles)
    if concerned(roles, case):
        return False
    return handles(roles, case) or is_supervision(roles)


def holds_card(roles: Iterable[Membership], unit_id: str) -> bool:
    """May keep the copies of case cards sent to ``unit_id``'s members: still holds a
    staff role there (re-checked at every card edit and at a revocation)."""
    return any(m.role in STAFF_ROLES and m.unit_id == unit_id for m in roles)


def overseer(config: Config, concerns_unit_id: str | None = None) -> UnitConfig | None:
    """The unit that oversees a case: the supervision group, unless the case concerns the
    supervision unit's own leadership: then ``[routing] above_supervision``."""
    supervision = config.supervision_unit()
    if (supervision is not None and concerns_unit_id == supervision.id
            and config.routing.above_supervision):
        return config.unit(config.routing.above_supervision)
    return supervision


def route_concerning_head(config: Config, unit_id: str) -> tuple[str, str | None]:
    """Where a report about ``unit_id``'s own head or leadership goes, and the unit it
    concerns (``None`` when there is no supervision group to send it to)."""
    target = overseer(config, unit_id)
    if target is None:
        return unit_id, None
    return target.id, unit_id


def concerned_units(roles: Iterable[Membership]) -> list[str]:
    """Units a person belongs to: reports about any of their leaderships are kept from the
    person (``concerned``), in lists too, unless the person handles the case."""
    return sorted({m.unit_id for m in roles})


def handled_units(roles: Iterable[Membership]) -> list[str]:
    """Units whose cases a person handles (``handles``)."""
    return sorted({m.unit_id for m in roles if m.role in HANDLING_ROLES})


def visible_units(config: Config, roles: Iterable[Membership]) -> list[str] | None:
    """Units whose cases appear in a person's inbox (``None``: all of them)."""
    roles = list(roles)
    if is_supervision(roles):
        return None
    units: set[str] = set()
    for m in roles:
        if m.role in ("official", "head"):
            units.add(m.unit_id)
        if m.role == "head":
            units.update(u.id for u in config.descendants(m.unit_id))
    return sorted(units)
