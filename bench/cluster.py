"""Several instances (issue 21): two ``sunbox run`` in webhook mode on one PostgreSQL
database behind a round-robin load balancer (the drill, its people and its checks are
``tests/system/cluster_drill.py``; ``tests/system/test_cluster.py`` runs short versions):

    .venv/bin/python -m bench.cluster [--kills 10]   # failover: the leader SIGKILLed N times
    .venv/bin/python -m bench.cluster --compare      # throughput: two instances against one

``--kills``: the instance holding the lease ``leader`` is SIGKILLed every 2-4 s of load
and started again a second after another took the lease over; printed are the seconds
from each SIGKILL until another instance held the lease, until a live instance sent
anything (sent or edited), and until it sent what only a leader sends (a card or an edit
to the supervision member, who never writes), then the checker's verdict. ``--compare``:
the same load (``--residents`` filing with short pauses, one official per unit answering)
for ``--seconds`` on one instance, then on two, each on a fresh schema: cases filed and
answered per minute, and the time from Confirm to the receipt; its verdict leaves out what
needs the outbox drained (:func:`sound`). ``--sticky``: the balancer sends each person's
updates to one instance instead (a baseline while round robin breaks conversations; nginx
cannot hash on a JSON body), and the results go to ``cluster_sticky.json``.

Every run needs the PostgreSQL server of the tests (``SUNBOX_TEST_DSN``). Prints the
figures and writes ``bench/results/cluster.json``; exits 1 if an invariant fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.support import engines
from tests.system.cluster_drill import Plan, Result, failures, run

from ._harness import Figure, latency_figures, percentile, print_table, write_results

#: What a takeover may take beyond ``lease_timeout`` on this busy machine.
MARGIN = 1.0
#: How long ``--compare`` waits for its people to finish (see :func:`sound`).
COMPARE_DRAIN = 30.0


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _spread(name: str, values: list[float | None], target: str = "",
            within: float | None = None) -> list[Figure]:
    known = [v for v in values if v is not None]
    passed = None if within is None else (len(known) == len(values)
                                          and all(v <= within for v in known))
    return [Figure(f"{name}, median", _median(known), "s", None, target, passed),
            Figure(f"{name}, max", max(known) if known else None, "s")]


def checked(result: Result) -> list[Figure]:
    """The checker's verdict, figure by figure."""
    f = result.findings
    return [
        Figure("cases filed (in the database)", f.cases, "cases"),
        Figure("cases missing", len(f.missing), "cases", None, "0",
               not f.missing),
        Figure("cases duplicated", len(f.duplicated), "cases", None, "0", not f.duplicated),
        Figure("case numbers never delivered", len(f.numbers_undelivered), "cases", None, "0",
               not f.numbers_undelivered),
        Figure("promised messages lost", len(f.lost), "messages", None, "0", not f.lost),
        Figure("promised messages owed twice", len(f.promised_twice), "messages", None, "0",
               not f.promised_twice),
        Figure("duplicated: kill between send and record", len(f.resent_after_kill),
               "messages", None, "accepted"),
        Figure("duplicated: any other cause", len(f.duplicated_other), "messages", None, "0",
               not f.duplicated_other),
        Figure("outbox rows not sent", len(f.rows_unsent), "rows", None, "0",
               not f.rows_unsent),
        Figure("cases left unanswered", len(f.unanswered), "cases", None, "0",
               not f.unanswered),
        Figure("conversations stuck (/cancel)", f.stuck, "conv.", None, "0", f.stuck == 0),
        Figure("conversations resumed after a kill", f.resumed, "conv.", f.interrupted,
               "= interrupted", f.resumed == f.interrupted),
        Figure("steps retried (no reply)", f.retries, "steps"),
        Figure("'not understood' replies", result.hints, "messages"),
        Figure("buttons refused with an alert", result.alerts, "presses"),
        Figure("alarms fired", result.alarms_fired, "alarms"),
        Figure("alarms fired twice", result.alarms_twice, "alarms", None, "0",
               result.alarms_twice == 0),
        Figure("webhook POSTs answered 502 (balancer)", result.bad_gateway, "posts"),
        Figure("drained", float(result.drained), "yes=1", None, "1", result.drained),
        Figure("time", result.seconds, "s"),
    ]


def failover_figures(result: Result) -> list[Figure]:
    lease = result.plan.lease_timeout
    return [
        Figure("kills (SIGKILL of the leader)", len(result.failovers), "kills", None,
               "as asked", len(result.failovers) == result.plan.kills),
        *_spread("kill to another lease holder", [f.lease for f in result.failovers],
                 f"<= {lease:g} s + {MARGIN:g}", lease + MARGIN),
        *_spread("kill to the next send", [f.first_send for f in result.failovers]),
        *_spread("kill to the next leader-only send", [f.first_owed for f in result.failovers]),
        *_spread("spawn to serving", list(result.starts)),
        *checked(result),
    ]


