"""A county with people in it: extra members for the units-at-work tests."""

from __future__ import annotations

import dataclasses

from bot.config import Config, MemberConfig

CIVIL_OFFICIAL, CIVIL_HEAD, AGRI_OFFICIAL, COUNTY_HEAD = 1101, 1102, 1103, 1104
FINANCE_OFFICIAL, FINANCE_HEAD, SUPERVISION, ADMIN, CLERK, SUPERVISOR = (
    1001, 1002, 1003, 1004, 1005, 1006)

EXTRA = (
    MemberConfig(CIVIL_OFFICIAL, "official", "civil_affairs"),
    MemberConfig(CIVIL_HEAD, "head", "civil_affairs"),
    MemberConfig(AGRI_OFFICIAL, "official", "agriculture"),
    MemberConfig(COUNTY_HEAD, "head", "county"),
)


def staffed(config: Config, **unit_changes: dict[str, object]) -> Config:
    """The example county plus the extra members; ``unit_changes`` edit units by id."""
    units = tuple(
        dataclasses.replace(unit, **unit_changes[unit.id]) if unit.id in unit_changes else unit
        for unit in config.units
    )
    return dataclasses.replace(config, members=config.members + EXTRA, units=units)
