"""The ``sunbox`` command: run, demo, check-config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Problem, check_config, load_config
from bot.i18n import LANGUAGES, compile_catalogs, normalize_language, translator

DEFAULT_CONFIG = "config.toml"


def _language(args: argparse.Namespace) -> str:
    return (normalize_language(getattr(args, "lang", None))
            or normalize_language(os.environ.get("SUNBOX_LANG")) or "zh_CN")


def _print_problems(problems: Sequence[Problem], language: str) -> None:
    t = translator(language)
    for problem in problems:
        print(problem.render(t), file=sys.stderr)


def _add_common(parser: argparse.ArgumentParser, config_help: str) -> None:
    parser.add_argument("--config", metavar="FILE", help=config_help)
    parser.add_argument("--lang", choices=LANGUAGES, help="zh_CN (default) or en")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sunbox", description="Sunbox (阳光信箱): the county's open-affairs mailbox bot."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot against Telegram (needs a token)")
    _add_common(run, f"configuration file (default {DEFAULT_CONFIG})")
    run.add_argument("--verbose", action="store_true", help="debug logging")
    demo = sub.add_parser(
        "demo", help="run the real bot on the built-in Bot API emulator and play a tour"
    )
    _add_common(demo, "configuration file (default: the example configuration, with a "
                      "temporary database)")
    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", nargs="?", help=f"the file (default {DEFAULT_CONFIG})")
    _add_common(check, "the file, as an option (same as the positional FILE)")
    check.add_argument("--for-run", action="store_true",
                       help="also require what `sunbox run` needs (a token)")
    return parser


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.file or args.config or DEFAULT_CONFIG
    language = _language(args)
    problems = check_config(path, for_run=args.for_run)
    t = translator(language)
    if problems:
        _print_problems(problems, language)
        print(t("{count} problem(s) in {path}").format(count=len(problems), path=path),
              file=sys.stderr)
        return 1
    print(t("{path}: the configuration is valid").format(path=path))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from telegram import Update

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
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL, and the URL carries the bot token; PTB's debug log
    # carries whole updates, i.e. what people wrote. Neither belongs in the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)
    application = build_application(config)
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    language = _language(args)
    config_path = Path(args.config) if args.config else None
    try:
        return asyncio.run(run_demo(config_path, language))
    except ConfigError as error:
        _print_problems(error.problems, language)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    compile_catalogs()
    args = build_parser().parse_args(argv)
    handlers = {"run": cmd_run, "demo": cmd_demo, "check-config": cmd_check_config}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
