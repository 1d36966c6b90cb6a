"""Issues 4 and 7: scale of open work — 100,000 open cases with deadlines in the database.

    .venv/bin/python -m bench.open_cases [--cases 100000] [--soon 1000] [--repeat 3]
        [--only startup,lateness,catch-up,digest]

Figures, each beside a baseline measured in the same run:

* start-up time until the bot answers: a fresh process builds the real Application
  (``build_application`` on the in-process emulator transport, outbox loop on, the durable
  poller as ``sunbox run`` uses), runs initialize + post_init (which arms the alarm job) +
  start, then a resident sends ``/start`` and the clock stops when the welcome arrives.
  Timed from the moment the process was spawned (interpreter and imports included).
  Baseline: the same on an empty (migrated) database. Target < 3 s.
* resident memory (VmRSS) of that process once it has answered. Baseline: empty database.
  Target < 150 MB.
* how late deadlines fire: ``--soon`` open cases get a deadline (``storage.cases.set_due`` +
  ``replan_case``, as an extension does) at whole seconds 3, 4 and 5 s after the bot is
  expected to be up, so the reminder "at the deadline" and the breach of each fall due
  together; the bot runs with its JobQueue and outbox loop, and this process watches the
  alarms table (a second SQLite reader, every 50 ms) for the moment each alarm's work is
  committed. Lateness = committed - fire_at; ``fired_at - fire_at`` from the table is
  reported too (the table keeps whole seconds only). Baseline: the same ``--soon`` cases in
  a database holding only them. Target < 2 s late (p99 and max). Measured "quiet" (no
  other traffic) and "busy" (a resident sends /help every 0.25 s while alarms fire).
* start-up after the bot was down for 24 h: the seeded alarms of the last day are left
  unfired; time until /start is answered, until every missed alarm is done (quiet and
  busy), how long the shutdown takes when asked, and how fast /help is answered meanwhile.
* the daily overdue digest over all open cases: its time and whether it counts them all.

Every bot run is a child process on a fresh copy of the seeded database. ``--only`` runs
some of the scenarios and prints their figures without writing the results file.
Seeding goes through ``storage.cases.create_case``, ``mark_accepted``/``append_event`` and
``bot.services.alarms.replan_case`` in transactions of a few thousand cases on the example
configuration, on a connection of the seeder's own (``storage.sql.connect``: 15 s for
100,000). Cases are filed over the last 30 days with the configured deadlines, so some
are new, most accepted and some overdue; alarms whose moment has passed are marked fired, as
the running bot would have done. Figures go to stdout and ``bench/results/open_cases.json``.
Not part of the test suite (pytest collects ``tests/`` only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.sql import Conn, Row, connect

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
RESIDENT = 7_000_001  # the resident who sends /start
REPORTER_CHATS = 5_000  # seeded cases report back to this many resident chats
BATCH = 5_000  # cases per seeding transaction
SOON_SECONDS = (3, 4, 5)  # the soon deadlines, seconds after the bot should be up
POLL = 0.05  # how often this process looks at the alarms table
TRAFFIC = 0.25  # "busy": a resident asks the running bot for /help 4 times a second
CATCH_UP_LIMIT = {0.0: 120.0, TRAFFIC: 60.0}  # how long the catch-up is watched (s)
STOP_LIMIT = 20.0  # a bot not shut down this long after being asked is killed (s)
STARTUP_TARGET = 3.0
RSS_TARGET = 150.0
LATE_TARGET = 2.0
HOURS_DOWN = 24  # the catch-up scenario
SCENARIOS = ("startup", "lateness", "catch-up", "digest")
DOWNTIME = timedelta(hours=HOURS_DOWN)


# ----------------------------------------------------------------------------- helpers

def _config(database: Path, token: str | None = None) -> Any:
    """The example configuration with the benchmark's database (and emulator token)."""
    from bot.config import default_config_path, load_config

    base = load_config(default_config_path())
    config = dataclasses.replace(
        base, general=dataclasses.replace(base.general, database=str(database)))
    if token is not None:
        config = dataclasses.replace(
            config, telegram=dataclasses.replace(config.telegram, token=token))
    return config


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return math.nan


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# ----------------------------------------------------------------------------- the bot process

