"""The ``sunbox`` command line: its subcommands, their options and help texts in the
chosen language."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from bot import cli_lifecycle, cli_migrate
from bot.cli_common import DEFAULT_CONFIG
from bot.config import ROLES
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, normalize_language, translator


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
    cli_lifecycle.add_parsers(command, add_common, config_help, t)
    cli_migrate.add_parser(command, t)
    return parser
