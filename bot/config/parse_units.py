"""The organization: ``[[units]]`` (a tree, checked for unknown parents and cycles),
``[[categories]]``, ``[[members]]`` and ``[routing]``."""

from __future__ import annotations

from bot.config.messages import (
    MSG_ABOVE_SUPERVISION_REQUIRED,
    MSG_ABOVE_SUPERVISION_SELF,
    MSG_CHANNEL_ID,
    MSG_CHOICE,
    MSG_CYCLE,
    MSG_DUPLICATE_CATEGORY,
    MSG_DUPLICATE_MEMBER,
    MSG_DUPLICATE_UNIT,
    MSG_GROUP_CHAT_ID,
    MSG_POSITIVE,
    MSG_ROLE_OR_PARTY,
    MSG_SUPERVISION_COUNT,
    MSG_SUPERVISION_ROLE,
    MSG_UNKNOWN_PARENT,
    MSG_UNKNOWN_ROLE,
    MSG_UNKNOWN_UNIT,
)
from bot.config.reader import Problem, Reader, array_of_tables, sub_table
from bot.config.sections import (
    PARTY_MEMBER,
    ROLES,
    CategoryConfig,
    MemberConfig,
    RoutingConfig,
    UnitConfig,
)
from bot.config.sections_disclosure import LEVELS

UNIT_KEYS = ("id", "name_zh", "name_en", "parent", "supervision", "sign_off", "group_chat_id",
             "level", "public_channel_id", "party_chat_id")
CATEGORY_KEYS = ("id", "name_zh", "name_en", "unit")
MEMBER_KEYS = ("telegram_id", "role", "unit", "name", "party_member")


def _chat_id(reader: Reader, name: str, message: str) -> int | None:
    """An optional chat id: a negative integer (groups and channels), else a problem."""
    chat_id: int | None = reader.integer(name, None)
    if chat_id is not None and chat_id >= 0:
        reader.problem(name, message)
        return None
    return chat_id


def parse_units(root: Reader) -> tuple[UnitConfig, ...]:
    entries: list[tuple[str, UnitConfig]] = []
    first_seen: set[str] = set()
    for key, item in array_of_tables(root, "units", required=True):
        reader = Reader(item, key, root.problems, UNIT_KEYS)
        unit_id = reader.identifier("id")
        name_zh = reader.string("name_zh")
        name_en = reader.string("name_en")
        parent = reader.string("parent", None)
        supervision = reader.boolean("supervision", False)
        sign_off = reader.boolean("sign_off", False)
        group_chat_id = _chat_id(reader, "group_chat_id", MSG_GROUP_CHAT_ID)
        level = reader.string("level", None)
        if level is not None and level not in LEVELS:
            reader.problem("level", MSG_CHOICE, value=level, allowed=", ".join(LEVELS))
            level = None
        public_channel_id = _chat_id(reader, "public_channel_id", MSG_CHANNEL_ID)
        party_chat_id = _chat_id(reader, "party_chat_id", MSG_GROUP_CHAT_ID)
        if unit_id is None:
            continue
        if unit_id in first_seen:
            reader.problem("id", MSG_DUPLICATE_UNIT, id=unit_id)
            continue
        first_seen.add(unit_id)
        unit = UnitConfig(
            id=unit_id,
            name_zh=name_zh or "",
            name_en=name_en or "",
            parent=parent,
            supervision=bool(supervision),
            sign_off=bool(sign_off),
            group_chat_id=group_chat_id,
            level=level,
            public_channel_id=public_channel_id,
            party_chat_id=party_chat_id,
        )
        entries.append((key, unit))
    if "units" in root.data and isinstance(root.data["units"], list):
        count = sum(1 for _, unit in entries if unit.supervision)
        if count != 1:
            root.problem("units", MSG_SUPERVISION_COUNT, count=count)
    _check_unit_tree(entries, root.problems)
    return tuple(unit for _, unit in entries)


def _check_unit_tree(entries: list[tuple[str, UnitConfig]], problems: list[Problem]) -> None:
    """Report unknown parents and every cycle (once, at its first unit in file order)."""
    parents = {unit.id: unit.parent for _, unit in entries}
    keys = {unit.id: key for key, unit in entries}
    order = {unit.id: index for index, (_, unit) in enumerate(entries)}
    for key, unit in entries:
        if unit.parent is not None and unit.parent not in parents:
            problems.append(Problem(f"{key}.parent", MSG_UNKNOWN_PARENT, {"unit": unit.parent}))
    done: set[str] = set()
    for _, unit in entries:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = unit.id
        while current is not None and current in parents and current not in done:
            if current in on_path:
                cycle = path[path.index(current) :]
                first = min(cycle, key=order.__getitem__)
                start = cycle.index(first)
                cycle = cycle[start:] + cycle[:start]
                problems.append(
                    Problem(
                        f"{keys[first]}.parent",
                        MSG_CYCLE,
                        {"cycle": " → ".join([*cycle, first])},
                    )
                )
                break
            path.append(current)
            on_path.add(current)
            current = parents[current]
        done.update(path)


