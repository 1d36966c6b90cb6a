"""The demo's player: people in the Bot API emulator, and the transcript of what they see
(``bot.demo`` writes the script)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from bot.emulator.core import Emulator, EmuUser, SentMessage
from bot.emulator.models import DEFAULT_PNG
from bot.i18n import translator

QUIET = 0.25  # seconds without a Bot API call that mean the bot has finished answering
PATIENCE = 15.0


class Tour:
    """Plays people in the emulator and prints what they see."""

    def __init__(self, emulator: Emulator, out: Callable[[str], None],
                 language: str = "zh_CN") -> None:
        self.emu = emulator
        self.out = out
        self.t = translator(language)
        self._shown: dict[tuple[int, int], tuple[str | None, str]] = {}
        self._sections = 0
        self._photos_sent: dict[str, str] = {}  # sha256 of a photo a person sent -> their name
        self.people: list[EmuUser] = []

    def section(self, title: str) -> None:
        """Start the next section of the transcript, numbered in the order shown."""
        self._sections += 1
        if self._sections > 1:
            self.out("")
        self.out(self.t("== {number}. {title} ==").format(number=self._sections,
                                                          title=self.t(title)))

    def note(self, text: str) -> None:
        """A line of narration: what the chats alone do not show."""
        self.out(self.t("   ({note})").format(note=text))

    async def send_photo(self, user: EmuUser) -> None:
        """The person sends a photo (remembered, to label the copies the bot sends)."""
        data = DEFAULT_PNG
        self._photos_sent[hashlib.sha256(data).hexdigest()] = user.first_name
        await self.act(user, self.t("(sends a photo)"), lambda: self.emu.send_photo(user, data))

    def _photo_label(self, message: SentMessage) -> str:
        """What a photo the bot sent is: a person's own photo, the cleaned copy that the bot
        re-encoded without hidden data, or a chart it drew."""
        try:
            data = self.emu.file_bytes(message.file_id or "")
        except KeyError:
            return "[photo] "
        owner = self._photos_sent.get(hashlib.sha256(data).hexdigest())
        if owner is not None:
            return f"[photo: sent by {owner}] "
        if data.startswith(b"\xff\xd8"):  # JPEG: how the bot re-encodes a cleaned photo
            return "[photo: cleaned copy] "
        return "[photo: chart] "

    def person(self, user_id: int, name: str, language_code: str) -> EmuUser:
        """Someone taking part in the tour (their chat is printed)."""
        for known in self.people:
            if known.id == user_id:
                return known
        user = self.emu.user(user_id, name, language_code=language_code)
        self.people.append(user)
        return user

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
        label = (self._photo_label(message) if message.kind == "photo" else
                 {"document": "[document: workbook] "}.get(message.kind, ""))
        text = (message.text or "").replace("\n", "\n      ")
        if edited and (message.text or "").startswith("📨"):
            # An edited case card: its last line says what changed; the rest was shown.
            lines = [line for line in (message.text or "").splitlines() if line.strip()]
            text = f"(#{message.message_id}) … {lines[-1] if lines else ''}"
        arrow = "✎" if edited else "→"
        self.out(f"  🤖 {arrow} {user.first_name}: {label}{text}")
        for row in message.buttons():
            self.out("      " + "  ".join(f"[{text}]" for text, _ in row))
        keyboard = message.reply_keyboard()
        if keyboard:
            self.out("      " + "  ".join(f"⌨[{b.get('text')}]" for row in keyboard
                                          for b in row))

    async def act(self, user: EmuUser, shown: str, inject: Callable[[], Any]) -> None:
        """Print what the person does, do it, wait for the bot, print what everyone got."""
        for someone in self.people:
            self._print_new(someone)
        self.out(f"👤 {user.first_name}: {shown}")
        before = self._bot_calls()
        inject()
        await self._settle(before)
        self._print_new(user)
        for someone in self.people:
            if someone.id != user.id:
                self._print_new(someone)

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

    def show(self, user: EmuUser) -> None:
        """Print what reached a person since last shown."""
        self._print_new(user)

    def case_id_in(self, user: EmuUser) -> int:
        """The case id on the newest card a person received."""
        for message in reversed(self.emu.sent(user.id)):
            for row in message.buttons():
                for _text, data in row:
                    found = re.match(r"case:(\d+):", data or "")
                    if found:
                        return int(found.group(1))
        raise LookupError("no case card")

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
        for message in reversed(self.emu.sent(user.id)):
            found = re.search(r"[SR]-\d{4}-\d{5,6}-[A-Z0-9]{3}", message.text or "")
            if found:
                return found.group(0)
        raise LookupError("no case number shown")
