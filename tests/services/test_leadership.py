"""Several instances on one database: one leads (the lease ``leader`` in the database),
and only the leader sends the outbox's rounds, fires the alarms and runs the jobs. A leader
that dies is replaced within the lease timeout, and what it left ``sending`` goes once more,
as after a crash; one that stops hands over at once. Time is the bench's hand-moved clock:
nothing here waits for the real one."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from bot.config import Config
from bot.services.leadership import LEADER, Leadership, LeaseLeadership
from handlers import jobs
from handlers.jobs import ALARMS, DIGEST
from storage import leases, outbox
from storage.sql import Conn
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import CIVIL_HEAD, CIVIL_OFFICIAL, SUPERVISION, staffed
from tests.handlers.test_deadlines import ACCEPT_DUE, texts
from tests.transport.test_outbox import owe

#: The lease timeout of the tests (15 s by default).
TIMEOUT = 2.0
STEP = timedelta(seconds=TIMEOUT / 3)


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


def member(bench: Bench, holder: str) -> LeaseLeadership:
    """One instance's leadership on the bench's database and clock."""
    return LeaseLeadership(bench.runtime.db, bench.clock, TIMEOUT, holder=holder)


class Calls:
    """Counts the callbacks a leadership makes."""

    def __init__(self, leadership: Leadership) -> None:
        self.gained = self.lost = self.renewed = 0
        leadership.on_gain(self._gain)
        leadership.on_loss(self._lose)
        leadership.on_renew(self._renew)

    async def _gain(self) -> None:
        self.gained += 1

    async def _lose(self) -> None:
        self.lost += 1

    async def _renew(self) -> None:
        self.renewed += 1


async def holder(bench: Bench) -> str | None:
    lease = await bench.runtime.db.read(leases.holder_of, LEADER)
    return None if lease is None else lease.holder


async def test_a_lease_is_taken_renewed_by_its_holder_and_taken_over_once_run_out(
        bench: Bench) -> None:
    db, now = bench.runtime.db, bench.clock.now()
    later = now + timedelta(seconds=10)
    assert await db.write(leases.claim, "x", "a", now, later)
    assert not await db.write(leases.claim, "x", "b", now, later), "held by another"
    assert await db.write(leases.claim, "x", "a", now, later + STEP), "renewed"
    assert not await db.write(leases.claim, "x", "b", later + STEP, later), "not run out yet"
    assert await db.write(leases.claim, "x", "b", later + 2 * STEP, later + 3 * STEP), "run out"
    lease = await db.read(leases.holder_of, "x")
    assert lease is not None and (lease.holder, lease.until) == ("b", later + 3 * STEP)
    assert not await db.write(leases.release, "x", "a"), "only the holder releases"
    assert await db.write(leases.release, "x", "b")
    assert await db.read(leases.holder_of, "x") is None
    assert await db.write(leases.claim, "x", "a", now, later), "free again"


async def test_a_single_instance_leads_without_a_lease(bench: Bench) -> None:
    assert bench.runtime.leadership.is_leader
    assert bench.runtime.lease_timeout == 15.0
    assert await bench.rows("SELECT COUNT(*) FROM leases") == [(0,)]


async def test_of_two_instances_only_one_leads_while_it_renews(bench: Bench) -> None:
    a, b = member(bench, "a"), member(bench, "b")
    calls_a, calls_b = Calls(a), Calls(b)
    assert await a.tick() and a.is_leader
    assert not await b.tick() and not b.is_leader
    for _ in range(30):  # ten lease timeouts
        bench.clock.advance(STEP)
        assert await a.tick() and not await b.tick()
        assert a.is_leader and not b.is_leader
    assert await holder(bench) == "a"
    assert (calls_a.gained, calls_a.renewed, calls_a.lost) == (1, 30, 0)
    assert (calls_b.gained, calls_b.renewed, calls_b.lost) == (0, 0, 0)


async def test_a_dead_leader_is_replaced_within_the_lease_timeout(bench: Bench) -> None:
    a, b = member(bench, "a"), member(bench, "b")
    calls_a, calls_b = Calls(a), Calls(b)
    await a.start()
    await a.stop(release=False)  # killed: it renews no more, and releases nothing
    died = bench.clock.now()
    assert await holder(bench) == "a"
    took_over: datetime | None = None
    while took_over is None:
        # Never two leaders: the dead one stops counting itself one before the lease ends.
        dead_leads = a.is_leader
        assert not (await b.tick() and dead_leads)
        if b.is_leader:
            took_over = bench.clock.now()
        bench.clock.advance(STEP / 4)
    assert timedelta(0) < took_over - died <= timedelta(seconds=TIMEOUT)
    assert await holder(bench) == "b" and calls_b.gained == 1
    # Back from the dead (a pause, not a kill): it finds the lease gone and stops leading.
    assert calls_a.gained == 1 and not await a.tick()
    assert calls_a.lost == 1 and not a.is_leader and b.is_leader


async def test_a_leader_that_cannot_renew_stops_before_another_may_take_over(
        bench: Bench) -> None:
    a, b = member(bench, "a"), member(bench, "b")
    assert await a.tick()
    claimed = bench.clock.now()
    stopped = taken = None
    while taken is None:
        bench.clock.advance(timedelta(milliseconds=50))
        if stopped is None and not a.is_leader:
            stopped = bench.clock.now()
        if await b.tick():
            taken = bench.clock.now()
    assert stopped is not None and stopped < taken
    assert taken - claimed <= timedelta(seconds=TIMEOUT)


async def test_a_leader_whose_lease_ran_out_by_its_clock_renews_before_working(
        bench: Bench) -> None:
    """A clock moved by hand, or an event loop held up past the lease: the leader renews
    when asked before work, and keeps the lead unless another took it meanwhile."""
    a, b = member(bench, "a"), member(bench, "b")
    calls_a = Calls(a)
    assert await a.tick()
    bench.clock.advance(timedelta(hours=1))
    assert not a.is_leader
    assert await a.confirm() and a.is_leader and calls_a.gained == 1
    assert await b.confirm() is False, "a follower does not try"
    bench.clock.advance(timedelta(hours=1))
    assert await b.tick(), "the lease ran out: another instance takes it"
    assert not await a.confirm() and calls_a.lost == 1


async def test_a_leader_that_stops_hands_over_at_once(bench: Bench) -> None:
    a, b = member(bench, "a"), member(bench, "b")
    calls_b = Calls(b)
    assert await a.tick() and not await b.tick()
    await a.stop()
    assert not a.is_leader and await holder(bench) is None
    assert await b.tick() and calls_b.gained == 1, "no wait for the lease to run out"


async def test_a_failed_take_over_is_tried_again_and_counts_only_once_done(
        bench: Bench) -> None:
    b = member(bench, "b")
    tries: list[int] = []

    async def flaky() -> None:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("the database went away")

    calls = Calls(b)
    b.on_gain(flaky)
    assert not await b.tick() and not b.is_leader, "not a leader until it has taken over"
    bench.clock.advance(STEP)
    assert await b.tick() and b.is_leader
    assert len(tries) == 2 and calls.gained == 1, "what was done is not done twice"


async def test_only_the_leader_sends_fires_alarms_and_runs_the_jobs(bench: Bench) -> None:
    resident = bench.user(4301, "王秀兰")
    for official in (CIVIL_OFFICIAL, CIVIL_HEAD, SUPERVISION):
        bench.user(official, f"员{official}")
    number = await file_suggestion(bench, resident, photo=False)
    # Another instance leads; this one follows.
    now = bench.clock.now()
    assert await bench.runtime.db.write(leases.claim, LEADER, "other", now,
                                        now + timedelta(hours=1))
    me = member(bench, "me")
    jobs.lead(bench.app, me)  # type: ignore[arg-type]
    assert not await me.tick()
    bench.clock.set(ACCEPT_DUE + timedelta(hours=9))  # breached, and overdue for the digest
    await owe(bench, [resident.id])
    [(owed,)] = await bench.rows("SELECT MAX(id) FROM outbox")
    await bench.run_job(ALARMS)
    await bench.run_job(DIGEST)
    assert texts(bench, CIVIL_HEAD, "⚠") == [] and texts(bench, SUPERVISION, "📋") == []
    assert await bench.rows("SELECT COUNT(*) FROM alarms WHERE fired_at IS NOT NULL") == [(0,)]
    assert await bench.rows("SELECT status FROM outbox WHERE id = ?", owed) == [
        ("pending",)], "the follower's drain sends nothing"
    app = bench.app
    assert app is not None and app.job_queue is not None
    assert await jobs.arm(app, force=True) is None, "a follower arms no alarm job"
    for job in app.job_queue.get_jobs_by_name(ALARMS):
        job.schedule_removal()
    # The other instance goes away; this one takes over, and does what was waiting.
    await bench.runtime.db.write(leases.release, LEADER, "other")
    assert await me.tick()
    assert len(app.job_queue.get_jobs_by_name(ALARMS)) == 1, "armed on taking over"
    await bench.run_job(ALARMS)
    await bench.run_job(DIGEST)
    [breach] = texts(bench, CIVIL_HEAD, "⚠")
    assert number in breach
    [digest] = texts(bench, SUPERVISION, "📋")
    assert number in digest
    assert await bench.rows("SELECT status FROM outbox WHERE id = ?", owed) == [("sent",)]
    await bench.run_job(ALARMS)
    assert len(texts(bench, CIVIL_HEAD, "⚠")) == 1, "each alarm fires once"


async def test_what_a_dead_leader_left_sending_goes_once_more_from_the_next(
        bench: Bench) -> None:
    user = bench.user(7600, "p").id
    dead = member(bench, "dead")
    assert await dead.tick()
    me = member(bench, "me")
    jobs.lead(bench.app, me)  # type: ignore[arg-type]
    assert not await me.tick()
    await owe(bench, [user, user])

    def handed_to_telegram(conn: Conn) -> None:
        # The dead leader had both rows in hand, the second already once more after a crash.
        conn.execute("UPDATE outbox SET status = 'sending'")
        conn.execute("UPDATE outbox SET resent = 1 WHERE id = 2")

    await bench.runtime.db.write(handed_to_telegram)
    sender = bench.app.bot_data.sender  # type: ignore[union-attr]
    assert await sender.drain() == 0
    bench.clock.advance(timedelta(seconds=TIMEOUT))  # the dead leader renews no more
    assert await me.tick()  # takes over: recovers as after a crash
    await sender.drain()
    for _ in range(3):
        bench.clock.advance(STEP)
        assert await me.tick()
        await sender.drain()
    assert await bench.rows("SELECT id, status, resent FROM outbox ORDER BY id") == [
        (1, "sent", 1), (2, "failed", 1)]
    assert len(bench.emu.sent(user)) == 1


async def test_start_leadership_holds_the_lease_and_gives_it_up_on_stop(bench: Bench) -> None:
    app = bench.app
    assert app is not None
    leadership = await jobs.start_leadership(app)
    try:
        assert leadership.is_leader and bench.runtime.leadership is leadership
        assert leadership.lease_timeout == bench.runtime.lease_timeout
        assert await holder(bench) == leadership.holder
    finally:
        await jobs.stop_leadership(app)
    assert not leadership.is_leader and await holder(bench) is None


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_only_webhook_mode_on_postgresql_holds_a_lease(
        bench: Bench, mode: str) -> None:
    bench.config = dataclasses.replace(bench.config, telegram=dataclasses.replace(
        bench.config.telegram, mode=mode))
    await bench.restart()
    leadership = bench.runtime.leadership
    assert leadership.is_leader
    clustered = mode == "webhook" and bench.runtime.db.engine == "postgresql"
    assert isinstance(leadership, LeaseLeadership) is clustered
    assert await holder(bench) == (leadership.holder if clustered else None)
    await bench.stop()
    assert not leadership.is_leader or not clustered, "given up on stop"


async def test_the_leader_sends_again_the_rows_of_instances_gone_only(bench: Bench) -> None:
    """Several instances: a row a live instance marked ``sending`` (a direct reply under
    way) is its own to finish; one of an instance whose membership ran out, or of none
    named, goes once more."""
    users = [bench.user(7700 + i, "p").id for i in range(3)]
    live, gone = member(bench, "live"), member(bench, "gone")
    assert await live.tick() and not await gone.tick()  # both members, one leads
    await owe(bench, users)

    def in_hand(conn: Conn) -> None:
        conn.execute("UPDATE outbox SET status = 'sending', claimed_by = CASE id "
                     "WHEN 1 THEN 'live' WHEN 2 THEN 'gone' ELSE NULL END")

    await bench.runtime.db.write(in_hand)
    assert await bench.runtime.db.write(outbox.recover_orphans, now=bench.clock.now()) == (1, 0)
    bench.clock.advance(timedelta(seconds=TIMEOUT))  # "gone" renews no more
    assert await live.tick()
    assert await bench.runtime.db.write(outbox.recover_orphans, now=bench.clock.now()) == (1, 0)
    assert await bench.rows("SELECT id, status, resent FROM outbox ORDER BY id") == [
        (1, "sending", 0), (2, "pending", 1), (3, "pending", 1)]
    assert await bench.rows("SELECT name FROM leases ORDER BY name") == [
        ("leader",), ("member:live",)], "the membership that ran out is gone"
