"""Issue 18, how to show it: confidentiality that holds at rest, against ``sunbox run``.

The real ``sunbox run`` (durable poller) long-polls the Bot API emulator over HTTP. Twenty
residents with random Telegram ids (9 or 10 digits), names and usernames file interleaved
anonymous, "no replies" and named cases, with photos and documents (whose names, EXIF and
PDF metadata carry the sender's name); officials answer, ask, transfer (twice: the second
escalates), heads sign off; reporters reply and rate. Then, holding only the database files
(``.db``, ``-wal``, ``-shm``, copied) and not the seal key, the test tries every join an
administrator could: every column of every row for each anonymous reporter's id and names
(ids in integer columns, in text, in JSON, in blobs), rows referring to those rows, what
each such row refers to (cases by id, number, text, the reporter's replies), every time in
them against the case's times (within 60 s), values shared with the case's rows (an equality
join), and a byte search of the files for the id (decimal text, big-endian 4/6/8 bytes,
SQLite varint) and the names (UTF-8, JSON escapes). Each byte found is placed by parsing the
files page by page: in a live cell of a table whose rows (queried) hold it, it was judged by
the joins; anywhere else (free space, a freelist page, an old page version, a WAL frame that
is not the present page, the -shm) it is deleted data still on disk, reported. The files are
copied twice: mid-run, after the outbox drained and the checkpoint interval passed in quiet,
and after a clean stop (SIGTERM).

Named reporters (name, username, id, phone) are searched for in everything each chat
received (texts and their edits, buttons, file names, file bytes) that is not entitled to
them: group chats, members of the unit a report concerns, anyone but the handling units and
the supervision group. Anonymous reporters are searched for in every chat but their own.

The test fails listing every link found. Configuration it sets (see ``_configure``):
``[storage] checkpoint_every = 1`` and ``[limits] updates_per_minute`` / ``cases_per_day``
raised, each only where the configuration accepts the key (a key refused is named in the
failure); ``[handling] max_transfers = 1``; a group chat for the agriculture bureau; the
environment variable ``SUNBOX_SEAL_KEY`` (a Fernet key: 32 random bytes, URL-safe base64).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.config import check_config
from bot.emulator.core import Emulator, EmuUser
from bot.emulator.models import SentMessage
from bot.emulator.server import EmulatorServer
from bot.emulator.state import wait_signal
from tests.confidentiality_support import (
    CaseTruth,
    Finding,
    Identity,
    Joins,
    Layout,
    Tables,
    byte_hits,
    copy_database,
    identity_in,
    key_hits,
    layout,
    live_tables,
    message_contents,
    read_files,
    read_tables,
)
from tests.support.processes import (
    BotProcess,
    start_emulator,
    sunbox_argv,
    sunbox_config,
    until_ready,
)

GROUP = -1002345678901  # the agriculture bureau's group chat
CHECKPOINT_EVERY = 1    # seconds ([storage] checkpoint_every)
QUIET = CHECKPOINT_EVERY * 4 + 1  # seconds of quiet after the outbox drained, then a copy
WAIT = 60.0             # longest wait for one reply of the bot
# Members: the example configuration's (1001-1006) and bench._harness's officials, plus
# the head of civil affairs. Unit of each that handles cases (officials, heads, supervision:
# who may see a named reporter); None for the admin, the clerk and the supervisor.
MEMBERS = {
    1001: "finance", 1002: "finance", 1003: "discipline", 1004: None, 1005: None,
    1006: None, 1101: "civil_affairs", 1102: "civil_affairs", 1103: "agriculture",
    1107: "organization_dept", 1109: "county", 1111: "discipline",
}
SUPERVISION = "discipline"
OFFICIAL = {"civil_affairs": 1101, "agriculture": 1103, "organization_dept": 1107,
            "county": 1109, "discipline": 1111, "finance": 1001}
HEAD = {"finance": 1002}  # units that sign answers off
UNIT_OF = {"low_income_support": "civil_affairs", "rural_subsidies": "agriculture",
           "party_building": "organization_dept", "major_decisions": "county",
           "work_style": "discipline", "finance": "finance"}
NUMBER = re.compile(r"([SR]-\d{4}-\d{5})(?:-[0-9A-Z]+)?(?![0-9])")
DROP = re.compile(r"drop|remove|discard|delete|don.t keep|删除|不保留|移除", re.IGNORECASE)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "秀兰建国桂英志强淑珍玉梅海燕丽娟文华春生德明凤霞金山永福晓东秋菊红军"
SYLLABLES = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
             "xu", "sun", "ma", "zhu", "hu", "guo", "he", "gao", "lin", "luo")


# ============================================================================ the people

@dataclass
class Plan:
    """One case: who files it, how, and what happens to it."""

    category: str
    identity: str                  # anonymous | no_feedback | report
    attachments: tuple[str, ...] = ()   # photo | image_doc | pdf
    actions: tuple[str, ...] = ()  # accept, ask, answer, rate:<r>, transfer:<official>:<unit>
    concerns_head: bool = False
    text: str = ""
    number: str = ""               # short number, once filed
    replies: list[str] = field(default_factory=list)
    units: set[str] = field(default_factory=set)   # units that held it (named reports)


@dataclass
class Resident:
    user: EmuUser
    identity: Identity
    typed_name: str
    phone: str
    plans: list[Plan]


def _people(rng: random.Random) -> list[tuple[int, str, str]]:
    """(id, Chinese name, username) of 20 residents, all distinct."""
    out: list[tuple[int, str, str]] = []
    names: set[str] = set()
    ids: set[int] = set()
    while len(out) < 20:
        telegram_id = rng.randrange(100_000_000, 9_999_999_999)
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))
        username = f"{rng.choice(SYLLABLES)}_{rng.choice(SYLLABLES)}{rng.randrange(10, 99)}"
        if telegram_id in ids or name in names or any(username == u for _, _, u in out):
            continue
        ids.add(telegram_id)
        names.add(name)
        out.append((telegram_id, name, username))
    return out


def _plans() -> list[list[Plan]]:
    """What each of the 20 residents files (anonymous, no replies, named), and what then
    happens to it."""
    accept_answer = ("accept", "answer")
    return [
        # Anonymous, replies wanted (10 cases of 8 people).
        [Plan("low_income_support", "anonymous", ("photo",),
              ("accept", "ask", "answer", "rate:satisfied"))],
        [Plan("party_building", "anonymous", ("image_doc",),
              ("accept", "answer", "rate:unsatisfied"))],
        [Plan("major_decisions", "anonymous", ("pdf", "photo"), accept_answer)],
        [Plan("finance", "anonymous", ("photo",), ("accept", "answer", "rate:satisfied"))],
        [Plan("rural_subsidies", "anonymous", ("photo",), ("accept", "ask", "answer"))],
        [Plan("work_style", "anonymous", (), accept_answer)],
        [Plan("low_income_support", "anonymous", ("image_doc",),
              ("transfer:1101:organization_dept", "transfer:1107:county")),
         Plan("party_building", "anonymous", (), accept_answer)],
        [Plan("party_building", "anonymous", ("image_doc",),
              ("accept", "answer", "rate:satisfied")),
         Plan("major_decisions", "anonymous", ("photo",))],
        # Anonymous, no replies.
        [Plan("low_income_support", "no_feedback", ("photo",), accept_answer)],
        [Plan("rural_subsidies", "no_feedback", ("pdf",), accept_answer)],
        [Plan("party_building", "no_feedback", ("image_doc",), accept_answer)],
        [Plan("finance", "no_feedback", (), accept_answer)],
        [Plan("major_decisions", "no_feedback", ("photo",), ("accept",))],
        # Named reports.
        [Plan("low_income_support", "report", ("pdf",), ("accept", "ask", "answer"))],
        [Plan("low_income_support", "report", (), ("transfer:1003:civil_affairs",),
              concerns_head=True)],
        [Plan("rural_subsidies", "report", ("photo",), accept_answer)],
        [Plan("rural_subsidies", "report", ("pdf",))],
        [Plan("finance", "report", (), accept_answer)],
        [Plan("work_style", "report", (), (), concerns_head=True)],
        [Plan("party_building", "report", (), ("transfer:1107:county", "accept"))],
    ]


def _jpeg(rng: random.Random, artist: str) -> bytes:
    """A small photo whose EXIF names its author and the place it was taken."""
    image = Image.new("RGB", (64, 48), (rng.randrange(256), rng.randrange(256), 90))
    exif = Image.Exif()
    exif[0x013B] = artist                  # Artist
    exif[0x010F] = "Xiaomi"                # Make
    exif[0x010E] = f"photo by {artist}"    # ImageDescription
    exif[0x8825] = {1: "N", 2: (39.0, 21.0, 7.5), 3: "E", 4: (115.0, 29.0, 51.2)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _pdf(author: str) -> bytes:
    """A PDF whose metadata names its author."""
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"3 0 obj << /Author (" + author.encode() + b") /Creator (WPS) >> endobj\n"
            b"trailer << /Root 1 0 R /Info 3 0 R >>\n%%EOF\n")


# ============================================================================ acting

def has_button(pattern: str) -> Callable[[SentMessage], bool]:
    compiled = re.compile(pattern)
    return lambda m: any(d is not None and compiled.search(d)
                         for row in m.buttons() for _, d in row)


def says(fragment: str) -> Callable[[SentMessage], bool]:
    return lambda m: fragment in (m.text or "")


def button_data(message: SentMessage, pattern: str) -> str:
    compiled = re.compile(pattern)
    for row in message.buttons():
        for _, data in row:
            if data is not None and compiled.search(data):
                return data
    raise AssertionError(f"no button {pattern!r} on {message.summary()}")


Mark = dict[int, tuple[Any, ...]]


class Actor:
    """A person in their private chat: acts, then waits for what the bot shows next."""

    def __init__(self, emu: Emulator, user: EmuUser) -> None:
        self.emu = emu
        self.user = user
        self.lock = asyncio.Lock()  # one dialog at a time (officials)

    def mark(self) -> Mark:
        return {m.message_id: self._look(m) for m in self.emu.sent(self.user.id)}

    @staticmethod
    def _look(m: SentMessage) -> tuple[Any, ...]:
        return (m.text, len(m.edits), repr(m.reply_markup), m.deleted)

    def changed(self, mark: Mark) -> list[SentMessage]:
        """Messages sent or edited since ``mark``, newest first."""
        return [m for m in reversed(self.emu.sent(self.user.id))
                if not m.deleted and mark.get(m.message_id) != self._look(m)]

    async def until(self, mark: Mark, predicate: Callable[[SentMessage], bool], what: str
                    ) -> SentMessage:
        deadline = time.monotonic() + WAIT
        while True:
            event = self.emu.waiter(self.user.id)
            for message in self.changed(mark):
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.user.id} waited {WAIT:.0f} s for {what}\n"
                                     + self.emu.dump(self.user.id))
            await wait_signal(event, 1.0)

    async def say(self, text: str, predicate: Callable[[SentMessage], bool], what: str
                  ) -> SentMessage:
        mark = self.mark()
        self.emu.send_text(self.user, text)
        return await self.until(mark, predicate, what)

    async def press(self, message: SentMessage, data: str,
                    predicate: Callable[[SentMessage], bool], what: str) -> SentMessage:
        mark = self.mark()
        self.emu.press(self.user, message, data)
        return await self.until(mark, predicate, what)

    async def press_for_answer(self, message: SentMessage, data: str) -> str:
        """Press a button answered by a notice only (accept, skip); the notice."""
        update = self.emu.press(self.user, message, data)
        deadline = time.monotonic() + WAIT
        while True:
            event = self.emu.waiter(self.user.id)
            try:
                return self.emu.callback_answer(update)[1] or ""
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
            await wait_signal(event, 1.0)


class World:
    """The bot process, the emulator, the people, and what happened."""

    def __init__(self, emu: Emulator, server: EmulatorServer, tmp: Path, seed: int, key: str
                 ) -> None:
        self.emu = emu
        self.server = server
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.seed = seed
        self.key = key
        self.refused_keys: list[str] = []
        self.config = self._configure()
        settings = tomllib.loads(self.config.read_text(encoding="utf-8"))
        self.db = Path(settings["general"]["database"])
        self.above_supervision = settings.get("routing", {}).get("above_supervision")
        self.bot = BotProcess(sunbox_argv(self.config), tmp / "sunbox.log")
        self.staff = {tid: Actor(emu, emu.user(tid, f"Staff{tid}", language_code="en"))
                      for tid in MEMBERS}
        emu.group(GROUP, "农业农村局工作群")
        self.residents: list[Resident] = []
        for (telegram_id, name, username), plans in zip(_people(self.rng), _plans(),
                                                         strict=True):
            user = emu.user(telegram_id, name, username=username, language_code="en")
            phone = f"+86138{self.rng.randrange(10_000_000, 99_999_999)}"
            identity = Identity(telegram_id, (name, username), phone if any(
                p.identity == "report" for p in plans) else None)
            self.residents.append(Resident(user, identity, name, phone, plans))
        self.transfers: list[str] = []

    def _configure(self) -> Path:
        path = sunbox_config(self.emu, self.server, self.tmp)
        text = path.read_text(encoding="utf-8")
        text = _replace(text, "max_transfers = 2", "max_transfers = 1")
        text = _replace(text, 'name_en = "County Agriculture and Rural Affairs Bureau"\n'
                        'level = "department"\nparent = "county"\n',
                        'name_en = "County Agriculture and Rural Affairs Bureau"\n'
                        f'level = "department"\nparent = "county"\ngroup_chat_id = {GROUP}\n')
        text += '\n[[members]]\ntelegram_id = 1102\nrole = "head"\nunit = "civil_affairs"\n'
        path.write_text(text, encoding="utf-8")
        assert not check_config(path), check_config(path)
        # Keys of issue 18, set where this code knows them.
        for table, key, value in (("storage", "checkpoint_every", f'"{CHECKPOINT_EVERY}s"'),
                                  ("limits", "updates_per_minute", "600"),
                                  ("limits", "cases_per_day", "100")):
            for candidate in (value, value.strip('"')):
                trial = _set_key(text, table, key, candidate)
                path.write_text(trial, encoding="utf-8")
                if not check_config(path):
                    text = trial
                    break
            else:
                self.refused_keys.append(f"[{table}] {key}")
        path.write_text(text, encoding="utf-8")
        return path

    def backup_and_restore(self) -> Path:
        """``sunbox backup`` of the stopped database, then ``sunbox restore`` of it into a
        database elsewhere (a configuration naming another file); returns the restored file.
        A restored copy must keep every promise the original keeps."""
        archive = self.tmp / "backup.tar"
        restored_db = self.tmp / "restored" / self.db.name
        restored_db.parent.mkdir()
        config = self.tmp / "restored.toml"
        config.write_text(self.config.read_text(encoding="utf-8").replace(
            str(self.db), str(restored_db)), encoding="utf-8")
        for argv in (["backup", str(archive), "--config", str(self.config)],
                     ["restore", str(archive), "--config", str(config)]):
            done = subprocess.run([sys.executable, "-m", "bot.cli", *argv],
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (argv[0], done.stdout, done.stderr)
        assert restored_db.exists()
        return restored_db

    # --- filing ---------------------------------------------------------------------------

    async def file(self, resident: Resident, plan: Plan, actor: Actor) -> None:
        """The resident files one case through the whole dialog."""
        rng = self.rng
        plan.text = (f"{rng.choice(['村里', '镇上', '单位'])}的{plan.category}问题："
                     f"门牌{rng.randrange(1000, 9999)}号附近已经"
                     f"{rng.randrange(2, 12)}个月没有公开，请核实。")
        msg = await actor.say("/new", has_button("^new:kind:"), "the kinds")
        kind = "report" if plan.identity == "report" else "suggestion"
        msg = await actor.press(msg, f"new:kind:{kind}", has_button("^new:cat:"), "areas")
        msg = await actor.press(msg, f"new:cat:{plan.category}", has_button("^new:unit:ok$"),
                                "the unit")
        await actor.press(msg, "new:unit:ok", says("Describe it"), "the text prompt")
        msg = await actor.say(plan.text, has_button("^new:att:done$"), "attachments prompt")
        for attachment in plan.attachments:
            mark = actor.mark()
            name = resident.typed_name
            # A named report's files carry nobody's name: its reporter is not hidden, and
            # whatever a file shows is part of the report.
            username = resident.identity.names[1] if plan.identity != "report" else "camera"
            if attachment == "photo":
                self.emu.send_photo(resident.user, _jpeg(rng, username))
            elif attachment == "image_doc":
                self.emu.send_document(resident.user, f"{name}_低保申请表.jpg",
                                       _jpeg(rng, username), "image/jpeg")
            elif plan.identity == "report":
                self.emu.send_document(resident.user, "材料.pdf", _pdf("office"))
            else:
                self.emu.send_document(resident.user, f"{name}_情况说明.pdf", _pdf(username))
            await actor.until(mark, lambda m: bool(m.buttons()), "the file taken")
            await self._drop_offered(actor, mark)
        done = next(m for m in actor.changed({}) if has_button("^new:att:done$")(m))
        mark = actor.mark()

        def next_step(m: SentMessage) -> bool:
            return has_button("^new:id:")(m) or says("real name")(m)

        await actor.press(done, "new:att:done",
                          lambda m: next_step(m) or bool(DROP.search(repr(m.buttons()))),
                          "the identity step")
        await self._drop_offered(actor, mark)
        msg = await actor.until(mark, next_step, "the identity step")
        if plan.identity == "report":
            await actor.say(resident.typed_name, says("share your phone"), "the phone step")
            mark = actor.mark()
            self.emu.send_contact(resident.user, resident.phone)
            msg = await actor.until(mark, has_button("^new:head:"), "the leadership question")
            answer = "yes" if plan.concerns_head else "no"
            msg = await actor.press(msg, f"new:head:{answer}", has_button("^new:confirm$"),
                                    "the summary")
        else:
            msg = await actor.press(msg, f"new:id:{plan.identity}", has_button("^new:confirm$"),
                                    "the summary")
        receipt = await actor.press(msg, "new:confirm", says("case number is"), "the receipt")
        found = NUMBER.search(receipt.text or "")
        assert found, receipt.text
        plan.number = found.group(1)
        if plan.identity == "report":
            unit = UNIT_OF[plan.category]
            if plan.concerns_head:
                unit = (self.above_supervision or SUPERVISION) if unit == SUPERVISION \
                    else SUPERVISION
            plan.units.add(unit)

    async def _drop_offered(self, actor: Actor, mark: Mark) -> None:
        """A choice to keep or drop a file that may identify the sender (shown since
        ``mark``): drop each such file."""
        await asyncio.sleep(0.3)  # a warning may come with, or just after, the reply
        for _ in range(5):
            offered = [(m, data) for m in actor.changed(mark) for row in m.buttons()
                       for label, data in row
                       if data and (DROP.search(data) or DROP.search(label))]
            if not offered:
                return
            message, data = offered[0]
            await actor.press(message, data, lambda m: True, "the answer to dropping a file")
            await asyncio.sleep(0.3)
        raise AssertionError(f"dropping files never ended\n{self.emu.dump(actor.user.id)}")

    # --- handling -------------------------------------------------------------------------

    async def _open(self, official: Actor, plan: Plan, action: str) -> SentMessage:
        buttons = has_button(f"^case:[0-9]+:{action}$")
        return await official.say(
            f"/case {plan.number}", lambda m: buttons(m) and plan.number in (m.text or ""),
            f"{plan.number} with a {action} button")

    async def handle(self, resident: Resident, plan: Plan, actor: Actor) -> None:
        """What happens to a filed case, step by step."""
        unit = UNIT_OF[plan.category] if not plan.concerns_head else SUPERVISION
        for action in plan.actions:
            name, _, rest = action.partition(":")
            if name == "transfer":
                who, target = rest.split(":")
                await self._transfer(plan, int(who), target)
                unit = target
                continue
            if name == "rate":
                await self._rate(actor, plan, rest)
                continue
            official = self.staff[OFFICIAL[unit]]
            if name == "ask":
                async with official.lock:
                    msg = await self._open(official, plan, "ask")
                    msg = await official.press(msg, button_data(msg, ":ask$"), says("Type it"),
                                               "the question prompt")
                    await official.say(f"请补充{plan.number}的具体位置。",
                                       says("Your question was sent"), "question sent")
                await self._reply(actor, plan)
                continue
            async with official.lock:
                msg = await self._open(official, plan, name)
                if name == "accept":
                    await official.press_for_answer(msg, button_data(msg, ":accept$"))
                    continue
                msg = await official.press(msg, button_data(msg, ":answer$"),
                                           has_button("^ans:out:resolved$"), "outcomes")
                msg = await official.press(msg, "ans:out:resolved", says("Write the answer"),
                                           "the answer prompt")
                msg = await official.say(f"关于{plan.number}：已按规定公开，请查看公告栏。",
                                         has_button("^ans:files:done$"), "answer files")
                msg = await official.press(msg, "ans:files:done", has_button("^ans:send$"),
                                           "the preview")
                sent = await official.press(msg, "ans:send",
                                            lambda m: says("has gone to the reporter")(m)
                                            or says("went to the head")(m), "answer sent")
            if says("went to the head")(sent):
                head = self.staff[HEAD[unit]]
                async with head.lock:
                    ask = await head.until({}, lambda m: has_button("^sign:[0-9]+:ok$")(m)
                                           and plan.number in (m.text or ""), "sign-off")
                    await head.press(ask, button_data(ask, ":ok$"), says("Approved"),
                                     "approved")

    async def _transfer(self, plan: Plan, who: int, target: str) -> None:
        official = self.staff[who]
        async with official.lock:
            msg = await self._open(official, plan, "transfer")
            msg = await official.press(msg, button_data(msg, ":transfer$"), has_button("^trf:"),
                                       "the unit tree")
            mark = official.mark()
            picked = self.emu.press(official.user, msg, f"trf:pick:{target}")
            text = await self._reason_asked(official, mark, picked)
            if text is None:
                mark = official.mark()
                self.emu.send_text(official.user, "属于该单位职责范围。")

                def outcome(m: SentMessage) -> bool:
                    # The answer to the reason, not a card or notice of another case.
                    shown = m.text or ""
                    other = [n for n in NUMBER.findall(shown) if n != plan.number]
                    return m.message_id not in mark and m.kind == "text" and bool(shown) \
                        and not shown.startswith("📨") and not other
                text = (await official.until(mark, outcome, "the transfer's outcome")).text
        text = text or ""
        self.transfers.append(f"{plan.number} by {who} to {target}: {text[:80]!r}")
        if "supervision group" in text:  # transferred too often: escalated
            plan.units.add(SUPERVISION)
        elif "has been transferred to" in text:
            plan.units.add(target)

    async def _reason_asked(self, official: Actor, mark: Mark, picked: dict[str, Any]
                            ) -> str | None:
        """None when the reason is asked for; else the refusal (an alert on the pick)."""
        deadline = time.monotonic() + WAIT
        while True:
            event = self.emu.waiter(official.user.id)
            if any(says("Why does")(m) for m in official.changed(mark)):
                return None
            try:
                _, text, alert = self.emu.callback_answer(picked)
                if alert:
                    return f"refused: {text}"
            except AssertionError:
                pass
            assert time.monotonic() < deadline, official.emu.dump(official.user.id)
            await wait_signal(event, 1.0)

    async def _reply(self, actor: Actor, plan: Plan) -> None:
        asked = await actor.until({}, lambda m: has_button("^rep:[0-9]+:reply$")(m)
                                  and plan.number in (m.text or ""), "the question")
        await actor.press(asked, button_data(asked, ":reply$"), says("Write your reply"),
                          "the reply prompt")
        reply = f"在东边第{self.rng.randrange(100, 999)}排，靠近水塔。"
        plan.replies.append(reply)
        await actor.say(reply, says("was passed on"), "reply passed on")

    async def _rate(self, actor: Actor, plan: Plan, rating: str) -> None:
        answer = await actor.until({}, lambda m: has_button("^rate:[0-9]+:")(m)
                                   and plan.number in (m.text or ""), "the answer")
        msg = await actor.press(answer, button_data(answer, f":{rating}$"),
                                has_button("^ratec:skip$"), "the comment prompt")
        await actor.press_for_answer(msg, "ratec:skip")

    async def live(self, resident: Resident, start: float) -> None:
        """One resident: files their cases (after a random moment), follows them, and
        looks at /my."""
        await asyncio.sleep(start)
        actor = Actor(self.emu, resident.user)
        await actor.say("/start", lambda m: True, "the welcome")
        for plan in resident.plans:
            await self.file(resident, plan, actor)
        await asyncio.gather(*(self.handle(resident, plan, actor) for plan in resident.plans))
        if resident.plans[0].identity == "anonymous":
            numbers = [p.number for p in resident.plans]
            await actor.say("/my", lambda m: all(n in (m.text or "") for n in numbers),
                            "/my listing the cases")

    # --- the database -----------------------------------------------------------------------

    def outbox_drained(self) -> bool:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            (waiting,) = conn.execute(
                "SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'failed')").fetchone()
        finally:
            conn.close()
        return int(waiting) == 0

    async def quiet(self) -> None:
        """Wait for the outbox to drain, then for the checkpoint interval in quiet."""
        deadline = time.monotonic() + 90
        while not self.outbox_drained():
            assert time.monotonic() < deadline, "the outbox did not drain"
            await asyncio.sleep(0.5)
        await asyncio.sleep(QUIET)
        assert self.outbox_drained()

    def anonymous_cases(self) -> list[CaseTruth]:
        return [CaseTruth(p.number, r.identity, (p.text, *p.replies))
                for r in self.residents for p in r.plans if p.identity != "report"]

    def analyse(self, copy: Path) -> list[Finding]:
        """Every link an administrator holding these files (not the key) could make."""
        files = read_files(copy)
        tables = read_tables(copy)
        joins = Joins(tables, self.anonymous_cases(), datetime.now(UTC))
        where = layout(files, tables.roots)
        found: list[Finding] = [("the files could not be parsed", p) for p in where.problems]
        found += joins.links()
        for resident in self.residents:
            if resident.plans[0].identity != "report":
                found += byte_hits(files, resident.identity, joins, where)
        found += key_hits(files, self.key)
        found += self._blind(tables, files, where)
        return found

    def _blind(self, tables: Tables, files: dict[str, bytes], where: Layout) -> list[Finding]:
        """The same searches must find each named reporter, whom the database links to
        their report by design: a search that finds nothing there is blind."""
        named = [r for r in self.residents if r.plans[0].identity == "report"]
        cases = [CaseTruth(p.number, r.identity, (p.text,)) for r in named for p in r.plans]
        links = Joins(tables, cases, datetime.now(UTC)).links()
        found: list[Finding] = []
        for case in cases:
            if not any(kind == "cases: holds the reporter and refers to the case"
                       and case.number in detail for kind, detail in links):
                found.append(("the search is blind: a named report not linked",
                              f"{case.number} of {case.reporter.telegram_id}: {links[:2]}"))
        for resident in named:
            if "people" not in live_tables(files, resident.user.id, where):
                found.append(("the search is blind: a named reporter's id not in people",
                              f"{resident.user.id}"))
        return found

    # --- the messages ---------------------------------------------------------------------

    def entitled(self, resident: Resident) -> set[int]:
        """The chats entitled to a resident's identity: their own; for a named report, the
        members of the units that held it and of the supervision group, except those of
        the unit it concerns. Group chats never."""
        chats = {resident.user.id}
        for plan in resident.plans:
            if plan.identity != "report":
                continue
            units = plan.units | {SUPERVISION}
            concerned = UNIT_OF[plan.category] if plan.concerns_head else None
            chats |= {tid for tid, unit in MEMBERS.items()
                      if unit is not None and unit in units and unit != concerned}
        return chats

    def shown(self) -> list[Finding]:
        """Identities shown to chats not entitled to them."""
        files = {f.file_id: f.data for f in self.emu.files.values()}
        found: list[Finding] = []
        seen: set[int] = set()  # named reporters whose identity an entitled official saw
        for message in self.emu.all_sent():
            for resident in self.residents:
                if message.chat_id in self.entitled(resident) and \
                        message.chat_id != resident.user.id and \
                        resident.typed_name in (message.text or ""):
                    seen.add(resident.user.id)
            contents = message_contents(message, files)
            for resident in self.residents:
                if message.chat_id in self.entitled(resident):
                    continue
                shown = identity_in(contents, resident.identity)
                if shown:
                    who = "named" if resident.plans[0].identity == "report" else "anonymous"
                    article = "a" if who == "named" else "an"
                    place = "group" if message.chat_id < 0 else "chat"
                    found.append((f"messages: {article} {who} reporter's identity in a {place} not "
                                  "entitled to it",
                                  f"{who} reporter {resident.user.id} "
                                  f"({[p.number for p in resident.plans]}): {shown} shown to "
                                  f"{place} {message.chat_id} in {message.summary()[:100]!r}"))
        for resident in self.residents:
            if any(p.identity == "report" and "accept" in p.actions for p in resident.plans) \
                    and resident.user.id not in seen:
                found.append(("the search is blind: no entitled official saw a named reporter",
                              f"{resident.user.id} {[p.number for p in resident.plans]}"))
        return found


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the example configuration changed: {old!r}"
    return text.replace(old, new)


def _seal_key() -> str:
    """32 random bytes in base64 with neither "-" nor "_" nor "+" nor "/": a Fernet key
    that the standard alphabet decodes the same."""
    while True:
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        if not set(key) & set("-_+/"):
            return key


def _set_key(text: str, table: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in ``[table]`` (replaced, or added to the table, or a
    new table at the end)."""
    header = re.search(rf"^\[{table}\]\s*$", text, re.MULTILINE)
    if header is None:
        return f"{text}\n[{table}]\n{key} = {value}\n"
    end = re.search(r"^\[", text[header.end():], re.MULTILINE)
    stop = header.end() + (end.start() if end else len(text) - header.end())
    section = text[header.end():stop]
    line = re.compile(rf"^{key}\s*=.*$", re.MULTILINE)
    if line.search(section):
        section = line.sub(f"{key} = {value}", section)
    else:
        section = f"\n{key} = {value}" + section
    return text[:header.end()] + section + text[stop:]


