"""Steps a resident takes, shared by the end-to-end tests."""

from __future__ import annotations

from bot.emulator.core import EmuUser
from tests.conftest import Bench

CATEGORY = "low_income_support"  # routed to civil affairs in the example configuration
TEXT = "村里的低保名单已经三个月没有张榜公示了，希望按规定公开。"


async def to_text_step(bench: Bench, user: EmuUser, kind: str = "suggestion") -> None:
    """From nothing to the prompt for the description."""
    await bench.say(user, "/new")
    await bench.press_data(user, bench.find_data_message(user, f"new:kind:{kind}"),
                           f"new:kind:{kind}")
    await bench.press_data(user, bench.find_data_message(user, f"new:cat:{CATEGORY}"),
                           f"new:cat:{CATEGORY}")
    await bench.press_data(user, bench.find_data_message(user, "new:unit:ok"), "new:unit:ok")


async def file_suggestion(
    bench: Bench, user: EmuUser, identity: str = "anonymous", *, photo: bool = True,
    text: str = TEXT,
) -> str:
    """A whole suggestion; returns the number the bot showed."""
    await to_text_step(bench, user)
    await bench.say(user, text)
    if photo:
        await bench.send(user, "send_photo")
    await bench.tap(user, "new:att:done")
    await bench.tap(user, f"new:id:{identity}")
    replies = await bench.tap(user, "new:confirm")
    return bench.number_in(replies)


async def file_report(bench: Bench, user: EmuUser, name: str = "李建国", *,
                      concerns_head: bool = False) -> str:
    """A whole named report with the reporter's own contact; returns its number."""
    await to_text_step(bench, user, "report")
    await bench.say(user, "村里修路资金的账目一直没有公开。")
    await bench.tap(user, "new:att:done")
    await bench.say(user, name)
    await bench.send(user, "send_contact", "+8613800138000")
    await bench.tap(user, "new:head:yes" if concerns_head else "new:head:no")
    replies = await bench.tap(user, "new:confirm")
    return bench.number_in(replies)
