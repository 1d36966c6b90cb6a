"""Roles by one-time invite: created on the command line or in chat, opened in chat, revoked,
listed. Roles come from the configuration or an invite, never from what someone types.

In the example configuration 1001 is an official and 1002 the head of the finance bureau,
1004 the administrator.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.cli
import bot.cli_common
from bot.emulator.core import EmuUser
from tests.conftest import Bench
from tests.support.config_files import config_file

CODE = re.compile(r"inv_[A-Za-z0-9_-]+")


async def english(bench: Bench, user_id: int, name: str) -> EmuUser:
    """A user who chose English, so that messages *to* them are in English too."""
    user = bench.user(user_id, name, language="en")
    await bench.say(user, "/language")
    await bench.tap(user, "lang:en")
    return user


async def cli_invite(bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``sunbox invite …`` on the bench's database and clock; returns its output."""
    config = config_file(tmp_path, bench.config)
    monkeypatch.setattr(bot.cli_common, "SystemClock", lambda: bench.clock)
    code = await asyncio.to_thread(
        bot.cli.main, ["invite", "--config", str(config), "--lang", "en", *args])
    assert code == 0
    return capsys.readouterr().out


async def memberships(bench: Bench, telegram_id: int) -> list[tuple[Any, ...]]:
    """A person's active roles: (unit, role, source)."""
    return await bench.rows(
        "SELECT m.unit_id, m.role, m.source FROM memberships m JOIN people p "
        "ON p.id = m.person_id WHERE p.telegram_id = ? AND m.revoked_at IS NULL "
        "ORDER BY m.unit_id, m.role", telegram_id)


