"""Hostile updates at a running Sunbox: random, malformed and forged, from strangers, groups
and channels, interleaved with a resident filing a real case.

Properties: no handler raises, no stored case or event changes (refused attempts only add
``refused`` events), and the resident still gets a case number. The seed is printed; rerun
one with ``SUNBOX_FUZZ_SEED=<seed>``. See ``tests/fuzz_support.py`` for which inputs reach
the bot.
"""

from __future__ import annotations

import copy
import os
import random
import time
from typing import Any

import pytest
from telegram import Update

from bot.config import Config
from tests.conftest import Bench
from tests.fuzz_support import GROUP_BASE, Junk, make_update, parses
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import (
    AGRI_OFFICIAL,
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    FINANCE_HEAD,
    FINANCE_OFFICIAL,
    SUPERVISION,
    staffed,
)

STAFF = (CIVIL_OFFICIAL, CIVIL_HEAD, AGRI_OFFICIAL, FINANCE_OFFICIAL, FINANCE_HEAD, SUPERVISION)
RESIDENT, CONTROL = 4201, 4202
SEEDS = [int(os.environ["SUNBOX_FUZZ_SEED"])] if "SUNBOX_FUZZ_SEED" in os.environ else [
    20261125, 7, 4242]
PER_ROUND = 40  # junk updates between two steps of the control resident


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


