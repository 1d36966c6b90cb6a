"""Property-based tests of a case's life: random sequences of actions by random people,
driven through the real services on a fresh in-memory database with a hand-moved clock.

After every action, whatever it was and whether it was allowed:
- the case is in a known state, and the state is the one the newest event arrived at, every
  event starting where the previous one ended (so ``answered`` only after an ``answered``
  event, ``closed`` only by a rating or the auto-close);
- stored events are never updated or deleted; a refused attempt adds nothing but ``refused``
  events and changes neither the case nor the outbox; a withdrawn or closed case never
  changes again;
- at most one acceptance per arrival at a unit;
- the reporter hears of each acceptance, answer, transfer and question exactly once (one
  outbox row to the delivery chat), and a no-feedback case never writes to anyone's chat but
  the staff's.

Deterministic for CI: ``derandomize=True``; raise ``SUNBOX_PROPERTY_EXAMPLES`` to search more.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.config import Config, default_config_path, load_config
from bot.runtime import Runtime
from bot.services import case_states, cases, extensions, handling
from bot.services import people as people_service
from bot.services.cases import CaseError, Draft
from bot.services.handling import Actor, Refused
from storage import cases as case_repo
from storage.sql import Conn
from tests.handlers.staff import (
    AGRI_OFFICIAL,
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    COUNTY_HEAD,
    FINANCE_HEAD,
    FINANCE_OFFICIAL,
    SUPERVISION,
    staffed,
)

START = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
REPORTER, STRANGER = 4301, 4302
# The county's head decides what the supervision group's only member asked for (more time).
STAFF = (CIVIL_OFFICIAL, CIVIL_HEAD, AGRI_OFFICIAL, FINANCE_OFFICIAL, FINANCE_HEAD, SUPERVISION,
         COUNTY_HEAD)
# The machine the services consult: its states, and every move a case may make, as
# (state before, state after) of an event.
STATES = set(case_states.STATES)
TERMINAL = set(case_states.ENDED)
MOVES = case_states.MOVES
ARRIVALS = {"filed", "transferred", "escalated"}
# Events the reporter must hear about (when the case has a delivery chat).
TOLD = {"accepted", "answered", "transferred", "escalated", "question", "extension_granted"}
EXAMPLES = int(os.environ.get("SUNBOX_PROPERTY_EXAMPLES", "60"))

PEOPLE = st.sampled_from(STAFF + (REPORTER, STRANGER))
ACTIONS = st.one_of(
    st.tuples(st.just("accept"), PEOPLE),
    st.tuples(st.just("answer"), PEOPLE, st.sampled_from(handling.OUTCOMES + ("bogus",))),
    st.tuples(st.just("sign_off"), PEOPLE, st.booleans()),
    st.tuples(st.just("transfer"), PEOPLE,
              st.sampled_from(("civil_affairs", "agriculture", "finance", "nowhere"))),
    st.tuples(st.just("ask"), PEOPLE),
    st.tuples(st.just("reply"), PEOPLE),
    st.tuples(st.just("rate"), PEOPLE, st.sampled_from(handling.RATINGS + ("meh",))),
    st.tuples(st.just("close_unrated"), st.integers(0, 10)),
    st.tuples(st.just("withdraw"), PEOPLE),
    st.tuples(st.just("followup"), PEOPLE),
    st.tuples(st.just("extend"), PEOPLE, st.integers(-1, 100)),
    st.tuples(st.just("decide_extension"), PEOPLE, st.booleans()),
    st.tuples(st.just("comment"), PEOPLE),
)
FILING = st.tuples(st.sampled_from(("anonymous", "no_feedback", "signed")),
                   st.sampled_from(("civil_affairs", "finance", "agriculture")))


def county() -> Config:
    base = load_config(default_config_path())
    general = dataclasses.replace(base.general, database=":memory:")
    return staffed(dataclasses.replace(base, general=general))


CONFIG = county()


class World:
    """One case, the people around it, and what the properties need to read."""

    def __init__(self, runtime: Runtime, clock: ManualClock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.people: dict[int, Any] = {}
        self.case_id = 0
        self.delivery_chat: int | None = None
        self.log: list[str] = []

    async def setup(self, identity: str, unit: str) -> None:
        for telegram_id in STAFF + (REPORTER, STRANGER):
            self.people[telegram_id] = await people_service.touch(self.runtime, telegram_id,
                                                                  "zh-hans")
        draft = Draft(key="k1", kind="suggestion", category_id="low_income_support",
                      unit_id=unit, text="村里的低保名单没有公示。", identity=identity,
                      language="zh-hans")
        case, created, _receipt = await cases.file_case(self.runtime, draft,
                                                        self.people[REPORTER], REPORTER)
        assert created
        self.case_id = case.id
        self.delivery_chat = self.runtime.sealer.delivery_chat(case)  # sealed if anonymous

    def actor(self, telegram_id: int) -> Actor:
        return Actor(self.people[telegram_id], f"人{telegram_id}")

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        def work(conn: Conn):
            with conn.execute(sql, params) as cur:
                return [tuple(row) for row in cur.fetchall()]
        return await self.runtime.db.read(work)

    async def snapshot(self) -> dict[str, Any]:
        [case] = await self.rows("SELECT * FROM cases WHERE id = ?", self.case_id)
        state = (await self.rows("SELECT state FROM cases WHERE id = ?", self.case_id))[0][0]
        return {
            "case": case, "state": state,
            "events": await self.rows(
                "SELECT id, type, state_before, state_after, at, actor_person_id, payload "
                "FROM case_events WHERE case_id = ? ORDER BY id", self.case_id),
            "outbox": await self.rows("SELECT id, chat_id, kind FROM outbox ORDER BY id"),
        }

    async def newest(self, table: str, status: str) -> int:
        found = await self.rows(f"SELECT id FROM {table} WHERE case_id = ? AND status = ? "
                                "ORDER BY id DESC LIMIT 1", self.case_id, status)
        return found[0][0] if found else 10**6

    async def act(self, action: tuple[Any, ...]) -> None:
        """Run one action; refusals are part of life."""
        rt, case_id = self.runtime, self.case_id
        name, *args = action
        self.clock.advance(timedelta(minutes=37))
        who = args[0] if name != "close_unrated" else None
        person = self.people.get(who) if who is not None else None
        try:
            if name == "accept":
                await handling.accept(rt, case_id, self.actor(who))
            elif name == "answer":
                await handling.submit_answer(rt, case_id, self.actor(who), args[1], "答复。",
                                             "民政局" if args[1] == "not_ours" else None, ())
            elif name == "sign_off":
                await handling.decide_sign_off(rt, await self.newest("answers", "pending"),
                                               self.actor(who), args[1], "再改改")
            elif name == "transfer":
                await handling.transfer(rt, case_id, self.actor(who), args[1], "不归我们管")
            elif name == "ask":
                await handling.ask_reporter(rt, case_id, self.actor(who), "具体是哪个村？")
            elif name == "reply":
                await handling.reporter_reply(rt, case_id, person, who, "北关村。", ())
            elif name == "rate":
                answer = await self.newest("answers", "sent")
                await handling.rate(rt, answer, person, who, args[1])
            elif name == "close_unrated":
                self.clock.advance(timedelta(days=args[0]))
                await handling.close_unrated(rt)
            elif name == "withdraw":
                await cases.withdraw(rt, case_id, person, who)
            elif name == "followup":
                await cases.add_followup(rt, case_id, person, who, "补充一句。", ())
            elif name == "extend":
                stored = await rt.db.read(case_repo.get_case, case_id)
                assert stored is not None
                deadline = extensions.deadline_of(stored) or "answer"
                due = extensions.due_of(stored, deadline)
                await extensions.request(rt, case_id, self.actor(who), "需要调查",
                                         due + timedelta(days=args[1]))
            elif name == "decide_extension":
                await extensions.decide(rt, await self.newest("extensions", "pending"),
                                        self.actor(who), args[1])
            elif name == "comment":
                await handling.rating_comment(rt, case_id, person, who, "还行吧。")
            self.log.append(f"{action} ok")
        except (Refused, CaseError) as exc:
            self.log.append(f"{action} refused: {getattr(exc, 'reason', exc)}")


def check(world: World, before: dict[str, Any], after: dict[str, Any], outcome: str) -> None:
    trail = "\n".join(world.log)
    assert after["state"] in STATES, trail
    # The trail is append-only.
    assert after["events"][:len(before["events"])] == before["events"], trail
    added = after["events"][len(before["events"]):]
    refused = " refused: " in outcome
    if refused or not added and after["case"] == before["case"]:
        # Nothing happened but, perhaps, a recorded refusal.
        assert all(e[1] == "refused" for e in added), (trail, added)
        assert after["case"] == before["case"], trail
        assert after["outbox"] == before["outbox"], trail
    if before["state"] in TERMINAL:
        assert after["case"] == before["case"], f"a {before['state']} case changed\n{trail}"
        # A reporter may still comment on the rating they gave (rated, then closed).
        rated = any(e[1] == "rated" for e in before["events"])
        allowed = {"refused", "rating_comment"} if rated else {"refused"}
        assert all(e[1] in allowed for e in added), (added, trail)
    # The state is where the trail arrived, each event starting where the last one ended.
    real = [e for e in after["events"] if e[1] != "refused"]
    assert real[0][1] == "filed" and real[0][3] == case_states.FIRST, trail
    for previous, event in zip(real, real[1:], strict=False):
        assert event[2] == previous[3], (f"{event} starts where {previous} did not end", trail)
        if event[2] != event[3]:
            assert (event[2], event[3]) in MOVES, (event, trail)
    assert real[-1][3] == after["state"], (real[-1], after["state"], trail)
    # One acceptance per arrival.
    accepted = 0
    for event in real:
        if event[1] in ARRIVALS:
            accepted = 0
        elif event[1] == "accepted":
            accepted += 1
            assert accepted == 1, f"accepted twice on one arrival\n{trail}"
    # The reporter hears of what concerns them, once, and only through the delivery chat.
    new_rows = after["outbox"][len(before["outbox"]):]
    assert after["outbox"][:len(before["outbox"])] == before["outbox"], trail
    chats_of_staff = set(STAFF)
    for _, chat_id, _ in new_rows:
        assert chat_id in chats_of_staff or chat_id == world.delivery_chat, (chat_id, trail)
    to_reporter = [r for r in new_rows if world.delivery_chat is not None
                   and r[1] == world.delivery_chat]
    told = [e for e in added if e[1] in TOLD]
    expected = len(told) if world.delivery_chat is not None else 0
    assert len(to_reporter) == expected, (added, to_reporter, trail)


async def scenario(filing: tuple[str, str], actions: list[tuple[Any, ...]]) -> None:
    clock = ManualClock(START)
    runtime = Runtime(CONFIG, clock, ":memory:")
    await runtime.open()
    try:
        world = World(runtime, clock)
        await world.setup(*filing)
        world.log.append(f"filed {filing}")
        before = await world.snapshot()
        for action in actions:
            await world.act(action)
            after = await world.snapshot()
            check(world, before, after, world.log[-1])
            before = after
    finally:
        await runtime.close()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(filing=FILING, actions=st.lists(ACTIONS, max_size=30))
def test_no_sequence_of_actions_breaks_a_case(
    filing: tuple[str, str], actions: list[tuple[Any, ...]],
) -> None:
    asyncio.run(scenario(filing, actions))


# Sequences that reach deep states (answered, reopened, escalated) are rare by chance; these
# walk the whole way with the right people, and hypothesis mixes noise in between.
CIVIL_PATH = [("accept", CIVIL_OFFICIAL), ("ask", CIVIL_OFFICIAL), ("reply", REPORTER),
              ("answer", CIVIL_OFFICIAL, "resolved"), ("rate", REPORTER, "unsatisfied"),
              ("answer", CIVIL_HEAD, "explained"), ("rate", REPORTER, "unsatisfied"),
              ("accept", SUPERVISION), ("answer", SUPERVISION, "resolved"),
              ("close_unrated", 8), ("withdraw", REPORTER)]
FINANCE_PATH = [("accept", FINANCE_OFFICIAL), ("answer", FINANCE_OFFICIAL, "resolved"),
                ("sign_off", FINANCE_HEAD, False), ("answer", FINANCE_OFFICIAL, "resolved"),
                ("sign_off", FINANCE_HEAD, True), ("rate", REPORTER, "satisfied"),
                ("followup", REPORTER)]
TRANSFER_PATH = [("transfer", CIVIL_OFFICIAL, "agriculture"), ("accept", AGRI_OFFICIAL),
                 ("transfer", AGRI_OFFICIAL, "civil_affairs"),
                 ("transfer", CIVIL_HEAD, "agriculture"), ("accept", SUPERVISION),
                 ("extend", SUPERVISION, 3), ("decide_extension", SUPERVISION, True),
                 ("answer", SUPERVISION, "not_ours"), ("rate", REPORTER, "basically")]
PATHS = {"civil_affairs": CIVIL_PATH, "finance": FINANCE_PATH, "agriculture": TRANSFER_PATH}


@st.composite
def guided(draw: st.DrawFn) -> tuple[tuple[str, str], list[tuple[Any, ...]]]:
    identity = draw(st.sampled_from(("anonymous", "no_feedback", "signed")))
    unit = draw(st.sampled_from(sorted(PATHS)))
    start = "civil_affairs" if unit == "agriculture" else unit
    actions: list[tuple[Any, ...]] = []
    for step in PATHS[unit]:
        actions.extend(draw(st.lists(ACTIONS, max_size=3)))
        actions.append(step)
    return (identity, start), actions


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=guided())
def test_whole_lives_with_noise_keep_the_case_sound(
    case: tuple[tuple[str, str], list[tuple[Any, ...]]],
) -> None:
    asyncio.run(scenario(*case))


def test_an_extension_decided_after_the_case_was_withdrawn_changes_nothing() -> None:
    """Found by the property above: a pending extension outlived its case's open life."""
    asyncio.run(scenario(("anonymous", "civil_affairs"), [
        ("extend", CIVIL_OFFICIAL, 3), ("withdraw", REPORTER),
        ("decide_extension", CIVIL_HEAD, True)]))