async def test_a_cli_invite_opened_in_chat_binds_the_account_and_tells_the_head(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    head = await english(bench, 1002, "Head Li")
    out = await cli_invite(bench, tmp_path, monkeypatch, capsys,
                           "--role", "official", "--unit", "finance", "--bot", "sunbox_bot")
    match = re.search(r"https://t\.me/sunbox_bot\?start=(inv_[A-Za-z0-9_-]+)", out)
    assert match, out
    code = match.group(1)
    assert len(code) <= 64
    assert "official of County Finance Bureau (finance)" in out
    assert "2026-12-02 10:00" in out, "valid for 7 days by default"
    assert await bench.rows("SELECT role, unit_id, created_by, used_by FROM invites") == [
        ("official", "finance", None, None)]

    newcomer = bench.user(3001, "Zhang Wei", language="en")
    [reply] = await bench.say(newcomer, f"/start {code}")
    assert reply.text == "✅ You are now official of County Finance Bureau."
    assert await memberships(bench, 3001) == [("finance", "official", "invite")]
    assert await bench.rows("SELECT display_name FROM people WHERE telegram_id = 3001") == [
        ("Zhang Wei",)]
    [(used_by,)] = await bench.rows("SELECT used_by FROM invites")
    assert used_by == (await bench.rows("SELECT id FROM people WHERE telegram_id = 3001"))[0][0]
    notice = bench.emu.sent(head.id)[-1].text or ""
    assert notice == ("👤 Zhang Wei (Telegram id 3001) joined County Finance Bureau as "
                      "official, through an invite.")

    # The link works once: someone it was forwarded to gets nothing.
    other = bench.user(3002, "Someone Else", language="en")
    [refused] = await bench.say(other, f"/start {code}")
    assert "already been used" in (refused.text or "")
    assert await memberships(bench, 3002) == []
    assert sum("joined" in t for t in bench.texts(head)) == 1, "the head heard once"


async def test_an_expired_invite_changes_nothing(bench: Bench) -> None:
    admin_user = bench.user(1004, "Admin", language="en")
    [created] = await bench.say(admin_user, "/invite clerk county 1h")
    code = CODE.search(created.text or "")
    assert code is not None
    bench.clock.advance(timedelta(hours=1, seconds=1))
    late = bench.user(3003, "Late Comer", language="en")
    [refused] = await bench.say(late, f"/start {code.group(0)}")
    assert refused.text == "This invite has expired. Ask an administrator for a new one."
    assert await memberships(bench, 3003) == []
    assert await bench.rows("SELECT used_by, used_at FROM invites") == [(None, None)]


async def test_forged_or_mangled_codes_are_refused(bench: Bench) -> None:
    stranger = bench.user(3004, "Stranger", language="en")
    [refused] = await bench.say(stranger, "/start inv_AAAAAAAAAAAAAAAA")
    assert (refused.text or "").startswith("This invite link is not valid.")
    # Anything that is not an invite payload is an ordinary /start.
    [welcome] = await bench.say(stranger, "/start inv_bad!code")
    assert (welcome.text or "").startswith("Welcome to Sunbox")
    [welcome] = await bench.say(stranger, "/start")
    assert (welcome.text or "").startswith("Welcome to Sunbox")
    assert await memberships(bench, 3004) == []


async def test_someone_already_holding_the_role_leaves_the_invite_unspent(
    bench: Bench,
) -> None:
    admin_user = bench.user(1004, "Admin", language="en")
    [created] = await bench.say(admin_user, "/invite official finance")
    code = CODE.search(created.text or "")
    assert code is not None
    official = bench.user(1001, "Official Wang", language="en")
    [reply] = await bench.say(official, f"/start {code.group(0)}")
    assert (reply.text or "").startswith(
        "You already are official of County Finance Bureau; nothing has changed")
    assert await memberships(bench, 1001) == [("finance", "official", "config")]
    assert await bench.rows("SELECT used_by FROM invites") == [(None,)]
    newcomer = bench.user(3005, "Newcomer", language="en")
    [joined] = await bench.say(newcomer, f"/start {code.group(0)}")
    assert joined.text == "✅ You are now official of County Finance Bureau."


async def test_only_an_administrator_creates_invites_in_chat(bench: Bench) -> None:
    for user_id, name in ((2001, "Resident"), (1001, "Official"), (1002, "Head")):
        user = bench.user(user_id, name, language="en")
        [refused] = await bench.say(user, "/invite admin county")
        assert refused.text == "Only an administrator can create invites."
    assert await bench.rows("SELECT * FROM invites") == []

    admin_user = bench.user(1004, "Admin", language="en")
    [usage] = await bench.say(admin_user, "/invite")
    assert "Usage: /invite <role> <unit>" in (usage.text or "")
    assert "• supervision — supervision group member" in (usage.text or "")
    assert "  • finance — County Finance Bureau" in (usage.text or "")
    [wrong] = await bench.say(admin_user, "/invite mayor finance")
    assert (wrong.text or "").startswith('Unknown role "mayor". The roles are: official, head')
    [wrong] = await bench.say(admin_user, "/invite official atlantis")
    assert (wrong.text or "").startswith('Unknown unit "atlantis".')
    [wrong] = await bench.say(admin_user, "/invite official finance soon")
    assert 'invalid duration "soon"' in (wrong.text or "")
    assert await bench.rows("SELECT * FROM invites") == []

    [created] = await bench.say(admin_user, "/invite Supervisor yizhou_beiguan 48h")
    text = created.text or ""
    assert text.startswith("✅ Invite for supervisor of Beiguan Village, Yizhou, valid until "
                           "2026-11-27 10:00.")
    link = re.search(r"https://t\.me/sunbox_bot\?start=(inv_[A-Za-z0-9_-]+)", text)
    assert link is not None
    [(code_hash, role, unit, created_by)] = await bench.rows(
        "SELECT code_hash, role, unit_id, created_by FROM invites")
    assert (code_hash, role, unit) == (
        hashlib.sha256(link.group(1).encode()).hexdigest(), "supervisor", "yizhou_beiguan")
    assert created_by == (await bench.rows("SELECT id FROM people WHERE telegram_id = 1004")
                          )[0][0]


async def test_an_administrator_revokes_a_role(bench: Bench) -> None:
    admin_user = bench.user(1004, "Admin", language="en")
    [created] = await bench.say(admin_user, "/invite official civil_affairs")
    code = CODE.search(created.text or "")
    assert code is not None
    member = await english(bench, 3010, "Zhao Min")
    await bench.say(member, f"/start {code.group(0)}")
    assert await memberships(bench, 3010) == [("civil_affairs", "official", "invite")]

    head = bench.user(1002, "Head", language="en")
    [refused] = await bench.say(head, "/revoke 3010 official civil_affairs")
    assert refused.text == "Only an administrator can withdraw roles."
    [usage] = await bench.say(admin_user, "/revoke zhao official")
    assert (usage.text or "").startswith("Usage: /revoke <Telegram id> <role> <unit>")
    assert await memberships(bench, 3010) == [("civil_affairs", "official", "invite")]

    [done] = await bench.say(admin_user, "/revoke 3010 official civil_affairs")
    assert done.text == "✅ 3010 is no longer official of County Civil Affairs Bureau."
    assert await memberships(bench, 3010) == []
    assert bench.last_text(member) == "You are no longer official of County Civil Affairs Bureau."
    [again] = await bench.say(admin_user, "/revoke 3010 official civil_affairs")
    assert again.text == ("3010 does not hold the role official in County Civil Affairs "
                          "Bureau; nothing has changed.")

    # A configured role can be withdrawn, with a warning that the file grants it again.
    [configured] = await bench.say(admin_user, "/revoke 1001 official finance")
    assert "granted again whenever Sunbox starts" in (configured.text or "")
    assert await memberships(bench, 1001) == []


async def test_members_for_administrators_and_heads(bench: Bench) -> None:
    admin_user = bench.user(1004, "Admin", language="en")
    [created] = await bench.say(admin_user, "/invite official finance")
    code = CODE.search(created.text or "")
    assert code is not None
    await bench.say(bench.user(3020, "Sun Li", language="en"), f"/start {code.group(0)}")

    [everyone] = await bench.say(admin_user, "/members")
    text = everyone.text or ""
    assert "County Finance Bureau (finance):" in text
    assert "• unit head: name not known yet (Telegram id 1002, from the configuration file)" \
        in text
    assert "• official: Sun Li (Telegram id 3020)" in text
    # A member's name is learnt from the invite, or when they write to the bot (issue 19:
    # lists showed "#<id>" for people the bot knew by name).
    assert "• administrator: Admin (Telegram id 1004, from the configuration file)" in text
    assert text.index("Yi County Party Committee (county)") < text.index("(finance)")
    [empty] = await bench.say(admin_user, "/members agriculture")
    assert empty.text == ("County Agriculture and Rural Affairs Bureau (agriculture): "
                          "nobody holds a role.")
    [unknown] = await bench.say(admin_user, "/members atlantis")
    assert unknown.text == 'Unknown unit "atlantis".'

    head = bench.user(1002, "Head", language="en")
    [own] = await bench.say(head, "/members")
    assert (own.text or "").startswith("County Finance Bureau (finance):")
    assert "Sun Li" in (own.text or "") and "(county)" not in (own.text or "")
    [refused] = await bench.say(head, "/members county")
    assert refused.text == "You can list the members of your own units only."
    official = bench.user(1001, "Official", language="en")
    [refused] = await bench.say(official, "/members")
    assert refused.text == "Only administrators and unit heads can list members."
