"""The disclosure register's configuration (issue 22): ``[[disclosure_aspects]]``,
``[[disclosure_items]]``, ``[disclosure]``, the units' levels and chats, committee and party
members, each problem with its key, and what check-config warns about."""

from __future__ import annotations

import tomllib
from datetime import date
from typing import Any

import pytest

from bot import config as cfg
from bot.config import Config, MemberConfig, Problem, default_config_path, load_config
from bot.config.messages import (
    MSG_ASPECT_RESERVED,
    MSG_CHANNEL_ID,
    MSG_DAYS,
    MSG_DUE_TOO_LATE,
    MSG_DUPLICATE_ASPECT,
    MSG_DUPLICATE_FORM,
    MSG_DUPLICATE_ITEM,
    MSG_DUPLICATE_STAGE,
    MSG_NOT_NEGATIVE,
    MSG_ROLE_OR_PARTY,
    MSG_SCHEDULE_KEY,
    MSG_UNIT_OR_LEVEL,
    MSG_UNKNOWN_ASPECT,
)
from bot.config.sections import PARTY_MEMBER
from bot.config.sections_disclosure import (
    ASPECTS,
    FORMS,
    LEVELS,
    PERIODS,
    SCHEDULE_KINDS,
    AspectConfig,
    DisclosureConfig,
    ScheduleConfig,
)
from bot.config_warnings import (
    MSG_LEVEL_EMPTY,
    MSG_NO_CHANNEL,
    MSG_NO_COMMITTEE,
    MSG_PARTY_UNREACHED,
    config_warnings,
    disclosure_warnings,
)
from bot.durations import DURATION_FORMAT_HELP, Duration

BASE = """
[routing]
above_supervision = "county"

[[units]]
id = "county"
name_zh = "县委"
name_en = "County"
level = "county"

[[units]]
id = "discipline"
name_zh = "县纪委"
name_en = "Discipline"
parent = "county"
supervision = true
level = "department"

[[units]]
id = "east"
name_zh = "东村"
name_en = "East village"
parent = "county"
level = "village"

[[units]]
id = "west"
name_zh = "西村"
name_en = "West village"
parent = "county"
level = "village"

[[categories]]
id = "party_building"
name_zh = "基层党建"
name_en = "Party building"
unit = "county"
"""

ASPECT = """
[[disclosure_aspects]]
id = "finance"
item = "major_decisions"
name_zh = "财务"
name_en = "Finance"
"""

#: A valid item; ``{...}`` lines are swapped by the tests.
ITEM = """
[[disclosure_items]]
id = "{id}"
name_zh = "村级财务收支"
name_en = "Village finances"
{placement}
aspect = "{aspect}"
audience = "{audience}"
forms = {forms}
schedule = {schedule}
"""

MONTHLY = '{ kind = "regular", period = "monthly", due = "10d" }'


def item(id: str = "finances", placement: str = 'units_of_level = "village"',
         aspect: str = "finance", audience: str = "public",
         forms: str = '["channel", "notice_board"]', schedule: str = MONTHLY) -> str:
    return ITEM.format(id=id, placement=placement, aspect=aspect, audience=audience,
                       forms=forms, schedule=schedule)


def parse(tail: str) -> tuple[Config | None, list[Problem]]:
    """BASE, the aspect and ``tail``; a ``tail`` of top-level keys goes first instead."""
    if tail.lstrip().startswith("["):
        text = BASE + ASPECT + tail
    else:
        text = tail + "\n" + BASE + ("" if "disclosure_aspects" in tail else ASPECT)
    config, problems = cfg.parse_config(tomllib.loads(text), env={})
    for problem in problems:
        problem.render()  # every message formats with its params
    return config, problems


def load(tail: str) -> Config:
    config, problems = parse(tail)
    assert problems == [] and config is not None, [p.render() for p in problems]
    return config


# --- the example file ---------------------------------------------------------------------------


