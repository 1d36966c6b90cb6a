"""``sunbox demo``: the real bot on the built-in Bot API emulator, playing a scripted tour.

The bot runs unchanged (long polling over HTTP on loopback); the tour plays residents who
send messages and press buttons, and prints the chat as a transcript.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.app import build_application
from bot.config import (
    Config,
    DeadlineRule,
    MeetingConfig,
    MeetingOffset,
    MemberConfig,
    default_config_path,
    load_config,
    raised_limits,
)
from bot.demo_disclosure import play_disclosure, register_config
from bot.demo_tour import QUIET, Tour
from bot.durations import Duration
from bot.emulator.core import Emulator, EmuUser, SentMessage
from bot.emulator.server import start_server
from bot.i18n import N_, translator
from bot.telegram.pacing import Rates


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
    resident = tour.person(5001, t("Wang Xiulan"), code)
    reporter = tour.person(5002, t("Li Jianguo"), code)
    finance = _staffed_unit(config)
    official = head = None
    if finance is not None:
        official_id, head_id = finance
        official = tour.person(official_id, t("Zhou (official)"), code)
        head = tour.person(head_id, t("Wu (unit head)"), code)
    supervisor_id = _supervision_member(config)
    if supervisor_id is not None:
        # In the tour from the start: a case routed up is its to see.
        tour.person(supervisor_id, t("Sun (supervision group)"), code)

    tour.section(N_("An anonymous suggestion with a photo"))
    await tour.say(resident, "/start")
    await tour.press(resident, "new:start:suggestion")
    await tour.press(resident, f"new:cat:{_pick_category(config, 'finance', 'low_income')}")
    await tour.press(resident, "new:unit:ok")
    await tour.say(resident, t(
        "Our village has not published its income and spending for three months. "
        "Please publish the accounts as the rules require."))
    await tour.send_photo(resident)
    await tour.press(resident, "new:att:done")
    await tour.press(resident, "new:id:anonymous")
    await tour.press(resident, "new:confirm")

    tour.section(N_("A named report, the unit chosen from the tree, the contact shared"))
    await tour.say(reporter, "/new")
    await tour.press(reporter, "new:kind:report")
    await tour.press(reporter, f"new:cat:{_pick_category(config, 'rural', 'work_style')}")
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
    leaf = leaves[-1]
    if not _is_staffed(config, leaf.id):
        tour.note(t("nobody at {unit} uses Sunbox yet: the case goes up the tree to the "
                    "nearest unit with an official or a head, and the supervision group is "
                    "told").format(unit=leaf.name(language)))
    await tour.press(reporter, "new:confirm")

    tour.section(N_("Both follow their cases with /my"))
    await tour.say(resident, "/my")
    await tour.say(reporter, "/my")
    await tour.press_prefix(reporter, "my:open:")

    if official is None or head is None:
        return
    tour.section(N_("The unit at work: accept, ask, answer, sign-off, rating, reopening"))
    await tour.press_prefix(official, "case:1:accept")
    await tour.press(official, "case:1:ask")
    await tour.say(official, t("Which village is it, and since when exactly?"))
    await tour.press(resident, "rep:1:reply")
    await tour.say(resident, t("Beiguan village. The last accounts posted were for June."))
    await _answer(tour, official, t(
        "We have told Beiguan village to post the accounts for July to October by Friday."))
    await tour.press(head, "sign:1:ok")
    await tour.press(resident, "rate:1:unsatisfied")
    await tour.say(resident, t("Only July was posted, the other months are still missing."))
    await _answer(tour, official, t(
        "All accounts for July to October are now posted at the village office; the "
        "township will check every month."))
    await tour.press(head, "sign:2:ok")
    await tour.press(resident, "rate:2:satisfied")
    await tour.press(resident, "ratec:skip")
    await play_assessment(tour, config, language)


async def play_assessment(tour: Tour, config: Config, language: str) -> None:
    """The supervision group looks at the assessment of the tour's own cases."""
    t = translator(language)
    supervisor_id = _supervision_member(config)
    if supervisor_id is None:
        return
    code = "en" if language == "en" else "zh-hans"
    supervision = tour.person(supervisor_id, t("Sun (supervision group)"), code)
    tour.section(N_("The assessment of these cases: chart and workbook"))
    await tour.say(supervision, "/assessment")
    await tour.emu.wait_for(supervision.id, lambda m: m.kind == "document", timeout=60)
    await asyncio.sleep(QUIET)
    tour.show(supervision)


async def _answer(tour: Tour, official: EmuUser, text: str) -> None:
    await tour.press(official, "case:1:answer")
    await tour.press(official, "ans:out:resolved")
    await tour.say(official, text)
    await tour.press(official, "ans:files:done")
    await tour.press(official, "ans:send")


