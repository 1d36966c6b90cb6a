"""The ``sunbox`` command: run, demo, check-config, status and assess here; invite, invites,
revoke and members in ``bot.cli_roles``; the data lifecycle's erase, export, backup and
restore in ``bot.cli_lifecycle``. The parser is ``bot.cli_parser``, and what the commands
share (language, configuration, database) is ``bot.cli_common``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot import ablation, cli_lifecycle, cli_roles
from bot.cli_common import (
    DEFAULT_CONFIG,
    command_language,
    load_for_command,
    print_problems,
    with_runtime,
)
from bot.cli_parser import build_parser, help_language
from bot.clock import SystemClock
from bot.config import Config, ConfigError, check_config, load_config
from bot.i18n import DEFAULT_LANGUAGE, Translate, compile_catalogs, plural_translator, translator
from bot.startup import prepare_process

if TYPE_CHECKING:
    from bot.runtime import Runtime

T = TypeVar("T")

#: ``sunbox run``'s status when Telegram refuses the token: deploy/sunbox.service's
#: ``RestartPreventExitStatus=2`` keeps systemd from restarting it forever.
EXIT_TOKEN_REJECTED = 2

#: The allowed extensions of ``assess --out`` and ``--chart``.
WORKBOOK_EXTENSIONS = (".xlsx",)
CHART_EXTENSIONS = (".png",)


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.file or args.config or DEFAULT_CONFIG
    language = command_language(args)
    problems = check_config(path, for_run=args.for_run)
    t = translator(language)
    if problems:
        print_problems(problems, language)
        tn = plural_translator(language)
        print(tn("{count} problem in {path}", "{count} problems in {path}",
                 len(problems)).format(count=len(problems), path=path), file=sys.stderr)
        return 1
    _print_warnings(load_config(path, for_run=args.for_run), language)
    print(t("{path}: the configuration is valid").format(path=path))
    return 0


def _print_warnings(config: Config, language: str) -> None:
    """What a valid configuration should still fix (``bot.config_warnings``), on stderr."""
    from bot.config_warnings import config_warnings

    t = translator(language)
    today = SystemClock().now().astimezone(config.general.tz).date()
    for warning in config_warnings(config, today):
        print(t("warning: {problem}").format(problem=warning.render(t)), file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import build_application

    language = command_language(args)
    path = args.config or DEFAULT_CONFIG
    try:
        config = load_config(path, for_run=True)
    except ConfigError as error:
        print_problems(error.problems, language)
        t = translator(language)
        print(t("{path}: refusing to start").format(path=path),
              file=sys.stderr)
        return 1
    from bot.logsetup import setup_logging

    # [logging] level and format; the libraries that would log a token, an update or a
    # statement's parameters are kept quiet (bot/logsetup.py).
    setup_logging(config.logging, verbose=args.verbose)
    from telegram.error import InvalidToken

    from bot.seal import SealError
    from bot.telegram.connect import MSG_REJECTED
    from bot.telegram.webhook import MSG_LISTEN_FAILED, ListenError

    t = translator(language)
    ok, lock = cli_lifecycle.take_run_lock(config, t)
    if not ok:
        return 1
    try:
        application = build_application(config)
        run_loop(serve(application, t))
    except SealError as error:  # the key does not fit the database: one line, no trace
        print(_refusal(language, path, error), file=sys.stderr)
        return 1
    except InvalidToken:  # at start-up or later (revoked): a service must not restart on it
        print(t(MSG_REJECTED), file=sys.stderr)
        return EXIT_TOKEN_REJECTED
    except ListenError as error:  # [http] listen and port taken or not this machine's
        print(t(MSG_LISTEN_FAILED).format(listen=error.listen, port=error.port,
                                          reason=error.reason), file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()
    return 0


def _refusal(language: str, path: str, error: Any) -> str:
    """``path: refusing to start: why`` in the user's language."""
    t = translator(language)
    return t("{path}: refusing to start: {reason}").format(path=path,
                                                          reason=error.render(t))


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the bot's event loop: uvloop where it is installed (not on Windows), else
    asyncio's. Under load the bot is CPU-bound, and uvloop's wake-ups and hand-offs cost
    less than asyncio's (what it buys: bench/README.md)."""
    if ablation.off("uvloop"):
        return asyncio.run(main)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def settle_collector() -> None:
    """Once started: what start-up built (configuration, catalogs, handlers, PTB's objects)
    lives as long as the process, so it is moved out of the cyclic collector's sight
    (``gc.freeze``), and the youngest generation is collected after 10,000 allocations
    instead of 700 (reference counting frees almost everything an update allocates).

    Under load, full collections walking everything start-up built paused the loop long
    enough to make the tail of the confirm latency, and the frequent young collections
    cost a visible share of the CPU (what this buys: bench/README.md).
    """
    import gc

    if ablation.off("gc"):
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


