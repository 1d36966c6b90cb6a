"""Telegram's conventions: command menus per role, the bot's descriptions, /help for the
person's roles, /cancel with nothing to cancel, /start in a group.

In the example configuration 1001 is an official of the finance bureau, 1004 the
administrator, 1006 a supervisor.
"""

from __future__ import annotations

import re

from storage.sql import Conn
from tests.conftest import Bench

RESIDENT = ["new", "my", "status", "help", "language", "cancel"]
CODE = re.compile(r"inv_[A-Za-z0-9_-]+")


async def test_the_default_menu_holds_only_the_residents_commands(bench: Bench) -> None:
    emu = bench.emu
    assert emu.menu("default") == RESIDENT
    assert emu.menu("default", "zh") == RESIDENT
    assert emu.menu("default", "en") == RESIDENT
    assert emu.menu_descriptions("default", "zh")["new"] == "提交意见建议或实名举报"
    assert emu.menu_descriptions("default", "en")["new"] == (
        "Make a suggestion or file a named report")
    for field in ("description", "short_description"):
        assert "阳光信箱" in (emu.bot_text(field, "zh") or "") or "信箱" in (
            emu.bot_text(field, "zh") or "")
        assert "mailbox" in (emu.bot_text(field, "en") or "")
        assert emu.bot_text(field) == emu.bot_text(field, "zh")  # the default language
    assert len(emu.bot_text("short_description", "en") or "") <= 120


async def test_a_member_gets_their_menu_when_they_first_write(bench: Bench) -> None:
    emu = bench.emu
    official = bench.user(1001, "王会计")  # from the configuration; never wrote before
    assert emu.menu("chat:1001") is None
    await bench.say(official, "/help")
    assert emu.menu("chat:1001") == [
        "new", "my", "status", "inbox", "case", "help", "language", "cancel"]
    # In their Sunbox language, with no language_code (Telegram would match it to the app).
    assert emu.menu_descriptions("chat:1001")["inbox"] == "我所在单位的待办事项"
    [call] = [p for p in emu.calls_to("setMyCommands")
              if isinstance(p.get("scope"), dict) and p["scope"].get("chat_id") == 1001]
    assert not call.get("language_code")
    # Nothing changed: no second call.
    await bench.say(official, "/my")
    assert len([p for p in emu.calls_to("setMyCommands")
                if isinstance(p.get("scope"), dict)
                and p["scope"].get("chat_id") == 1001]) == 1
    # A supervisor and the administrator get their roles' commands.
    supervisor = bench.user(1006, "监督员")
    await bench.say(supervisor, "/help")
    assert emu.menu("chat:1006") == [
        "new", "my", "status", "meetings", "finding", "help", "language", "cancel"]
    admin = bench.user(1004, "管理员")
    await bench.say(admin, "/help")
    menu = emu.menu("chat:1004")
    assert menu is not None and {"invite", "revoke", "members"} <= set(menu)
    assert "intake" not in menu


async def test_a_resident_keeps_the_default_menu(bench: Bench) -> None:
    resident = bench.user(2001, "张三")
    await bench.say(resident, "/start")
    await bench.say(resident, "/help")
    assert bench.emu.menu("chat:2001") is None
    assert not [p for p in bench.emu.calls_to("setMyCommands")
                if isinstance(p.get("scope"), dict) and p["scope"].get("chat_id") == 2001]
    assert not bench.emu.calls_to("deleteMyCommands")