def _supervision_member(config: Config) -> int | None:
    """A member of the supervision group, if configured."""
    return next((m.telegram_id for m in config.members if m.role == "supervision"), None)


def _is_staffed(config: Config, unit_id: str) -> bool:
    """Whether the configuration gives the unit an official or a head."""
    return any(m.unit == unit_id and m.role in ("official", "head") for m in config.members)


def _staffed_unit(config: Config) -> tuple[int, int] | None:
    """An official and a head of the unit that receives finance cases, if configured."""
    try:
        unit = config.category(_pick_category(config, "finance")).unit
    except KeyError:
        return None
    official = next((m.telegram_id for m in config.members
                     if m.unit == unit and m.role == "official"), None)
    head = next((m.telegram_id for m in config.members
                 if m.unit == unit and m.role == "head"), None)
    return (official, head) if official and head else None


FAST_CATEGORY = "personnel"
FAST_UNIT_STAFF = (1011, 1012)  # an official and a head for the fast tour's unit


def fast_config(config: Config) -> Config:
    """Deadlines in seconds for one category, reminders 10 s before, escalation 10 s after."""
    category = config.category(FAST_CATEGORY)
    fast = DeadlineRule(Duration(20, "s"), Duration(120, "s"))
    deadlines = dataclasses.replace(
        config.deadlines, categories=config.deadlines.categories + (
            (category.id, "suggestion", fast), (category.id, "report", fast)))
    alerts = dataclasses.replace(config.alerts, reminders=(Duration(10, "s"), None),
                                 escalate_after=Duration(10, "s"))
    official, head = FAST_UNIT_STAFF
    members = config.members + (MemberConfig(official, "official", category.unit),
                                MemberConfig(head, "head", category.unit),
                                MemberConfig(FAST_SUPERVISORS[0], "supervisor", MEETING_UNIT),
                                MemberConfig(FAST_SUPERVISORS[1], "supervisor", MEETING_UNIT))
    # A supervisors' meeting four minutes from now, its reminder a minute before that.
    now = datetime.now(config.general.tz).replace(second=0, microsecond=0)
    start, remind = now + timedelta(minutes=4), now + timedelta(minutes=3)
    meeting = MeetingConfig(
        id="demo_meeting", kind="monthly", unit=MEETING_UNIT,
        cron=f"{start.minute} {start.hour} {start.day} {start.month} *",
        place="北关村村委会会议室", organizer=str(head), shift="none",
        reminders=(MeetingOffset(0, "d", remind.time()),),
        summary=MeetingOffset(0, "d", remind.time()))
    return dataclasses.replace(config, deadlines=deadlines, alerts=alerts, members=members,
                               meetings=(meeting,))


MEETING_UNIT = "yizhou_beiguan"
FAST_SUPERVISORS = (1021, 1022)


async def play_meeting(tour: Tour, config: Config, language: str) -> None:
    """A supervisors' meeting: reminder, two answers, minutes, an issue filed as a case."""
    t = translator(language)
    code = "en" if language == "en" else "zh-hans"
    organizer = tour.person(FAST_UNIT_STAFF[1], t("Feng (unit head)"), code)
    alice = tour.person(FAST_SUPERVISORS[0], t("Supervisor Zhao"), code)
    bob = tour.person(FAST_SUPERVISORS[1], t("Supervisor Qian"), code)
    tour.section(N_("A supervisors' meeting: reminder, answers, minutes, an issue filed as "
                    "a case"))
    for person in (alice, bob):
        await tour.say(person, "/start")
    tour.out(t("… (waiting for the clock)"))

    def reminded(message: SentMessage) -> bool:
        return any((d or "").endswith(":yes") for row in message.buttons() for _, d in row)

    await tour.emu.wait_for(alice.id, reminded, timeout=300)
    await asyncio.sleep(QUIET)
    for person in (alice, bob, organizer):
        tour.show(person)
    meeting_id = next(int(d.split(":")[1]) for m in reversed(tour.emu.sent(alice.id))
                      for row in m.buttons() for _, d in row if d and d.endswith(":yes"))
    await tour.press(alice, f"mtg:{meeting_id}:yes")
    await tour.press(bob, f"mtg:{meeting_id}:no")
    await tour.say(bob, t("I am at the township training that day."))
    tour.out(t("… (waiting for the meeting to take place)"))
    def recording(message: SentMessage) -> bool:
        return any(d == "mtr:done" for row in message.buttons() for _, d in row)

    while True:
        await asyncio.sleep(5)
        before = len(tour.emu.sent(organizer.id))
        tour.emu.press(organizer, tour.emu.sent(organizer.id)[-1], f"mtg:{meeting_id}:rec")
        await asyncio.sleep(1)
        # Only the attendance list counts: the notices of the answers may arrive meanwhile.
        if any(recording(m) for m in tour.emu.sent(organizer.id)[before:]):
            break
    tour.show(organizer)
    await tour.press(organizer, "mtr:done")
    await tour.say(organizer, t("1. Beiguan has not posted its low-income list for three "
                                "months. 2. The road fund accounts are still missing."))
    await tour.press(organizer, "mtr:min:done")
    await tour.press(organizer, f"mtg:{meeting_id}:iss")
    await tour.press_prefix(organizer, "mti:w:")
    await tour.press(organizer, f"mti:cat:{_pick_category(config, 'low_income')}")
    await tour.say(organizer, t("Beiguan has not posted its low-income list for three "
                                "months."))
    await tour.press(organizer, "mtr:finish")


