"""Routing that never drops a case: a unit nobody can take a case at passes it up the unit
tree, and the supervision group is told; a unit's last member revoked moves its open cases
the same way."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config import Config, MemberConfig
from tests.conftest import Bench
from tests.handlers.flows import CATEGORY, file_suggestion
from tests.handlers.staff import (
    ADMIN,
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    COUNTY_HEAD,
    SUPERVISION,
    staffed,
)

TOWN_HEAD = 1201  # head of 易州镇, the town above 西关村


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def _to_xiguan(config: Config) -> Config:
    """Low-income support routed to 西关村 (nobody holds a role there), a head at the town
    above it."""
    categories = tuple(
        dataclasses.replace(c, unit="yizhou_xiguan") if c.id == CATEGORY else c
        for c in config.categories)
    return dataclasses.replace(
        config, categories=categories,
        members=config.members + (MemberConfig(TOWN_HEAD, "head", "yizhou_town"),))


async def test_a_case_for_a_unit_without_staff_goes_to_the_unit_above(bench: Bench) -> None:
    await bench.stop()
    bench.config = _to_xiguan(bench.config)
    await bench.start()
    town_head = bench.user(TOWN_HEAD, "镇长")
    supervision = bench.user(SUPERVISION, "纪委")
    resident = bench.user(4301, "王秀兰")

    number = await file_suggestion(bench, resident, photo=False)
    [(unit_id,)] = await bench.rows("SELECT unit_id FROM cases")
    assert unit_id == "yizhou_town"
    assert await bench.rows(
        "SELECT json_extract(payload, '$.from'), json_extract(payload, '$.to') "
        "FROM case_events WHERE type = 'routed_up'") == [("yizhou_xiguan", "yizhou_town")]
    # The town's head has the card; the supervision group hears why, naming both units.
    assert any(number in text for text in bench.texts(town_head))
    [told] = [text for text in bench.texts(supervision) if text.startswith("↥")]
    assert number in told and "易州镇西关村" in told and "易州镇" in told
    assert "/invite" in told
    # The reporter's own history says why, in their words, and nothing of the unit's inner
    # steps or raw event names.
    await bench.say(resident, "/my")
    [(case_id,)] = await bench.rows("SELECT id FROM cases")
    shown = "\n".join(m.text or "" for m in await bench.tap(resident, f"my:open:{case_id}"))
    assert "已转至上级单位" in shown and "routed_up" not in shown


async def test_a_unit_with_staff_keeps_its_cases(bench: Bench) -> None:
    supervision = bench.user(SUPERVISION, "纪委")
    await file_suggestion(bench, bench.user(4302, "李四"), photo=False)
    assert await bench.rows("SELECT unit_id FROM cases") == [("civil_affairs",)]
    assert not [text for text in bench.texts(supervision) if text.startswith("↥")]


async def test_revoking_the_last_member_moves_open_cases_up(bench: Bench) -> None:
    admin = bench.user(ADMIN, "Admin", language="en")
    county_head = bench.user(COUNTY_HEAD, "县委书记")
    supervision = bench.user(SUPERVISION, "纪委")
    for telegram_id in (CIVIL_OFFICIAL, CIVIL_HEAD):
        bench.user(telegram_id, f"员{telegram_id}")
    first = await file_suggestion(bench, bench.user(4303, "王五"), photo=False)
    second = await file_suggestion(bench, bench.user(4304, "赵六"), photo=False)
    assert await bench.rows("SELECT DISTINCT unit_id FROM cases") == [("civil_affairs",)]

    await bench.say(admin, f"/revoke {CIVIL_OFFICIAL} official civil_affairs")
    # The head is still there: nothing moves.
    assert await bench.rows("SELECT DISTINCT unit_id FROM cases") == [("civil_affairs",)]
    assert not [text for text in bench.texts(supervision) if text.startswith("↥")]

    await bench.say(admin, f"/revoke {CIVIL_HEAD} head civil_affairs")
    assert await bench.rows("SELECT DISTINCT unit_id FROM cases") == [("county",)]
    assert await bench.rows(
        "SELECT COUNT(*) FROM case_events WHERE type = 'moved_up' "
        "AND json_extract(payload, '$.to') = 'county'") == [(2,)]
    # One message for both cases, not one per case.
    [told] = [text for text in bench.texts(supervision) if text.startswith("↥")]
    assert first in told and second in told and "县民政局" in told
    # The county's head now holds both cards.
    cards = bench.texts(county_head)
    assert any(first in text for text in cards) and any(second in text for text in cards)


async def test_a_transfer_to_a_unit_without_staff_goes_up(bench: Bench) -> None:
    supervision = bench.user(SUPERVISION, "纪委")
    county_head = bench.user(COUNTY_HEAD, "县委书记")
    civil = bench.user(CIVIL_OFFICIAL, "赵承办")
    resident = bench.user(4305, "钱七")
    number = await file_suggestion(bench, resident, photo=False)
    await bench.tap(civil, "case:1:transfer")
    await bench.tap(civil, "trf:tree:county:0")
    await bench.tap(civil, "trf:pick:organization_dept")
    await bench.say(civil, "属于组织部门职责。")
    assert await bench.rows("SELECT unit_id FROM cases") == [("county",)]
    assert "县委" in bench.last_text(resident)
    [told] = [text for text in bench.texts(supervision) if text.startswith("↥")]
    assert number in told and "县委组织部" in told
    assert any(number in text for text in bench.texts(county_head))


async def test_removing_the_last_member_from_the_file_moves_open_cases_up(bench: Bench) -> None:
    """``[[members]]`` edited and Sunbox restarted: the roles no longer in the file are
    revoked at start-up, and the unit's open cases move as ``/revoke`` would move them."""
    county_head = bench.user(COUNTY_HEAD, "县委书记")
    supervision = bench.user(SUPERVISION, "纪委")
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    bench.user(CIVIL_HEAD, "钱局长")
    number = await file_suggestion(bench, bench.user(4306, "孙八"), photo=False)
    assert any(number in text for text in bench.texts(official))

    await bench.stop()
    bench.config = dataclasses.replace(bench.config, members=tuple(
        m for m in bench.config.members if m.unit != "civil_affairs"))
    await bench.start()
    await bench.app.bot_data.sender.drain()

    assert await bench.rows("SELECT unit_id FROM cases") == [("county",)]
    assert await bench.rows(
        "SELECT json_extract(payload, '$.from') FROM case_events WHERE type = 'moved_up'"
    ) == [("civil_affairs",)]
    [told] = [text for text in bench.texts(supervision) if text.startswith("↥")]
    assert number in told and "县民政局" in told
    assert any(number in text for text in bench.texts(county_head))
    # The removed official's card says it is no longer theirs.
    assert any(text.startswith("🔒") and number in text for text in bench.texts(official))
    assert await bench.rows(
        "SELECT COUNT(*) FROM memberships m JOIN people p ON p.id = m.person_id "
        f"WHERE p.telegram_id = {CIVIL_OFFICIAL} AND m.revoked_at IS NULL") == [(0,)]