async def _serve(database: Path, spawned: float, probe_every: float) -> None:
    """The bot under test (child process): start, answer /start, run until stdin closes."""
    marks = {"spawned": spawned, "main": time.monotonic()}
    from bot.app import build_application
    from bot.emulator.core import Emulator
    from bot.emulator.transport import EmulatorRequest
    from bot.telegram.poller import DurablePoller

    marks["imported"] = time.monotonic()
    emu = Emulator()
    config = _config(database, emu.token)
    for member in config.members:  # officials, heads and supervisors can be sent to
        emu.user(member.telegram_id, f"Official {member.telegram_id}")
    for unit in config.units:
        if unit.group_chat_id is not None:
            emu.group(unit.group_chat_id, unit.name_en)
    for chat in range(REPORTER_CHATS):
        emu.user(RESIDENT + 1 + chat, f"Resident {chat}")
    resident = emu.user(RESIDENT, "Bench")
    app = build_application(config, request=EmulatorRequest(emu),
                            get_updates_request=EmulatorRequest(emu), database=str(database))
    errors: list[str] = []

    async def collect(update: object, context: Any) -> None:
        errors.append(repr(context.error))

    app.add_error_handler(collect)
    marks["built"] = time.monotonic()
    await app.initialize()
    marks["initialized"] = time.monotonic()
    assert app.post_init is not None
    await app.post_init(app)
    marks["post_init"] = time.monotonic()
    await app.start()
    marks["started"] = time.monotonic()
    poller = DurablePoller(app)
    polling = asyncio.create_task(poller.run())
    emu.send_text(resident, "/start")
    welcome = await emu.wait_for(resident.id, timeout=120)
    marks["answered"] = time.monotonic()
    ready = {"event": "ready", "marks": marks, "wall": time.time(),
             "rss_mb": _status_mb("VmRSS"), "hwm_mb": _status_mb("VmHWM"),
             "welcome": (welcome.text or "")[:40]}
    print(json.dumps(ready, ensure_ascii=False), flush=True)
    probes: list[float] = []

    async def probe() -> None:
        """Every ``probe_every`` s the resident asks for /help: is the bot answering?"""
        while probe_every > 0:
            await asyncio.sleep(probe_every)
            before = len(emu.sent(resident.id))
            asked = time.monotonic()
            emu.send_text(resident, "/help")
            await emu.wait_for(resident.id, after=before, timeout=120)
            probes.append(time.monotonic() - asked)

    probing = asyncio.create_task(probe())
    await asyncio.to_thread(sys.stdin.read)  # the parent closes stdin when it has seen enough
    probing.cancel()
    stopping = {"event": "stopping", "rss_mb": _status_mb("VmRSS"),
                "hwm_mb": _status_mb("VmHWM"), "probes_s": probes, "errors": errors,
                "sent": sum(1 for m in emu.all_sent() if m.chat_id != RESIDENT)}
    print(json.dumps(stopping), flush=True)
    asked = time.monotonic()
    poller.stop()
    await polling
    await app.stop()  # waits for running jobs
    await app.shutdown()
    assert app.post_shutdown is not None
    await app.post_shutdown(app)
    print(json.dumps({"event": "done", "stop_s": time.monotonic() - asked}), flush=True)


