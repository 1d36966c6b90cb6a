"""``sunbox migrate --from sqlite:PATH --to postgresql://…``: a county's SQLite database
copied into an empty PostgreSQL database, then proved equal to it table by table
(``storage.copy``), with a summary of every table's count and hash.

The source is locked as ``sunbox restore`` locks it (a bot running on it would go on
writing what the copy misses), and never written: an older schema is migrated in a copy of
the file beside it. The target must hold no row of Sunbox's; the password of its URL is
never printed (``storage.sql_postgres.redact``). Exit status 0 only when every table matches.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bot.cli_common import command_language
from bot.i18n import LANGUAGES, N_, Translate, translator
from bot.instance_lock import InstanceLock, Locked, lock_path
from storage.copy import CopyRefused, TableCheck, migrate_to_postgres
from storage.migrations.postgres import latest
from storage.sql import DatabaseError
from storage.sql_postgres import is_postgres, redact

MSG_HELP = N_("copy a county's SQLite database into an empty PostgreSQL database, then check "
              "every table's rows and hash against the source")
MSG_FROM = N_("the SQLite database to copy, as sqlite:PATH")
MSG_TO = N_("the empty PostgreSQL database, as a postgresql:// URL (its search_path may "
            "name the schema)")
MSG_BAD_FROM = N_("{source}: give the SQLite database as sqlite:PATH")
MSG_BAD_TO = N_("{target}: give the PostgreSQL database as a postgresql:// URL")
MSG_NO_SOURCE = N_("{path}: there is no database to copy. Nothing was copied.")
MSG_RUNNING = N_("Sunbox is running on {database} (pid {pid} on {host}, since {since}); "
                 "stop it first. Nothing was copied.")
MSG_LOCK_FAILED = N_("{path}: cannot take the lock: {error}")
MSG_FAILED = N_("Cannot copy: {error}. Nothing was copied.")
MSG_MIGRATED = N_("{path} is at schema version {version}: a copy of it was brought to version "
                  "{known} and copied (the file itself is unchanged).")
MSG_SKIPPED = N_("Not copied (SQLite's own, PostgreSQL has no such table): {tables}")
MSG_ALL_MATCH = N_("Copied {tables} tables, {rows} rows, from {source} to {target}: every "
                   "count and hash matches the source.")
MSG_DIFFERS = N_("The copy in {target} does not match the source in: {tables}. Do not start "
                 "Sunbox on it: drop it and copy again.")
MSG_NEXT = N_("Next: set [general] database to the PostgreSQL URL, keep the same seal key "
              "([security] seal_key_file), and set [storage] files to a copy of the file "
              "store.")

#: What copying may raise besides a refusal: one line, no trace.
_FAILURES: tuple[type[Exception], ...] = (OSError, *DatabaseError)

#: Why ``storage.copy`` refused, as the user reads it (each ends "Nothing was copied.").
REFUSALS = {
    "not_empty": N_("{target} is not empty ({tables} hold rows): copy only into an empty "
                    "database or schema. Nothing was copied."),
    "not_sunbox": N_("{path} is not a Sunbox database. Nothing was copied."),
    "source_too_new": N_("{path} holds schema version {version}; this Sunbox copies up to "
                         "{known}. Nothing was copied."),
    "target_too_new": N_("{target} holds schema version {version}; this Sunbox knows up to "
                         "{known}. Nothing was copied."),
    "schema_differs": N_("The SQLite and PostgreSQL schemas differ at {table} ({detail}). "
                         "Nothing was copied."),
}


def add_parser(command: Callable[[str, str], argparse.ArgumentParser], t: Translate) -> None:
    """The ``migrate`` subcommand, its help in the chosen language."""
    migrate = command("migrate", t(MSG_HELP))
    migrate.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH",
                         help=t(MSG_FROM))
    migrate.add_argument("--to", dest="target", required=True, metavar="postgresql://…",
                         help=t(MSG_TO))
    migrate.add_argument("--lang", choices=LANGUAGES, help=t("zh_CN (default) or en"))


def sqlite_path(source: str) -> Path | None:
    """The file a ``--from`` names: ``sqlite:PATH`` (``sqlite:///abs/path`` too)."""
    if not source.startswith("sqlite:"):
        return None
    rest = source.removeprefix("sqlite:")
    if rest.startswith("//"):
        rest = rest.removeprefix("//")
    return Path(rest).expanduser() if rest else None


def _scrub(text: str, url: str) -> str:
    """An error's text without the URL's password, wherever a driver may have put it."""
    password = urlsplit(url).password
    text = " ".join(text.replace(url, redact(url)).split())  # one line
    return text.replace(password, "***") if password else text


def cmd_migrate(args: argparse.Namespace) -> int:
    t = translator(command_language(args))
    path = sqlite_path(args.source)
    if path is None:
        print(t(MSG_BAD_FROM).format(source=args.source), file=sys.stderr)
        return 1
    if not is_postgres(args.target):
        print(t(MSG_BAD_TO).format(target=redact(args.target)), file=sys.stderr)
        return 1
    if not path.is_file():
        print(t(MSG_NO_SOURCE).format(path=path), file=sys.stderr)
        return 1
    lock = _lock(path, t)
    if lock is None:
        return 1
    with lock:
        return _copy(path, args.target, t)


def _lock(path: Path, t: Translate) -> InstanceLock | None:
    where = lock_path(str(path))
    assert where is not None  # a file
    try:
        return InstanceLock.acquire(where, "migrate")
    except Locked as locked:
        print(t(MSG_RUNNING).format(database=path, pid=locked.pid, host=locked.host,
                                    since=locked.since), file=sys.stderr)
    except OSError as error:
        print(t(MSG_LOCK_FAILED).format(path=where, error=error), file=sys.stderr)
    return None


def _copy(path: Path, url: str, t: Translate) -> int:
    shown = redact(url)
    try:
        with tempfile.TemporaryDirectory(prefix=".sunbox-", dir=path.parent) as scratch:
            copied = migrate_to_postgres(path, url, Path(scratch))
    except CopyRefused as refused:
        print(t(REFUSALS[refused.reason]).format(**{"path": path, "target": shown,
                                                    **refused.params}), file=sys.stderr)
        return 1
    except _FAILURES as error:
        print(t(MSG_FAILED).format(error=_scrub(str(error).strip(), url)), file=sys.stderr)
        return 1
    if copied.migrated_from is not None:
        print(t(MSG_MIGRATED).format(path=path, version=copied.migrated_from,
                                     known=latest()))
    print(summary(copied.checks, t))
    if copied.skipped:
        print(t(MSG_SKIPPED).format(tables=", ".join(copied.skipped)))
    differing = [check.table for check in copied.checks if not check.matches]
    if differing:
        print(t(MSG_DIFFERS).format(target=shown, tables=", ".join(differing)),
              file=sys.stderr)
        return 1
    rows = sum(check.target.rows for check in copied.checks)
    print(t(MSG_ALL_MATCH).format(tables=len(copied.checks), rows=rows, source=path,
                                  target=shown))
    print(t(MSG_NEXT))
    return 0


def summary(checks: Sequence[TableCheck], t: Translate) -> str:
    """Every table's rows on both sides and whether its hash matches, one a line."""
    rows = [(t("table"), t("rows"), t("target rows"), t("hash"))]
    for check in sorted(checks, key=lambda check: check.table):
        rows.append((check.table, str(check.source.rows), str(check.target.rows),
                     t("matches") if check.matches else t("DIFFERS")))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}"
                     for a, b, c, d in rows).rstrip()
