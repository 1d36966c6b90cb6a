"""Roles and decisions: the supervision role only in the supervision unit; nobody decides
their own request for more time (the next decider up does); unused invites listed,
cancelled, capped in time, and kept only as a hash of their code."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

import bot.cli
import bot.cli_common
from bot.config import Config, default_config_path, parse_config
from tests.conftest import SHANGHAI, Bench
from tests.handlers.flows import file_report, file_suggestion
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, COUNTY_HEAD, SUPERVISION, staffed
from tests.support.config_files import config_file

CODE = re.compile(r"inv_[A-Za-z0-9_-]+")
ADMIN = 1004


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture(autouse=True)
def officials(bench: Bench) -> None:
    """Staff who have talked to the bot (Telegram delivers nothing to anyone else)."""
    for telegram_id in (CIVIL_OFFICIAL, CIVIL_HEAD, COUNTY_HEAD, SUPERVISION):
        bench.user(telegram_id, f"员{telegram_id}")


# ----------------------------------------------------------------------------- extensions

async def test_the_requester_cannot_decide_and_the_next_head_up_does(bench: Bench) -> None:
    resident = bench.user(4401, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    # The civil affairs bureau's only head asks for more time on acceptance.
    head = bench.user(CIVIL_HEAD, "钱局长")
    await bench.tap(head, "case:1:extend")
    await bench.say(head, "需要先向镇里核实名单。")
    await bench.say(head, "2026-12-01")
    assert not any(d.startswith("ext:") for m in bench.emu.sent(CIVIL_HEAD)
                   for row in m.buttons() for _, d in row), "not asked to decide their own"
    request = bench.find_data_message(bench.user(COUNTY_HEAD, "孙书记"), "ext:1:ok")
    assert "需要先向镇里核实名单。" in (request.text or "")
    # A forged press by the requester is refused, and changes nothing.
    await bench.press_data(head, request.message_id, "ext:1:ok")
    assert bench.emu.callback_answers[-1][1] == "未找到此事项，或您无权对其进行此操作。"
    assert await bench.rows("SELECT status FROM extensions") == [("pending",)]
    # The head of the unit above decides.
    await bench.tap(bench.user(COUNTY_HEAD, "孙书记"), "ext:1:ok")
    [(accept_due,)] = await bench.rows("SELECT accept_due FROM cases")
    assert datetime.fromisoformat(accept_due) == datetime(2026, 12, 1, 23, 59, 59,
                                                          tzinfo=SHANGHAI)
    assert await bench.rows(
        "SELECT e.actor_role, p.telegram_id FROM case_events e JOIN people p "
        "ON p.id = e.actor_person_id WHERE e.type = 'extension_granted'") == [
        ("head", COUNTY_HEAD)]


async def test_the_only_supervision_member_asks_and_the_head_above_decides(
    bench: Bench,
) -> None:
    # A report about a unit's own head goes to the supervision group, which handles it.
    await file_report(bench, bench.user(4402, "李建国"), concerns_head=True)
    member = bench.user(SUPERVISION, "孙监督")
    await bench.tap(member, "case:1:accept")
    await bench.tap(member, "case:1:extend")
    await bench.say(member, "涉及跨部门核查。")
    await bench.say(member, "2027-01-31")
    assert bench.find_data_message(bench.user(COUNTY_HEAD, "孙书记"), "ext:1:ok")
    await bench.press_data(member, 1, "ext:1:ok")
    assert bench.emu.callback_answers[-1][1] == "未找到此事项，或您无权对其进行此操作。"
    await bench.tap(bench.user(COUNTY_HEAD, "孙书记"), "ext:1:no")
    assert await bench.rows("SELECT status FROM extensions") == [("refused",)]


# ----------------------------------------------------------------------------- the supervision role

def test_the_configuration_grants_supervision_only_in_the_supervision_unit() -> None:
    data = tomllib.loads(default_config_path().read_text(encoding="utf-8"))
    data["members"].append({"telegram_id": 5001, "role": "supervision", "unit": "finance"})
    config, problems = parse_config(data)
    assert config is None
    [problem] = problems
    assert problem.key == f"members[{len(data['members']) - 1}].unit"
    assert problem.params == {"unit": "discipline", "other": "finance"}


async def test_supervision_is_invited_only_into_the_supervision_unit(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = bench.user(ADMIN, "Admin", language="en")
    [refused] = await bench.say(admin, "/invite supervision finance")
    assert (refused.text or "").startswith(
        'The role supervision can be granted only in the supervision unit "discipline", not '
        'in "finance".')
    code = await cli(bench, tmp_path, monkeypatch, capsys, "invite", "--role", "supervision",
                     "--unit", "finance")
    assert code == 1
    assert "only in the supervision unit" in capsys.readouterr().err
    assert await bench.rows("SELECT * FROM invites") == []
    [created] = await bench.say(admin, "/invite supervision discipline")
    assert CODE.search(created.text or "")


# ----------------------------------------------------------------------------- invites

async def cli(bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str], *args: str) -> int:
    """A ``sunbox`` command on the bench's database and clock; returns its exit code."""
    path = config_file(tmp_path, bench.config)
    monkeypatch.setattr(bot.cli_common, "SystemClock", lambda: bench.clock)
    return await asyncio.to_thread(
        bot.cli.main, [args[0], "--config", str(path), "--lang", "en", *args[1:]])


