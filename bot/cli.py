"""The ``sunbox`` command: run, demo, check-config, invite, invites, revoke, members, assess,
and the data lifecycle's erase, export, backup and restore (``bot.cli_lifecycle``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.clock import SystemClock
from bot.config import ROLES, Config, ConfigError, Problem, check_config, load_config
from bot.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    N_,
    Translate,
    compile_catalogs,
    normalize_language,
    plural_translator,
    translator,
)

if TYPE_CHECKING:
    from bot.runtime import Runtime

T = TypeVar("T")

DEFAULT_CONFIG = "config.toml"
#: ``sunbox run``'s status when Telegram refuses the token: deploy/sunbox.service's
#: ``RestartPreventExitStatus=2`` keeps systemd from restarting it forever.
EXIT_TOKEN_REJECTED = 2


def _language(args: argparse.Namespace) -> str:
    return (normalize_language(getattr(args, "lang", None))
            or normalize_language(os.environ.get("SUNBOX_LANG")) or "zh_CN")


def _print_problems(problems: Sequence[Problem], language: str) -> None:
    t = translator(language)
    for problem in problems:
        print(problem.render(t), file=sys.stderr)


def help_language(argv: Sequence[str]) -> str:
    """The language of ``--help``: ``--lang`` read from ``argv`` before the parser exists
    (its texts are built in that language), then ``SUNBOX_LANG``, then Chinese."""
    for index, arg in enumerate(argv):
        value = None
        if arg == "--lang" and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value is not None and normalize_language(value):
            return normalize_language(value) or DEFAULT_LANGUAGE
    return normalize_language(os.environ.get("SUNBOX_LANG")) or "zh_CN"


#: What ``sunbox --help`` says Sunbox is.
MSG_DESCRIPTION = N_("Sunbox (阳光信箱): the county's open-affairs mailbox, a Telegram bot. "
                     "Residents file suggestions and named reports; the unit responsible "
                     "answers within a deadline. Try it: sunbox demo.")
#: The allowed extensions of ``assess --out`` and ``--chart``.
WORKBOOK_EXTENSIONS = (".xlsx",)
CHART_EXTENSIONS = (".png",)


def build_parser(language: str = "zh_CN") -> argparse.ArgumentParser:
    """The whole command line, its help texts in ``language``."""
    t = translator(language)

    def add_common(parser: argparse.ArgumentParser, config_help: str) -> None:
        parser.add_argument("--config", metavar="FILE", help=config_help)
        parser.add_argument("--lang", choices=LANGUAGES, help=t("zh_CN (default) or en"))

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text,
                                                         description=help_text)
        return parser

    parser = argparse.ArgumentParser(prog="sunbox", description=t(MSG_DESCRIPTION))
    sub = parser.add_subparsers(dest="command", required=True,
                                title=t("commands"), metavar="COMMAND")
    run = command("run", t("run the bot against Telegram (needs a token)"))
    add_common(run, t("configuration file (default {path})").format(path=DEFAULT_CONFIG))
    run.add_argument("--verbose", action="store_true", help=t("debug logging"))
    demo = command("demo", t("run the real bot on the built-in Bot API emulator and play a "
                             "tour (about 15 seconds)"))
    add_common(demo, t("configuration file (default: the example configuration, with a "
                       "temporary database)"))
    demo.add_argument("--fast", action="store_true",
                      help=t("also show deadlines and a meeting in fast time: a reminder, "
                             "the breach, the escalation, an extension and a supervisors' "
                             "meeting (about three and a half minutes in all)"))
    demo.add_argument("--verbose", action="store_true",
                      help=t("show the bot's log lines (on standard error)"))
    check = command("check-config", t("validate a configuration file"))
    check.add_argument("file", nargs="?",
                       help=t("the file (default {path})").format(path=DEFAULT_CONFIG))
    add_common(check, t("the file, as an option (same as the positional FILE)"))
    check.add_argument("--for-run", action="store_true",
                       help=t("also require what `sunbox run` needs (a token)"))
    config_help = t("configuration file naming the database (default {path})").format(
        path=DEFAULT_CONFIG)
    roles = ", ".join(ROLES)
    invite = command("invite", t("create a one-time invite link into a role, or cancel an "
                                 "unused one"))
    add_common(invite, config_help)
    invite.add_argument("--role", help=t("one of: {roles} (required unless --cancel)").format(
        roles=roles))
    invite.add_argument("--unit", help=t("the unit's id (required unless --cancel)"))
    invite.add_argument("--expires", default=None, metavar="DURATION",
                        help=t("how long the link stays valid, e.g. 48h or 7d (default 7d, "
                               "at most [limits] invite_max_days)"))
    invite.add_argument("--bot", metavar="USERNAME",
                        help=t("the bot's username, to print the whole link"))
    invite.add_argument("--cancel", type=int, metavar="N",
                        help=t("cancel the unused invite number N (see `sunbox invites`)"))
    invites = command("invites", t("list the invites that can still be used"))
    add_common(invites, config_help)
    revoke = command("revoke", t("withdraw a role from a person"))
    add_common(revoke, config_help)
    revoke.add_argument("--telegram-id", required=True, type=int, metavar="N",
                        help=t("the person's numeric Telegram user id"))
    revoke.add_argument("--role", required=True, help=t("one of: {roles}").format(roles=roles))
    revoke.add_argument("--unit", required=True, help=t("the unit's id"))
    members = command("members", t("list who holds which role"))
    add_common(members, config_help)
    members.add_argument("--unit", help=t("only this unit"))
    assess = command("assess", t("assess the units for a period: an XLSX workbook and, if "
                                 "asked, a PNG chart"))
    add_common(assess, config_help)
    assess.add_argument("--period", metavar="PERIOD",
                        help=t("2026H2, 2026Q4, 2026-11, 2026 or 2026-07-01..2026-12-31 "
                               "(default: the current half year)"))
    assess.add_argument("--out", required=True, metavar="FILE",
                        help=t("the workbook (.xlsx)"))
    assess.add_argument("--chart", metavar="FILE", help=t("also draw the chart (.png)"))
    assess.add_argument("--unit", action="append", metavar="ID",
                        help=t("only this unit and the units below it (may be repeated)"))
    status = command("status", t("show the health of the running bot; exits with 1 when "
                                 "something needs the operator"))
    add_common(status, config_help)
    from bot import cli_lifecycle

    cli_lifecycle.add_parsers(sub, add_common, config_help)
    _translate_lifecycle_help(sub, t)
    return parser


#: The help texts of ``bot.cli_lifecycle``'s commands, for the catalogs: a text changed there
#: and not here stays in English until it is copied here.
LIFECYCLE_HELP = (
    N_("remove a person's personal data everywhere it is stored (their cases stay, without "
       "it)"),
    N_("write what Sunbox holds about a person as JSON"),
    N_("write to this file (mode 0600) instead of standard output"),
    N_("write a consistent copy of the database, with a manifest, to a tar archive (works "
       "while the bot runs)"),
    N_("the archive to write (.tar)"),
    N_("put a backup back in place of the database (refused while the bot runs)"),
    N_("the archive written by sunbox backup"),
)


def _translate_lifecycle_help(sub: Any, t: Translate) -> None:
    """The data lifecycle's commands: their help texts in the chosen language, and their
    help line as their description."""
    known = set(LIFECYCLE_HELP)
    for choice in sub._choices_actions:
        if choice.help in known:
            choice.help = t(choice.help)
    for name, subparser in sub.choices.items():
        for action in subparser._actions:
            if action.help in known:
                action.help = t(action.help)
        if subparser.description is None:
            subparser.description = next(
                (choice.help for choice in sub._choices_actions if choice.dest == name), None)


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.file or args.config or DEFAULT_CONFIG
    language = _language(args)
    problems = check_config(path, for_run=args.for_run)
    t = translator(language)
    if problems:
        _print_problems(problems, language)
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

    language = _language(args)
    path = args.config or DEFAULT_CONFIG
    try:
        config = load_config(path, for_run=True)
    except ConfigError as error:
        _print_problems(error.problems, language)
        t = translator(language)
        print(t("{path}: refusing to start").format(path=path),
              file=sys.stderr)
        return 1
    from bot.logsetup import setup_logging

    # [logging] level and format; the libraries that would log a token, an update or a
    # statement's parameters are kept quiet (bot/logsetup.py).
    setup_logging(config.logging, verbose=args.verbose)
    from telegram.error import InvalidToken

    from bot.cli_lifecycle import take_run_lock
    from bot.connect import MSG_REJECTED
    from bot.seal import SealError

    t = translator(language)
    ok, lock = take_run_lock(config, t)
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
    """Run the bot's event loop: uvloop where it is installed (not on Windows), which takes
    about a tenth off the CPU each update costs (bench/throughput.py), else asyncio's."""
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

    Measured at 50 users (bench/throughput.py), 18 s: full collections had paused the loop
    35-42 ms each (10 of them), the tail of the confirm latency, and now take 2 ms; young
    collections had cost 0.7 s of CPU (1,600 of them).
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