def test_an_extension_decided_after_the_case_was_answered_and_closed_changes_nothing() -> None:
    asyncio.run(scenario(("signed", "civil_affairs"), [
        ("accept", CIVIL_OFFICIAL), ("extend", CIVIL_OFFICIAL, 3),
        ("answer", CIVIL_OFFICIAL, "resolved"), ("rate", REPORTER, "satisfied"),
        ("decide_extension", SUPERVISION, True)]))


def test_an_answer_signed_off_after_the_case_was_withdrawn_does_not_revive_it() -> None:
    """Found by the property above (600 examples): withdrawn → answered."""
    asyncio.run(scenario(("anonymous", "finance"), [
        ("accept", FINANCE_OFFICIAL), ("answer", FINANCE_OFFICIAL, "resolved"),
        ("withdraw", REPORTER), ("sign_off", FINANCE_HEAD, True)]))


def test_a_rating_comment_needs_a_rating() -> None:
    """Found by the property above: a comment "on the rating" of a withdrawn, never answered
    case is stored and sent to the unit."""
    asyncio.run(scenario(("anonymous", "civil_affairs"), [
        ("accept", CIVIL_OFFICIAL), ("withdraw", REPORTER), ("comment", REPORTER)]))


def test_the_table_never_leaves_an_ended_state_and_names_only_known_states() -> None:
    assert not {before for before, _ in MOVES} & TERMINAL
    for action, move in case_states.ACTIONS.items():
        assert set(move.start) | set(move.to) <= STATES, action
        for state in case_states.STATES:
            if not case_states.may(action, state):
                with pytest.raises(ValueError):
                    case_states.next_state(action, state)


