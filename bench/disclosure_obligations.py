"""Issue 22: the disclosure catalog's obligations of 500 units for a year, generated.

    .venv/bin/python -m bench.disclosure_obligations [--units 500] [--runs 7] [--year 2026]

Each unit has 4 regular items, one of each period (monthly, quarterly, half-yearly,
yearly), due in calendar days on even units and in working days on odd ones (19
obligations a unit), plus a staged and a temporary item, which make none ahead and are
passed over. Every unit's items are objects of their own, as a catalog of per-unit items
would be. ``bot.services.disclosure_schedule.obligations_for_year`` runs ``--runs`` times,
each with a fresh ``WorkCalendar`` (so the official calendar's look-ups are in the time),
in this one process; the wall and CPU times of each run are printed with their median,
min and max, and the machine. Target: the median under 2 s. Figures go to stdout and
``bench/results/disclosure_obligations.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from zoneinfo import ZoneInfo

from bot.config.sections_disclosure import DisclosureItemConfig, ScheduleConfig
from bot.durations import parse_duration
from bot.services.disclosure_schedule import obligations_for_year
from bot.workdays import WorkCalendar

from ._harness import Figure, machine, print_table, write_results

TZ = ZoneInfo("Asia/Shanghai")
TARGET_SECONDS = 2.0
#: (period, due on even units, due on odd units).
REGULAR = (("monthly", "10d", "5wd"), ("quarterly", "15d", "5wd"),
           ("half_yearly", "30d", "10wd"), ("yearly", "60d", "20wd"))
PER_UNIT = {"monthly": 12, "quarterly": 4, "half_yearly": 2, "yearly": 1}


def _item(unit: str, name: str, schedule: ScheduleConfig) -> DisclosureItemConfig:
    return DisclosureItemConfig(f"{unit}.{name}", name, name, "party_building", "public",
                                ("channel", "notice_board"), schedule, unit=unit)


def catalog(units: int) -> dict[str, list[DisclosureItemConfig]]:
    """unit id -> its items: 4 regular of mixed periods and due kinds, a staged, a temporary."""
    found: dict[str, list[DisclosureItemConfig]] = {}
    for n in range(units):
        unit = f"village{n:04d}"
        items = [_item(unit, period, ScheduleConfig(
            "regular", period=period, due=parse_duration(even if n % 2 == 0 else odd)))
            for period, even, odd in REGULAR]
        items.append(_item(unit, "project", ScheduleConfig(
            "staged", within=parse_duration("5wd"), stages=("立项", "招标", "验收"))))
        items.append(_item(unit, "decision", ScheduleConfig(
            "temporary", within=parse_duration("3wd"))))
        found[unit] = items
    return found


def main(units: int, runs: int, year: int) -> None:
    items = catalog(units)
    expected = units * sum(PER_UNIT.values())
    walls: list[float] = []
    cpus: list[float] = []
    for run in range(1, runs + 1):
        calendar = WorkCalendar()
        wall, cpu = time.perf_counter(), time.process_time()
        found = obligations_for_year(items, year, calendar, TZ)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        walls.append(wall)
        cpus.append(cpu)
        if len(found) != expected:
            raise SystemExit(f"run {run}: {len(found)} obligations, expected {expected}")
        print(f"  run {run}: {len(found)} obligations in {wall * 1000:.1f} ms "
              f"(CPU {cpu * 1000:.1f} ms)", flush=True)
    # One figure checked on the last run: Q3 of an odd unit (5wd) lands after National Day.
    q3 = next(o for o in found if o.unit_id == "village0001" and o.period_key == f"{year}-Q3")
    median = statistics.median(walls)
    spec = machine()
    load = os.getloadavg()
    print(f"\n{units} units × 4 regular items, year {year}: {expected} obligations; "
          f"wall median {median * 1000:.1f} ms (min {min(walls) * 1000:.1f}, "
          f"max {max(walls) * 1000:.1f}) over {runs} runs; CPU median "
          f"{statistics.median(cpus) * 1000:.1f} ms; "
          f"{expected / median:,.0f} obligations/s")
    print(f"e.g. village0001's {q3.period_key} due {q3.due_at.isoformat()}")
    print(f"machine: {spec['cores']} cores, {spec['cpu'] or 'cpu model not given'}, "
          f"Python {spec['python']}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    figures = [
        Figure(f"obligations, {units} units, a year (median)", median, "s", None,
               f"< {TARGET_SECONDS:g} s", median < TARGET_SECONDS),
        Figure("obligations, fastest run", min(walls), "s"),
        Figure("obligations, slowest run", max(walls), "s"),
    ]
    print_table(figures)
    path = write_results("disclosure_obligations", figures, {
        "units": units, "runs": runs, "year": year, "obligations": expected,
        "wall_seconds": walls, "cpu_seconds": cpus, "load_average": load,
        "example": {"unit": q3.unit_id, "period": q3.period_key,
                    "due_at": q3.due_at.isoformat()}})
    print(f"results: {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()
    main(args.units, args.runs, args.year)
