"""Alarms in bulk: hundreds due at once (after a stop) are claimed and fired a batch to a
transaction, each once, with its messages; and the alarm job looks at the database only
when an alarm earlier than the armed one may have been written."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.services import alarms
from handlers.jobs import ALARM_SUBJECTS, ALARMS
from storage.models import to_db_time
from storage.sql import Conn
from tests.conftest import SHANGHAI, Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, SUPERVISION

# The same staffed county and dates as the deadline tests (the fixtures come with them).
from tests.handlers.test_deadlines import (  # noqa: F401 - config, officials: fixtures
    ACCEPT_DUE,
    ESCALATE,
    WED_EVENING,
    config,
    officials,
)

# Filed Wednesday 2026-11-25 10:00 (see test_deadlines): the acceptance reminders fire
# Wednesday and Thursday evening, the breach Thursday at 23:59:59, the escalation Monday.
# Beiguan's monthly meeting (Tuesday 1 December) is reminded on Saturday at 09:00.
MEETING_REMINDER = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
CASES = 125  # four acceptance alarms each: 500 due after the stop
NEXT_ALARM = "SELECT MIN(fire_at) FROM alarms"


class Statements:
    """Every SQL statement the bot's database connection runs (``Database.trace``)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def watch(self, bench: Bench) -> Statements:
        await bench.runtime.db.trace(self.seen.append)
        self.seen.clear()
        return self

    def count(self, fragment: str) -> int:
        return sum(fragment in statement for statement in self.seen)

    def writes(self) -> int:
        """Write transactions begun (SQLite's BEGIN IMMEDIATE; PostgreSQL's write lock)."""
        return sum(s.startswith("BEGIN IMMEDIATE") or "pg_advisory_xact_lock(2," in s
                   for s in self.seen)


def texts(bench: Bench, chat_id: int, marker: str) -> list[str]:
    return [m.text or "" for m in bench.emu.sent(chat_id) if marker in (m.text or "")]


async def outcomes(bench: Bench) -> dict[tuple[str, str, str | None], int]:
    rows = await bench.rows("SELECT subject, kind, outcome, COUNT(*) FROM alarms "
                            "WHERE fired_at IS NOT NULL GROUP BY subject, kind, outcome")
    return {(subject, kind, outcome): n for subject, kind, outcome, n in rows}