def test_the_example_has_the_catalog() -> None:
    config = load_config(default_config_path(), env={})
    assert [i.id for i in config.disclosure_items] == [
        "village_finance", "party_admission", "major_matters"]
    villages = [unit.id for unit in config.units if unit.level == "village"]
    assert len(villages) == 4
    for village in villages:
        assert [i.id for i in config.disclosure_items_of(village)] == ["village_finance"]
    finance = config.disclosure_item("village_finance")
    assert finance.schedule == ScheduleConfig("regular", period="monthly",
                                              due=Duration(10, "d"))
    assert (finance.audience, finance.forms) == ("public", ("channel", "notice_board"))
    assert config.seed_aspect(finance.aspect) == "major_decisions"
    [admission] = config.disclosure_items_of("organization_dept")
    assert admission.audience == "party" and admission.forms == ("channel", "meeting")
    assert admission.schedule.kind == "staged" and admission.schedule.within == Duration(5, "wd")
    assert admission.schedule.stages[0] == "确定入党积极分子"
    assert len(admission.schedule.stages) == 4
    assert config.seed_aspect(admission.aspect) == "party_building"
    [major] = config.disclosure_items_of("county")
    assert major.id == "major_matters" and major.schedule == ScheduleConfig(
        "temporary", within=Duration(3, "wd"))
    assert config.seed_aspect(major.aspect) == "major_decisions"
    assert config.disclosure_items_of("yizhou_town") == ()
    assert config.disclosure == DisclosureConfig()
    assert all(unit.level in LEVELS for unit in config.units)


def test_the_example_warns_about_its_commented_out_committee() -> None:
    config = load_config(default_config_path(), env={})
    rendered = [p.render() for p in disclosure_warnings(config)]
    assert any("yizhou_beiguan" in text and "committee" in text for text in rendered)
    assert any("organization_dept" in text and "party_chat_id" in text for text in rendered)


# --- what the file may say ----------------------------------------------------------------------


def test_a_full_catalog_loads() -> None:
    config = load(
        item()
        + item("admission", 'unit = "county"', "party_building", "party",
               '["channel", "meeting"]',
               '{ kind = "staged", stages = [" 立项 ", "实施", "验收"], within = "5wd" }')
        + item("matters", 'unit = "east"', "major_decisions", "public", '["document", "web"]',
               '{ kind = "temporary", within = "3d" }')
        + "[disclosure]\nreview_quorum = 2\ncomment_window = '48h'\non_time_threshold = 1\n")
    assert config.disclosure_aspects == (
        AspectConfig("finance", "major_decisions", "财务", "Finance"),)
    admission = config.disclosure_item("admission")
    assert admission.schedule == ScheduleConfig("staged", within=Duration(5, "wd"),
                                                stages=("立项", "实施", "验收"))
    assert admission.unit == "county" and admission.units_of_level is None
    assert config.disclosure_item("matters").schedule.within == Duration(3, "d")
    assert config.disclosure == DisclosureConfig(2, Duration(48, "h"), 1.0)
    hash(config)


def test_disclosure_items_of_a_unit_and_of_its_level() -> None:
    config = load(item() + item("east_only", 'unit = "east"')
                  + item("county_only", 'unit = "county"')
                  + item("departments", 'units_of_level = "department"'))
    assert [i.id for i in config.disclosure_items_of("east")] == ["finances", "east_only"]
    assert [i.id for i in config.disclosure_items_of("west")] == ["finances"]
    assert [i.id for i in config.disclosure_items_of("county")] == ["county_only"]
    assert [i.id for i in config.disclosure_items_of("discipline")] == ["departments"]
    with pytest.raises(KeyError):
        config.disclosure_items_of("atlantis")
    with pytest.raises(KeyError):
        config.disclosure_item("atlantis")


def test_every_period_kind_and_form_is_accepted() -> None:
    for period in PERIODS:
        load(item(schedule=f'{{ kind = "regular", period = "{period}", due = "15wd" }}'))
    assert set(SCHEDULE_KINDS) == {"regular", "staged", "temporary"}
    forms = "[" + ", ".join(f'"{form}"' for form in FORMS) + "]"
    assert load(item(forms=forms)).disclosure_items[0].forms == FORMS
    for aspect in ASPECTS:
        assert load(item(aspect=aspect)).seed_aspect(aspect) == aspect


def test_units_take_a_level_and_their_chats() -> None:
    config = load('[[units]]\nid = "north"\nname_zh = "北村"\nname_en = "North"\n'
                  'level = "village"\npublic_channel_id = -1001\nparty_chat_id = -1002\n')
    north = config.unit("north")
    assert (north.level, north.public_channel_id, north.party_chat_id) == (
        "village", -1001, -1002)
    assert config.unit("county").public_channel_id is None