async def test_the_menu_follows_language_and_role_changes(bench: Bench) -> None:
    emu = bench.emu
    admin = bench.user(1004, "Admin", language="en")
    [created] = await bench.say(admin, "/invite clerk county")
    code = CODE.search(created.text or "")
    assert code is not None

    newcomer = bench.user(3010, "赵敏")
    await bench.say(newcomer, "/start")
    assert emu.menu("chat:3010") is None
    await bench.say(newcomer, f"/start {code.group(0)}")
    assert emu.menu("chat:3010") == [
        "new", "my", "status", "intake", "help", "language", "cancel"]
    assert emu.menu_descriptions("chat:3010")["intake"] == "录入其他渠道收到的事项"

    # /language: the same menu, in English at once.
    await bench.say(newcomer, "/language")
    await bench.tap(newcomer, "lang:en")
    assert emu.menu_descriptions("chat:3010")["intake"] == (
        "Enter a case from another channel")

    # Revoked: the chat's own menu is deleted, so the default one shows again.
    await bench.say(admin, "/revoke 3010 clerk county")
    assert emu.menu("chat:3010") is None
    assert [p["scope"]["chat_id"] for p in emu.calls_to("deleteMyCommands")  # type: ignore[index]
            if isinstance(p.get("scope"), dict)] == [3010]
    assert await bench.rows("SELECT menu FROM people WHERE telegram_id = 3010") == [(None,)]


async def test_a_role_granted_elsewhere_shows_on_the_next_message(bench: Bench) -> None:
    """Roles changed outside the chat (the command line, the configuration) reach the menu
    when the person next writes."""
    emu = bench.emu
    official = bench.user(1001, "王会计")
    await bench.say(official, "/help")

    def work(conn: Conn) -> None:
        conn.execute(
            "UPDATE memberships SET revoked_at = '2026-01-01T00:00:00+00:00' "
            "WHERE person_id = (SELECT id FROM people WHERE telegram_id = 1001)")
    await bench.runtime.db.write(work)
    await bench.say(official, "/my")
    assert emu.menu("chat:1001") is None
    assert emu.calls_to("deleteMyCommands")


async def test_help_is_written_for_the_persons_roles(bench: Bench) -> None:
    resident = bench.user(2001, "Zhang", language="en")
    [text] = await bench.say(resident, "/help")
    assert "/new" in (text.text or "") and "/inbox" not in (text.text or "")
    assert "/intake" not in (text.text or "")
    official = bench.user(1001, "Wang", language="en")
    [text] = await bench.say(official, "/help")
    assert "As an official of your unit" in (text.text or "")
    assert "/inbox" in (text.text or "")
    assert "As an administrator" not in (text.text or "")


async def test_cancel_with_nothing_in_progress_says_so(bench: Bench) -> None:
    resident = bench.user(2001, "张三")
    [reply] = await bench.say(resident, "/cancel")
    assert reply.text == "没有可以取消的操作：您当前没有进行中的事项。"
    english = bench.user(2002, "Li", language="en")
    [reply] = await bench.say(english, "/cancel")
    assert reply.text == "There is nothing to cancel: you are not in the middle of anything."


async def test_start_in_a_group_offers_the_private_chat(bench: Bench) -> None:
    group = bench.emu.group(-100777, "村民群")
    resident = bench.user(2001, "张三")
    bench.emu.send_text(resident, "/start", chat=group)
    await bench.deliver()
    [reply] = bench.emu.sent(-100777)
    assert reply.text == "请在私聊中与我对话。"
    username = bench.app.bot.username  # type: ignore[union-attr]
    assert reply.url("私聊") == f"https://t.me/{username}?start"


async def test_a_menu_telegram_refused_is_set_on_the_next_message(bench: Bench) -> None:
    emu = bench.emu
    official = bench.user(1001, "王会计")
    emu.fail_next("setMyCommands", 500, times=5)  # beyond the limiter's retries
    [reply] = await bench.say(official, "/cancel")
    assert reply.text == "没有可以取消的操作：您当前没有进行中的事项。"  # the update was handled
    assert emu.menu("chat:1001") is None
    assert await bench.rows("SELECT menu FROM people WHERE telegram_id = 1001") == [(None,)]
    await bench.say(official, "/my")
    assert emu.menu("chat:1001") == [
        "new", "my", "status", "inbox", "case", "help", "language", "cancel"]
    assert await bench.rows("SELECT menu FROM people WHERE telegram_id = 1001") == [
        ("zh_CN:new,my,status,inbox,case,help,language,cancel",)]
