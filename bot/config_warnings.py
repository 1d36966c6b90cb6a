"""What ``check-config`` warns about in a valid configuration: things that work today but
will not reach people or count days right unless someone acts. Warnings never refuse a
file (the exit status stays 0)."""

from __future__ import annotations

from datetime import date

from bot.config import Config, Problem
from bot.i18n import N_

#: From this month on, next year's working days should be known.
NEXT_YEAR_FROM_MONTH = 10

MSG_YEAR_UNCOVERED = N_(
    "the official calendar data ends before {year}: deadlines reaching into {year} are "
    "counted on Monday–Friday. Copy the State Council's notice on {year}'s holidays "
    "(国务院办公厅关于部分节假日安排的通知) into [calendar] holidays and workdays and add "
    "{year} to [calendar] complete_years, or upgrade the chinesecalendar package")
MSG_NO_MEMBER = N_(
    "unit {unit} has no official or head in [[members]]: its cases go to {above} until an "
    "invite gives it one")
MSG_NO_MEMBER_TOP = N_(
    "unit {unit} has no official or head in [[members]] and no unit above it has one: its "
    "cases reach nobody until an invite gives it one")


def config_warnings(config: Config, today: date) -> list[Problem]:
    """Every warning about ``config`` on ``today`` (the county's date)."""
    return calendar_warnings(config, today) + unit_warnings(config)


def calendar_warnings(config: Config, today: date) -> list[Problem]:
    """This year when it is not covered, and next year from October 1 on."""
    calendar = config.calendar.calendar()
    years = [today.year]
    if today.month >= NEXT_YEAR_FROM_MONTH:
        years.append(today.year + 1)
    return [Problem("calendar", MSG_YEAR_UNCOVERED, {"year": year})
            for year in years if not calendar.covers(year)]


def staffed_in_config(config: Config) -> set[str]:
    """Units that ``[[members]]`` give an official or head (the supervision unit: any of
    its own roles). Invites may add members later; this sees the file only."""
    supervision = config.supervision_unit()
    staffed: set[str] = set()
    for member in config.members:
        if member.role in ("official", "head") or (
                member.role == "supervision" and supervision is not None
                and member.unit == supervision.id):
            staffed.add(member.unit)
    return staffed


def unit_warnings(config: Config) -> list[Problem]:
    """Every unit that can receive cases but has no member to receive them."""
    staffed = staffed_in_config(config)
    supervision = config.supervision_unit()
    problems: list[Problem] = []
    for index, unit in enumerate(config.units):
        if unit.id in staffed:
            continue
        above = _above(config, unit.id, staffed)
        if above is None and supervision is not None and supervision.id in staffed:
            above = supervision.id
        if above is None:
            problems.append(Problem(f"units[{index}]", MSG_NO_MEMBER_TOP, {"unit": unit.id}))
        else:
            problems.append(Problem(f"units[{index}]", MSG_NO_MEMBER,
                                    {"unit": unit.id, "above": above}))
    return problems


def _above(config: Config, unit_id: str, staffed: set[str]) -> str | None:
    parent = config.unit(unit_id).parent
    while parent is not None:
        if parent in staffed:
            return parent
        parent = config.unit(parent).parent
    return None