async def serve(application: Any, t: Translate | None = None) -> None:
    """Run until SIGINT/SIGTERM: the Application, its jobs, the outbox and the durable poller
    (updates are stored before Telegram is told they arrived).

    Telegram is reached first (``bot.connect``): while it cannot be, one line per try and a
    longer pause each time; a refused token raises ``InvalidToken`` before anything opens.
    """
    import signal

    from bot.config import redact_proxy
    from bot.connect import reach
    from bot.poller import DurablePoller

    t = t or translator(DEFAULT_LANGUAGE)
    stop = asyncio.Event()
    poller = DurablePoller(application, t=t)

    def stopping() -> None:
        stop.set()
        poller.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping)
    telegram = application.bot_data.runtime.config.telegram
    proxy = redact_proxy(telegram.proxy) if telegram.proxy else None
    if not await reach(application.bot, telegram.api_base_url, t, stop, proxy=proxy):
        return
    await application.initialize()
    await application.post_init(application)
    await application.start()
    settle_collector()
    try:
        await poller.run()
    finally:
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    language = _language(args)
    config_path = Path(args.config) if args.config else None
    try:
        return run_loop(run_demo(config_path, language, fast=args.fast,
                                 verbose=args.verbose))
    except ConfigError as error:
        _print_problems(error.problems, language)
        return 1