async def test_a_unit_whose_last_member_blocked_the_bot_passes_its_cases_up(
        bench: Bench) -> None:
    """A member who blocked the bot can take no case: when the outbox learns it, and
    nobody else at the unit can, the unit's open cases go up the tree."""
    await bench.stop()
    bench.config = _to_xiguan(bench.config)
    bench.config = dataclasses.replace(bench.config, members=bench.config.members + (
        MemberConfig(4390, "official", "yizhou_xiguan"),))
    await bench.start()
    village = bench.user(4390, "村干部")
    town_head = bench.user(TOWN_HEAD, "镇长")
    supervision = bench.user(SUPERVISION, "纪委")
    bench.emu.block(village)
    number = await file_suggestion(bench, bench.user(4307, "周九"), photo=False)

    # The card to the village official came back Forbidden: the case went to the town.
    assert await bench.rows("SELECT unit_id FROM cases") == [("yizhou_town",)]
    assert any(number in text for text in bench.texts(town_head))
    [told] = [text for text in bench.texts(supervision) if text.startswith("↥")]
    assert number in told and "易州镇西关村" in told
    # A second filing goes straight to the town (the village has nobody reachable).
    await file_suggestion(bench, bench.user(4308, "吴十"), photo=False)
    assert await bench.rows("SELECT DISTINCT unit_id FROM cases") == [("yizhou_town",)]
