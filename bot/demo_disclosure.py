"""The demo's disclosure register (党务公开): Beiguan village's monthly finances, due by the
10th of the next month, drafted by its official, approved by two of its committee members,
signed by its head, posted in the village's channel with an opinion button; a resident's
opinion answered; a corrected version 2. With ``--fast``: a draft for comment whose window
closes, its opinion ruled on, and the final version."""

from __future__ import annotations

import asyncio
import dataclasses

from bot.config import Config, MemberConfig
from bot.demo_tour import Tour
from bot.durations import Duration
from bot.emulator.core import EmuUser, SentMessage
from bot.i18n import N_, translator

UNIT = "yizhou_beiguan"
CHANNEL = -1009990000001
OFFICIAL, HEAD, C1, C2, CLERK = 1031, 1032, 1033, 1034, 1035


def register_config(config: Config, *, fast: bool) -> Config:
    """Beiguan with its people and its channel; a short comment window in fast time."""
    units = tuple(dataclasses.replace(u, public_channel_id=CHANNEL) if u.id == UNIT else u
                  for u in config.units)
    members = config.members + (
        MemberConfig(OFFICIAL, "official", UNIT), MemberConfig(HEAD, "head", UNIT),
        MemberConfig(C1, "committee", UNIT), MemberConfig(C2, "committee", UNIT),
        MemberConfig(CLERK, "clerk", UNIT))
    disclosure = config.disclosure
    if fast:
        disclosure = dataclasses.replace(disclosure, comment_window=Duration(20, "s"))
    return dataclasses.replace(config, units=units, members=members, disclosure=disclosure)


def _newest(tour: Tour, user_id: int, prefix: str) -> str:
    for message in reversed(tour.emu.sent(user_id)):
        for row in message.buttons():
            for _text, data in row:
                if data and data.startswith(prefix):
                    return data
    raise LookupError(f"no button {prefix!r}… for {user_id}")


async def _channel_post(tour: Tour, after: int) -> SentMessage:
    post = await tour.emu.wait_for(CHANNEL, count=after + 1, timeout=30)
    await asyncio.sleep(0.5)
    post = tour.emu.sent(CHANNEL)[-1]
    tour.out(tour.t("  📢 → channel: {text}").format(text=(post.text or "").replace(
        "\n", "\n      ")))
    for row in post.buttons():
        tour.out("      " + "  ".join(f"[{text}]" for text, _ in row))
    return post


async def _through_review(tour: Tour, people: dict[int, EmuUser], did: str) -> None:
    for member in (C1, C2):
        await tour.press(people[member], f"dr:ok:{did}")
    await tour.press(people[HEAD], f"ds:ok:{did}")


