"""``sunbox demo``: the real bot on the built-in Bot API emulator, playing a scripted tour.

The bot runs unchanged (long polling over HTTP on loopback); the tour plays residents who
send messages and press buttons, and prints the chat as a transcript.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app import build_application
from bot.config import Config, default_config_path, load_config
from bot.emulator.core import Emulator, EmuUser, SentMessage
from bot.emulator.server import start_server
from bot.i18n import translator

QUIET = 0.25  # seconds without a Bot API call that mean the bot has finished answering
PATIENCE = 15.0


class Tour:
    """Plays people in the emulator and prints what they see."""

    def __init__(self, emulator: Emulator, out: Callable[[str], None]) -> None:
        self.emu = emulator
        self.out = out
        self._shown: dict[tuple[int, int], tuple[str | None, str]] = {}

    async def _settle(self, calls_before: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        while self._bot_calls() == calls_before:
            if loop.time() > deadline:
                raise TimeoutError("the bot did not answer")
            await asyncio.sleep(0.02)
        while True:
            count = self._bot_calls()
            await asyncio.sleep(QUIET)
            if self._bot_calls() == count:
                return

    def _bot_calls(self) -> int:
        return sum(1 for method, _ in self.emu.calls if method.lower() != "getupdates")

    def _print_new(self, user: EmuUser) -> None:
        """Print messages that are new, or edited to new text or new buttons."""
        for message in self.emu.sent(user.id):
            key = (user.id, message.message_id)
            now = (message.text, json.dumps(message.buttons()))
            before = self._shown.get(key)
            self._shown[key] = now
            if before is None:
                self._print_message(user, message, edited=False)
            elif now[0] != before[0] or (now[1] != before[1] and message.buttons()):
                self._print_message(user, message, edited=True)

    def _print_message(self, user: EmuUser, message: SentMessage, *, edited: bool) -> None:
        label = {"photo": "[photo] ", "document": "[document] "}.get(message.kind, "")
        text = (message.text or "").replace("\n", "\n      ")
        arrow = "✎" if edited else "→"
        self.out(f"  🤖 {arrow} {user.first_name}: {label}{text}")
        for row in message.buttons():
            self.out("      " + "  ".join(f"[{text}]" for text, _ in row))
        keyboard = message.reply_keyboard()
        if keyboard:
            self.out("      " + "  ".join(f"⌨[{b.get('text')}]" for row in keyboard
                                          for b in row))

    async def act(self, user: EmuUser, shown: str, inject: Callable[[], Any]) -> None:
        """Print what the person does, do it, wait for the bot, print its answer."""
        self._print_new(user)
        self.out(f"👤 {user.first_name}: {shown}")
        before = self._bot_calls()
        inject()
        await self._settle(before)
        self._print_new(user)

    async def say(self, user: EmuUser, text: str) -> None:
        await self.act(user, text, lambda: self.emu.send_text(user, text))

    async def press(self, user: EmuUser, data: str) -> None:
        """Press the newest button carrying exactly this callback data."""
        found = [(message, text) for message in reversed(self.emu.sent(user.id))
                 for row in message.buttons() for text, button_data in row
                 if button_data == data]
        if not found:
            raise LookupError(f"no button {data!r} in the chat of user {user.id}")
        message, text = found[0]
        await self.act(user, f"(presses [{text}])", lambda: self.emu.press(user, message, data))

    async def press_prefix(self, user: EmuUser, prefix: str) -> None:
        """Press the newest button whose data starts with ``prefix`` (a page of a list)."""
        for message in reversed(self.emu.sent(user.id)):
            for row in message.buttons():
                for _text, data in row:
                    if data and data.startswith(prefix):
                        await self.press(user, data)
                        return
        raise LookupError(f"no button {prefix!r}… in the chat of user {user.id}")

    def number_in(self, user: EmuUser) -> str:
        """The newest case number shown to a user."""
        import re

        for message in reversed(self.emu.sent(user.id)):
            found = re.search(r"[SR]-\d{4}-\d{5}", message.text or "")
            if found:
                return found.group(0)
        raise LookupError("no case number shown")


def _pick_category(config: Config, *hints: str) -> str:
    for hint in hints:
        for category in config.categories:
            if hint in category.id:
                return category.id
    return config.categories[0].id


def _browse_path(config: Config) -> list[str]:
    """Units to open from the top of the tree down to one with children of its own."""
    for root in config.roots():
        for child in config.children(root.id):
            if config.children(child.id):
                return [root.id, child.id]
    return [config.roots()[0].id]


async def play(tour: Tour, config: Config, language: str) -> None:
    """The scripted tour (later issues extend it)."""
    t = translator(language)
    code = "en" if language == "en" else "zh-hans"
    out = tour.out
    resident = tour.emu.user(5001, t("Wang Xiulan"), language_code=code)
    reporter = tour.emu.user(5002, t("Li Jianguo"), language_code=code)

    out(t("== 1. An anonymous suggestion with a photo =="))
    await tour.say(resident, "/start")
    await tour.press(resident, "new:start:suggestion")
    await tour.press(resident, f"new:cat:{_pick_category(config, 'low_income', 'subsid')}")
    await tour.press(resident, "new:unit:ok")
    await tour.say(resident, t(
        "The village's low-income support list has not been posted for three months. "
        "Please post it as the rules require."))
    await tour.act(resident, t("(sends a photo)"), lambda: tour.emu.send_photo(resident))
    await tour.press(resident, "new:att:done")
    await tour.press(resident, "new:id:anonymous")
    await tour.press(resident, "new:confirm")

    out("")
    out(t("== 2. A named report, the unit chosen from the tree, the contact shared =="))
    await tour.say(reporter, "/new")
    await tour.press(reporter, "new:kind:report")
    await tour.press(reporter, f"new:cat:{_pick_category(config, 'finance', 'work_style')}")
    await tour.press(reporter, "new:tree::0")
    path = _browse_path(config)
    for unit_id in path:
        await tour.press_prefix(reporter, f"new:tree:{unit_id}:")
    leaves = config.children(path[-1]) or (config.unit(path[-1]),)
    await tour.press(reporter, f"new:pick:{leaves[-1].id}")
    await tour.say(reporter, t(
        "The accounts of the village road repair fund were never published, and the work "
        "went to a relative of the village head."))
    await tour.press(reporter, "new:att:done")
    await tour.say(reporter, t("Li Jianguo"))
    await tour.act(reporter, t("(shares their own contact)"),
                   lambda: tour.emu.send_contact(reporter, "+8613800138000"))
    await tour.press(reporter, "new:head:no")
    await tour.press(reporter, "new:confirm")

    out("")
    out(t("== 3. Both follow their cases with /my =="))
    await tour.say(resident, "/my")
    await tour.say(reporter, "/my")
    for row in tour.emu.sent(reporter.id)[-1].buttons():
        for _text, data in row:
            if data and data.startswith("my:open:"):
                await tour.press(reporter, data)
                return


async def run_demo(
    config_path: Path | None, language: str, *, out: Callable[[str], None] = print
) -> int:
    """Start the emulator and the real bot, play the tour, stop everything."""
    config = load_config(config_path or default_config_path())
    emulator = Emulator()
    server = await start_server(emulator)
    with tempfile.TemporaryDirectory(prefix="sunbox-demo-") as tmp:
        database = config.general.database if config_path else str(Path(tmp) / "demo.db")
        config = dataclasses.replace(
            config,
            telegram=dataclasses.replace(
                config.telegram, token=emulator.token, api_base_url=server.base_url),
        )
        application = build_application(config, database=database)
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await application.start()
        t = translator(language)
        out(t("Sunbox demo: the real bot on the local Bot API emulator at {url}").format(
            url=server.base_url))
        out("")
        try:
            await play(Tour(emulator, out), config, language)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
            assert application.post_shutdown is not None
            await application.post_shutdown(application)
            await server.stop()
    return 0

