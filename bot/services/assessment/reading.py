"""Reading a report's facts: the database counts a period's cases in shares, one reader
each, at once (:mod:`storage.assessment`); the shares are added up and their moments turned
into working days on one clock (:mod:`bot.services.assessment.clock`).

On SQLite each share reads in a read transaction of its own. On PostgreSQL the shares read
in one snapshot, so they add up to one moment however the bot writes meanwhile: the first
share's reader exports its snapshot and keeps its transaction open until every other reader
has imported it (an import needs the exporting transaction still open).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from bot.runtime import Runtime
from bot.services.assessment.clock import clock_rows, overdue_days, working_days
from bot.services.assessment.figures import OPEN_STATES, RESOLVED_OUTCOMES, SATISFIED
from bot.services.assessment.period import Period
from bot.services.deadlines import AcceptanceMemo, acceptance_due
from storage import assessment as assessment_repo
from storage.sql import Conn

T = TypeVar("T")


async def read(runtime: Runtime, period: Period, as_of: datetime, *, readers: int,
               limit: int) -> assessment_repo.Facts:
    """Everything the figures need for the period as of ``as_of``, counted by ``readers``
    read-only connections of their own, each over a share of the cases (an in-memory
    database: by the bot's connection); at most ``limit`` listed cases per unit and list."""
    config = runtime.config
    tz = config.general.tz
    before = period.year_before()
    supervision = config.supervision_unit()
    window = assessment_repo.Window(
        start=period.start(tz), end=period.end(tz), before_start=before.start(tz),
        before_end=before.end(tz), as_of=as_of,
        supervision=supervision.id if supervision else None, open_states=OPEN_STATES,
        satisfied=SATISFIED, resolved=RESOLVED_OUTCOMES)
    path = runtime.db.path
    memo: AcceptanceMemo = {}  # shared by the shares' threads: a lost entry is worked out again

    def share(conn: Conn, part: int, parts: int) -> tuple[assessment_repo.Facts, datetime]:
        return _share(runtime, conn, replace(window, part=part, parts=parts), memo, limit)

    if runtime.db.engine == "postgresql":
        shares = await _in_one_snapshot(path, share, readers)
    elif path == ":memory:" or path.startswith("file:"):
        shares = [await runtime.db.read(share, 0, 1)]
    else:
        # Each share reads in a snapshot of its own, on a thread and a connection of its
        # own: every figure is a sum over cases and each case is read whole by one share, so
        # the shares add up to a report of one moment however the bot writes meanwhile.
        shares = list(await asyncio.gather(*(
            asyncio.to_thread(_on_own_reader, path, share, part, readers)
            for part in range(readers))))
    facts = assessment_repo.combine([facts for facts, _ in shares], limit)
    clock = clock_rows(runtime.calendar, tz, min(first for _, first in shares), as_of)
    facts.accept_days = working_days(clock, facts.accept_spans)
    facts.answer_days = working_days(clock, facts.answer_spans)
    facts.overdue = overdue_days(clock, as_of, facts.overdue)
    return facts


def _on_own_reader(path: str, share: Callable[[Conn, int, int], T], part: int,
                   parts: int) -> T:
    with assessment_repo.reader(path) as conn:
        return share(conn, part, parts)


class _Snapshot:
    """The snapshot the first share exports and the others import."""

    #: How long the first share keeps its transaction open for the others to import its
    #: snapshot after it is done (they import it as they start, on threads of their own).
    PATIENCE = 60.0

    def __init__(self, importers: int) -> None:
        self.id: Future[str] = Future()
        self._importers = importers
        self._imported = threading.Semaphore(0)

    def imported(self) -> None:
        """One importer is done with the snapshot's id (imported it, or failed to)."""
        self._imported.release()

    def wait_for_importers(self) -> None:
        """Until every other share has imported the snapshot (or failed to)."""
        for _ in range(self._importers):
            if not self._imported.acquire(timeout=self.PATIENCE):
                return  # an importer that never started: it fails, the report with it


async def _in_one_snapshot(url: str, share: Callable[[Conn, int, int], T],
                           parts: int) -> list[T]:
    """The shares on PostgreSQL, read at once on connections of their own, in one
    snapshot."""
    snapshot = _Snapshot(parts - 1)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=parts, thread_name_prefix="sunbox-assessment")
    try:
        return list(await asyncio.gather(*(
            loop.run_in_executor(pool, _on_postgres_reader, url, share, part, parts,
                                 snapshot)
            for part in range(parts))))
    finally:
        pool.shutdown(wait=False)  # every share is done, or the report failed


def _on_postgres_reader(url: str, share: Callable[[Conn, int, int], T], part: int,
                        parts: int, snapshot: _Snapshot) -> T:
    """One share on a connection of its own: the first exports the snapshot, the others
    wait for its id and import it."""
    if part == 0:
        try:
            with assessment_repo.reader_postgres(url) as (conn, exported):
                snapshot.id.set_result(exported)
                try:
                    return share(conn, part, parts)
                finally:
                    snapshot.wait_for_importers()
        except BaseException as error:
            if not snapshot.id.done():
                snapshot.id.set_exception(error)
            raise
    started = False
    try:
        with assessment_repo.reader_postgres(url, snapshot.id.result()) as (conn, _):
            started = True
            snapshot.imported()
            return share(conn, part, parts)
    finally:
        if not started:
            snapshot.imported()


def _share(runtime: Runtime, conn: Conn, window: assessment_repo.Window,
           memo: AcceptanceMemo, limit: int) -> tuple[assessment_repo.Facts, datetime]:
    """The facts of one share, and the first moment its working-day clock is needed for."""
    config = runtime.config
    try:
        cases = assessment_repo.prepare(conn, window)
        first, _ = assessment_repo.time_span(conn, window)
        dues = []
        for case_id, seg, kind, category, start in assessment_repo.arrivals_without_due(conn):
            try:
                dues.append((case_id, seg, acceptance_due(config, runtime.calendar, kind,
                                                          category, start, memo)))
            except (KeyError, ValueError):
                continue  # a rule no longer configured: that acceptance is not counted
        assessment_repo.set_dues(conn, dues)
        facts = assessment_repo.read_facts(conn, window, limit)
    finally:  # on the bot's own connection (:memory:) the scratch must not outlive it
        assessment_repo.finish(conn)
    facts.cases = cases
    return facts, first