@dataclasses.dataclass
class Child:
    """A bot process; ``ready`` is its first report, ``done`` its last."""

    process: subprocess.Popen[str]
    log: Path
    spawned: float
    ready: dict[str, Any] = dataclasses.field(default_factory=dict)
    done: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def start(cls, database: Path, log: Path, probe_every: float = 0.0) -> Child:
        spawned = time.monotonic()
        with log.open("a", encoding="utf-8") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.open_cases", "--serve", str(database),
                 "--spawned", repr(spawned), "--probe-every", repr(probe_every)],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        child = cls(process, log, spawned)
        try:
            child.ready = child._read("ready")
        except BaseException:
            child.kill()
            raise
        return child

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _read(self, event: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            tail = self.log.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"the bot process ended before '{event}':\n{tail}")
        report: dict[str, Any] = json.loads(line)
        assert report["event"] == event, report
        return report

    def stop(self) -> dict[str, Any]:
        """Ask the bot to shut down (close its stdin); its figures from just before, and
        how long the shutdown took (``stop_s``; None if it was killed after STOP_LIMIT s)."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.close()
            self.done = self._read("stopping")
            assert self.process.stdout is not None
            try:
                self.process.wait(timeout=STOP_LIMIT)  # one short line left: no pipe stall
                last = self.process.stdout.read().splitlines()[-1:]
                self.done["stop_s"] = json.loads(last[0])["stop_s"] if last else None
            except subprocess.TimeoutExpired:
                self.done["stop_s"] = None
        finally:
            self.kill()
        return self.done

    @property
    def startup(self) -> float:
        return float(self.ready["marks"]["answered"] - self.spawned)


# ----------------------------------------------------------------------------- seeding

async def _open(database: Path) -> Any:
    from bot.clock import SystemClock
    from bot.runtime import Runtime

    runtime = Runtime(_config(database), SystemClock(), str(database))
    await runtime.open()
    return runtime


async def seed(database: Path, cases: int, rng_seed: int = 4) -> dict[str, Any]:
    """``cases`` open cases filed over the last 30 days, with their alarms.

    The schema and the configured units, categories and members come from the real
    ``Runtime.open``; each case from ``create_case`` (+ ``mark_accepted`` and its event for
    most) and ``replan_case``, ``BATCH`` cases per transaction.
    """
    from bot.services.alarms import replan_case
    from bot.services.deadlines import due_times
    from storage import cases as case_repo
    from storage.models import NewCase

    rng = random.Random(rng_seed)
    started = time.perf_counter()
    runtime = await _open(database)
    try:
        def work(db: Conn) -> list[int]:
            with db.execute("SELECT id FROM people ORDER BY id") as cur:
                return [row[0] for row in cur.fetchall()]
        officials = await runtime.db.read(work)
    finally:
        await runtime.close()  # the runtime's config, calendar and clock serve on
    config = runtime.config
    sealer = runtime.sealer
    tz = config.general.tz
    categories = list(config.categories)
    now = datetime.now(UTC)
    # The storage functions on a connection of their own, in this thread: no hop to a
    # database thread for each batch's thousands of statements.
    conn = connect(str(database))
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        made = 0
        while made < cases:
            conn.execute("BEGIN IMMEDIATE")
            for i in range(made, min(cases, made + BATCH)):
                category = categories[i % len(categories)]
                kind = "report" if i % 5 == 0 else "suggestion"
                chat = RESIDENT + 1 + i % REPORTER_CHATS
                filed = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
                accept_due, answer_due = due_times(config, runtime.calendar, kind,
                                                   category.id, filed)
                new = NewCase(
                    kind=kind, category_id=category.id, unit_id=category.unit,
                    channel="chat", anonymous=kind == "suggestion", reporter_person_id=None,
                    # An anonymous case's chat is sealed, as the bot files it (bot/seal.py).
                    delivery_chat_id=None if kind == "suggestion" else chat,
                    delivery_sealed=sealer.seal_chat(chat) if kind == "suggestion" else None,
                    reporter_name="王五" if kind == "report" else None,
                    reporter_phone="13800000000" if kind == "report" else None,
                    language="zh_CN", text=f"第 {i} 号测试意见：路灯不亮，请尽快修理。",
                    created_at=filed, accept_due=accept_due, answer_due=answer_due,
                    idempotency_key=f"bench-open-{i}",
                )
                case, _ = case_repo.create_case(
                    conn, new, year=filed.astimezone(tz).year, actor_role="reporter")
                # Most cases were accepted in time; some recent ones are still new, a few
                # old ones were never accepted (overdue).
                if officials and rng.random() < (0.95 if accept_due <= now else 0.4):
                    at = filed + (min(accept_due, now) - filed) * rng.random()
                    official = officials[i % len(officials)]
                    if case_repo.mark_accepted(conn, case.id, official, at):
                        case_repo.append_event(conn, case.id, at, official, "official",
                                               "accepted", "new", "accepted")
                replan_case(conn, runtime, case.id, now=now)
            conn.execute("COMMIT")
            made = min(cases, made + BATCH)
            print(f"\r  seeded {made:,}/{cases:,} cases", end="", file=sys.stderr, flush=True)
        if cases:
            print(file=sys.stderr)
    finally:
        conn.close()
    return {"cases": cases, "seconds": time.perf_counter() - started}


def mark_fired(database: Path, horizon: datetime) -> int:
    """Mark the case alarms due up to ``horizon`` fired, as the running bot would have done;
    returns how many."""
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as conn:
        cur = conn.execute(
            "UPDATE alarms SET fired_at = fire_at, outcome = 'fired' "
            "WHERE subject = 'case' AND fired_at IS NULL AND fire_at <= ?",
            (horizon.isoformat(timespec="seconds"),))
        return cur.rowcount


def describe(database: Path) -> dict[str, Any]:
    """What a seeded database holds."""
    moment = datetime.now(UTC).isoformat(timespec="seconds")
    with contextlib.closing(sqlite3.connect(database)) as conn:
        states = dict(conn.execute("SELECT state, COUNT(*) FROM cases GROUP BY state"))
        alarms, pending = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(fired_at IS NULL), 0) FROM alarms "
            "WHERE subject = 'case'").fetchone()
        overdue, = conn.execute(
            "SELECT COUNT(*) FROM cases WHERE state IN ('new', 'accepted') AND "
            "(CASE WHEN state = 'new' THEN accept_due ELSE answer_due END) < ?",
            (moment,)).fetchone()
        events, = conn.execute("SELECT COUNT(*) FROM case_events").fetchone()
    return {"states": states, "overdue": overdue, "case_events": events, "alarms": alarms,
            "alarms_pending": pending, "db_mb": round(_db_mb(database), 1)}


def _db_mb(database: Path) -> float:
    return sum(p.stat().st_size for p in database.parent.glob(database.name + "*")) / 2**20


async def move_deadlines(database: Path, count: int, first: datetime) -> list[int]:
    """``count`` open cases get a deadline at ``first`` + 0, 1 or 2 s (as an extension
    would move it), their alarms re-planned; returns the ids of the alarms due then."""
    from bot.services.alarms import replan_case
    from storage import cases as case_repo

    runtime = await _open(database)
    rng = random.Random(7)
    try:
        def work(conn: Conn) -> list[int]:
            with conn.execute(
                "SELECT id, state FROM cases WHERE state IN ('new', 'accepted')"
            ) as cur:
                rows = [(row[0], row[1]) for row in cur.fetchall()]
            chosen = rng.sample(rows, min(count, len(rows)))
            now = datetime.now(UTC)
            for n, (case_id, state) in enumerate(chosen):
                due = first + timedelta(seconds=n % len(SOON_SECONDS))
                case_repo.set_due(conn, case_id,
                                  "accept" if state == "new" else "answer", due, now)
                replan_case(conn, runtime, case_id, now=now)
            last = first + timedelta(seconds=len(SOON_SECONDS))
            with conn.execute(
                "SELECT id FROM alarms WHERE subject = 'case' AND fired_at IS NULL "
                "AND fire_at < ?", (last.isoformat(timespec="seconds"),),
            ) as cur:
                return [row[0] for row in cur.fetchall()]
        return await runtime.db.write(work)
    finally:
        await runtime.close()


def fresh_copy(seeded: Path, run: Path) -> Path:
    """A pristine copy of a seeded database for one bot run (each run starts alike)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(run) + suffix).unlink(missing_ok=True)
        source = Path(str(seeded) + suffix)
        if suffix != "-shm" and source.exists():
            shutil.copyfile(source, str(run) + suffix)
    return run