async def serve(application: Any, t: Translate | None = None) -> None:
    """Run until SIGINT/SIGTERM: the Application, its jobs, the outbox, and the durable poller
    or, in webhook mode, the webhook (either way updates are stored before Telegram is told
    they arrived). The HTTP server (``/healthz``, ``/metrics``) runs in webhook mode, and in
    polling mode when the file has an ``[http]`` table (``bot.telegram.webhook``).

    Telegram is reached first (``bot.telegram.connect``): while it cannot be, one line per try and a
    longer pause each time; a refused token raises ``InvalidToken`` before anything opens.
    """
    import signal

    from bot.config import redact_proxy
    from bot.telegram.connect import reach
    from bot.telegram.poller import DurablePoller
    from bot.telegram.webhook import HttpServer, WebhookReceiver

    t = t or translator(DEFAULT_LANGUAGE)
    stop = asyncio.Event()
    config = application.bot_data.runtime.config
    receiver: DurablePoller | WebhookReceiver
    server: HttpServer | None = None
    if config.telegram.mode == "webhook":
        receiver = WebhookReceiver(application)  # with its own HTTP server
    else:
        receiver = DurablePoller(application, t=t)
        if config.http.configured:
            server = HttpServer(application)

    def stopping() -> None:
        stop.set()
        receiver.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping)
    telegram = config.telegram
    proxy = redact_proxy(telegram.proxy) if telegram.proxy else None
    if not await reach(application.bot, telegram.api_base_url, t, stop, proxy=proxy):
        return
    await application.initialize()
    try:
        await application.post_init(application)
    except BaseException:  # refused (a seal key that does not fit): close what was opened
        await application.shutdown()
        raise
    await application.start()
    settle_collector()
    try:
        if server is not None:
            await server.start()
        await receiver.run()
    finally:
        if server is not None:
            await server.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    language = command_language(args)
    config_path = Path(args.config) if args.config else None
    try:
        return run_loop(run_demo(config_path, language, fast=args.fast,
                                 verbose=args.verbose))
    except ConfigError as error:
        print_problems(error.problems, language)
        return 1


def cmd_status(args: argparse.Namespace) -> int:
    """``sunbox status``: the health report (bot/services/health.py); 1 on a problem."""
    from bot.i18n import plural_translator
    from bot.services import health

    language = command_language(args)
    t = translator(language)
    config = load_for_command(args, language)
    if config is None:
        return 1
    database = config.general.database
    if not database.startswith(("postgresql:", "postgres:")) and not Path(database).is_file():
        print(t("{path}: there is no database yet: has sunbox run started?").format(
            path=config.general.database), file=sys.stderr)
        return 1

    async def report(runtime: Runtime) -> tuple[list[str], bool]:
        found = await health.check(runtime)
        return health.render(found, t, plural_translator(language)), found.healthy

    done = with_runtime(config, t, report)
    if done is None:
        return 1
    lines, healthy = done
    print("\n".join(lines))
    return 0 if healthy else 1


def cmd_assess(args: argparse.Namespace) -> int:
    """Compute the assessment and write the workbook (and the chart), with a progress bar."""
    from tqdm import tqdm

    from bot.config import MSG_UNKNOWN_UNIT
    from bot.reports import chart, workbook
    from bot.services import assessment

    language = command_language(args)
    t = translator(language)
    for path, allowed in ((args.out, WORKBOOK_EXTENSIONS), (args.chart, CHART_EXTENSIONS)):
        if path is not None and Path(path).suffix.lower() not in allowed:
            print(t("{path}: cannot write this kind of file; use {allowed}").format(
                path=path, allowed=", ".join(allowed)), file=sys.stderr)
            return 1
    config = load_for_command(args, language)
    if config is None:
        return 1
    try:
        period = (assessment.parse_period(args.period) if args.period else
                  assessment.current_half(SystemClock().now(), config.general.tz))
    except assessment.PeriodError as error:
        print(t(error.message).format(**error.params), file=sys.stderr)
        return 1
    known = {unit.id for unit in config.units}
    for unit_id in args.unit or ():
        if unit_id not in known:
            print(t(MSG_UNKNOWN_UNIT).format(unit=unit_id), file=sys.stderr)
            return 1

    async def build(runtime: Runtime) -> tuple[bytes, bytes | None]:
        # The bar goes to stderr, and only on a terminal (disable=None).
        with tqdm(desc=t("Reading the cases"), file=sys.stderr, disable=None,
                  dynamic_ncols=True) as bar:
            as_of = runtime.clock.now()
            histories = await assessment.load(runtime, period)
            bar.reset(total=len(histories) + 2)  # every case, then the chart and the workbook
            bar.set_description(t("Computing the figures"))
            result = assessment.compute(
                config, runtime.calendar, histories, period, as_of, scope=args.unit,
                progress=lambda done, total: bar.update(done - bar.n))
            png = None
            if args.chart:
                bar.set_description(t("Drawing the chart"))
                png = chart.render_png(result, config, language)
            bar.update(1)
            bar.set_description(t("Writing the workbook"))
            xlsx = workbook.build_workbook(result, config, language)
            bar.update(1)
        return xlsx, png

    built = with_runtime(config, t, build)
    if built is None:
        return 1
    xlsx, png = built
    try:
        Path(args.out).write_bytes(xlsx)
        if png is not None:
            Path(args.chart).write_bytes(png)
    except OSError as error:
        print(t("Cannot write the report: {error}").format(error=error), file=sys.stderr)
        return 1
    print(t("Assessment {period} ({first} – {last}): workbook written to {path}").format(
        period=period.code, first=period.first.isoformat(), last=period.last.isoformat(),
        path=args.out))
    if png is not None:
        print(t("Chart written to {path}").format(path=args.chart))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # The process's own settings (PTB's timedelta answers, SQLite's allocator), before
    # anything opens a database.
    prepare_process()
    compile_catalogs()
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(help_language(arguments)).parse_args(arguments)
    handlers = {"run": cmd_run, "demo": cmd_demo, "check-config": cmd_check_config,
                **cli_roles.COMMANDS, "status": cmd_status,
                "assess": cmd_assess, **cli_lifecycle.COMMANDS}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