def test_members_take_committee_and_party_members() -> None:
    config = load("[[members]]\ntelegram_id = 7\nrole = 'committee'\nunit = 'east'\n"
                  "[[members]]\ntelegram_id = 8\nparty_member = true\nunit = 'east'\n"
                  "[[members]]\ntelegram_id = 9\nrole = 'head'\nparty_member = true\n"
                  "unit = 'west'\n"
                  "[[members]]\ntelegram_id = 10\nrole = 'official'\nparty_member = false\n"
                  "unit = 'west'\n")
    assert config.members == (
        MemberConfig(7, "committee", "east"), MemberConfig(8, PARTY_MEMBER, "east"),
        MemberConfig(9, "head", "west"), MemberConfig(9, PARTY_MEMBER, "west"),
        MemberConfig(10, "official", "west"))
    assert [m.party_member for m in config.members] == [False, True, False, True, False]
    assert "committee" in cfg.ROLES and PARTY_MEMBER not in cfg.ROLES


# --- problems, one at a time ----------------------------------------------------------------------


def unit(extra: str) -> str:
    return f'[[units]]\nid = "north"\nname_zh = "北村"\nname_en = "North"\n{extra}\n'


def member(extra: str) -> str:
    return f"[[members]]\ntelegram_id = 7\nunit = 'east'\n{extra}\n"


def aspect(extra: str, id: str = "roads") -> str:
    return f'[[disclosure_aspects]]\nid = "{id}"\nname_zh = "道路"\nname_en = "Roads"\n{extra}\n'


def schedule(text: str) -> str:
    return item(schedule=text)