# A request decided "no" after the case ended (once a gap: "return_answer" and
# "refuse_extension" started from any state) leaves the ended case as it was.
def test_an_extension_refused_after_the_case_was_withdrawn_changes_nothing() -> None:
    asyncio.run(scenario(("anonymous", "civil_affairs"), [
        ("extend", CIVIL_OFFICIAL, 3), ("withdraw", REPORTER),
        ("decide_extension", CIVIL_HEAD, False)]))


def test_an_answer_returned_after_the_case_was_withdrawn_changes_nothing() -> None:
    asyncio.run(scenario(("anonymous", "finance"), [
        ("accept", FINANCE_OFFICIAL), ("answer", FINANCE_OFFICIAL, "resolved"),
        ("withdraw", REPORTER), ("sign_off", FINANCE_HEAD, False)]))


def test_every_list_of_live_states_is_the_machines() -> None:
    """The deadlines, the inbox and the calendar's SQL use the states the table calls live
    (storage, which imports nothing of the services, keeps its own copy)."""
    from bot.services import case_states, deadlines, inbox
    from storage import calendar

    assert deadlines.OPEN == inbox.INBOX_STATES == case_states.LIVE
    assert tuple(calendar.LIVE_STATES) == case_states.LIVE


def test_a_cards_buttons_are_the_actions_its_state_allows() -> None:
    """The unit's card, state by state, as units know it: accept a new case; answer,
    ask (not a "no replies" case, nor one already asked) while working on it; transfer and
    more time while its deadlines run; nothing once it is answered or ended."""
    from bot.services.notify import card_buttons
    from storage.models import Case

    moment = datetime(2026, 11, 25, tzinfo=ZoneInfo("UTC"))
    work = [["answer"], ["ask"], ["transfer", "extend"]]
    expected = {
        ("new", True): [["accept"], ["transfer", "extend"]],
        ("accepted", True): work, ("reopened", True): work,
        ("accepted", False): [["answer"], ["transfer", "extend"]],
        ("info_requested", True): [["answer"], ["transfer", "extend"]],
    }
    for state in ("new", "accepted", "info_requested", "answered", "reopened", "closed",
                  "withdrawn", "transferred"):
        for reachable in (True, False):
            case = Case(1, "S-2026-00001", "suggestion", "c", "u", "chat", state, False, None,
                        7 if reachable else None, None, None, "zh_CN", "x", moment, moment,
                        moment, moment)
            shown = [[data.rsplit(":", 1)[1] for _, data in row]
                     for row in card_buttons(lambda text: text, case)]
            want = expected.get((state, reachable), expected.get((state, True), []))
            if not reachable:
                want = [row for row in want if row != ["ask"]]
            assert shown == want, (state, reachable)
