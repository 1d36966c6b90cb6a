"""Crash tests: the real ``sunbox run`` process, killed with SIGKILL at chosen points
(``SUNBOX_CRASH_AT``), restarted on the same database against the Bot API emulator.
Afterwards every acknowledged case is there once, and every promised message arrived once
(or, for a kill between Telegram's answer and its record, at most once more)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from bot.emulator.core import Emulator, EmuUser
from bot.emulator.server import EmulatorServer, start_server
from tests.support.config_files import config_file

ROOT = Path(__file__).resolve().parents[2]
FINANCE_OFFICIAL = 1001


class Deployment:
    """One database, one emulator, and bot processes started and killed on them."""

    def __init__(self, emu: Emulator, server: EmulatorServer, tmp: Path,
                 config: Config) -> None:
        self.emu = emu
        # The test's database (a file, or a PostgreSQL schema with its key and file store).
        self.config = config_file(tmp, config)
        text = self.config.read_text(encoding="utf-8")
        text = text.replace('token = ""', f'token = "{emu.token}"', 1)
        text = text.replace('api_base_url = "https://api.telegram.org"',
                            f'api_base_url = "{server.base_url}"')
        self.config.write_text(text, encoding="utf-8")
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, crash_at: str | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SUNBOX_CRASH_AT"}
        if crash_at:
            env["SUNBOX_CRASH_AT"] = crash_at
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--config", str(self.config), cwd=ROOT,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    async def killed(self) -> None:
        """Wait for the process to kill itself at its crash point."""
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), 30)
        assert code == -signal.SIGKILL, f"expected a SIGKILL, the process ended with {code}"
        self.process = None

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)
        self.process = None

    async def say(self, user: EmuUser, text: str, expect: str) -> None:
        before = len(self.emu.sent(user.id))
        self.emu.send_text(user, text)
        await self.emu.wait_for(user.id, lambda m: expect in (m.text or ""), after=before,
                                timeout=30)

    async def press(self, user: EmuUser, data: str, expect: str | None = None) -> None:
        message = next(m for m in reversed(self.emu.sent(user.id))
                       if any(d == data for row in m.buttons() for _, d in row))
        before = self.emu.position(message)  # the next question may replace it
        self.emu.press(user, message, data)
        if expect is not None:
            await self.emu.wait_for(user.id, lambda m: expect in (m.text or ""), after=before,
                                    timeout=30)

    def count(self, chat_id: int, fragment: str) -> int:
        return sum(fragment in (m.text or "") for m in self.emu.sent(chat_id))


@pytest.fixture
async def deployment(tmp_path: Path, config: Config) -> AsyncIterator[Deployment]:
    """On each engine: the same kills, the same promises kept."""
    emu = Emulator()
    server = await start_server(emu)
    deployment = Deployment(emu, server, tmp_path, config)
    try:
        yield deployment
    finally:
        await deployment.stop()
        await server.stop()


async def _to_summary(d: Deployment, resident: EmuUser) -> None:
    await d.say(resident, "/new", "What would you like to file?")
    await d.press(resident, "new:kind:suggestion", "Which area")
    await d.press(resident, "new:cat:finance", "It will go to")
    await d.press(resident, "new:unit:ok", "Describe it")
    await d.say(resident, "The village accounts have not been published.", "photos")
    await d.press(resident, "new:att:done", "How do you want")
    await d.press(resident, "new:id:anonymous", "Please check your case")


@pytest.mark.parametrize("point", ["inbox:after_store", "inbox:before_handle",
                                   "inbox:before_mark"])
async def test_an_update_survives_a_kill_and_acts_once(deployment: Deployment, point: str
                                                       ) -> None:
    d = deployment
    resident = d.emu.user(8001, "Resident", language_code="en")
    await d.start(crash_at=point)
    d.emu.send_text(resident, "/start")
    await d.killed()
    await d.start()
    await d.emu.wait_for(resident.id, lambda m: "Welcome to Sunbox" in (m.text or ""),
                         timeout=30)
    await d.say(resident, "/help", "How Sunbox works")  # the bot is past the replay
    assert d.count(resident.id, "Welcome to Sunbox") == 1


async def test_a_confirmed_case_survives_a_kill_before_its_number_is_shown(
    deployment: Deployment,
) -> None:
    d = deployment
    resident = d.emu.user(8002, "Resident", language_code="en")
    d.emu.user(FINANCE_OFFICIAL, "Official", language_code="en")
    await d.start()
    await _to_summary(d, resident)
    await d.stop()
    await d.start(crash_at="filing:after_commit")
    await d.press(resident, "new:confirm")
    await d.killed()
    await d.start()
    await d.emu.wait_for(resident.id, lambda m: "Your case number is" in (m.text or ""),
                         timeout=30)
    await d.say(resident, "/my", "Your cases (1)")
    assert d.count(resident.id, "Your case number is S-") == 1


@pytest.mark.parametrize(("point", "receipts"), [
    ("outbox:before_send", 1),  # Telegram never saw it: sent once after the restart
    ("outbox:after_send", 2),   # Telegram answered, the answer was not recorded: once more
])
async def test_promised_messages_arrive_after_a_kill(deployment: Deployment, point: str,
                                                     receipts: int) -> None:
    """The receipt (owed first) is the row the kill hits; the card behind it is unharmed."""
    d = deployment
    resident = d.emu.user(8003, "Resident", language_code="en")
    official = d.emu.user(FINANCE_OFFICIAL, "Official", language_code="en")
    await d.start()
    await _to_summary(d, resident)
    await d.stop()
    await d.start(crash_at=point)
    await d.press(resident, "new:confirm")
    await d.killed()
    await d.start()
    await d.emu.wait_for(official.id, lambda m: (m.text or "").startswith("📨"), timeout=30)
    await d.say(resident, "/my", "Your cases (1)")
    await asyncio.sleep(0.5)
    assert d.count(resident.id, "Your case number is S-") == receipts
    assert d.count(official.id, "📨") == 1