async def test_the_invites_table_holds_no_code(bench: Bench) -> None:
    admin = bench.user(ADMIN, "Admin", language="en")
    [created] = await bench.say(admin, "/invite official finance")
    found = CODE.search(created.text or "")
    assert found is not None
    code = found.group(0)
    for row in await bench.rows("SELECT * FROM invites"):
        assert not any(code in str(value) or code[4:] in str(value) for value in row)
    newcomer = bench.user(4403, "Newcomer", language="en")
    [joined] = await bench.say(newcomer, f"/start {code}")
    assert joined.text == "✅ You are now official of County Finance Bureau."


async def test_an_unused_invite_is_listed_and_cancelled_in_chat(bench: Bench) -> None:
    admin = bench.user(ADMIN, "Admin", language="en")
    [none] = await bench.say(admin, "/invites")
    assert none.text == "No invite is waiting to be used."
    [created] = await bench.say(admin, "/invite clerk county 2d")
    found = CODE.search(created.text or "")
    assert found is not None
    [listing] = await bench.say(admin, "/invites")
    assert (listing.text or "").startswith(
        "• #1: mailbox clerk of Yi County Party Committee (county), valid until "
        "2026-11-27 10:00")
    official = bench.user(1001, "Official", language="en")
    [refused] = await bench.say(official, "/invites cancel 1")
    assert refused.text == "Only an administrator can list or cancel invites."
    [done] = await bench.say(admin, "/invites cancel 1")
    assert done.text == ("✅ Invite #1 (mailbox clerk of Yi County Party Committee) is "
                         "cancelled: its link no longer works.")
    [again] = await bench.say(admin, "/invites cancel 1")
    assert again.text == "There is no unused invite number 1; /invites lists them."
    late = bench.user(4404, "Late", language="en")
    [closed] = await bench.say(late, f"/start {found.group(0)}")
    assert closed.text == "This invite has been cancelled. Ask an administrator for a new one."
    assert await bench.rows("SELECT COUNT(*) FROM memberships m JOIN people p ON "
                            "p.id = m.person_id WHERE p.telegram_id = 4404") == [(0,)]
    [none] = await bench.say(admin, "/invites")
    assert none.text == "No invite is waiting to be used."


async def test_an_unused_invite_is_listed_and_cancelled_on_the_command_line(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await cli(bench, tmp_path, monkeypatch, capsys, "invite", "--role", "official",
                     "--unit", "finance") == 0
    code = CODE.search(capsys.readouterr().out)
    assert code is not None
    assert await cli(bench, tmp_path, monkeypatch, capsys, "invites") == 0
    assert capsys.readouterr().out.startswith(
        "• #1: official of County Finance Bureau (finance), valid until 2026-12-02 10:00")
    assert await cli(bench, tmp_path, monkeypatch, capsys, "invite", "--cancel", "1") == 0
    assert "Invite #1 (official of County Finance Bureau) is cancelled" in \
        capsys.readouterr().out
    assert await cli(bench, tmp_path, monkeypatch, capsys, "invite", "--cancel", "1") == 1
    assert "There is no unused invite number 1" in capsys.readouterr().err
    assert await cli(bench, tmp_path, monkeypatch, capsys, "invites") == 0
    assert capsys.readouterr().out.strip() == "No invite is waiting to be used."
    [closed] = await bench.say(bench.user(4405, "Late", language="en"),
                               f"/start {code.group(0)}")
    assert (closed.text or "").startswith("This invite has been cancelled.")


async def test_an_invites_expiry_is_capped(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = bench.user(ADMIN, "Admin", language="en")
    [refused] = await bench.say(admin, "/invite official finance 31d")
    assert (refused.text or "").startswith(
        "An invite can stay valid for at most 30 days ([limits] invite_max_days).")
    assert await cli(bench, tmp_path, monkeypatch, capsys, "invite", "--role", "official",
                     "--unit", "finance", "--expires", "60d") == 1
    assert "at most 30 days" in capsys.readouterr().err
    assert await bench.rows("SELECT * FROM invites") == []
    [created] = await bench.say(admin, "/invite official finance 30d")
    assert "valid until 2026-12-25 10:00" in (created.text or "")


async def test_a_request_nobody_else_could_decide_is_not_made(bench: Bench) -> None:
    # Without a head of the county, nobody is above the supervision group's only member.
    bench.config = dataclasses.replace(bench.config, members=tuple(
        m for m in bench.config.members if m.telegram_id != COUNTY_HEAD))
    await bench.restart()
    await file_report(bench, bench.user(4406, "李建国"), concerns_head=True)
    member = bench.user(SUPERVISION, "孙监督")
    await bench.tap(member, "case:1:accept")
    await bench.tap(member, "case:1:extend")
    await bench.say(member, "涉及跨部门核查。")
    [refused] = await bench.say(member, "2027-01-31")
    assert refused.text == "除您本人外没有人可以审批此申请，因此无法提交。请联系管理员。"
    assert await bench.rows("SELECT COUNT(*) FROM extensions") == [(0,)]
