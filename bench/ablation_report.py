"""What ``python -m bench.throughput --ablate ...`` prints: each mechanism's gain on its own.

For each mechanism, Sunbox ran in on/off pairs (everything on; the same with that one
mechanism off through ``SUNBOX_ABLATE``, bot/ablation.py). A pair's gain is its throughput
on ÷ off (above 1: the mechanism helps); the median of the pairs and their range
(min–max) are the verdict. A mechanism whose range spans 1.0 has a gain indistinguishable
from zero on that run and is a candidate for removal (issue 20's rule).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def wired(mechanism: str) -> bool:
    """Whether Sunbox's code consults the switch for ``mechanism`` (``ablation.off("...")``
    somewhere in bot/ or storage/): a switch nobody reads would measure noise."""
    call = re.compile(r"""ablation\.off\(\s*["']""" + re.escape(mechanism) + r"""["']\s*\)""")
    for folder in ("bot", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name != "ablation.py" and call.search(path.read_text(encoding="utf-8")):
                return True
    return False


@dataclass
class Side:
    """One Sunbox run of a pair."""

    updates_per_s: float
    cpu_ms_per_update: float | None
    confirm_p99_ms: float | None


@dataclass
class Pair:
    on: Side
    off: Side

    @property
    def gain(self) -> float | None:
        """Throughput with the mechanism ÷ without it."""
        return self.on.updates_per_s / self.off.updates_per_s if self.off.updates_per_s else None

    @property
    def cpu_saving(self) -> float | None:
        """CPU per update without the mechanism ÷ with it (above 1: it saves CPU)."""
        on, off = self.on.cpu_ms_per_update, self.off.cpu_ms_per_update
        return off / on if on and off else None


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summary(pairs: list[Pair]) -> dict[str, Any]:
    """The figures of one mechanism's pairs, and whether its gain is distinguishable from 0."""
    gains = [g for g in (p.gain for p in pairs) if g is not None]
    savings = [s for s in (p.cpu_saving for p in pairs) if s is not None]
    gain = _spread(gains)
    # One pair has no range: nothing to judge by.
    spans_one = (None if len(gains) < 2
                 else gain["min"] <= 1.0 <= gain["max"])  # type: ignore[operator]
    return {
        "gain": gain, "gains": gains, "cpu_saving": _spread(savings), "cpu_savings": savings,
        "on_updates_per_s": statistics.median(p.on.updates_per_s for p in pairs),
        "off_updates_per_s": statistics.median(p.off.updates_per_s for p in pairs),
        "on_cpu_ms": _median_of(p.on.cpu_ms_per_update for p in pairs),
        "off_cpu_ms": _median_of(p.off.cpu_ms_per_update for p in pairs),
        "removal_candidate": spans_one,
    }


def _median_of(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ranged(spread: dict[str, float | None]) -> str:
    return f"{_f(spread['median'])} ({_f(spread['min'])}–{_f(spread['max'])})"


def render(results: dict[str, list[Pair]], unavailable: list[str]) -> list[str]:
    """The printed report: per mechanism its pairs, then one line of medians and the verdict."""
    lines = []
    for mechanism, pairs in results.items():
        lines.append(f"{mechanism}: on / off")
        for index, pair in enumerate(pairs, 1):
            lines.append(
                f"  pair {index}: {pair.on.updates_per_s:6.1f} / {pair.off.updates_per_s:6.1f}"
                f" updates/s = {_f(pair.gain)};  CPU {_f(pair.on.cpu_ms_per_update)} /"
                f" {_f(pair.off.cpu_ms_per_update)} ms/update;  confirm p99"
                f" {_f(pair.on.confirm_p99_ms, 0)} / {_f(pair.off.confirm_p99_ms, 0)} ms")
    lines.append("")
    lines.append(f"{'mechanism':10} {'updates/s on':>12} {'off':>7} {'CPU ms on':>10} {'off':>6}"
                 f"  {'gain (range)':18}  {'CPU saved (range)':18}  verdict")
    for mechanism, pairs in results.items():
        s = summary(pairs)
        verdict = {True: "range spans 1.0: candidate for removal",
                   False: "gain distinguishable from 0",
                   None: "one pair: no range to judge"}[s["removal_candidate"]]
        lines.append(
            f"{mechanism:10} {s['on_updates_per_s']:12.1f} {s['off_updates_per_s']:7.1f}"
            f" {_f(s['on_cpu_ms']):>10} {_f(s['off_cpu_ms']):>6}"
            f"  {_ranged(s['gain']):18}  {_ranged(s['cpu_saving']):18}  {verdict}")
    for mechanism in unavailable:
        lines.append(f"{mechanism:10} not available: nothing in bot/ or storage/ consults"
                     f" SUNBOX_ABLATE for it yet")
    return lines
