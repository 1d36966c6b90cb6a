"""Issue 7: crash loop. ``sunbox run`` is SIGKILLed at random moments under a load of filings
and answers, restarted on the same database each time, and afterwards nothing acknowledged
is lost, nothing is doubled, every promised message arrived once, and conversations resumed.

    .venv/bin/python -m bench.crash_loop [--kills 20] [--users 10] [--seed 7]

The emulator (HTTP on loopback) and the simulated people run in this process; ``sunbox run``
runs in a child process on a temporary database and configuration. ``--users`` residents
file complete cases over and over (/new → kind → category → unit → text → Done → anonymous →
Confirm, a quarter of them pressing Confirm twice); one official per unit (units without
sign-off) accepts and answers every card (accept → answer → outcome → text → Done → Send).
Between restarts the bot lives a random 0.2–3 s (seeded) from its first Bot API call, so
kills land in start-up, in the replay of kept updates, in handlers and in the outbox.

The people act on what they see, as people do: each looks at the newest prompt in their
chat and does what it asks (press its button, type the text), then waits until the screen
changes. They are not told about the kills; they wait, and only time while the bot is up
counts against their patience. A step that got no reply after that much up-time is done once
more (counted as a retry); a conversation that still does not move is given up with /cancel
(counted as stuck, an invariant failure).

After the last kill the load stops starting new filings, the officials answer everything,
the outbox drains and the bot is stopped. Then the database (cases, outbox rows) and the
emulator's record of every message (and which bot process sent it) are checked:

- every case number a resident received is in the database, once; every Confirm yielded
  one case (the draft's idempotency key), no more; every case had its number delivered;
- every outbox row is sent; each promised message (the receipt with the number, the card
  to the unit's official, the acceptance notice and the answer to the reporter) arrived
  exactly once. The one accepted exception: a kill between Telegram's answer and the
  outbox recording it re-sends that message once. Such a copy is counted separately and
  only accepted when the outbox row says so (``resent``: it was being sent at a crash) and
  the two copies came from different bot processes;
- every card shows the case's latest state; every case ended answered;
- every conversation a kill interrupted was finished without starting over.

Figures go to stdout and ``bench/results/crash_loop.json``; the exit code is 1 if an
invariant fails. ``tests/system/test_crash_loop.py`` runs a short version.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.emulator.core import Emulator, EmuUser, SentMessage
from bot.seal import Sealer
from tests.support.processes import (
    OFFICIAL_UNITS,
    BotProcess,
    seal_key_file,
    start_emulator,
    sunbox_argv,
    sunbox_config,
    wait_until,
)

NUMBER = r"[SR]-\d{4}-\d{5,6}-[A-Z0-9]{3}"  # with its check part, as people are shown it
RECEIPT = re.compile(rf"case number is ({NUMBER})")
ANSWERED_BY_ME = re.compile(rf"Your answer to ({NUMBER}) has gone to the reporter")
SENDS = {"sendmessage", "sendphoto", "senddocument", "copymessage"}
ANSWER_TEXT = "The accounts are now posted at the village office."

# What a resident's newest prompt asks for: (fragment of the prompt, action, data).
RESIDENT_PROMPTS = (
    ("What would you like to file?", "press", "new:kind:suggestion"),
    ("Which area does it concern?", "press", "new:cat:{category}"),
    ("It will go to", "press", "new:unit:ok"),
    ("Describe it in one message", "say", "{text}"),
    ("Please describe it in a text message first", "say", "{text}"),
    ("You can add photos or documents", "press", "new:att:done"),
    ("Please send a photo, a document or a location", "press", "new:att:done"),
    ("How do you want to file it?", "press", "new:id:anonymous"),
    ("Please check your case", "press", "new:confirm"),
)
# What an official's newest dialog message asks for.
OFFICIAL_PROMPTS = (
    ("what is the outcome?", "press", "ans:out:resolved"),
    ("Write the answer to the reporter", "say", ANSWER_TEXT),
    ("Add photos or documents to the answer", "press", "ans:files:done"),
    ("Preview of the answer", "press", "ans:send"),
)
# The error handler's apology, in English and in the default language (zh_CN).
SORRY = ("Sorry, something went wrong", "抱歉，出了点问题")
# Messages that ask nothing: notices from the outbox, hints, apologies.
NOTICES = (
    "has been accepted by", "The answer to your case", *SORRY,
    "Please choose with the buttons above", "I did not understand", "This button",
    "Please write a text of", "Please write it as a text message",
)
OFFICIAL_DONE = ("has gone to the reporter", "Cancelled.", "went to the head for sign-off")
# Members of the example configuration (heads, supervision, clerk...): they do nothing here,
# but some of them receive cards, so they exist (otherwise: "chat not found").
CONFIGURED_MEMBERS = (1001, 1002, 1003, 1004, 1005, 1006)


# ============================================================================ the checks

@dataclass(frozen=True)
class CaseRow:
    id: int
    number: str
    key: str
    chat_id: int | None
    state: str


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    kind: str
    case_id: int | None
    text: str | None
    status: str
    resent: bool


@dataclass(frozen=True)
class Delivered:
    """A message the emulator received from the bot, and which bot process sent it."""

    chat_id: int
    message_id: int
    text: str      # as first sent
    final: str     # as shown now (after edits)
    generation: int


@dataclass
class PersonLog:
    """What one simulated person did and saw."""

    chat_id: int
    role: str                 # resident | official | member (does nothing)
    confirmed: int = 0        # drafts on which Confirm was pressed (each must give one case)
    numbers: list[str] = field(default_factory=list)  # case numbers received
    episodes: int = 0         # filings begun (residents), cases taken up (officials)
    finished: int = 0
    interrupted: int = 0      # episodes during which the bot was killed
    resumed: int = 0          # ... of those, finished without starting over
    stuck: int = 0            # given up with /cancel: the conversation did not move
    retries: int = 0          # a step done again after no reply while the bot was up


@dataclass
class Snapshot:
    cases: list[CaseRow]
    outbox: list[OutboxRow]
    delivered: list[Delivered]
    people: list[PersonLog]


@dataclass
class Findings:
    cases: int = 0
    acknowledged: int = 0
    confirmed: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    numbers_undelivered: list[str] = field(default_factory=list)
    rows_unsent: list[str] = field(default_factory=list)
    promised: int = 0
    lost: list[str] = field(default_factory=list)
    promised_twice: list[str] = field(default_factory=list)
    resent_after_kill: list[str] = field(default_factory=list)   # the accepted kind
    duplicated_other: list[str] = field(default_factory=list)
    stale_cards: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    told_sorry: int = 0
    repeated_replies: int = 0
    interrupted: int = 0
    resumed: int = 0
    stuck: int = 0
    retries: int = 0

    def problems(self) -> list[str]:
        """Every invariant that failed, with its first examples."""
        out = []
        for label, items in (
            ("acknowledged or confirmed cases missing", self.missing),
            ("cases filed twice", self.duplicated),
            ("case numbers never delivered", self.numbers_undelivered),
            ("outbox rows not sent", self.rows_unsent),
            ("promised messages lost", self.lost),
            ("messages promised twice", self.promised_twice),
            ("messages duplicated, not by a kill between sending and recording",
             self.duplicated_other),
            ("cards not showing the latest state", self.stale_cards),
            ("cases left unanswered", self.unanswered),
        ):
            if items:
                out.append(f"{label}: {len(items)}: " + "; ".join(items[:5]))
        if self.stuck:
            out.append(f"conversations stuck (given up with /cancel): {self.stuck}")
        if self.resumed != self.interrupted:
            out.append(f"conversations interrupted by a kill: {self.interrupted}, "
                       f"resumed: {self.resumed}")
        if self.told_sorry:
            out.append(f"people told 'something went wrong': {self.told_sorry}")
        return out


def _promises(case: CaseRow, official_chats: set[int]) -> list[tuple[str, set[int] | None,
                                                                       Callable[[str], bool]]]:
    """What each case owes: (name, chats it goes to (None: the reporter's), text test)."""
    number = case.number
    owed: list[tuple[str, set[int] | None, Callable[[str], bool]]] = [
        ("receipt", None, lambda text: f"case number is {number}" in text),
        ("card", official_chats, lambda text: text.startswith(f"📨 {number} ")),
    ]
    if case.state in ("accepted", "answered", "closed"):
        owed.append(("accepted", None,
                     lambda text: f"Your case {number} has been accepted" in text))
    if case.state in ("answered", "closed"):
        owed.append(("answer", None, lambda text: f"The answer to your case {number} " in text))
    return owed


def check(snapshot: Snapshot) -> Findings:
    """The invariants, from the database and what the emulator received."""
    f = Findings(cases=len(snapshot.cases))
    residents = [p for p in snapshot.people if p.role == "resident"]
    official_chats = {p.chat_id for p in snapshot.people if p.role in ("official", "member")}
    by_number = Counter(c.number for c in snapshot.cases)
    numbers = set(by_number)

    # Cases: every acknowledged one present once, one per Confirm, no key twice.
    acknowledged: set[str] = set()
    for person in residents:
        acknowledged.update(person.numbers)
        f.confirmed += person.confirmed
    f.acknowledged = len(acknowledged)
    f.missing += [f"{n} (acknowledged)" for n in sorted(acknowledged - numbers)]
    f.duplicated += [f"number {n} x{k}" for n, k in by_number.items() if k > 1]
    f.duplicated += [f"idempotency key {key[:8]} x{k}" for key, k in
                     Counter(c.key for c in snapshot.cases).items() if k > 1]
    cases_of: dict[int | None, list[CaseRow]] = defaultdict(list)
    for case in snapshot.cases:
        cases_of[case.chat_id].append(case)
    for person in residents:
        filed = len(cases_of.get(person.chat_id, []))
        if filed < person.confirmed:
            f.missing.append(f"resident {person.chat_id}: {person.confirmed} confirmed, "
                             f"{filed} filed")
        elif filed > person.confirmed:
            f.duplicated.append(f"resident {person.chat_id}: {person.confirmed} confirmed, "
                                f"{filed} filed")
    strangers = set(cases_of) - {p.chat_id for p in residents}
    f.duplicated += [f"{len(cases_of[c])} case(s) from unknown chat {c}" for c in strangers]

    # Messages: the emulator's record, by chat, by the text first sent.
    copies: dict[int, list[Delivered]] = defaultdict(list)
    for message in snapshot.delivered:
        copies[message.chat_id].append(message)
    for chat_messages in copies.values():
        chat_messages.sort(key=lambda m: m.message_id)
    f.told_sorry = sum(m.text.startswith(SORRY) for m in snapshot.delivered)
    f.rows_unsent = [f"row {r.id} ({r.kind}) {r.status}" for r in snapshot.outbox
                     if r.status != "sent"]
    rows_by_chat: dict[int, list[OutboxRow]] = defaultdict(list)
    for row in snapshot.outbox:
        rows_by_chat[row.chat_id].append(row)

    for case in snapshot.cases:
        if case.state != "answered":
            f.unanswered.append(f"{case.number} ({case.state})")
        for name, chats, matches in _promises(case, official_chats):
            targets = chats if chats is not None else (
                {case.chat_id} if case.chat_id is not None else set())
            for chat in sorted(targets):
                label = f"{name} of {case.number} to {chat}"
                rows = [r for r in rows_by_chat.get(chat, [])
                        if r.kind in ("message", "card") and matches(r.text or "")]
                got = [m for m in copies.get(chat, []) if matches(m.text)]
                if name == "card" and not rows and not got:
                    continue  # not this official's unit
                f.promised += 1
                if len(rows) > 1:
                    f.promised_twice.append(f"{label}: {len(rows)} rows")
                if not got:
                    f.lost.append(label)
                    if name == "receipt":
                        f.numbers_undelivered.append(case.number)
                    continue
                if not rows:
                    continue
                extra = len(got) - len(rows)
                if extra <= 0:
                    continue
                generations = [m.generation for m in got]
                resent = sum(r.resent for r in rows)
                if extra <= resent and len(set(generations)) == len(generations):
                    f.resent_after_kill.append(f"{label} (processes {generations})")
                else:
                    f.duplicated_other.append(
                        f"{label}: {len(got)} copies from processes {generations}, "
                        f"{len(rows)} row(s), resent {resent}")

    # Cards: the newest copy of each shows the latest edit owed to it.
    for row in snapshot.outbox:
        if row.kind != "card" or row.case_id is None or row.text is None:
            continue
        latest = row.text
        for edit in rows_by_chat[row.chat_id]:
            if edit.kind == "edit_card" and edit.case_id == row.case_id and edit.id > row.id \
                    and edit.text is not None:
                latest = edit.text
        card_copies = [m for m in copies.get(row.chat_id, []) if m.text == row.text]
        if card_copies and card_copies[-1].final != latest:
            f.stale_cards.append(f"case {row.case_id} in chat {row.chat_id}")

    # Direct replies (not from the outbox) that came twice in a row: a replayed update.
    for person in snapshot.people:
        owed = {r.text for r in rows_by_chat.get(person.chat_id, [])}
        direct = [m.text for m in copies.get(person.chat_id, []) if m.text not in owed]
        f.repeated_replies += sum(a == b for a, b in zip(direct, direct[1:], strict=False))

    for person in snapshot.people:
        f.interrupted += person.interrupted
        f.resumed += person.resumed
        f.stuck += person.stuck
        f.retries += person.retries
    return f


# ============================================================================ the bot

class Bot:
    """``sunbox run`` in a child process, killed and restarted; which process sent what."""

    def __init__(self, emu: Emulator, argv: list[str], logs: Path) -> None:
        self.emu = emu
        self.argv = argv
        self.logs = logs
        self.generation = 0
        self.alive = False
        self.ready = False                  # the present process polls
        self.kills = 0
        self.first_call = asyncio.Event()   # the present process made a Bot API call
        self.polling = asyncio.Event()
        self.origin: dict[tuple[int, int], int] = {}   # (chat, message id) -> generation
        self.restarts: list[float] = []     # seconds from spawn to polling
        self.exit_codes: list[int | None] = []
        # Aimed kill (tests): the process dies as soon as the emulator has carried out the
        # first call this predicate picks, before the process hears the answer.
        self.kill_after: Callable[[str, Mapping[str, Any]], bool] | None = None
        self._process: BotProcess | None = None
        self._spawned = 0.0
        original = emu.call

        async def call(method: str, params: Mapping[str, Any] | None = None,
                       files: Any = None, *, token: str | None = None) -> Any:
            generation = self.generation
            lowered = method.lower()
            if self.alive:
                self.first_call.set()
                if lowered == "getupdates" and not self.ready:
                    self.ready = True
                    self.polling.set()
                    self.restarts.append(time.perf_counter() - self._spawned)
            status, body = await original(method, params, files, token=token)
            if status == 200 and lowered in SENDS and isinstance(body.get("result"), dict):
                result = body["result"]
                self.origin[(int(result["chat"]["id"]), int(result["message_id"]))] = generation
            aim = self.kill_after
            if aim is not None and self.alive and aim(method, params or {}):
                self.kill_after = None
                self._sigkill()
            return status, body

        emu.call = call  # type: ignore[method-assign]

    async def start(self) -> None:
        self.generation += 1
        self.ready = False
        self.first_call.clear()
        self.polling.clear()
        self._spawned = time.perf_counter()
        self._process = BotProcess(self.argv, self.logs / f"sunbox-{self.generation:02d}.log")
        self.alive = True
        await self._process.start()

    def _sigkill(self) -> None:
        assert self._process is not None
        self.alive = False
        self.ready = False
        os.kill(self._process.pid, signal.SIGKILL)

    async def restart_after_aimed_kill(self) -> None:
        """Wait for the aimed kill to happen, then start the next process."""
        assert self._process is not None and self._process.process is not None
        await self._process.process.wait()
        await self.kill()
        await self.start()

    async def kill(self) -> None:
        assert self._process is not None
        self.alive = False
        self.ready = False
        self.exit_codes.append(await self._process.kill())
        self.kills += 1

    async def stop(self) -> None:
        if self._process is not None:
            self.alive = False
            self.ready = False
            self.exit_codes.append(await self._process.stop())
            self._process = None

    async def wait(self, event: asyncio.Event, timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            raise RuntimeError(f"bot process {self.generation} never {what} (see "
                               f"{self.logs})") from None

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace")
                       for path in sorted(self.logs.glob("sunbox-*.log")))


# ============================================================================ the people

class Deployment(Protocol):
    """What the people know of the bot: one process (:class:`Bot`), or several behind a load
    balancer (``tests/system/cluster_drill.py``)."""

    @property
    def generation(self) -> int:
        """Grows at each kill: a wait across one does not count against patience."""

    @property
    def ready(self) -> bool:
        """Updates are being taken now."""

    @property
    def kills(self) -> int: ...

    @property
    def origin(self) -> dict[tuple[int, int], int]:
        """(chat, message id) -> the generation that sent it."""


class Load(Protocol):
    """What the people share: the emulator, the bot, how patient they are, when to stop."""

    @property
    def emu(self) -> Emulator: ...

    @property
    def bot(self) -> Deployment: ...

    @property
    def patience(self) -> float: ...

    @property
    def max_tries(self) -> int: ...

    @property
    def stopping(self) -> asyncio.Event: ...


@dataclass
class Screen:
    """What a person sees that asks for something: a press, a text, or nothing yet."""

    message: SentMessage | None
    action: str          # press | say | wait | done | over
    data: str = ""

    @property
    def actionable(self) -> bool:
        return self.action in ("press", "say")

    def signature(self) -> tuple[Any, ...]:
        m = self.message
        if m is None:
            return (None, self.action, self.data)
        return (m.message_id, len(m.edits), m.deleted, self.action, self.data)


def _shown(message: SentMessage) -> tuple[int, int]:
    """A message as it looks now: its id and how many times it was edited."""
    return (message.message_id, len(message.edits))


def _has_button(message: SentMessage, data: str) -> bool:
    return any(d == data for row in message.buttons() for _, d in row)


class Person:
    """A simulated person: acts on the newest prompt, waits for the screen to change."""

    def __init__(self, loop: Load, user: EmuUser, role: str) -> None:
        self.loop = loop
        self.emu = loop.emu
        self.bot = loop.bot
        self.user = user
        self.log = PersonLog(user.id, role)
        # Messages whose button was refused with an alert, as they looked then (id, edits):
        # a card edited afterwards (accepted, say) is a new screen. A press replayed after a
        # kill is refused as done already ("already accepted"); keyed by id alone, the card
        # was never pressed again and its case was left unanswered (seen once in 20 kills).
        self.refused: set[tuple[int, int]] = set()
        self._last_query: str | None = None

    def messages(self) -> list[SentMessage]:
        return self.emu.sent(self.user.id)

    def screen(self) -> Screen:
        raise NotImplementedError

    def act(self, screen: Screen) -> None:
        if screen.action == "say":
            self._last_query = None
            self.emu.send_text(self.user, screen.data)
        elif screen.action == "press":
            assert screen.message is not None
            update = self.emu.press(self.user, screen.message, screen.data)
            self._last_query = str(update["callback_query"]["id"])

    def _alerted(self) -> bool:
        """The last press was refused with an alert (a stale button)."""
        if self._last_query is None:
            return False
        return any(q == self._last_query and alert for q, _, alert in self.emu.callback_answers)

    async def settle(self, signature: tuple[Any, ...]) -> bool:
        """Wait until the screen changes; False after ``patience`` seconds of the bot up."""
        loop = asyncio.get_running_loop()
        patience = self.loop.patience
        waited = 0.0

        def moved() -> bool:
            return self.screen().signature() != signature or self._alerted()

        while not moved():
            if waited >= patience:
                return False
            began, generation, up = loop.time(), self.bot.generation, self.bot.ready
            await wait_until(self.emu, moved, 0.25)
            if up and self.bot.ready and generation == self.bot.generation:
                waited += loop.time() - began
        return True

    async def drive(self, done: Callable[[Screen], bool], on_act: Callable[[Screen], None]
                    ) -> Screen | None:
        """Do what the screen asks until ``done``; None when the conversation is stuck."""
        tries: dict[tuple[Any, ...], int] = {}
        while True:
            screen = self.screen()
            if done(screen):
                return screen
            signature = screen.signature()
            if screen.actionable and signature not in tries:
                on_act(screen)
                self.act(screen)
                tries[signature] = 1
            if await self.settle(signature):
                if self._alerted() and screen.message is not None:
                    self.refused.add(_shown(screen.message))
                    self._last_query = None
                continue
            # The bot was up for ``patience`` and nothing changed: once more, then give up.
            self.log.retries += 1
            if screen.actionable and tries.get(signature, 0) < self.loop.max_tries:
                self.act(screen)
                tries[signature] = tries.get(signature, 0) + 1
                continue
            return None

    async def give_up(self) -> None:
        """/cancel, and wait (patiently) for the bot to say so."""
        self.log.stuck += 1
        before = len(self.messages())
        self.emu.send_text(self.user, "/cancel")
        self._last_query = None
        try:  # any answer will do ("Cancelled.", or "I did not understand" outside a dialog)
            await self.emu.wait_for(self.user.id, count=1, after=before,
                                    timeout=self.loop.patience * 3)
        except TimeoutError:
            pass


class Resident(Person):
    """Files complete cases until the load stops; resumes each one after a kill."""

    def __init__(self, loop: Load, user: EmuUser, category: str, rng: random.Random
                 ) -> None:
        super().__init__(loop, user, "resident")
        self.category = category
        self.rng = rng
        self.start = 0
        self.text = ""
        self._confirmed = False

    def screen(self) -> Screen:
        for message in reversed(self.messages()[self.start:]):
            text = message.text or ""
            if message.deleted:
                continue
            receipt = RECEIPT.search(text)
            if receipt:
                if receipt.group(1) in self.log.numbers:
                    continue  # an earlier filing's receipt, again
                return Screen(message, "done", receipt.group(1))
            if text.startswith("Cancelled."):
                return Screen(message, "over")
            if any(notice in text for notice in NOTICES):
                continue
            for fragment, action, data in RESIDENT_PROMPTS:
                if fragment in text:
                    data = data.format(category=self.category, text=self.text)
                    if action == "press" and not _has_button(message, data):
                        return Screen(message, "wait")
                    return Screen(message, action, data)
        return Screen(None, "say", "/new")

    def act(self, screen: Screen) -> None:
        super().act(screen)
        if screen.data == "new:confirm" and screen.message is not None:
            if not self._confirmed:
                self._confirmed = True
                self.log.confirmed += 1
            if self.rng.random() < 0.25:  # impatient: a second press at once
                self.emu.press(self.user, screen.message, screen.data)

    async def file_one(self) -> None:
        self.log.episodes += 1
        self.start = len(self.messages())
        self.text = (f"Filing {self.log.episodes} of resident {self.user.id}: the village "
                     "accounts have not been published.")
        self._confirmed = False
        kills = self.bot.kills
        final = await self.drive(lambda s: s.action in ("done", "over"), lambda s: None)
        interrupted = self.bot.kills != kills
        self.log.interrupted += interrupted
        if final is not None and final.action == "done":
            self.log.numbers.append(final.data)
            self.log.finished += 1
            self.log.resumed += interrupted
        else:
            await self.give_up()

    async def run(self) -> None:
        while not self.loop.stopping.is_set():
            await self.file_one()
            # Between two filings: about what the officials keep up with (each card costs
            # them three messages at Telegram's one a second per chat).
            await asyncio.sleep(self.rng.uniform(1.5, 6.0))


class Official(Person):
    """Accepts and answers every card of the unit, one case at a time."""

    def __init__(self, loop: Load, user: EmuUser) -> None:
        super().__init__(loop, user, "official")
        self.begun: dict[str, int] = {}   # case number -> kills when first pressed
        self._done: set[str] = set()
        self._seen = 0

    def _card(self, message: SentMessage) -> str | None:
        text = message.edits[0] if message.edits else message.text
        match = re.match(rf"📨 ({NUMBER}) ", text or "")
        return match.group(1) if match else None

    def screen(self) -> Screen:
        self._finished()
        messages = self.messages()
        for message in reversed(messages):
            text = message.text or ""
            if message.deleted or _shown(message) in self.refused or self._card(message):
                continue
            if any(done in text for done in OFFICIAL_DONE):
                break
            if any(notice in text for notice in NOTICES):
                continue
            for fragment, action, data in OFFICIAL_PROMPTS:
                if fragment in text:
                    if action == "press" and not _has_button(message, data):
                        return Screen(message, "wait")
                    return Screen(message, action, data)
        for message in messages:
            number = self._card(message)
            if number is None or number in self._done or _shown(message) in self.refused:
                continue  # (an answered case's card may show its buttons until it is edited)
            for row in message.buttons():
                for _, button in row:
                    if button and (button.endswith(":accept") or button.endswith(":answer")):
                        return Screen(message, "press", button)
        return Screen(None, "idle")

    def _acting(self, screen: Screen) -> None:
        if screen.message is not None:
            number = self._card(screen.message)
            if number is not None and number not in self.begun:
                self.begun[number] = self.bot.kills
                self.log.episodes += 1

    def _finished(self) -> None:
        """Count the cases answered so far; interrupted if the bot process that confirmed
        the answer is not the one that was up at the first press (process n follows n-1
        kills)."""
        for message in self.messages()[self._seen:]:
            done = ANSWERED_BY_ME.search(message.text or "")
            if done and done.group(1) in self.begun and done.group(1) not in self._done:
                self._done.add(done.group(1))
                self.log.finished += 1
                kills = self.bot.origin.get((message.chat_id, message.message_id), 1) - 1
                interrupted = self.begun[done.group(1)] != kills
                self.log.interrupted += interrupted
                self.log.resumed += interrupted
            self._seen += 1

    async def run(self) -> None:
        while True:
            final = await self.drive(lambda s: s.action == "idle", self._acting)
            if final is None:
                await self.give_up()
                continue
            await wait_until(self.emu, lambda: self.screen().action != "idle", 0.5)

    def idle(self) -> bool:
        return self.screen().action == "idle"


# ============================================================================ the loop

class CrashLoop:
    """One run: the emulator, the bot, the people, the kills, the drain, the snapshot."""

    def __init__(self, emu: Emulator, bot: Bot, *, patience: float, max_tries: int) -> None:
        self.emu = emu
        self.bot = bot
        self.patience = patience
        self.max_tries = max_tries
        self.stopping = asyncio.Event()
        self.residents: list[Resident] = []
        self.officials: list[Official] = []


#: A connection to the database for the checker, opened and closed around each look: a
#: DB-API connection of either engine (rows by position).
Reader = Callable[[], contextlib.AbstractContextManager[Any]]


def sqlite_reader(db: Path) -> Reader:
    """Read-only looks at an SQLite file the bot is writing."""
    return lambda: contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True))


