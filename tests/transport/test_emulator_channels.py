"""The emulator's channels and the checks Telegram makes on them, driven over real HTTP by
python-telegram-bot's ``Bot``: only an administrator with ``can_post_messages`` posts, a bot
that left or was removed is forbidden, the bot's posts come from the channel and never come
back as updates, others' posts do, url and callback buttons on a post can be read and used,
and getChat / getChatMember answer as Telegram would. Groups where the bot is no admin too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberRestricted,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden

from bot.emulator import DEFAULT_PNG, Emulator, EmuUser, Membership, start_server
from bot.emulator.actions import start_payload

CHANNEL = -1001000000001
PARTY = -1001000000002
GROUP = -4000000003
NEED_ADMIN = "(?i)need administrator rights in the channel chat"
DEEP_LINK = "https://t.me/sunbox_bot?start=op_123"


def post_keyboard(label: str = "提意见") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(label, url=DEEP_LINK)],
        [InlineKeyboardButton("已阅", callback_data="disc:7:seen")],
    ])


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    """A PTB ``Bot`` talking to the emulator over HTTP."""
    server = await start_server(emu)
    client = Bot(emu.token, base_url=server.api_base_url, base_file_url=server.file_base_url)
    try:
        async with client:
            yield client
    finally:
        await server.stop()


@dataclass
class Scene:
    """A channel where the bot posted once, and a resident's message it may copy there."""

    ann: EmuUser
    post_id: int
    ann_message_id: int


async def scene(emu: Emulator, bot: Bot) -> Scene:
    ann = emu.user(2001, "Ann")
    emu.channel(CHANNEL, "村务公开", username="cunwu_open")
    post = await bot.send_message(CHANNEL, "第1号公开", reply_markup=post_keyboard())
    ann_message_id = emu.send_text(ann, "意见原文")["message"]["message_id"]
    emu.take_updates()
    return Scene(ann, post.message_id, ann_message_id)


Attempt = Callable[[Bot, Scene], Awaitable[Any]]
WRITES: dict[str, Attempt] = {
    "sendMessage": lambda b, s: b.send_message(CHANNEL, "第2号公开"),
    "sendPhoto": lambda b, s: b.send_photo(CHANNEL, DEFAULT_PNG, caption="公示照片"),
    "sendDocument": lambda b, s: b.send_document(CHANNEL, b"%PDF-1.4 x", filename="g.pdf"),
    "sendMediaGroup": lambda b, s: b.send_media_group(
        CHANNEL, [InputMediaPhoto(DEFAULT_PNG), InputMediaPhoto(DEFAULT_PNG)]),
    "editMessageText": lambda b, s: b.edit_message_text(
        "第1号公开（更正）", chat_id=CHANNEL, message_id=s.post_id),
    "editMessageReplyMarkup": lambda b, s: b.edit_message_reply_markup(
        CHANNEL, s.post_id, reply_markup=post_keyboard("意见")),
    "copyMessage": lambda b, s: b.copy_message(CHANNEL, s.ann.id, s.ann_message_id),
    "sendChatAction": lambda b, s: b.send_chat_action(CHANNEL, "typing"),
}


# --- who may post -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(WRITES))
async def test_only_an_admin_with_the_right_to_post_writes_in_a_channel(
    emu: Emulator, bot: Bot, method: str,
) -> None:
    s = await scene(emu, bot)
    attempt = WRITES[method]
    for status in ("member", Membership.admin(can_post_messages=False, can_edit_messages=False)):
        emu.set_bot_status(CHANNEL, status, notify=False)
        with pytest.raises(BadRequest, match=NEED_ADMIN):
            await attempt(bot, s)
    [post] = emu.sent(CHANNEL)
    assert (post.text, post.edits, post.urls()) == ("第1号公开", [], [("提意见", DEEP_LINK)])

    emu.promote_bot(CHANNEL, notify=False)
    assert await attempt(bot, s)
    assert emu.pending_updates() == []  # the bot's own posts and edits never come back


