"""The crash loop at full length (the drill itself, its people and its checker are
``tests/system/crash_drill.py``, whose short run ``tests/system/test_crash_loop.py`` makes):

    .venv/bin/python -m bench.crash_loop [--kills 20] [--users 10] [--seed 7]

Prints the figures and writes ``bench/results/crash_loop.json``; exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.system.crash_drill import Result, failures, run

from ._harness import Figure, print_table, write_results


def figures(result: Result) -> list[Figure]:
    f = result.findings
    restarts = sorted(result.restarts)
    return [
        Figure("kills (SIGKILL)", result.kills, "kills", None, "as asked",
               result.kills == len([c for c in result.exit_codes if c == -9])),
        Figure("restart to polling, median", restarts[len(restarts) // 2] if restarts else None,
               "s"),
        Figure("restart to polling, max", restarts[-1] if restarts else None, "s"),
        Figure("cases filed (in the database)", f.cases, "cases"),
        Figure("drafts confirmed", f.confirmed, "drafts"),
        Figure("case numbers acknowledged", f.acknowledged, "cases"),
        Figure("cases missing", len(f.missing), "cases", None, "0", not f.missing),
        Figure("cases duplicated", len(f.duplicated), "cases", None, "0", not f.duplicated),
        Figure("case numbers never delivered", len(f.numbers_undelivered), "cases", None, "0",
               not f.numbers_undelivered),
        Figure("promised messages checked", f.promised, "messages"),
        Figure("promised messages lost", len(f.lost), "messages", None, "0", not f.lost),
        Figure("promised messages owed twice", len(f.promised_twice), "messages", None, "0",
               not f.promised_twice),
        Figure("duplicated: kill between send and record", len(f.resent_after_kill),
               "messages", None, "accepted"),
        Figure("duplicated: any other cause", len(f.duplicated_other), "messages", None, "0",
               not f.duplicated_other),
        Figure("outbox rows not sent", len(f.rows_unsent), "rows", None, "0",
               not f.rows_unsent),
        Figure("cards not showing the latest state", len(f.stale_cards), "cards", None, "0",
               not f.stale_cards),
        Figure("cases left unanswered", len(f.unanswered), "cases", None, "0",
               not f.unanswered),
        *(figure for role, what in (("resident", "filings"), ("official", "answers"))
          for figure in _conversations(result.roles.get(role, {}), what)),
        Figure("conversations stuck (/cancel)", f.stuck, "conv.", None, "0", f.stuck == 0),
        Figure("steps retried (no reply, bot up)", f.retries, "steps"),
        Figure("people told 'something went wrong'", f.told_sorry, "messages", None, "0",
               f.told_sorry == 0),
        Figure("direct replies repeated (replays)", f.repeated_replies, "messages"),
        Figure("updates replayed at start-up", result.replayed_updates, "updates"),
        Figure("outbox rows sent again at start-up", result.outbox_resent, "rows"),
        Figure("errors in the bot's logs", result.log_errors, "lines"),
        Figure("drained after the last kill", float(result.drained), "yes=1", None, "1",
               result.drained),
        Figure("drain after the last kill", result.drain_seconds, "s"),
        Figure("time", result.seconds, "s"),
    ]


def _conversations(counts: dict[str, int], what: str) -> list[Figure]:
    interrupted, resumed = counts.get("interrupted", 0), counts.get("resumed", 0)
    return [
        Figure(f"{what} done", counts.get("finished", 0), "conv."),
        Figure(f"{what} interrupted by a kill", interrupted, "conv."),
        Figure(f"{what} resumed after it", resumed, "conv.", None, "= interrupted",
               resumed == interrupted),
    ]


def details(result: Result) -> dict[str, Any]:
    f = result.findings
    return {
        "kills": result.kills, "users": result.users, "seed": result.seed,
        "restarts_s": result.restarts, "exit_codes": result.exit_codes, "logs": result.logs,
        "failures": failures(result), "conversations_by_role": result.roles,
        "drain_s": result.drain_seconds,
        "duplicated_after_kill": f.resent_after_kill, "duplicated_other": f.duplicated_other,
        "lost": f.lost, "missing": f.missing, "duplicated": f.duplicated,
        "stale_cards": f.stale_cards, "unanswered": f.unanswered, "rows_unsent": f.rows_unsent,
    }


async def main(kills: int, users: int, seed: int) -> int:
    logs = Path(tempfile.mkdtemp(prefix="sunbox-crash-logs-"))
    print(f"crash loop: {kills} kills, {users} residents, seed {seed}; logs in {logs}",
          flush=True)
    result = await run(kills, users, seed, logs=logs)
    table = figures(result)
    print()
    print_table(table)
    path = write_results("crash_loop", table, details(result))
    print(f"results: {path}")
    problems = failures(result)
    for problem in problems:
        print("FAIL:", problem)
    if result.findings.resent_after_kill:
        print("accepted duplicates (kill between Telegram's answer and its record):",
              *result.findings.resent_after_kill, sep="\n  ")
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--users", type=int, default=10, help="residents (plus 5 officials)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.kills, args.users, args.seed)))