async def snapshot(bench: Bench) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every stored case, and every event except refused attempts."""
    cases = await bench.rows("SELECT * FROM cases ORDER BY id")
    events = await bench.rows("SELECT * FROM case_events WHERE type != 'refused' ORDER BY id")
    return cases, events


class Fuzzer:
    """Queues junk before each delivery the control resident's steps make."""

    def __init__(self, bench: Bench, junk: Junk, *, stale: float = 0.0) -> None:
        self.bench = bench
        self.junk = junk
        self.stale = stale
        self.sent = 0
        self.dropped = 0
        self.failures: list[tuple[dict[str, Any], BaseException]] = []
        self.quiet_deliver = bench.deliver
        # Strangers have opened a chat with the bot, groups have it as a member, as on
        # Telegram (the emulator answers "chat not found" otherwise).
        for telegram_id in junk.strangers:
            bench.user(telegram_id, f"陌生人{telegram_id}")
        for offset in range(51):
            bench.emu.group(GROUP_BASE - offset, f"群{offset}")
        bench.emu.group(GROUP_BASE - 999, "频道")

        async def record(update: object, context: Any) -> None:
            raw = update.to_dict() if isinstance(update, Update) else {"raw": repr(update)}
            assert context.error is not None
            self.failures.append((raw, context.error))

        assert bench.app is not None
        bench.app.add_error_handler(record)

    def queue(self, count: int) -> None:
        assert self.bench.app is not None
        for _ in range(count):
            update = make_update(self.junk)
            if parses(update, self.bench.app.bot):
                query = update.get("callback_query")
                if isinstance(query, dict) and self.junk.rng.random() >= self.stale:
                    # A press Telegram has just delivered (else: one too old to answer).
                    self.bench.emu.open_callbacks[str(query.get("id"))] = 1
                for message in update.values():
                    # The emulator knows the user's message, so the bot can reply to it.
                    if isinstance(message, dict) and "message_id" in message and \
                            isinstance(message.get("chat"), dict):
                        key = (message["chat"]["id"], message["message_id"])
                        self.bench.emu.user_messages[key] = copy.deepcopy(message)
                self.bench.emu.send_raw(update)
                self.sent += 1
            else:
                self.dropped += 1

    async def noisy_deliver(self) -> None:
        """Junk, then whatever the resident did, then more junk: all in one batch."""
        pending = self.bench.emu.take_updates()
        self.queue(PER_ROUND // 2)
        for update in pending:
            self.bench.emu.duplicate(update)
        self.queue(PER_ROUND // 2)
        await self.quiet_deliver()


@pytest.mark.parametrize("wrong_types", [False, True], ids=["telegram-shaped", "wrong-types"])
@pytest.mark.parametrize("seed", SEEDS)
async def test_junk_changes_nothing_and_a_resident_is_still_served(
    bench: Bench, seed: int, wrong_types: bool, capsys: pytest.CaptureFixture[str],
) -> None:
    """Telegram-shaped junk must not make any handler raise. Values of the wrong type (which
    the Bot API never sends, but PTB passes through) may make a handler raise into the error
    handler; they still must not change a case or stop the bot serving the resident."""
    for telegram_id in STAFF:
        bench.user(telegram_id, f"员工{telegram_id}")
    # Something to protect: one case accepted, one waiting.
    resident = bench.user(RESIDENT, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    await file_suggestion(bench, resident, "signed", photo=False)
    await bench.tap(bench.user(CIVIL_OFFICIAL, "赵承办"), "case:1:accept")
    cases_before, events_before = await snapshot(bench)
    assert len(cases_before) == 2

    with capsys.disabled():
        print(f"\nfuzz seed {seed} (rerun: SUNBOX_FUZZ_SEED={seed})")
    junk = Junk(random.Random(seed), STAFF, range(1, 3), wrong_types=wrong_types)
    fuzzer = Fuzzer(bench, junk)
    bench.deliver = fuzzer.noisy_deliver  # type: ignore[method-assign]
    control = bench.user(CONTROL, "李控制")
    started = time.perf_counter()
    number = await file_suggestion(bench, control, photo=True)
    elapsed = time.perf_counter() - started
    bench.deliver = fuzzer.quiet_deliver  # type: ignore[method-assign]
    fuzzer.queue(PER_ROUND)
    await bench.deliver()

    with capsys.disabled():
        print(f"  {fuzzer.sent} junk updates delivered, {fuzzer.dropped} unparseable dropped, "
              f"kinds {junk.kinds}; control filed {number} in {elapsed:.2f} s")
    assert fuzzer.sent >= 300
    if wrong_types:
        kinds = sorted({type(error).__name__ for _, error in fuzzer.failures})
        with capsys.disabled():
            print(f"  wrong types: {len(fuzzer.failures)} raised into the error handler: {kinds}")
        bench.errors.clear()
        fuzzer.failures.clear()
    assert not fuzzer.failures, f"seed {seed}: handlers raised:\n" + "\n".join(
        f"{error!r} on {update}"[:3000] for update, error in fuzzer.failures[:5])
    cases_after, events_after = await snapshot(bench)
    assert cases_after[:2] == cases_before, f"seed {seed}: a stored case changed"
    assert events_after[:len(events_before)] == events_before
    assert [row[1] for row in cases_after[2:]] == [number], "only the control's case is new"
    new_events = await bench.rows(
        "SELECT type FROM case_events WHERE id > ? AND type != 'refused' ORDER BY id",
        events_before[-1][0])
    assert set(new_events) <= {("filed",)}, new_events
    assert (await bench.rows("SELECT count(*) FROM answers"))[0][0] == 0
    assert (await bench.rows("SELECT count(*) FROM extensions"))[0][0] == 0


TOO_BIG = str(2**63)  # one past SQLite's largest INTEGER
FORGED_IDS = [f"case:{TOO_BIG}:{action}" for action in ("accept", "answer", "transfer", "ask",
                                                         "extend")] + [
    f"sign:{TOO_BIG}:ok", f"sign:{TOO_BIG}:back", f"ext:{TOO_BIG}:ok", f"ext:{TOO_BIG}:no",
    f"rate:{TOO_BIG}:satisfied", f"rep:{TOO_BIG}:reply", f"my:open:{TOO_BIG}",
    f"my:wd:{TOO_BIG}", f"my:wdyes:{TOO_BIG}", f"my:add:{TOO_BIG}", f"inb:open:{TOO_BIG}",
    f"case:{'9' * 50}:accept",
]


@pytest.mark.parametrize("who", [CIVIL_OFFICIAL, RESIDENT])
@pytest.mark.parametrize("data", FORGED_IDS)
async def test_ids_beyond_the_database_range_are_refused_quietly(
    bench: Bench, who: int, data: str,
) -> None:
    """A forged button naming an id SQLite cannot even hold is a stale button, no crash."""
    await file_suggestion(bench, bench.user(RESIDENT, "王秀兰"), photo=False)
    person = bench.user(who, f"用户{who}")
    cases_before, events_before = await snapshot(bench)
    await bench.press_data(person, 1, data)
    assert not bench.errors, f"{data!r} by {who}: {bench.errors!r}"
    assert await snapshot(bench) == (cases_before, events_before)


async def test_a_press_too_old_to_answer_still_files_and_shows_the_number(bench: Bench) -> None:
    """The bot was down; the resident's confirm waited in Telegram's queue past the ~15 s in
    which a callback query can be answered. Answering it fails; the case must still be
    filed and the number shown (not "something went wrong")."""
    from tests.handlers.flows import to_text_step

    resident = bench.user(RESIDENT, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, "村里的低保名单没有公示。")
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    bench.emu.press(resident, bench.find_data_message(resident, "new:confirm"), "new:confirm")
    bench.emu.open_callbacks.clear()  # expired while the bot was away
    before = len(bench.emu.sent(resident.id))
    await bench.deliver()
    stale = [error for error in bench.errors if "too old" in str(error)]
    bench.errors.clear()
    assert (await bench.rows("SELECT count(*) FROM cases"))[0][0] == 1
    assert not stale, f"answering a stale query raised: {stale!r}"
    assert Bench.number_in(bench.emu.sent(resident.id)[before:])