# ---------------------------------------------------------------- roles: invite, revoke, members

_BOT_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{4,31})")


def _load_for_roles(args: argparse.Namespace, language: str) -> Config | None:
    """The configuration (a token is not needed), or None after printing its problems."""
    try:
        return load_config(args.config or DEFAULT_CONFIG)
    except ConfigError as error:
        _print_problems(error.problems, language)
        return None


def _with_runtime(
    config: Config, t: Translate, action: Callable[[Runtime], Awaitable[T]]
) -> T | None:
    """Open the configuration's database, run ``action`` on it, close it.

    None after printing why the database could not be opened.
    """
    from bot.runtime import Runtime
    from bot.seal import SealError
    from storage.migrations import SchemaTooNew

    async def run() -> T:
        runtime = Runtime(config, SystemClock(), config.general.database, create_key=False)
        await runtime.open()
        try:
            return await action(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(run())
    except SealError as error:
        print(t("{path}: cannot open the database: {error}").format(
            path=config.general.database, error=error.render(t)), file=sys.stderr)
        return None
    except (OSError, sqlite3.Error, SchemaTooNew) as error:
        print(t("{path}: cannot open the database: {error}").format(
            path=config.general.database, error=error), file=sys.stderr)
        return None


def _role_unit_ok(config: Config, role: str, unit_id: str, t: Translate,
                  grant: bool = False) -> bool:
    """Whether the role and the unit exist (and, to ``grant``, go together); if not, say
    so."""
    from bot.services.invites import InviteError, check_grant, check_role_unit, error_text

    try:
        (check_grant if grant else check_role_unit)(config, role, unit_id)
    except InviteError as error:
        print(error_text(t, error, config), file=sys.stderr)
        return False
    return True


def cmd_invite(args: argparse.Namespace) -> int:
    from bot.durations import DurationError, parse_duration
    from bot.services import invites
    from bot.services.notify import local_time
    from storage.invites import Invite

    language = _language(args)
    t = translator(language)
    config = _load_for_roles(args, language)
    if config is None:
        return 1
    if args.cancel is not None:
        return _cancel_invite(args, config, t, language)
    if args.role is None or args.unit is None:
        print(t("Both --role and --unit are needed to create an invite (or --cancel N to "
                "cancel one)."), file=sys.stderr)
        return 1
    if not _role_unit_ok(config, args.role, args.unit, t, grant=True):
        return 1
    try:
        expires = parse_duration(args.expires) if args.expires is not None else None
    except DurationError as error:
        print(t(error.msgid).format(**error.params), file=sys.stderr)
        return 1
    bot = None
    if args.bot is not None:
        match = _BOT_USERNAME.fullmatch(args.bot.strip())
        if match is None:
            print(t('"{bot}" is not a bot username (letters, digits and _, 5 to 32 '
                    "characters).").format(bot=args.bot), file=sys.stderr)
            return 1
        bot = match.group(1)

    async def create(runtime: Runtime) -> tuple[Invite, str] | str:
        try:
            invite = await invites.create_invite(runtime, args.role, args.unit, None, expires)
        except invites.InviteError as error:
            return invites.error_text(t, error, config)
        assert invite.expires_at is not None
        return invite, local_time(runtime, invite.expires_at)

    created = _with_runtime(config, t, create)
    if created is None:
        return 1
    if isinstance(created, str):
        print(created, file=sys.stderr)
        return 1
    invite, until = created
    print(t("Invite created: {role} of {unit} ({unit_id}), valid once, until {expires}.").format(
        role=invites.role_name(t, args.role), unit=config.unit(args.unit).name(language),
        unit_id=args.unit, expires=until))
    if bot is not None:
        print(t("Link: {link}").format(link=f"https://t.me/{bot}?start={invite.code}"))
    else:
        print(t("Link: {link} (replace <bot> with the bot's username, or pass --bot)").format(
            link=f"https://t.me/<bot>?start={invite.code}"))
        print(t("Or the person sends this message to the bot: /start {code}").format(
            code=invite.code))
    return 0


def _cancel_invite(args: argparse.Namespace, config: Config, t: Translate, language: str
                   ) -> int:
    """``sunbox invite --cancel N``."""
    from bot.services import invites

    async def cancel(runtime: Runtime) -> str | None:
        try:
            invite = await invites.cancel_invite(runtime, args.cancel)
        except invites.InviteError as error:
            print(invites.error_text(t, error, config), file=sys.stderr)
            return None
        return t(invites.MSG_CANCELLED).format(
            id=invite.id, role=invites.role_name(t, invite.role),
            unit=config.unit(invite.unit_id).name(language))

    done = _with_runtime(config, t, cancel)
    if done is None:
        return 1
    print(done)
    return 0


def cmd_invites(args: argparse.Namespace) -> int:
    """``sunbox invites``: the invites that can still be used."""
    from bot.services import invites

    language = _language(args)
    t = translator(language)
    config = _load_for_roles(args, language)
    if config is None:
        return 1

    async def listing(runtime: Runtime) -> list[str]:
        waiting = await invites.unused_invites(runtime)
        return invites.invite_lines(runtime, t, language, waiting)

    lines = _with_runtime(config, t, listing)
    if lines is None:
        return 1
    print("\n".join(lines) if lines else t(invites.MSG_NO_INVITES))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from bot.services import invites

    language = _language(args)
    t = translator(language)
    config = _load_for_roles(args, language)
    if config is None or not _role_unit_ok(config, args.role, args.unit, t):
        return 1

    async def revoke(runtime: Runtime) -> bool:
        return await invites.revoke(runtime, args.telegram_id, args.role, args.unit)

    done = _with_runtime(config, t, revoke)
    if done is None:
        return 1
    params = {"telegram_id": args.telegram_id, "role": invites.role_name(t, args.role),
              "unit": f"{config.unit(args.unit).name(language)} ({args.unit})"}
    if not done:
        print(t(invites.MSG_NOT_HELD).format(**params), file=sys.stderr)
        return 1
    print(t(invites.MSG_REVOKED).format(**params))
    if invites.is_configured(config, args.telegram_id, args.role, args.unit):
        print(t(invites.MSG_CONFIGURED))
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    from bot.services import invites

    language = _language(args)
    t = translator(language)
    config = _load_for_roles(args, language)
    if config is None:
        return 1
    if args.unit is not None and not _role_unit_ok(config, ROLES[0], args.unit, t):
        return 1

    async def listing(runtime: Runtime) -> list[str]:
        members = await invites.list_members(runtime, args.unit)
        units = [args.unit] if args.unit is not None else []
        return invites.members_lines(runtime, t, language, members, units)

    lines = _with_runtime(config, t, listing)
    if lines is None:
        return 1
    print("\n".join(lines) if lines else t(invites.MSG_NOBODY))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """``sunbox status``: the health report (bot/services/health.py); 1 on a problem."""
    from bot.i18n import plural_translator
    from bot.services import health

    language = _language(args)
    t = translator(language)
    config = _load_for_roles(args, language)
    if config is None:
        return 1
    if not Path(config.general.database).is_file():
        print(t("{path}: there is no database yet: has sunbox run started?").format(
            path=config.general.database), file=sys.stderr)
        return 1

    async def report(runtime: Runtime) -> tuple[list[str], bool]:
        found = await health.check(runtime)
        return health.render(found, t, plural_translator(language)), found.healthy

    done = _with_runtime(config, t, report)
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

    language = _language(args)
    t = translator(language)
    for path, allowed in ((args.out, WORKBOOK_EXTENSIONS), (args.chart, CHART_EXTENSIONS)):
        if path is not None and Path(path).suffix.lower() not in allowed:
            print(t("{path}: cannot write this kind of file; use {allowed}").format(
                path=path, allowed=", ".join(allowed)), file=sys.stderr)
            return 1
    config = _load_for_roles(args, language)
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

    built = _with_runtime(config, t, build)
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
    from bot import cli_lifecycle

    compile_catalogs()
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(help_language(arguments)).parse_args(arguments)
    handlers = {"run": cmd_run, "demo": cmd_demo, "check-config": cmd_check_config,
                "invite": cmd_invite, "invites": cmd_invites, "revoke": cmd_revoke,
                "members": cmd_members, "status": cmd_status,
                "assess": cmd_assess, **cli_lifecycle.COMMANDS}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