def parse_routing(root: Reader, units: tuple[UnitConfig, ...]) -> RoutingConfig:
    """``[routing]``; ``above_supervision`` is required whenever a supervision unit exists."""
    table = sub_table(root, "routing", ("above_supervision",))
    if table is None:
        return RoutingConfig()
    supervision = next((unit for unit in units if unit.supervision), None)
    if supervision is not None and "above_supervision" not in table.data:
        table.problem("above_supervision", MSG_ABOVE_SUPERVISION_REQUIRED)
    above = table.string("above_supervision", None)
    if above is None:
        return RoutingConfig()
    if above not in {unit.id for unit in units}:
        table.problem("above_supervision", MSG_UNKNOWN_UNIT, unit=above)
    elif supervision is not None and above == supervision.id:
        table.problem("above_supervision", MSG_ABOVE_SUPERVISION_SELF, unit=above)
    return RoutingConfig(above)


def parse_categories(root: Reader, unit_ids: set[str]) -> tuple[CategoryConfig, ...]:
    categories: list[CategoryConfig] = []
    first_seen: set[str] = set()
    for key, item in array_of_tables(root, "categories", required=True):
        reader = Reader(item, key, root.problems, CATEGORY_KEYS)
        category_id = reader.identifier("id")
        name_zh = reader.string("name_zh")
        name_en = reader.string("name_en")
        unit = reader.string("unit")
        if unit is not None and unit not in unit_ids:
            reader.problem("unit", MSG_UNKNOWN_UNIT, unit=unit)
        if category_id is None:
            continue
        if category_id in first_seen:
            reader.problem("id", MSG_DUPLICATE_CATEGORY, id=category_id)
            continue
        first_seen.add(category_id)
        categories.append(CategoryConfig(category_id, name_zh or "", name_en or "", unit or ""))
    return tuple(categories)


def parse_members(root: Reader, units: tuple[UnitConfig, ...]) -> tuple[MemberConfig, ...]:
    """``[[members]]``: each entry gives its ``role``, and with ``party_member = true`` also
    party membership of the unit's branch (:data:`PARTY_MEMBER`); one of them is required."""
    unit_ids = {unit.id for unit in units}
    supervision = [unit.id for unit in units if unit.supervision]
    members: list[MemberConfig] = []
    first_index: dict[MemberConfig, int] = {}
    for index, (key, item) in enumerate(array_of_tables(root, "members", required=False)):
        reader = Reader(item, key, root.problems, MEMBER_KEYS)
        telegram_id = reader.integer("telegram_id")
        if telegram_id is not None and telegram_id < 1:
            reader.problem("telegram_id", MSG_POSITIVE)
            telegram_id = None
        party_member = reader.boolean("party_member", False)
        role = reader.string("role", None)
        if role is None and "role" not in item and party_member is False:
            reader.problem("role", MSG_ROLE_OR_PARTY)
        if role is not None and role not in ROLES:
            reader.problem("role", MSG_UNKNOWN_ROLE, role=role, allowed=", ".join(ROLES))
            role = None
        unit = reader.string("unit")
        if unit is not None and unit not in unit_ids:
            reader.problem("unit", MSG_UNKNOWN_UNIT, unit=unit)
            unit = None
        if role == "supervision" and unit is not None and len(supervision) == 1 \
                and unit != supervision[0]:
            reader.problem("unit", MSG_SUPERVISION_ROLE, unit=supervision[0], other=unit)
            unit = None
        name = reader.string("name", None)
        if telegram_id is None or unit is None or party_member is None:
            continue
        if "role" in item and role is None:
            continue  # a role was given and is wrong: the party membership waits for it too
        roles = ([role] if role is not None else []) + ([PARTY_MEMBER] if party_member else [])
        for held in roles:
            member = MemberConfig(telegram_id, held, unit, name)
            if member in first_index:
                reader.problem("telegram_id", MSG_DUPLICATE_MEMBER, index=first_index[member])
                continue
            first_index[member] = index
            members.append(member)
    return tuple(members)