# ----------------------------------------------------------------------------- scenarios

def measure_startup(database: Path, log: Path) -> dict[str, Any]:
    child = Child.start(database, log)
    done = child.stop()
    marks = child.ready["marks"]
    phases = {name: marks[name] - marks[before] for before, name in zip(
        ("spawned", "main", "imported", "built", "initialized", "post_init", "started"),
        ("main", "imported", "built", "initialized", "post_init", "started", "answered"),
        strict=True)}
    return {"startup_s": child.startup, "rss_mb": child.ready["rss_mb"],
            "hwm_mb": child.ready["hwm_mb"], "phases_s": phases, "shutdown_s": done["stop_s"],
            "errors": done["errors"],
            "welcome": child.ready["welcome"]}


class Watcher(threading.Thread):
    """Looks at the alarms table every ``POLL`` seconds (a second, read-only SQLite
    connection: WAL lets it read beside the bot's writer) and notes when each watched
    alarm is first seen fired, i.e. when the transaction that did its work committed."""

    CHUNK = 20_000  # ids per query (SQLite allows 32,766 parameters)

    def __init__(self, database: Path, ids: list[int], until: float) -> None:
        super().__init__(daemon=True)
        self.database, self.ids, self.until = database, ids, until
        self.seen: dict[int, float] = {}
        self.rows: list[tuple[int, str, str | None, str | None]] = []

    def _query(self, reader: sqlite3.Connection, sql: str, ids: list[int]) -> list[Any]:
        rows: list[Any] = []
        for at in range(0, len(ids), self.CHUNK):
            chunk = ids[at:at + self.CHUNK]
            rows += reader.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
        return rows

    def run(self) -> None:
        reader = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        try:
            waiting = list(self.ids)
            while waiting and time.time() < self.until:
                rows = self._query(
                    reader, "SELECT id FROM alarms WHERE id IN ({}) AND fired_at IS NOT NULL",
                    waiting)
                moment = time.time()
                for (alarm_id,) in rows:
                    self.seen[alarm_id] = moment
                waiting = [i for i in waiting if i not in self.seen]
                time.sleep(POLL)
            self.rows = self._query(
                reader, "SELECT id, fire_at, fired_at, outcome FROM alarms WHERE id IN ({})",
                self.ids)
        finally:
            reader.close()

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for *_, outcome in self.rows:
            counts[outcome or "unfired"] = counts.get(outcome or "unfired", 0) + 1
        return counts