def sound(result: Result) -> list[str]:
    """The invariants that hold whether or not the outbox has drained: under ``--compare``'s
    load every case's card and its edits also go to the supervision member, one a second
    (Telegram's pace per chat), and that backlog outlasts any sensible wait."""
    f = result.findings
    problems = [f"{label}: {len(items)}: " + "; ".join(items[:5]) for label, items in (
        ("cases missing", f.missing), ("cases duplicated", f.duplicated),
        ("case numbers never delivered", f.numbers_undelivered),
        ("messages owed twice", f.promised_twice),
        ("messages duplicated, not by a kill", f.duplicated_other)) if items]
    if f.stuck:
        problems.append(f"conversations stuck (given up with /cancel): {f.stuck}")
    if f.told_sorry:
        problems.append(f"people told 'something went wrong': {f.told_sorry}")
    return problems


def compare_figures(one: Result, two: Result) -> list[Figure]:
    def p(result: Result, q: float) -> float | None:
        value = percentile(result.latencies, q)
        return None if value is None else value * 1000

    return [
        Figure("filed + answered per minute, 2 instances", two.per_minute, "/min",
               one.per_minute),
        Figure("filed per minute, 2 instances", two.filed / two.load_seconds * 60, "/min",
               one.filed / one.load_seconds * 60),
        Figure("answered per minute, 2 instances", two.answered / two.load_seconds * 60,
               "/min", one.answered / one.load_seconds * 60),
        Figure("Confirm to receipt p50, 2 instances", p(two, 50), "ms", p(one, 50)),
        Figure("Confirm to receipt p99, 2 instances", p(two, 99), "ms", p(one, 99)),
        Figure("conversations stuck, 2 instances", two.findings.stuck, "conv.",
               one.findings.stuck, "0", two.findings.stuck == 0),
        Figure("invariants failed, 2 instances", len(sound(two)), "checks",
               len(sound(one)), "0", not sound(two)),
        Figure("outbox rows left after the drain, 2 instances", len(two.findings.rows_unsent),
               "rows", len(one.findings.rows_unsent)),
    ]


def details(result: Result) -> dict[str, Any]:
    f = result.findings
    return {
        "plan": asdict(result.plan), "logs": result.logs,
        "failovers": [asdict(x) for x in result.failovers], "starts_s": result.starts,
        "exit_codes": result.exit_codes, "failures": failures(result),
        "conversations_by_role": result.roles, "forwarded": result.forwarded,
        "refused": result.refused, "bad_gateway": result.bad_gateway,
        "filed": result.filed, "answered": result.answered, "load_s": result.load_seconds,
        "per_minute": result.per_minute, "confirm_to_receipt": latency_figures(
            result.latencies),
        "drain_s": result.drain_seconds, "log_lines": result.log_lines,
        "duplicated_after_kill": f.resent_after_kill, "duplicated_other": f.duplicated_other,
        "lost": f.lost, "missing": f.missing, "duplicated": f.duplicated,
        "unanswered": f.unanswered, "rows_unsent": f.rows_unsent,
    }


async def _run(plan: Plan, what: str) -> Result:
    logs = Path(tempfile.mkdtemp(prefix=f"sunbox-cluster-{what}-"))
    print(f"{what}: {plan.instances} instance(s), {plan.residents} residents, "
          f"{plan.kills} kill(s), {'sticky' if plan.sticky else 'round robin'}; logs in {logs}",
          flush=True)
    with engines.fresh_schema() as url:
        return await run(plan, url, logs)


async def main(args: argparse.Namespace) -> int:
    why = engines.unreachable()
    if why is not None:
        print(f"PostgreSQL not reachable ({engines.DSN}): {why}", file=sys.stderr)
        return 2
    table: list[Figure] = []
    body: dict[str, Any] = {}
    problems: list[str] = []
    kills = args.kills if args.kills is not None else (0 if args.compare else 10)
    if kills:
        result = await _run(Plan(residents=args.residents, kills=kills, seed=args.seed,
                                 sticky=args.sticky, drain_timeout=args.drain), "failover")
        table += failover_figures(result)
        body["failover"] = details(result)
        problems += failures(result, takeover_within=result.plan.lease_timeout + MARGIN)
    if args.compare:
        runs = [await _run(Plan(residents=args.residents, instances=n, seed=args.seed,
                                sticky=args.sticky, seconds=args.seconds, pause=(0.0, 0.5),
                                drain_timeout=COMPARE_DRAIN), f"compare-{n}")
                for n in (1, 2)]
        table += compare_figures(*runs)
        body["compare"] = {f"{r.plan.instances}_instances": details(r) for r in runs}
        problems += [f"{r.plan.instances} instance(s): {p}" for r in runs for p in sound(r)]
    print()
    print_table(table)
    name = "cluster_sticky" if args.sticky else "cluster"
    print(f"results: {write_results(name, table, body)}")
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=None,
                        help="SIGKILLs of the leader (default 10; 0 with --compare)")
    parser.add_argument("--compare", action="store_true",
                        help="throughput of two instances against one")
    parser.add_argument("--seconds", type=float, default=60.0, help="of load per --compare run")
    parser.add_argument("--residents", type=int, default=45, help="plus 5 officials")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sticky", action="store_true",
                        help="each person's updates to one instance (a baseline)")
    parser.add_argument("--drain", type=float, default=180.0,
                        help="seconds the load may take to drain after the last kill")
    sys.exit(asyncio.run(main(parser.parse_args())))