async def test_a_bot_that_left_or_was_removed_is_forbidden_and_unknown_chats_are_not_found(
    emu: Emulator, bot: Bot,
) -> None:
    emu.channel(CHANNEL, "村务公开", bot="left")
    with pytest.raises(Forbidden, match="(?i)bot is not a member of the channel chat"):
        await bot.send_message(CHANNEL, "x")
    emu.set_bot_status(CHANNEL, "kicked", notify=False)
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the channel chat"):
        await bot.send_photo(CHANNEL, DEFAULT_PNG)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(-1009999999999, "x")
    emu.promote_bot(CHANNEL, notify=False)
    assert (await bot.send_message(CHANNEL, "回来了")).text == "回来了"
    emu.delete_chat(CHANNEL)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(CHANNEL, "x")
    assert [m.text for m in emu.sent(CHANNEL)] == ["回来了"]
    with pytest.raises(ValueError, match="(?i)-100"):
        emu.channel(-12345, "not a channel id")


async def test_edit_and_delete_rights_in_a_channel(emu: Emulator, bot: Bot) -> None:
    s = await scene(emu, bot)
    emu.set_bot_status(CHANNEL, Membership.admin(can_post_messages=False), notify=False)
    # can_edit_messages alone lets it edit its posts, can_delete_messages delete them
    edited = await bot.edit_message_text("第1号公开（更正）", chat_id=CHANNEL,
                                         message_id=s.post_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    other = emu.post_in_channel(CHANNEL, "管理员发的通知")["channel_post"]["message_id"]
    emu.set_bot_status(CHANNEL, Membership.admin(can_delete_messages=False), notify=False)
    with pytest.raises(BadRequest, match="(?i)message can't be deleted"):
        await bot.delete_message(CHANNEL, other)
    assert await bot.delete_message(CHANNEL, s.post_id)  # its own post: can_post_messages
    emu.set_bot_status(CHANNEL, Membership.admin(can_post_messages=False), notify=False)
    assert await bot.delete_message(CHANNEL, other)
    assert emu.sent(CHANNEL)[0].deleted and emu.channel_posts(CHANNEL) == []


# --- what a post looks like, and others' posts ---------------------------------------------


async def test_the_bots_posts_come_from_the_channel_and_never_come_back(
    emu: Emulator, bot: Bot,
) -> None:
    emu.channel(CHANNEL, "村务公开", username="cunwu_open")
    text = await bot.send_message("@cunwu_open", "第1号公开", reply_markup=post_keyboard())
    photo = await bot.send_photo(CHANNEL, DEFAULT_PNG, caption="公示照片")
    document = await bot.send_document(CHANNEL, b"%PDF-1.4 x", filename="第1号.pdf")
    album = await bot.send_media_group(CHANNEL, [InputMediaPhoto(DEFAULT_PNG),
                                                 InputMediaPhoto(DEFAULT_PNG)])
    for message in (text, photo, document, *album):
        assert message.chat.type == "channel" and message.chat.id == CHANNEL
        assert message.sender_chat is not None and message.sender_chat.id == CHANNEL
        assert message.from_user is None
    assert text.chat.title == "村务公开" and text.chat.username == "cunwu_open"
    assert all("from" not in m.raw and m.raw["sender_chat"]["type"] == "channel"
               for m in emu.sent(CHANNEL))
    # a reply keyboard means nothing to a channel's readers
    await bot.send_message(CHANNEL, "x", reply_markup=ReplyKeyboardMarkup([["a"]]))
    assert emu.current_keyboard(CHANNEL) is None
    assert emu.pending_updates() == []


async def test_others_posts_and_edits_reach_an_admin_bot_only(emu: Emulator, bot: Bot) -> None:
    emu.channel(CHANNEL, "村务公开")
    sent = emu.post_in_channel(CHANNEL, "村委会通知", author_signature="王主任")
    photo = emu.post_in_channel(CHANNEL, "公示栏", photo=DEFAULT_PNG)
    emu.edit_channel_post(sent, "村委会通知（更正）")
    updates = [Update.de_json(u, bot) for u in emu.take_updates()]
    first, second, edit = updates
    assert first.channel_post is not None and first.channel_post.text == "村委会通知"
    assert first.channel_post.sender_chat is not None
    assert first.channel_post.sender_chat.id == CHANNEL
    assert first.channel_post.from_user is None
    assert first.channel_post.author_signature == "王主任"
    assert second.channel_post is not None and second.channel_post.photo
    assert second.channel_post.caption == "公示栏"
    assert photo["update_id"] == second.update_id
    assert edit.edited_channel_post is not None
    assert edit.edited_channel_post.text == "村委会通知（更正）"
    assert edit.edited_channel_post.message_id == first.channel_post.message_id
    assert [p["text"] for p in emu.channel_posts(CHANNEL) if "text" in p] == ["村委会通知（更正）"]

    emu.set_bot_status(CHANNEL, "member", notify=False)
    unseen = emu.post_in_channel(CHANNEL, "没人告诉机器人")
    assert "update_id" not in unseen and emu.pending_updates() == []
    with pytest.raises(ValueError, match="(?i)post_in_channel"):
        emu.send_text(emu.user(2002, "Bo"), "hi", chat=CHANNEL)


# --- buttons on a post ----------------------------------------------------------------------


async def test_buttons_on_a_post_can_be_read_and_used(emu: Emulator, bot: Bot) -> None:
    s = await scene(emu, bot)
    post = emu.message(CHANNEL, s.post_id)
    assert post is not None
    assert post.urls() == [("提意见", DEEP_LINK)]
    assert post.buttons() == [[("提意见", None)], [("已阅", "disc:7:seen")]]
    assert post.url("意见") == DEEP_LINK

    opened = emu.click_link(s.ann, post, "提意见")
    start = Update.de_json(opened, bot)
    assert start.message is not None and start.message.chat.id == s.ann.id
    assert start.message.text == "/start op_123"
    assert start.message.entities[0].type == "bot_command"
    assert start.message.entities[0].length == len("/start")

    pressed = Update.de_json(emu.press(s.ann, post, post.button("已阅")), bot)
    query = pressed.callback_query
    assert query is not None and query.data == "disc:7:seen" and query.from_user.id == s.ann.id
    assert query.message is not None and query.message.chat.type == "channel"
    assert await bot.answer_callback_query(query.id, "谢谢")
    assert emu.callback_answer(query.id)[1] == "谢谢"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (DEEP_LINK, ("sunbox_bot", "op_123")),
        ("t.me/sunbox_bot", ("sunbox_bot", None)),
        ("tg://resolve?domain=sunbox_bot&start=op-9", ("sunbox_bot", "op-9")),
    ],
)
def test_start_payload(url: str, expected: tuple[str, str | None]) -> None:
    assert start_payload(url) == expected