LEVEL_LIST = ", ".join(LEVELS)
CASES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    # (tail, key, msgid, params or None to skip the params check)
    # [[units]]
    (unit('level = "city"'), "units[4].level", cfg.MSG_CHOICE,
     {"value": "city", "allowed": LEVEL_LIST}),
    (unit("level = 3"), "units[4].level", cfg.MSG_STRING, {}),
    (unit("public_channel_id = 1001"), "units[4].public_channel_id", MSG_CHANNEL_ID, {}),
    (unit("public_channel_id = '-1001'"), "units[4].public_channel_id", cfg.MSG_INTEGER, {}),
    (unit("party_chat_id = 0"), "units[4].party_chat_id", cfg.MSG_GROUP_CHAT_ID, {}),
    (unit("public_channel = -1001"), "units[4].public_channel", cfg.MSG_UNKNOWN_KEY, None),
    # [[members]]
    (member(""), "members[0].role", MSG_ROLE_OR_PARTY, {}),
    (member("party_member = false"), "members[0].role", MSG_ROLE_OR_PARTY, {}),
    (member("party_member = 'yes'"), "members[0].party_member", cfg.MSG_BOOLEAN, {}),
    (member("role = 'party_member'"), "members[0].role", cfg.MSG_UNKNOWN_ROLE,
     {"role": "party_member", "allowed": ", ".join(cfg.ROLES)}),
    (member("party_member = true") * 2, "members[1].telegram_id", cfg.MSG_DUPLICATE_MEMBER,
     {"index": 0}),
    # [[disclosure_aspects]]
    (aspect('item = "roads"'), "disclosure_aspects[1].item", cfg.MSG_CHOICE,
     {"value": "roads", "allowed": ", ".join(ASPECTS)}),
    (aspect(""), "disclosure_aspects[1].item", cfg.MSG_REQUIRED, {}),
    (aspect('item = "personnel"', "personnel"), "disclosure_aspects[1].id",
     MSG_ASPECT_RESERVED, {"id": "personnel", "allowed": ", ".join(ASPECTS)}),
    (aspect('item = "personnel"', "finance"), "disclosure_aspects[1].id",
     MSG_DUPLICATE_ASPECT, {"id": "finance"}),
    (aspect('item = "personnel"', "Roads"), "disclosure_aspects[1].id", cfg.MSG_ID_FORMAT,
     None),
    (aspect('item = "personnel"\ncolor = "red"'), "disclosure_aspects[1].color",
     cfg.MSG_UNKNOWN_KEY, None),
    ("disclosure_aspects = 3", "disclosure_aspects", cfg.MSG_ARRAY_OF_TABLES,
     {"name": "disclosure_aspects"}),
    # [[disclosure_items]]: ids and names
    (item() * 2, "disclosure_items[1].id", MSG_DUPLICATE_ITEM, {"id": "finances"}),
    (item(id="村务"), "disclosure_items[0].id", cfg.MSG_ID_FORMAT, None),
    (item().replace('name_en = "Village finances"\n', ""), "disclosure_items[0].name_en",
     cfg.MSG_REQUIRED, {}),
    (item().replace('name_zh = "村级财务收支"', 'name_zh = " "'), "disclosure_items[0].name_zh",
     cfg.MSG_NOT_EMPTY, {}),
    (item() + "colour = 'red'\n", "disclosure_items[0].colour", cfg.MSG_UNKNOWN_KEY, None),
    ("disclosure_items = [1]", "disclosure_items[0]", cfg.MSG_TABLE, {}),
    # unit or level
    (item(placement=""), "disclosure_items[0].unit", MSG_UNIT_OR_LEVEL, {}),
    (item(placement='unit = "east"\nunits_of_level = "village"'), "disclosure_items[0].unit",
     MSG_UNIT_OR_LEVEL, {}),
    (item(placement='unit = "atlantis"'), "disclosure_items[0].unit", cfg.MSG_UNKNOWN_UNIT,
     {"unit": "atlantis"}),
    (item(placement='units_of_level = "city"'), "disclosure_items[0].units_of_level",
     cfg.MSG_CHOICE, {"value": "city", "allowed": LEVEL_LIST}),
    (item(placement="unit = 5"), "disclosure_items[0].unit", cfg.MSG_STRING, {}),
    # aspect and audience
    (item(aspect="roads"), "disclosure_items[0].aspect", MSG_UNKNOWN_ASPECT,
     {"value": "roads", "allowed": ", ".join(ASPECTS)}),
    (item().replace('aspect = "finance"\n', ""), "disclosure_items[0].aspect",
     cfg.MSG_REQUIRED, {}),
    (item(audience="everyone"), "disclosure_items[0].audience", cfg.MSG_CHOICE,
     {"value": "everyone", "allowed": "party, public"}),
    # forms
    (item(forms="[]"), "disclosure_items[0].forms", cfg.MSG_NOT_EMPTY, {}),
    (item(forms='"channel"'), "disclosure_items[0].forms", cfg.MSG_ARRAY, {}),
    (item(forms='["channel", "radio"]'), "disclosure_items[0].forms[1]", cfg.MSG_CHOICE,
     {"value": "radio", "allowed": ", ".join(FORMS)}),
    (item(forms='["channel", 3]'), "disclosure_items[0].forms[1]", cfg.MSG_CHOICE,
     {"value": "3", "allowed": ", ".join(FORMS)}),
    (item(forms='["channel", "meeting", "channel"]'), "disclosure_items[0].forms[2]",
     MSG_DUPLICATE_FORM, {"form": "channel"}),
    (item().replace("forms = [\"channel\", \"notice_board\"]\n", ""),
     "disclosure_items[0].forms", cfg.MSG_REQUIRED, {}),
    # schedule
    (item().replace(f"schedule = {MONTHLY}\n", ""), "disclosure_items[0].schedule",
     cfg.MSG_REQUIRED, {}),
    (schedule('"monthly"'), "disclosure_items[0].schedule", cfg.MSG_TABLE, {}),
    (schedule('{ period = "monthly", due = "10d" }'), "disclosure_items[0].schedule.kind",
     cfg.MSG_REQUIRED, {}),
    (schedule('{ kind = "weekly" }'), "disclosure_items[0].schedule.kind", cfg.MSG_UNKNOWN_KIND,
     {"kind": "weekly", "allowed": ", ".join(SCHEDULE_KINDS)}),
    (schedule('{ kind = "regular", due = "10d" }'), "disclosure_items[0].schedule.period",
     cfg.MSG_REQUIRED, {}),
    (schedule('{ kind = "regular", period = "weekly", due = "10d" }'),
     "disclosure_items[0].schedule.period", cfg.MSG_CHOICE,
     {"value": "weekly", "allowed": ", ".join(PERIODS)}),
    (schedule('{ kind = "regular", period = "monthly" }'), "disclosure_items[0].schedule.due",
     cfg.MSG_REQUIRED, {}),
    (schedule('{ kind = "regular", period = "monthly", due = "ten days" }'),
     "disclosure_items[0].schedule.due", DURATION_FORMAT_HELP, {"value": "ten days"}),
    (schedule('{ kind = "regular", period = "monthly", due = "12h" }'),
     "disclosure_items[0].schedule.due", MSG_DAYS, {}),
    (schedule('{ kind = "regular", period = "monthly", due = 10 }'),
     "disclosure_items[0].schedule.due", cfg.MSG_STRING, {}),
    (schedule('{ kind = "regular", period = "monthly", due = "29d" }'),
     "disclosure_items[0].schedule.due", MSG_DUE_TOO_LATE,
     {"period": "monthly", "max": "28d"}),
    (schedule('{ kind = "regular", period = "quarterly", due = "61wd" }'),
     "disclosure_items[0].schedule.due", MSG_DUE_TOO_LATE,
     {"period": "quarterly", "max": "60wd"}),
    (schedule('{ kind = "regular", period = "monthly", due = "10d", within = "3wd" }'),
     "disclosure_items[0].schedule.within", MSG_SCHEDULE_KEY,
     {"kind": "regular", "allowed": "kind, period, due"}),
    (schedule('{ kind = "temporary", within = "3wd", stages = ["a"] }'),
     "disclosure_items[0].schedule.stages", MSG_SCHEDULE_KEY,
     {"kind": "temporary", "allowed": "kind, within"}),
    (schedule('{ kind = "staged", stages = ["a"], within = "3wd", period = "monthly" }'),
     "disclosure_items[0].schedule.period", MSG_SCHEDULE_KEY,
     {"kind": "staged", "allowed": "kind, stages, within"}),
    (schedule('{ kind = "temporary", within = "3wd", every = "1d" }'),
     "disclosure_items[0].schedule.every", cfg.MSG_UNKNOWN_KEY, {"allowed": "kind, within"}),
    (schedule('{ kind = "temporary" }'), "disclosure_items[0].schedule.within",
     cfg.MSG_REQUIRED, {}),
    (schedule('{ kind = "temporary", within = "0wd" }'), "disclosure_items[0].schedule.within",
     DURATION_FORMAT_HELP, {"value": "0wd"}),
    (schedule('{ kind = "staged", within = "5wd" }'), "disclosure_items[0].schedule.stages",
     cfg.MSG_REQUIRED, {}),
    (schedule('{ kind = "staged", stages = [], within = "5wd" }'),
     "disclosure_items[0].schedule.stages", cfg.MSG_NOT_EMPTY, {}),
    (schedule('{ kind = "staged", stages = "立项", within = "5wd" }'),
     "disclosure_items[0].schedule.stages", cfg.MSG_ARRAY, {}),
    (schedule('{ kind = "staged", stages = ["立项", " "], within = "5wd" }'),
     "disclosure_items[0].schedule.stages[1]", cfg.MSG_NOT_EMPTY, {}),
    (schedule('{ kind = "staged", stages = ["立项", 2], within = "5wd" }'),
     "disclosure_items[0].schedule.stages[1]", cfg.MSG_STRING, {}),
    (schedule('{ kind = "staged", stages = ["立项", "实施", "立项 "], within = "5wd" }'),
     "disclosure_items[0].schedule.stages[2]", MSG_DUPLICATE_STAGE, {"stage": "立项"}),
    (schedule('{ kind = "staged", stages = ["立项"], within = "5m" }'),
     "disclosure_items[0].schedule.within", MSG_DAYS, {}),
    # [disclosure]
    ("[disclosure]\nreview_quorum = -1", "disclosure.review_quorum", MSG_NOT_NEGATIVE, {}),
    ("[disclosure]\nreview_quorum = 1.5", "disclosure.review_quorum", cfg.MSG_INTEGER, {}),
    ("[disclosure]\ncomment_window = 'a week'", "disclosure.comment_window",
     DURATION_FORMAT_HELP, {"value": "a week"}),
    ("[disclosure]\non_time_threshold = 1.2", "disclosure.on_time_threshold", cfg.MSG_RATE, {}),
    ("[disclosure]\non_time_threshold = -0.1", "disclosure.on_time_threshold", cfg.MSG_RATE,
     {}),
    ("[disclosure]\non_time_threshold = '90%'", "disclosure.on_time_threshold", cfg.MSG_RATE,
     {}),
    ("[disclosure]\non_time_threshold = true", "disclosure.on_time_threshold", cfg.MSG_RATE,
     {}),
    ("[disclosure]\nquorum = 2", "disclosure.quorum", cfg.MSG_UNKNOWN_KEY, None),
    ("disclosure = 2", "disclosure", cfg.MSG_TABLE, {}),
]


