"""Which units a report covers, and what a reader may assess."""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import Config, UnitConfig
from storage.models import Membership


def scope_units(config: Config, tops: Iterable[str] | None = None
                ) -> list[tuple[UnitConfig, int]]:
    """Units in the report, depth first in file order, with their depth in it.

    ``tops``: the units a reader may assess (with everything below them); None: all.
    """
    if tops is None:
        roots = list(config.roots())
        allowed = {unit.id for unit in config.units}
    else:
        allowed = set()
        known = {unit.id for unit in config.units}
        for unit_id in tops:
            if unit_id in known:  # a role in a unit no longer configured shows nothing
                allowed.add(unit_id)
                allowed.update(unit.id for unit in config.descendants(unit_id))
        roots = [unit for unit in config.units
                 if unit.id in allowed and unit.parent not in allowed]
    ordered: list[tuple[UnitConfig, int]] = []
    seen: set[str] = set()

    def visit(unit: UnitConfig, depth: int) -> None:
        if unit.id in seen:
            return
        seen.add(unit.id)
        ordered.append((unit, depth))
        for child in config.children(unit.id):
            if child.id in allowed:
                visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    return ordered


class NotAllowed(Exception):
    """The reader may not see any assessment."""


def reader_scope(memberships: Iterable[Membership]) -> list[str] | None:
    """What a reader may assess: None for every unit (supervision group, administrators),
    else the units they head (each with everything below it); ``NotAllowed`` otherwise."""
    memberships = list(memberships)
    if any(m.role in ("supervision", "admin") for m in memberships):
        return None
    heads = sorted({m.unit_id for m in memberships if m.role == "head"})
    if not heads:
        raise NotAllowed
    return heads