async def play_fast(tour: Tour, config: Config, language: str) -> None:
    """Deadlines that hold, in fast time."""
    t = translator(language)
    code = "en" if language == "en" else "zh-hans"
    official_id, head_id = FAST_UNIT_STAFF
    official = tour.person(official_id, t("Zheng (official)"), code)
    head = tour.person(head_id, t("Feng (unit head)"), code)
    supervisor_id = _supervision_member(config)
    supervision = (tour.person(supervisor_id, t("Sun (supervision group)"), code)
                   if supervisor_id else None)
    resident = tour.person(5003, t("Chen Fang"), code)
    tour.section(N_("Deadlines in fast time: acceptance due in 20 s, reminder 10 s before, "
                    "escalation 10 s after"))
    await tour.say(resident, "/new")
    await tour.press(resident, "new:kind:suggestion")
    await tour.press(resident, f"new:cat:{FAST_CATEGORY}")
    await tour.press(resident, "new:unit:ok")
    await tour.say(resident, t("The township never announced the result of the cadre "
                               "selection held in October."))
    await tour.press(resident, "new:att:done")
    await tour.press(resident, "new:id:anonymous")
    await tour.press(resident, "new:confirm")
    watched = [official, head, resident] + ([supervision] if supervision else [])
    for marker, who in (("⏰", official), ("⚠", head), ("🚨", supervision or head)):
        tour.out(t("… (waiting for the clock)"))

        def arrived(message: SentMessage, marker: str = marker) -> bool:
            return (message.text or "").startswith(marker)

        await tour.emu.wait_for(who.id, arrived, timeout=60)
        await asyncio.sleep(QUIET)
        for person in watched:
            tour.show(person)
    case_id = tour.case_id_in(official)
    await tour.press(official, f"case:{case_id}:extend")
    await tour.say(official, t("The selection files are with the county organization "
                               "department; we need them first."))
    tomorrow = (datetime.now(config.general.tz) + timedelta(days=3)).date().isoformat()
    await tour.say(official, tomorrow)
    await tour.press_prefix(head, "ext:")


def _quiet_logs(verbose: bool) -> None:
    """The bot's and the libraries' log lines go to standard error, never into the
    transcript: errors only, or everything from INFO on with ``--verbose``."""
    root = logging.getLogger()
    if root.handlers:  # configured already (a test run's capture): leave it
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.ERROR)


async def run_demo(
    config_path: Path | None, language: str, *, out: Callable[[str], None] = print,
    fast: bool = False, verbose: bool = False,
) -> int:
    """Start the emulator and the real bot, play the tour, stop everything."""
    # The tour's people act faster than the per-person limits allow.
    config = raised_limits(load_config(config_path or default_config_path()))
    if fast:
        config = fast_config(config)
    config = register_config(config, fast=fast)
    if not config_path:
        # The example county speaks the tour's language to people it has not heard from.
        config = dataclasses.replace(config, general=dataclasses.replace(
            config.general, default_language=language))
    emulator = Emulator()
    for member in config.members:
        # Everyone configured has a chat (as they would have on Telegram), so nothing the
        # bot sends them is refused; the tour names those it plays (Tour.person).
        emulator.user(member.telegram_id, f"#{member.telegram_id}")
    _quiet_logs(verbose)
    server = await start_server(emulator)
    with tempfile.TemporaryDirectory(prefix="sunbox-demo-") as tmp:
        database = config.general.database if config_path else str(Path(tmp) / "demo.db")
        config = dataclasses.replace(
            config,
            telegram=dataclasses.replace(
                config.telegram, token=emulator.token, api_base_url=server.base_url),
        )
        # The emulator keeps no flood limits here; the tour need not wait for them.
        application = build_application(config, database=database,
                                        outbox_rates=Rates(scale=20))
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
            tour = Tour(emulator, out, language)
            await play(tour, config, language)
            if fast:
                await play_fast(tour, config, language)
                await play_meeting(tour, config, language)
            await play_disclosure(tour, config, language, fast=fast)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
            assert application.post_shutdown is not None
            await application.post_shutdown(application)
            await server.stop()
    return 0