def _report(sections: list[tuple[str, list[Finding]]], world: World) -> str:
    lines = [f"Confidentiality does not hold (seed {world.seed}; transfers: {world.transfers})"]
    if world.refused_keys:
        lines.append(f"configuration keys this code refused: {world.refused_keys}")
    for title, findings in sections:
        if not findings:
            continue
        lines.append(f"== {title}: {len(findings)} link(s)")
        for kind, count in sorted(Counter(k for k, _ in findings).items()):
            lines.append(f"  [{count:4d}] {kind}")
            examples = [d for k, d in findings if k == kind][:3]
            lines += [f"           e.g. {e[:300]}" for e in examples]
    return "\n".join(lines)


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    seed = int(os.environ.get("SUNBOX_CONFIDENTIALITY_SEED") or random.randrange(1 << 30))
    key = _seal_key()
    monkeypatch.setenv("SUNBOX_SEAL_KEY", key)
    emu, server = await start_emulator()
    world = World(emu, server, tmp_path, seed, key)
    if world.refused_keys:  # shown if the test fails before its report
        print(f"configuration keys this code refused: {world.refused_keys}")
    try:
        yield world
    finally:
        await world.bot.stop()
        await server.stop()


async def test_no_anonymous_case_can_be_linked_to_its_reporter_at_rest(world: World) -> None:
    w = world
    await w.bot.start()
    await until_ready(w.emu)
    lives = [w.live(r, w.rng.uniform(0, 4)) for r in w.residents]
    await asyncio.wait_for(asyncio.gather(*lives), 150)
    assert all(p.number for r in w.residents for p in r.plans)
    # Transferred, then transferred again: the second went to supervision instead.
    assert w.residents[6].plans[0].units == {"organization_dept", SUPERVISION}, w.transfers
    assert "county" in w.residents[19].plans[0].units, w.transfers

    await w.quiet()
    mid_run = w.analyse(copy_database(w.db, w.tmp / "mid-run"))
    code = await w.bot.stop()
    assert code == 0, f"sunbox run ended with {code} on SIGTERM (log: {w.bot.log})"
    stopped = w.analyse(copy_database(w.db, w.tmp / "stopped"))
    restored = w.analyse(copy_database(w.backup_and_restore(), w.tmp / "restored-copy"))
    shown = w.shown()

    sections = [("after a clean stop (SIGTERM)", stopped),
                ("a backup of it, restored elsewhere", restored),
                (f"mid-run, {QUIET} s after the outbox drained", mid_run),
                ("what chats not entitled to an identity received", shown)]
    assert not (stopped or restored or mid_run or shown or w.refused_keys), _report(sections, w)