@pytest.mark.parametrize(("tail", "key", "message", "params"), CASES,
                         ids=[f"{i}-{case[1]}" for i, case in enumerate(CASES)])
def test_each_problem_is_reported_with_its_key(
    tail: str, key: str, message: str, params: dict[str, Any] | None,
) -> None:
    config, problems = parse(tail)
    assert config is None
    matching = [p for p in problems if p.key == key and p.message == message]
    assert matching, [p.render() for p in problems]
    if params is not None:
        assert matching[0].params == params


def test_an_item_naming_a_faulty_aspect_is_not_blamed_for_it() -> None:
    _, problems = parse(aspect('item = "roads"') + item(aspect="roads"))
    assert [p.key for p in problems] == ["disclosure_aspects[1].item"]


def test_every_problem_of_a_bad_item_is_reported_at_once() -> None:
    _, problems = parse(item(placement='unit = "atlantis"', aspect="roads", audience="all",
                             forms="[]", schedule='{ kind = "temporary" }'))
    assert [p.key for p in problems] == [
        "disclosure_items[0].unit", "disclosure_items[0].aspect",
        "disclosure_items[0].audience", "disclosure_items[0].forms",
        "disclosure_items[0].schedule.within"]


# --- check-config's warnings ----------------------------------------------------------------------