def read_rows(read: Reader, key_file: Path) -> tuple[list[CaseRow], list[OutboxRow]]:
    """The cases and the outbox, as the checker compares them with what was delivered."""
    # An anonymous case's chat is sealed: the checker holds the key, as the bot does. Rows
    # of anonymous cases (and receipts) forget chat and text once sent (chat 0 here).
    sealer = (Sealer(base64.urlsafe_b64decode(key_file.read_text().strip()))
              if key_file.exists() else None)

    def chat(plain: int | None, sealed: bytes | None) -> int | None:
        if plain is not None or sealed is None or sealer is None:
            return plain
        return sealer.unseal_chat(bytes(sealed))

    with read() as conn:
        cases = [CaseRow(int(r[0]), r[1], r[2], chat(r[3], r[5]), r[4]) for r in conn.execute(
            "SELECT id, number, idempotency_key, delivery_chat_id, state, delivery_sealed "
            "FROM cases")]
        outbox = []
        for r in conn.execute("SELECT id, chat_id, kind, case_id, payload, status, resent "
                              "FROM outbox ORDER BY id"):
            payload = json.loads(r[4]) if r[4] else {}
            outbox.append(OutboxRow(int(r[0]), int(r[1] or 0), r[2], r[3], payload.get("text"),
                                    r[5], bool(r[6])))
    return cases, outbox


