"""``sunbox run`` for ``bench.throughput``'s profiled and what-if runs (not run by hand).

    python -m bench.run_sunbox CONFIG [--profile PREFIX --mode wall|cpu] [--no-rate-limiter]

The real ``bot.cli.serve`` on the real ``build_application``. ``--profile`` writes
``PREFIX.<mode>.txt`` (call tree) and ``PREFIX.<mode>.flat.txt`` (self time by function):
``wall`` attributes await time to the awaiting coroutine (where an update waits), ``cpu``
samples the thread as is (where the CPU goes; idle shows as ``select``).
``--no-rate-limiter`` builds without PTB's ``AIORateLimiter`` (a what-if, not production).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bot.app import build_application
from bot.cli import run_loop, serve
from bot.config import load_config


async def _run(args: argparse.Namespace) -> None:
    application = build_application(load_config(args.config, for_run=True),
                                     rate_limiter=not args.no_rate_limiter)
    if args.profile is None:
        await serve(application)
        return
    from pyinstrument import Profiler
    from pyinstrument.renderers import ConsoleRenderer

    profiler = Profiler(interval=0.0005,
                        async_mode="enabled" if args.mode == "wall" else "disabled")
    profiler.start()
    try:
        await serve(application)
    finally:
        session = profiler.stop()
        prefix = Path(args.profile)
        tree = ConsoleRenderer(unicode=True, color=False,
                               processor_options={"filter_threshold": 0.005})
        flat = ConsoleRenderer(unicode=True, color=False, flat=True)
        Path(f"{prefix}.{args.mode}.txt").write_text(tree.render(session), encoding="utf-8")
        Path(f"{prefix}.{args.mode}.flat.txt").write_text(flat.render(session),
                                                          encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--profile", metavar="PREFIX")
    parser.add_argument("--mode", choices=("wall", "cpu"), default="cpu")
    parser.add_argument("--no-rate-limiter", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    run_loop(_run(args))


if __name__ == "__main__":
    main()
