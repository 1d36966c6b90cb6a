"""What ``check-config`` warns about in a valid configuration: things that work today but
will not reach people or count days right unless someone acts. Warnings never refuse a
file (the exit status stays 0)."""

from __future__ import annotations

from datetime import date

from bot.config import Config, Problem
from bot.config.sections import PARTY_MEMBER
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
MSG_LEVEL_EMPTY = N_(
    'no unit has level = "{level}": this item applies to none until one does')
MSG_NO_COMMITTEE = N_(
    "unit {unit} must publish {item} but has no committee member (role committee) in "
    "[[members]]: its disclosures are reviewed by its head until an invite gives it one")
MSG_PARTY_UNREACHED = N_(
    "unit {unit} must publish {item} to party members but has neither a party_chat_id nor "
    "party members (party_member = true) in [[members]]: its party disclosures reach nobody "
    "until an invite gives it party members")
MSG_NO_CHANNEL = N_(
    "unit {unit} must publish {item} in its channel but has no public_channel_id")


def config_warnings(config: Config, today: date) -> list[Problem]:
    """Every warning about ``config`` on ``today`` (the county's date)."""
    return calendar_warnings(config, today) + unit_warnings(config) + disclosure_warnings(config)


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


def disclosure_warnings(config: Config) -> list[Problem]:
    """Catalog items that apply to no unit, and units whose disclosures would be reviewed by
    their head alone or reach nobody; keyed by the item that gives the unit the duty (the
    first one, once per unit and warning)."""
    index = {item.id: i for i, item in enumerate(config.disclosure_items)}
    levels = {unit.level for unit in config.units}
    problems = [Problem(f"disclosure_items[{i}].units_of_level", MSG_LEVEL_EMPTY,
                        {"level": item.units_of_level})
                for i, item in enumerate(config.disclosure_items)
                if item.units_of_level is not None and item.units_of_level not in levels]
    held = {(member.unit, member.role) for member in config.members}
    for unit in config.units:
        items = config.disclosure_items_of(unit.id)
        if not items:
            continue
        first = items[0]
        if (unit.id, "committee") not in held:
            problems.append(Problem(f"disclosure_items[{index[first.id]}]", MSG_NO_COMMITTEE,
                                    {"unit": unit.id, "item": first.id}))
        party = [item for item in items if item.audience == "party"]
        if party and unit.party_chat_id is None and (unit.id, PARTY_MEMBER) not in held:
            problems.append(Problem(f"disclosure_items[{index[party[0].id]}]",
                                    MSG_PARTY_UNREACHED, {"unit": unit.id, "item": party[0].id}))
        channel = [item for item in items
                   if item.audience == "public" and "channel" in item.forms]
        if channel and unit.public_channel_id is None:
            problems.append(Problem(f"disclosure_items[{index[channel[0].id]}]", MSG_NO_CHANNEL,
                                    {"unit": unit.id, "item": channel[0].id}))
    return problems