async def test_500_alarms_due_after_a_stop_fire_once_each_in_few_transactions(
    bench: Bench, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Batches end after BATCH alarms or BATCH_SECONDS of work; here only the count
    # counts, so that the batches are the same on any machine.
    monkeypatch.setattr(alarms, "BATCH_SECONDS", 60.0)
    residents = [bench.user(4400 + n, f"居民{n}") for n in range(5)]
    numbers = [await file_suggestion(bench, residents[n % 5], photo=False)
               for n in range(CASES)]
    await bench.stop()
    bench.clock.set(ESCALATE + timedelta(hours=3))
    await bench.start()  # arms the alarm job for what is already due
    due = await bench.rows("SELECT subject, COUNT(*) FROM alarms WHERE fired_at IS NULL "
                           "AND fire_at <= ? GROUP BY subject ORDER BY subject",
                           to_db_time(bench.clock.now()))
    assert due == [("case", 4 * CASES), ("meeting", 2)]  # the meeting's reminder, summary
    statements = await Statements().watch(bench)
    assert bench.app is not None and bench.app.job_queue is not None
    [job] = bench.app.job_queue.get_jobs_by_name(ALARMS)
    await job.run(bench.app)
    # By time: 125 + 125 reminders and 125 breaches, the meeting's reminder and summary,
    # 125 escalations. Transactions: 200 case alarms; 175 (the meeting's reminder next);
    # the reminder; none (the summary first); the summary; 125; nothing more due. Seven,
    # where one an alarm made 502.
    assert statements.writes() == 7
    assert statements.count("UPDATE alarms SET fired_at") == 4 * CASES + 2
    await bench.app.bot_data.sender.drain()

    # Each fired once, late reminders skipped; the meeting's too, in their turn.
    assert await outcomes(bench) == {
        ("case", "accept_reminder", "skipped"): 2 * CASES,
        ("case", "accept_breach", "fired"): CASES,
        ("case", "accept_escalation", "fired"): CASES,
        ("meeting", "reminder", "fired"): 1,
        ("meeting", "summary", "fired"): 1,
    }
    # Each case's audit trail has its breach and escalation once, in that order.
    trails: dict[int, list[str]] = {}
    for case_id, kind in await bench.rows(
            "SELECT case_id, type FROM case_events WHERE actor_role = 'system' ORDER BY id"):
        trails.setdefault(case_id, []).append(kind)
    assert sorted(" ".join(trail) for trail in trails.values()) == [
        "breach escalation"] * CASES
    # The right messages: the head hears of each breach, saying it is overdue, the
    # supervision group of each escalation, each reporter of theirs; no late reminder.
    breaches = texts(bench, CIVIL_HEAD, "⚠")
    assert len(breaches) == CASES and all("已超期" in t and "2026-11-26 23:59" in t
                                          for t in breaches)
    assert sorted(n for n in numbers for t in breaches if n in t) == sorted(numbers)
    escalations = texts(bench, SUPERVISION, "🚨")
    assert sorted(n for n in numbers for t in escalations if n in t) == sorted(numbers)
    told = [t for r in residents for t in texts(bench, r.id, "已告知监督小组督办")]
    assert len(told) == CASES
    reminders = len(texts(bench, CIVIL_OFFICIAL, "⏰"))
    assert reminders == 0, "the reminders due while down are late: not sent"

    # Nothing fires again: not on another run, not after a restart.
    await bench.run_job(ALARMS)
    await bench.restart()
    await bench.run_job(ALARMS)
    assert len(texts(bench, CIVIL_HEAD, "⚠")) == CASES
    assert len(texts(bench, SUPERVISION, "🚨")) == CASES
    assert sum((await outcomes(bench)).values()) == 4 * CASES + 2


async def test_racing_runs_over_small_batches_fire_each_alarm_once(bench: Bench) -> None:
    resident = bench.user(4450, "王秀兰")
    for _ in range(20):
        await file_suggestion(bench, resident, photo=False)
    bench.clock.set(ACCEPT_DUE)  # both reminders (still in time) and the breach are due
    done = await asyncio.gather(*(alarms.fire_due(bench.runtime, ALARM_SUBJECTS, batch=7)
                                  for _ in range(4)))
    await bench.app.bot_data.sender.drain()  # type: ignore[union-attr]
    assert sum(done) == 20 * 3
    assert await outcomes(bench) == {("case", "accept_reminder", "fired"): 40,
                                     ("case", "accept_breach", "fired"): 20}
    assert len(texts(bench, CIVIL_HEAD, "⚠")) == 20


async def test_the_alarm_job_looks_again_only_for_an_earlier_alarm(bench: Bench) -> None:
    app = bench.app
    assert app is not None and app.job_queue is not None
    assert app.bot_data.alarm_at == MEETING_REMINDER  # armed at start-up
    statements = await Statements().watch(bench)

    # Filing writes alarms earlier than the armed one: the job is re-armed for them.
    resident = bench.user(4460, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    assert app.bot_data.alarm_at == WED_EVENING
    assert len(app.job_queue.get_jobs_by_name(ALARMS)) == 1
    assert statements.count(NEXT_ALARM) == 1, "one look, after the update that wrote them"

    # An update that writes no alarm does not look …
    statements.seen.clear()
    neighbour = bench.user(4461, "李四")
    await bench.say(neighbour, "/help")
    assert statements.seen, "the update did reach the database"
    assert statements.count("alarms") == 0
    # … nor one that writes only alarms later than the armed one.
    statements.seen.clear()
    await file_suggestion(bench, neighbour, photo=False)
    assert statements.count("INSERT INTO alarms") > 0
    assert statements.count(NEXT_ALARM) == 0
    assert app.bot_data.alarm_at == WED_EVENING
    assert len(app.job_queue.get_jobs_by_name(ALARMS)) == 1

    # After its run the job looks again, and arms for the next.
    statements.seen.clear()
    bench.clock.set(WED_EVENING)
    await bench.run_job(ALARMS)
    assert len(texts(bench, CIVIL_OFFICIAL, "⏰")) == 2
    assert statements.count(NEXT_ALARM) == 1
    assert app.bot_data.alarm_at == ACCEPT_DUE

    # Accepting both removes the alarms armed for; nothing earlier was written, so no
    # look: the job wakes at the old moment, finds nothing due, and arms for the next.
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    statements.seen.clear()
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:2:accept")
    assert statements.count(NEXT_ALARM) == 0
    bench.clock.set(ACCEPT_DUE)
    await bench.run_job(ALARMS)
    assert texts(bench, CIVIL_HEAD, "⚠") == []
    assert app.bot_data.alarm_at == MEETING_REMINDER

    # A restart looks at the database whatever was noted before.
    await bench.restart()
    assert bench.app is not None
    assert bench.app.bot_data.alarm_at == MEETING_REMINDER


async def test_a_batch_takes_no_more_alarms_once_its_time_is_up(bench: Bench) -> None:
    resident = bench.user(4470, "王秀兰")
    for _ in range(3):
        await file_suggestion(bench, resident, photo=False)
    bench.clock.set(ACCEPT_DUE)
    statements = await Statements().watch(bench)
    # No time at all: one alarm a transaction (each still claimed with its work), and one
    # more transaction finding nothing due.
    assert await alarms.fire_due(bench.runtime, ALARM_SUBJECTS, seconds=0) == 3 * 3
    assert statements.writes() == 3 * 3 + 1
    assert await outcomes(bench) == {("case", "accept_reminder", "fired"): 6,
                                     ("case", "accept_breach", "fired"): 3}


async def test_an_alarm_that_fails_is_set_aside_and_holds_back_no_other(
    bench: Bench, caplog: pytest.LogCaptureFixture,
) -> None:
    resident = bench.user(4480, "王秀兰")
    for _ in range(3):
        await file_suggestion(bench, resident, photo=False)
    # A broken row (no such deadline) amid the others: its work raises half-way.
    [(answer_due,)] = await bench.rows("SELECT answer_due FROM cases WHERE id = 2")

    def work(conn: Conn) -> None:
        conn.execute(
            "INSERT INTO alarms (subject, subject_id, kind, due, fire_at) "
            "VALUES ('case', 2, 'bogus_breach', ?, ?)", (answer_due, to_db_time(WED_EVENING)))
    await bench.runtime.db.write(work)
    bench.clock.set(ACCEPT_DUE)
    await bench.run_job(ALARMS)
    assert await outcomes(bench) == {("case", "accept_reminder", "fired"): 6,
                                     ("case", "accept_breach", "fired"): 3,
                                     ("case", "bogus_breach", "failed"): 1}
    assert len(texts(bench, CIVIL_HEAD, "⚠")) == 3
    assert len(texts(bench, CIVIL_OFFICIAL, "⏰")) == 6
    # Its half-done work was rolled back with it: two reminders and a breach per case.
    assert await bench.rows("SELECT type, COUNT(*) FROM case_events WHERE actor_role = "
                            "'system' GROUP BY type ORDER BY type") == [("breach", 3),
                                                                      ("reminder", 6)]
    [failed] = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert failed.levelname == "ERROR" and failed.exc_info is not None
    # Once set aside, it is not tried again.
    await bench.run_job(ALARMS)
    assert len(texts(bench, CIVIL_HEAD, "⚠")) == 3