def unfinished(read: Reader) -> tuple[int, int]:
    """(cases not answered, outbox rows not done) right now."""
    with read() as conn:
        open_cases = conn.execute("SELECT COUNT(*) FROM cases WHERE state != 'answered'"
                                  ).fetchone()[0]
        rows = conn.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
                            ).fetchone()[0]
    return int(open_cases), int(rows)


def delivered(emu: Emulator, origin: dict[tuple[int, int], int]) -> list[Delivered]:
    """What the emulator received, each message with the process (``origin``) that sent
    it."""
    out = []
    for m in emu.all_sent():
        first = m.edits[0] if m.edits else m.text
        out.append(Delivered(m.chat_id, m.message_id, first or "", m.text or "",
                             origin.get((m.chat_id, m.message_id), 0)))
    return out


@dataclass
class Result:
    kills: int
    users: int
    seed: int
    seconds: float
    drain_seconds: float
    drained: bool
    restarts: list[float]
    exit_codes: list[int | None]
    findings: Findings
    log_errors: int
    replayed_updates: int
    outbox_resent: int
    logs: str
    roles: dict[str, dict[str, int]] = field(default_factory=dict)


async def run(kills: int, users: int, seed: int, *, logs: Path, patience: float = 15.0,
              max_tries: int = 2, drain_timeout: float = 180.0) -> Result:
    """The crash loop; ``users`` residents, one official per unit."""
    began = time.perf_counter()
    rng = random.Random(seed)
    emu, server = await start_emulator()
    tasks: list[asyncio.Task[None]] = []
    with tempfile.TemporaryDirectory(prefix="sunbox-crash-") as tmp:
        db = Path(tmp) / "sunbox.db"
        bot = Bot(emu, sunbox_argv(sunbox_config(emu, server, Path(tmp))), logs)
        loop = CrashLoop(emu, bot, patience=patience, max_tries=max_tries)
        for _category, _unit, official_id in OFFICIAL_UNITS:
            loop.officials.append(Official(loop, emu.user(official_id, f"Official {official_id}",
                                                          language_code="en")))
        members = [PersonLog(emu.user(member, f"Member {member}", language_code="en").id,
                             "member") for member in CONFIGURED_MEMBERS]
        for i in range(users):
            category = OFFICIAL_UNITS[i % len(OFFICIAL_UNITS)][0]
            user = emu.user(40_000 + i, f"R{i}", language_code="en")
            loop.residents.append(Resident(loop, user, category, random.Random(rng.random())))
        drained, drain_seconds = False, 0.0
        try:
            await bot.start()
            await bot.wait(bot.polling, 60, "polled")
            tasks = [asyncio.create_task(p.run()) for p in loop.officials + loop.residents]
            for _ in range(kills):
                await bot.wait(bot.first_call, 60, "called the Bot API")
                await asyncio.sleep(rng.uniform(0.2, 3.0))
                raise_failed(tasks)
                await bot.kill()
                await bot.start()
            await bot.wait(bot.polling, 60, "polled")
            loop.stopping.set()
            drain_began = time.perf_counter()
            drained = await drain(loop.officials, tasks[len(loop.officials):],
                                  sqlite_reader(db), drain_timeout)
            drain_seconds = time.perf_counter() - drain_began
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            await bot.stop()
            await server.stop()
        for outcome in results:
            if isinstance(outcome, Exception):
                raise outcome
        cases, outbox = read_rows(sqlite_reader(db), seal_key_file(db.parent))
        shutil.copy(db, logs / "sunbox.db")  # for a closer look afterwards
    snapshot = Snapshot(cases, outbox, delivered(emu, bot.origin),
                        [p.log for p in loop.residents + loop.officials] + members)
    text = bot.log_text()
    roles: dict[str, dict[str, int]] = {}
    for person in snapshot.people:
        counts = roles.setdefault(person.role, Counter())
        for key in ("episodes", "finished", "interrupted", "resumed", "stuck", "retries"):
            counts[key] += getattr(person, key)
    return Result(
        kills=bot.kills, users=users, seed=seed, seconds=time.perf_counter() - began,
        drain_seconds=drain_seconds, drained=drained, restarts=bot.restarts,
        exit_codes=bot.exit_codes,
        findings=check(snapshot), log_errors=text.count(" ERROR "),
        replayed_updates=sum(int(n) for n in re.findall(
            r"(\d+) update\(s\) kept from before the start handled", text)),
        outbox_resent=sum(int(n) for n in re.findall(
            r"outbox after a restart: (\d+) to send once more", text)),
        logs=str(logs), roles={role: dict(counts) for role, counts in roles.items()})


def raise_failed(tasks: list[asyncio.Task[None]]) -> None:
    """Raise what a finished task of the people raised (a bug of the drill's own)."""
    for task in tasks:
        if task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                raise error


async def drain(officials: list[Official], residents: list[asyncio.Task[None]],
                read: Reader, timeout: float) -> bool:
    """Residents finish their filing, officials answer everything, the outbox empties."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raise_failed(residents)
        if all(task.done() for task in residents):
            open_cases, rows = unfinished(read)
            if not open_cases and not rows and all(o.idle() for o in officials):
                await asyncio.sleep(1.0)  # anything still on its way arrives
                if unfinished(read) == (0, 0):
                    return True
        await asyncio.sleep(0.5)
    return False


# ============================================================================ reporting

def failures(result: Result) -> list[str]:
    problems = result.findings.problems()
    if not result.drained:
        problems.append("the load did not drain after the last kill")
    unexpected = [c for c in result.exit_codes[:result.kills] if c != -9]
    if unexpected:
        problems.append(f"bot processes that ended before their kill: {unexpected}")
    return problems