def warnings(config: Config) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p.key, p.message, p.params) for p in disclosure_warnings(config)]


STAFFED = ("[[members]]\ntelegram_id = 7\nrole = 'committee'\nunit = '{unit}'\n"
           "[[members]]\ntelegram_id = 8\nparty_member = true\nunit = '{unit}'\n")


def test_no_warning_for_a_unit_with_committee_party_members_and_channel() -> None:
    config = load(unit('level = "township"\npublic_channel_id = -1001')
                  + item(placement='unit = "north"')
                  + item("admission", 'unit = "north"', "party_building", "party")
                  + STAFFED.format(unit="north"))
    assert warnings(config) == []


def test_a_level_no_unit_has_is_warned_about() -> None:
    config = load(item(placement='units_of_level = "township"'))
    assert warnings(config) == [("disclosure_items[0].units_of_level", MSG_LEVEL_EMPTY,
                                 {"level": "township"})]


def test_units_without_committee_members_are_warned_about_once() -> None:
    config = load(item(forms='["notice_board"]')
                  + item("second", forms='["meeting"]')
                  + STAFFED.format(unit="west"))
    assert warnings(config) == [
        ("disclosure_items[0]", MSG_NO_COMMITTEE, {"unit": "east", "item": "finances"})]
    rendered = disclosure_warnings(config)[0].render()
    assert "east" in rendered and "head" in rendered


def test_party_items_that_reach_nobody_are_warned_about() -> None:
    party = item("admission", 'unit = "north"', "party_building", "party",
                 '["channel", "meeting"]')
    committee = "[[members]]\ntelegram_id = 7\nrole = 'committee'\nunit = 'north'\n"
    config = load(party + unit("") + committee)
    assert warnings(config) == [("disclosure_items[0]", MSG_PARTY_UNREACHED,
                                 {"unit": "north", "item": "admission"})]
    # A party group, or a party member, is enough.
    assert warnings(load(party + unit("party_chat_id = -1002") + committee)) == []
    assert warnings(load(party + unit("") + STAFFED.format(unit="north"))) == []


def test_public_channel_items_without_a_channel_are_warned_about() -> None:
    committees = "".join(
        f"[[members]]\ntelegram_id = {7 + i}\nrole = 'committee'\nunit = '{unit_id}'\n"
        for i, unit_id in enumerate(("east", "west")))
    config = load(item() + committees)
    assert warnings(config) == [
        ("disclosure_items[0]", MSG_NO_CHANNEL, {"unit": "east", "item": "finances"}),
        ("disclosure_items[0]", MSG_NO_CHANNEL, {"unit": "west", "item": "finances"})]
    # Not for an item published otherwise.
    assert warnings(load(item(forms='["notice_board", "document"]') + committees)) == []


def test_check_config_includes_the_disclosure_warnings() -> None:
    config = load(item(placement='units_of_level = "township"'))
    assert any(p.message == MSG_LEVEL_EMPTY for p in config_warnings(config, date(2026, 6, 1)))