async def play_disclosure(tour: Tour, config: Config, language: str, *, fast: bool) -> None:
    t = translator(language)
    code = "en" if language == "en" else "zh-hans"
    official = tour.person(OFFICIAL, t("Ma (Beiguan official)"), code)
    people = {OFFICIAL: official, HEAD: tour.person(HEAD, t("Niu (Beiguan head)"), code),
              C1: tour.person(C1, t("Yang (committee)"), code),
              C2: tour.person(C2, t("Zhu (committee)"), code),
              CLERK: tour.person(CLERK, t("Qin (clerk)"), code)}
    resident = tour.person(5003, t("Gao Shulan"), code)
    tour.emu.channel(CHANNEL, "北关村党务公开")
    tour.section(N_("The disclosure register: a village's monthly finances, from due to "
                    "corrected"))
    tour.note(t("November's finances are due by 10 December; a reminder comes one working "
                "day before, the breach goes to the head, the escalation to supervision."))
    await tour.say(official, "/publish")
    await tour.press(official, _newest(tour, OFFICIAL, "dd:new:"))
    await tour.say(official, t("Income 32,000 yuan, spending 28,000 yuan, of which 4,000 "
                               "yuan of allowances for low-income households."))
    for section in (t("Discussed at the villagers' representatives meeting of 3 December."),
                    t("The village affairs disclosure rules."),
                    t("Open and democratic management of finances."),
                    t("Proposed, reviewed, voted, published.")):
        await tour.say(official, section)
    await tour.press(official, "dx:files:done")
    await tour.press(official, "dx:submit")
    did = _newest(tour, C1, "dr:ok:").rsplit(":", 1)[1]
    await _through_review(tour, people, did)
    post = await _channel_post(tour, 0)
    await tour.press(people[CLERK], f"df:notice_board:{did}")
    await tour.send_photo(people[CLERK])
    await tour.act(resident, t("(opens the post's opinion button)"),
                   lambda: tour.emu.click_link(resident, post, "💬"))
    await tour.say(resident, t("Which households received the allowances? Please publish "
                               "the list."))
    await tour.press(resident, "new:att:done")
    await tour.press(resident, "new:id:anonymous")
    await tour.press(resident, "new:confirm")
    await tour.say(official, "/opinions")
    await tour.press(official, f"dv:{did}")
    await tour.press(official, f"do:all:{did}")
    await tour.say(official, t("The list of twelve households is on the village notice "
                               "board."))
    await tour.say(official, "/opinions")
    await tour.press(official, f"dv:{did}")
    await tour.press(official, f"dd:fix:{did}")
    await tour.say(official, t("Income 32,000 yuan, spending 27,000 yuan (corrected), of "
                               "which 4,000 yuan of allowances for low-income households."))
    await tour.press(official, "dx:files:done")
    await tour.press(official, "dx:submit")
    v2 = _newest(tour, C1, "dr:ok:").rsplit(":", 1)[1]
    await _through_review(tour, people, v2)
    await _channel_post(tour, 1)
    await tour.say(resident, "/catalog yizhou_beiguan")
    if fast:
        await _pre_disclosure(tour, people, resident)


async def _pre_disclosure(tour: Tour, people: dict[int, EmuUser], resident: EmuUser) -> None:
    tr = tour.t
    official = people[OFFICIAL]
    tour.section(N_("A draft for comment (党务预公开): the window closes, each opinion is "
                    "ruled on, the final version follows"))
    await tour.say(official, "/publish")
    await tour.press(official, _newest(tour, OFFICIAL, "dd:pre:"))
    await tour.say(official, tr("Plan: repair the north road in spring, 60,000 yuan."))
    for section in (tr("To be decided at the villagers' meeting."), tr("The road rules."),
                    tr("Everyone may comment."), tr("Comment, decide, publish.")):
        await tour.say(official, section)
    await tour.press(official, "dx:files:done")
    await tour.press(official, "dx:submit")
    pre = _newest(tour, C1, "dr:ok:").rsplit(":", 1)[1]
    await _through_review(tour, people, pre)
    post = await _channel_post(tour, 2)
    await tour.act(resident, tr("(opens the post's opinion button)"),
                   lambda: tour.emu.click_link(resident, post, "💬"))
    await tour.say(resident, tr("Please also light the road."))
    await tour.press(resident, "new:att:done")
    await tour.press(resident, "new:id:anonymous")
    await tour.press(resident, "new:confirm")
    tour.out(tr("… (waiting for the comment window to close)"))
    await asyncio.sleep(25)
    await tour.say(official, "/opinions")
    await tour.press(official, f"dv:{pre}")
    await tour.press(official, _newest(tour, OFFICIAL, "dm:adopted:"))
    await tour.say(official, tr("Adopted: lights are added to the plan."))
    await tour.say(official, "/opinions")
    await tour.press(official, f"dv:{pre}")
    await tour.press(official, f"dd:fix:{pre}")
    await tour.press(official, "dx:keep")
    await tour.press(official, "dx:files:done")
    await tour.press(official, "dx:submit")
    final = _newest(tour, C1, "dr:ok:").rsplit(":", 1)[1]
    await _through_review(tour, people, final)
    await _channel_post(tour, 3)