# ============================================================================ the checker
# A check that cannot fail proves nothing: the machinery, on small databases made by hand.

def _database(path: Path, *, secure_delete: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA secure_delete = {'ON' if secure_delete else 'OFF'}")
    conn.executescript("""
        CREATE TABLE people (id INTEGER PRIMARY KEY, telegram_id INTEGER NOT NULL UNIQUE,
                             created_at TEXT NOT NULL, sealed BLOB);
        CREATE TABLE cases (id INTEGER PRIMARY KEY, number TEXT NOT NULL, text TEXT NOT NULL,
                            created_at TEXT NOT NULL, delivery_chat_id INTEGER, chat_hash TEXT);
        CREATE TABLE outbox (id INTEGER PRIMARY KEY, chat_id INTEGER, created_at TEXT,
                             case_id INTEGER REFERENCES cases(id), payload TEXT);
        CREATE TABLE case_events (id INTEGER PRIMARY KEY, case_id INTEGER REFERENCES cases(id),
                                  at TEXT, actor_person_id INTEGER REFERENCES people(id));
        CREATE TABLE user_data (user_id INTEGER PRIMARY KEY, data TEXT);
        CREATE TABLE inbox_updates (update_id INTEGER PRIMARY KEY, payload TEXT,
                                    received_at TEXT);
    """)
    return conn


REPORTER = Identity(4_123_456_789, ("王秀兰", "wang_xl"))
FILED = "2026-12-07T02:15:33+00:00"


def _cases() -> list[CaseTruth]:
    return [CaseTruth("S-2026-00001", REPORTER, ("门牌1234号的账目没有公开。",)),
            CaseTruth("S-2026-00002", REPORTER, ("门牌5678号的低保名单。",))]


def _kinds(findings: list[Finding]) -> set[str]:
    return {kind for kind, _ in findings}


def test_the_joins_find_each_planted_link_and_pass_a_clean_database(tmp_path: Path) -> None:
    conn = _database(tmp_path / "x.db", secure_delete=True)
    conn.execute("INSERT INTO people VALUES (1, ?, '2026-12-07', ?)",
                 (REPORTER.telegram_id, os.urandom(48)))
    conn.execute("INSERT INTO people VALUES (2, 1001, ?, NULL)", (FILED,))
    for i, case in enumerate(_cases(), 1):
        conn.execute("INSERT INTO cases VALUES (?, ?, ?, ?, NULL, NULL)",
                     (i, case.number + "-K7P", case.strings[0], FILED))
        conn.execute("INSERT INTO outbox VALUES (NULL, 1001, ?, ?, '{\"text\": \"card\"}')",
                     (FILED, i))
        conn.execute("INSERT INTO case_events VALUES (NULL, ?, ?, NULL)", (i, FILED))
    conn.execute("INSERT INTO user_data VALUES (?, '{\"language\": \"zh_CN\"}')",
                 (REPORTER.telegram_id,))
    conn.commit()
    now = datetime.fromisoformat(FILED)
    assert Joins(read_tables(tmp_path / "x.db"), _cases(), now).links() == []

    planted = [
        ("UPDATE cases SET delivery_chat_id = ? WHERE id = 1", (REPORTER.telegram_id,),
         "cases: holds the reporter and refers to the case"),
        ("UPDATE people SET created_at = ? WHERE id = 1", (FILED,),
         "people: holds the reporter and a time finer than a day"),
        ("INSERT INTO outbox VALUES (NULL, ?, '2026-12-07T02:16:20+00:00', NULL, '{}')",
         (REPORTER.telegram_id,),
         "outbox: holds the reporter and a time within 60 s of the case's"),
        ("INSERT INTO inbox_updates VALUES (7, ?, '2026-12-07T09:00:00+00:00')",
         (json.dumps({"message": {"from": {"id": REPORTER.telegram_id},
                                  "text": _cases()[1].strings[0]}}),),
         "inbox_updates: holds the reporter and refers to the case"),
        ("UPDATE user_data SET data = ? WHERE user_id = ?",
         (json.dumps({"rating_case": 2}), REPORTER.telegram_id),
         "user_data: holds the reporter and refers to the case"),
        ("INSERT INTO case_events VALUES (NULL, 2, '2026-12-07T09:00:00+00:00', 1)", (),
         "case_events: holds the reporter and refers to the case"),
        ("UPDATE cases SET chat_hash = 'c2a1f0e9d8b7a6958473' WHERE id IN (1, 2)", (),
         "cases of one reporter share a value (an equality join)"),
    ]
    for sql, params, kind in planted:
        copy = tmp_path / kind.split(":")[0].replace(" ", "_")
        conn.execute("SAVEPOINT plant")
        conn.execute(sql, params)
        conn.commit()
        found = Joins(read_tables(copy_database(tmp_path / "x.db", copy)), _cases(),
                      now).links()
        assert kind in _kinds(found), (sql, found)
        conn.execute("SAVEPOINT undo")
        conn.execute("DELETE FROM inbox_updates")
        conn.execute("DELETE FROM outbox WHERE chat_id = ?", (REPORTER.telegram_id,))
        conn.execute("DELETE FROM case_events WHERE actor_person_id IS NOT NULL")
        conn.execute("UPDATE cases SET delivery_chat_id = NULL, chat_hash = NULL")
        conn.execute("UPDATE people SET created_at = '2026-12-07' WHERE id = 1")
        conn.execute("UPDATE user_data SET data = '{}'")
        conn.commit()
    conn.close()


@pytest.mark.parametrize("secure_delete", [False, True])
def test_the_byte_search_finds_deleted_data_and_accounts_for_live_rows(
        tmp_path: Path, secure_delete: bool) -> None:
    """Payloads holding the id (as text), then deleted: without secure_delete they stay in
    the file; with it and a TRUNCATE checkpoint, nothing is left. The id as an integer key
    (varint), a 6-byte record integer and in an index is live and accounted for."""
    path = tmp_path / "x.db"
    conn = _database(path, secure_delete=secure_delete)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("INSERT INTO people VALUES (1, ?, '2026-12-07', NULL)", (REPORTER.telegram_id,))
    conn.execute("INSERT INTO user_data VALUES (?, '{}')", (REPORTER.telegram_id,))
    for update in range(200):
        sender = REPORTER.telegram_id if update % 10 == 0 else 2_000_000_000 + update
        payload = json.dumps({"message": {"from": {"id": sender, "username": "wang_xl"
                                                   if sender == REPORTER.telegram_id else "x"},
                                          "text": "x" * (50 + update * 13 % 3000)}})
        conn.execute("INSERT INTO inbox_updates VALUES (?, ?, ?)", (update, payload, FILED))
    conn.commit()
    now = datetime.fromisoformat(FILED)

    def search() -> list[Finding]:
        snapshot = copy_database(path, tmp_path / f"copy{len(list(tmp_path.iterdir()))}")
        files = read_files(snapshot)
        tables = read_tables(snapshot)
        where = layout(files, tables.roots)
        assert where.problems == []
        return byte_hits(files, REPORTER, Joins(tables, [], now), where)

    # All live, in rows that hold it (without secure_delete, moving rows between pages
    # leaves copies in free space already).
    assert all("free space" in detail for _, detail in search()) and (
        not secure_delete or search() == [])
    assert live_tables(read_files(path), REPORTER.telegram_id, layout(
        read_files(path), read_tables(path).roots)) >= {"people", "user_data", "inbox_updates"}
    conn.execute("UPDATE inbox_updates SET payload = '{}'")
    conn.commit()
    in_log = search()
    assert any("stale" in detail for _, detail in in_log), in_log
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    after = search()
    if secure_delete:
        assert after == []
    else:
        assert after and all("free space" in detail for _, detail in after), after
    conn.close()