@pytest.mark.parametrize(
    "url",
    ["https://t.me/sunbox_bot?start=op 1", "https://t.me/sunbox_bot?start=" + "x" * 65,
     "https://example.com/sunbox_bot?start=a", "https://t.me/sunbox_bot?startgroup=a",
     "https://t.me/other_bot?start=a"],
)
def test_links_telegram_would_not_open_as_a_start_fail_loudly(emu: Emulator, url: str) -> None:
    with pytest.raises(AssertionError):
        emu.open_link(emu.user(2003, "Cai"), url)
    assert emu.pending_updates() == []


# --- getChat, getChatMember and the bot's status changes -----------------------------------


async def test_get_chat_and_get_chat_member_report_the_bots_rights(
    emu: Emulator, bot: Bot,
) -> None:
    ann = emu.user(2001, "Ann")
    emu.channel(CHANNEL, "村务公开", username="cunwu_open")
    chat = await bot.get_chat(CHANNEL)
    assert (chat.type, chat.title, chat.username) == ("channel", "村务公开", "cunwu_open")
    me = await bot.get_chat_member(CHANNEL, bot.id)
    assert isinstance(me, ChatMemberAdministrator)
    assert (me.can_post_messages, me.can_edit_messages) == (True, True)
    emu.set_bot_status(CHANNEL, Membership.admin(can_post_messages=False), notify=False)
    me = await bot.get_chat_member(CHANNEL, bot.id)
    assert isinstance(me, ChatMemberAdministrator) and me.can_post_messages is False
    assert (await bot.get_chat_member(CHANNEL, ann.id)).status == "left"
    emu.set_member(CHANNEL, ann)
    assert isinstance(await bot.get_chat_member(CHANNEL, ann.id), ChatMemberMember)

    emu.set_bot_status(CHANNEL, "member", notify=False)
    assert isinstance(await bot.get_chat_member(CHANNEL, bot.id), ChatMemberMember)
    with pytest.raises(BadRequest, match="(?i)member list is inaccessible"):
        await bot.get_chat_member(CHANNEL, ann.id)
    emu.set_bot_status(CHANNEL, "left", notify=False)
    assert isinstance(await bot.get_chat_member(CHANNEL, bot.id), ChatMemberLeft)
    assert emu.bot_membership(CHANNEL) == Membership("left")
    with pytest.raises(BadRequest, match="(?i)user not found"):
        await bot.get_chat_member(CHANNEL, 999999)