def measure_catch_up(database: Path, log: Path, probe_every: float) -> dict[str, Any]:
    """Start-up after the bot was down: every alarm that passed meanwhile fires at start-up
    (or is skipped, a reminder found late); how soon the bot answers and all are done."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        ids = [row[0] for row in conn.execute(
            "SELECT id FROM alarms WHERE subject = 'case' AND fired_at IS NULL "
            "AND fire_at <= ?", (datetime.now(UTC).isoformat(timespec="seconds"),))]
    spawned_wall = time.time()
    limit = CATCH_UP_LIMIT[probe_every]
    watcher = Watcher(database, ids, spawned_wall + limit)
    watcher.start()
    child = Child.start(database, log, probe_every)
    watcher.join()
    done = child.stop()
    last = max(watcher.seen.values(), default=None)
    with contextlib.closing(sqlite3.connect(database)) as conn:
        since = datetime.fromtimestamp(spawned_wall - 1, UTC).isoformat(timespec="seconds")
        owed = conn.execute("SELECT chat_id, COUNT(*) FROM outbox WHERE created_at >= ? "
                            "GROUP BY chat_id ORDER BY 2 DESC", (since,)).fetchall()
    return {"probe_every_s": probe_every, "watched_s": limit,
            "alarms_due": len(ids), "seen_done": len(watcher.seen),
            "outcomes": watcher.outcomes(), "startup_s": child.startup,
            "all_done_after_spawn_s": (None if last is None or len(watcher.seen) < len(ids)
                                       else last - spawned_wall),
            "last_done_after_spawn_s": None if last is None else last - spawned_wall,
            "probes": _probe_figures(done["probes_s"]),
            "messages_owed": sum(count for _, count in owed), "chats_owed": len(owed),
            "most_owed_to_one_chat": owed[0][1] if owed else 0,
            "rss_mb": child.ready["rss_mb"], "rss_mb_after": done["rss_mb"],
            "hwm_mb_after": done["hwm_mb"], "shutdown_s": done["stop_s"],
            "errors": done["errors"]}


def _traffic(probe_every: float) -> str:
    return "busy" if probe_every else "quiet"


def _probe_figures(probes: list[float]) -> dict[str, Any]:
    return {"n": len(probes), "p50_s": _percentile(probes, 50),
            "max_s": max(probes) if probes else None}


def measure_lateness(database: Path, log: Path, soon: int, lead: float, probe_every: float
                     ) -> dict[str, Any]:
    """``soon`` deadlines due at whole seconds ``lead`` .. ``lead`` + 2 s from now; start the
    bot, watch them fire; lateness per alarm."""
    first = datetime.fromtimestamp(math.ceil(time.time() + lead), UTC)
    ids = asyncio.run(move_deadlines(database, soon, first))
    watcher = Watcher(database, ids, first.timestamp() + len(SOON_SECONDS) + 60)
    watcher.start()
    child = Child.start(database, log, probe_every)
    ready_before_first = first.timestamp() - child.ready["wall"]
    watcher.join()
    seen, table = watcher.seen, watcher.rows
    done = child.stop()
    committed = [seen[alarm_id] - _epoch(fire_at)
                 for alarm_id, fire_at, _fired_at, _outcome in table if alarm_id in seen]
    recorded = [_epoch(fired_at) - _epoch(fire_at)
                for _id, fire_at, fired_at, _outcome in table if fired_at]
    outcomes = watcher.outcomes()
    return {
        "probe_every_s": probe_every, "cases_moved": soon, "alarms": len(ids),
        "seen_fired": len(seen),
        "outcomes": outcomes,
        "ready_before_first_due_s": ready_before_first,
        "committed_late_s": {"p50": _percentile(committed, 50),
                             "p99": _percentile(committed, 99),
                             "max": max(committed) if committed else None,
                             "mean": statistics.fmean(committed) if committed else None},
        "table_late_s": {"p50": _percentile(recorded, 50), "p99": _percentile(recorded, 99),
                         "max": max(recorded) if recorded else None},
        "startup_s": child.startup, "rss_mb_after": done["rss_mb"],
        "hwm_mb_after": done["hwm_mb"], "messages_delivered_before_stop": done["sent"],
        "probes": _probe_figures(done["probes_s"]), "shutdown_s": done["stop_s"],
        "errors": done["errors"],
    }


async def measure_digest(database: Path) -> dict[str, Any]:
    """The daily overdue digest (``alarms.overdue_digest``) over the seeded cases: its time,
    the count it reports and the count in the database."""
    from bot.services import alarms

    runtime = await _open(database)
    try:
        started = time.perf_counter()
        reported = await alarms.overdue_digest(runtime)
        seconds = time.perf_counter() - started

        def work(conn: Conn) -> Row | None:
            with conn.execute("SELECT payload FROM outbox ORDER BY id DESC LIMIT 1") as cur:
                row = cur.fetchone()
            return row
        row = await runtime.db.read(work)
    finally:
        await runtime.close()
    first_line = json.loads(row[0])["text"].splitlines()[0] if row else None
    return {"seconds": seconds, "reported": reported,
            "overdue_in_database": describe(database)["overdue"], "first_line": first_line}


# ----------------------------------------------------------------------------- reporting

@dataclasses.dataclass
class Figure:
    name: str
    unit: str
    value: float | None
    baseline: float | None
    target: float | None = None
    failed: bool = False  # e.g. an alarm that never fired: fails whatever the value
    check: bool | None = None  # a verdict other than "below the target"

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        if self.failed:
            return False
        if self.check is not None:
            return self.check
        if self.target is None or self.value is None:
            return None
        return self.value < self.target


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform()}


def report(figures: list[Figure], details: dict[str, Any], legend: list[str], *,
           write: bool = True) -> Path | None:
    """Print the figures; with ``write``, also to ``bench/results/open_cases.json``."""
    info = machine()
    print(f"\nmachine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}")
    header = f"{'figure':52} {'value':>8} {'baseline':>8} {'ratio':>6} {'target':>8}  result"
    print(header)
    print("-" * len(header))
    for f in figures:
        verdict = {True: "PASS", False: "FAIL", None: "-"}[f.passed]
        target = "-" if f.target is None else f"< {f.target:g}"
        print(f"{f.name + ' (' + f.unit + ')':52} {_fmt(f.value):>8} {_fmt(f.baseline):>8} "
              f"{_fmt(f.ratio):>6} {target:>8}  {verdict}")
    for line in legend:
        print(line)
    if not write:
        print("\nsome scenarios only (--only): the results file is left as it was")
        return None
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "open_cases.json"
    body = {
        "benchmark": "open_cases",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.open_cases " + " ".join(sys.argv[1:]),
        "machine": info,
        "figures": [{"name": f.name, "unit": f.unit, "value": f.value, "baseline": f.baseline,
                     "ratio": f.ratio, "target": f.target, "passed": f.passed}
                    for f in figures],
        "details": details,
    }
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return path


# ----------------------------------------------------------------------------- main

def run(args: argparse.Namespace) -> int:
    only = set(args.only.split(",")) if args.only else set(SCENARIOS)
    if only - set(SCENARIOS):
        raise SystemExit(f"--only: unknown {sorted(only - set(SCENARIOS))}; "
                         f"choose from {','.join(SCENARIOS)}")
    work = Path(tempfile.mkdtemp(prefix="sunbox-open-cases-"))
    log = work / "bot.log"
    empty, full, down, small = (work / f"{name}.seeded.db"
                                for name in ("empty", "full", "down", "small"))
    run_db = work / "sunbox.db"
    try:
        print(f"seeding {args.cases:,} open cases (work folder {work}) …", flush=True)
        seeding = {"empty": asyncio.run(seed(empty, 0)),
                   "full": asyncio.run(seed(full, args.cases)),
                   "small": asyncio.run(seed(small, args.soon))}
        shutil.copyfile(full, down)
        now = datetime.now(UTC)
        # The bot ran until now (nothing falls due in the next half hour of benchmark) …
        for name, database in (("empty", empty), ("full", full), ("small", small)):
            seeding[name]["marked_fired"] = mark_fired(database, now + timedelta(minutes=30))
            seeding[name].update(describe(database))
        # … or it has been down for the last DOWNTIME.
        seeding["down"] = {"marked_fired": mark_fired(down, now - DOWNTIME), **describe(down)}
        info = seeding["full"]
        print(f"  {info['seconds']:.1f} s, {info['db_mb']:.0f} MB: {info['states']}, "
              f"{info['overdue']:,} overdue, {info['case_events']:,} events, "
              f"{info['alarms']:,} alarms ({info['alarms_pending']:,} pending)", flush=True)

        runs: dict[str, list[dict[str, Any]]] = {"empty": [], "full": []}
        for n in range(args.repeat if "startup" in only else 0):
            for name, database in (("empty", empty), ("full", full)):
                result = measure_startup(fresh_copy(database, run_db), log)
                runs[name].append(result)
                print(f"start-up #{n + 1} {name:5}: {result['startup_s']:.2f} s, "
                      f"{result['rss_mb']:.0f} MB", flush=True)

        late: dict[str, dict[str, Any]] = {}
        for traffic in (0.0, TRAFFIC) if "lateness" in only else ():
            for name, database, base in (("small", small, "empty"), ("full", full, "full")):
                # Due 3 s after the bot should be answering (moving the deadlines takes ~1 s).
                lead = 1.0 + 1.5 * max((r["startup_s"] for r in runs[base]), default=1.0) \
                    + SOON_SECONDS[0]
                key = f"{_traffic(traffic)}/{name}"
                late[key] = result = measure_lateness(
                    fresh_copy(database, run_db), log, args.soon, lead, traffic)
                c = result["committed_late_s"]
                print(f"lateness {key:13}: {result['seen_fired']}/{result['alarms']} alarms, "
                      f"p50 {_fmt(c['p50'])} s, p99 {_fmt(c['p99'])} s, max {_fmt(c['max'])} s"
                      f" (bot answering {result['ready_before_first_due_s']:.1f} s before the "
                      "first was due)", flush=True)

        catch_up: dict[str, dict[str, Any]] = {}
        for traffic in (0.0, TRAFFIC) if "catch-up" in only else ():
            key = _traffic(traffic)
            catch_up[key] = result = measure_catch_up(fresh_copy(down, run_db), log, traffic)
            print(f"after {HOURS_DOWN} h down, {key:7}: answering in {result['startup_s']:.2f} s,"
                  f" {result['seen_done']:,}/{result['alarms_due']:,} missed alarms done "
                  f"{_fmt(result['all_done_after_spawn_s'])} s after the start (watched "
                  f"{result['watched_s']:.0f} s) {result['outcomes']}; /help answered in max "
                  f"{_fmt(result['probes']['max_s'])} s; {result['messages_owed']:,} messages "
                  f"owed to {result['chats_owed']} chats, {result['most_owed_to_one_chat']:,} "
                  f"to one; shut down in {_fmt(result['shutdown_s'])} s", flush=True)
        digest: dict[str, Any] = {}
        if "digest" in only:
            digest = asyncio.run(measure_digest(fresh_copy(full, run_db)))
            print(f"overdue digest: {digest['seconds']:.2f} s, reports {digest['reported']:,} "
                  f"of {digest['overdue_in_database']:,} overdue cases", flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    def median(name: str, key: str) -> float | None:
        values = [r[key] for r in runs[name]]
        return statistics.median(values) if values else None

    def lateness(key: str, q: str) -> tuple[float | None, float | None]:
        return (late[f"{key}/full"]["committed_late_s"][q],
                late[f"{key}/small"]["committed_late_s"][q])

    def missed(key: str) -> bool:
        return any(r["seen_fired"] < r["alarms"] for k, r in late.items()
                   if k.startswith(key + "/"))

    n = f"{args.cases:,} cases"
    quiet, busy = _traffic(0.0), _traffic(TRAFFIC)
    figures: list[Figure] = []
    if runs["full"]:
        figures += [
            Figure(f"start-up until /start answered, {n}", "s",
                   median("full", "startup_s"), median("empty", "startup_s"), STARTUP_TARGET),
            Figure(f"resident memory after start-up, {n}", "MB",
                   median("full", "rss_mb"), median("empty", "rss_mb"), RSS_TARGET),
        ]
    if late:
        figures += [Figure(f"deadline lateness {q}, {args.soon:,} cases due, {key}", "s",
                           *lateness(key, q), LATE_TARGET, failed=missed(key))
                    for key in (quiet, busy) for q in ("p50", "p99", "max")]
    if catch_up:
        help_baseline = late[f"{busy}/small"]["probes"]["max_s"] if late else None
        figures += [
            Figure(f"start-up after {HOURS_DOWN} h down, {n}", "s",
                   catch_up[quiet]["startup_s"], median("empty", "startup_s"), STARTUP_TARGET),
            *(Figure(f"  {catch_up[key]['alarms_due']:,} missed alarms all done, {key}", "s",
                     catch_up[key]["all_done_after_spawn_s"], None,
                     failed=catch_up[key]["seen_done"] < catch_up[key]["alarms_due"])
              for key in (quiet, busy)),
            *(Figure(f"  shutdown when asked, {key}", "s", catch_up[key]["shutdown_s"], None,
                     failed=catch_up[key]["shutdown_s"] is None)
              for key in (quiet, busy)),
            Figure(f"  /help answered meanwhile, max, {busy}", "s",
                   catch_up[busy]["probes"]["max_s"], help_baseline),
        ]
    if digest:
        figures += [
            Figure(f"daily overdue digest, {n}", "s", digest["seconds"], None),
            Figure(f"  overdue cases it reports ({digest['overdue_in_database']:,} in the db)",
                   "n", digest["reported"], digest["overdue_in_database"],
                   check=digest["reported"] == digest["overdue_in_database"]),
        ]
    details = {
        "cases": args.cases, "soon": args.soon, "repeat": args.repeat,
        "seeding": seeding, "startup": runs, "lateness": late, "catch_up": catch_up,
        "digest": digest,
        "notes": [
            "start-up is timed from spawning the process (interpreter and imports included) "
            "to the welcome reaching the emulator; the value is the median of the repeats; "
            "each run starts on a fresh copy of the seeded database (warm page cache)",
            "memory is VmRSS of the bot process (the in-process emulator included, as in "
            "the baseline) once /start is answered",
            "lateness = when this process first saw the alarm committed as fired (50 ms "
            "polling of the alarms table) minus its fire_at; the baseline database holds "
            "only the cases made due; table_late_s is fired_at - fire_at as stored (whole "
            "seconds)",
            "each due case has two alarms at its deadline: the reminder 'at the deadline' "
            "and the breach; they fall due in three consecutive whole seconds",
            f"catch-up: the seeded alarms of the last {HOURS_DOWN} h left unfired, as if the "
            "bot had been down; the baseline of its start-up is the empty database; a value "
            "'-' with FAIL means not all were done within the watched time; a shutdown '-' "
            f"with FAIL means the bot was still stopping {STOP_LIMIT:g} s after being asked "
            "and was killed",
            f"'{busy}': a resident sends /help every {TRAFFIC:g} s while alarms fire; "
            f"'{quiet}': no other traffic; the /help baseline is the small database's "
            "lateness run with the same traffic",
        ],
    }
    legend = [f"quiet: no other traffic; busy: a resident sends /help every {TRAFFIC:g} s "
              "meanwhile. Baselines: an empty database (start-up, memory), a database of only "
              f"the {args.soon:,} cases made due (lateness; /help with the same traffic)."]
    report(figures, details, legend, write=only == set(SCENARIOS))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.open_cases", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="open cases (100,000)")
    parser.add_argument("--soon", type=int, default=1_000,
                        help="cases whose deadline falls due during the run (1,000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="start-ups per database; the median counts (3)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the log")
    parser.add_argument("--only", metavar="SCENARIOS",
                        help=f"comma-separated, some of: {','.join(SCENARIOS)} (all); the "
                        "results file is written only when all run")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--probe-every", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        code = 0
        try:
            asyncio.run(_serve(args.serve, args.spawned, args.probe_every))
        except BaseException:  # noqa: BLE001 - reported to the parent through the log
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # a database thread left by a failure must not keep the child alive
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