async def test_promoting_the_bot_after_a_failure_is_announced_and_lets_it_post(
    emu: Emulator, bot: Bot,
) -> None:
    head = emu.user(2004, "Head")
    emu.channel(CHANNEL, "村务公开", bot="member")
    with pytest.raises(BadRequest, match=NEED_ADMIN):
        await bot.send_message(CHANNEL, "第1号公开")
    emu.promote_bot(CHANNEL, can_edit_messages=False, by=head)
    [raw] = emu.take_updates()
    update = Update.de_json(raw, bot)
    change = update.my_chat_member
    assert change is not None and change.chat.id == CHANNEL and change.from_user.id == head.id
    assert change.old_chat_member.status == "member"
    new = change.new_chat_member
    assert isinstance(new, ChatMemberAdministrator) and new.can_post_messages is True
    assert new.can_edit_messages is False
    assert (await bot.send_message(CHANNEL, "第1号公开")).text == "第1号公开"
    emu.block(CHANNEL)
    kicked = Update.de_json(emu.take_updates()[-1], bot).my_chat_member
    assert kicked is not None and kicked.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the channel chat"):
        await bot.send_message(CHANNEL, "x")


# --- groups where the bot is no admin ----------------------------------------------------------


async def test_groups_where_the_bot_is_no_admin(emu: Emulator, bot: Bot) -> None:
    ann = emu.user(2001, "Ann")
    emu.group(PARTY, "党员群")
    emu.set_member(PARTY, ann)
    assert isinstance(await bot.get_chat_member(PARTY, bot.id), ChatMemberMember)
    assert (await bot.get_chat_member(PARTY, ann.id)).status == "member"
    sent = await bot.send_message(PARTY, "第1号公开", reply_markup=post_keyboard())
    assert sent.from_user is not None and sent.from_user.id == bot.id
    assert sent.sender_chat is None
    said = emu.send_text(ann, "收到", chat=PARTY)["message"]["message_id"]
    with pytest.raises(BadRequest, match="(?i)message can't be deleted"):
        await bot.delete_message(PARTY, said)
    assert await bot.delete_message(PARTY, sent.message_id)
    emu.promote_bot(PARTY, notify=False)
    assert await bot.delete_message(PARTY, said)

    emu.set_bot_status(PARTY, "restricted", notify=False)
    assert isinstance(await bot.get_chat_member(PARTY, bot.id), ChatMemberRestricted)
    with pytest.raises(BadRequest, match="(?i)not enough rights to send text messages to the chat"):
        await bot.send_message(PARTY, "x")
    with pytest.raises(BadRequest, match="(?i)not enough rights to send photos to the chat"):
        await bot.send_photo(PARTY, DEFAULT_PNG)
    emu.set_bot_status(PARTY, "left", notify=False)
    with pytest.raises(Forbidden, match="(?i)bot is not a member of the supergroup chat"):
        await bot.send_message(PARTY, "x")


async def test_a_group_migrated_deleted_or_kicking_the_bot(emu: Emulator, bot: Bot) -> None:
    emu.group(GROUP, "村民群", bot="administrator")
    emu.migrate_group(GROUP, PARTY)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(GROUP, "x")
    assert migrated.value.new_chat_id == PARTY
    assert emu.bot_membership(PARTY).status == "administrator"  # the rights came along

    emu.group(GROUP - 1, "旧群")
    emu.block(GROUP - 1)
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the group chat"):
        await bot.send_message(GROUP - 1, "x")
    emu.unblock(GROUP - 1)
    assert (await bot.send_message(GROUP - 1, "又回来了")).text == "又回来了"
    emu.delete_chat(GROUP - 1)
    with pytest.raises(Forbidden, match="(?i)the group chat was deleted"):
        await bot.send_message(GROUP - 1, "x")
