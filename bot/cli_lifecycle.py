"""``sunbox erase``, ``export``, ``backup`` and ``restore``, and the lock ``run`` holds."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_common import command_language, load_for_command, with_runtime
from bot.cli_migrate import cmd_migrate
from bot.clock import SystemClock
from bot.config import Config
from bot.i18n import N_, Translate, plural_translator, translator
from bot.instance_lock import InstanceLock, Locked, acquire_postgres, lock_path
from storage.sql import DatabaseError, error_kind
from storage.sql_postgres import is_postgres, redact

if TYPE_CHECKING:
    from bot.runtime import Runtime

MSG_RUNNING = N_("Sunbox is running on {database} (pid {pid} on {host}, since {since}); "
                 "stop it first. Nothing was restored.")
MSG_ALREADY_RUNNING = N_("Another Sunbox is running on {database} (pid {pid} on {host}, "
                         "since {since}); refusing to start.")
MSG_ERASE_RUNNING = N_("Sunbox is running on {database} (pid {pid} on {host}, since {since}); "
                       "stop it first: it would write the person's conversation back. "
                       "Nothing was erased.")
MSG_LOCK_FAILED = N_("{path}: cannot take the lock: {error}")
MSG_PG_SCHEMA = N_("Backup written to {path}: pg_dump archive of the schema {schema} of "
                   "{database}, schema version {version}, {size} bytes, SHA-256 {sha256}.")
MSG_PG_WHOLE = N_("Backup written to {path}: pg_dump archive of the whole database "
                  "{database}, schema version {version}, {size} bytes, SHA-256 {sha256}.")



#: What writing or restoring a backup may raise: one line, no trace.
_FILE_FAILURES: tuple[type[Exception], ...] = (OSError, *DatabaseError)


def add_parsers(command: Callable[[str, str], argparse.ArgumentParser],
                add_common: Callable[[argparse.ArgumentParser, str], None],
                config_help: str, t: Translate) -> None:
    """The data lifecycle's subcommands (``command`` makes one with its help line as its
    description), their help in the chosen language."""
    person_help = t("the person's numeric Telegram user id")
    erase = command("erase", t("remove a person's personal data everywhere it is stored "
                               "(their cases stay, without it)"))
    add_common(erase, config_help)
    erase.add_argument("--telegram-id", required=True, type=int, metavar="N", help=person_help)
    export = command("export", t("write what Sunbox holds about a person as JSON"))
    add_common(export, config_help)
    export.add_argument("--telegram-id", required=True, type=int, metavar="N",
                        help=person_help)
    export.add_argument("--out", metavar="FILE",
                        help=t("write to this file (mode 0600) instead of standard output"))
    backup = command("backup", t("write a consistent copy of the database, with a manifest, "
                                 "to a tar archive (works while the bot runs)"))
    add_common(backup, config_help)
    backup.add_argument("file", metavar="FILE", help=t("the archive to write (.tar)"))
    restore = command("restore", t("put a backup back in place of the database (refused "
                                   "while the bot runs)"))
    add_common(restore, config_help)
    restore.add_argument("file", metavar="FILE", help=t("the archive written by sunbox backup"))


def shown(config: Config) -> str:
    """The database as messages name it: a PostgreSQL URL without its password."""
    return redact(config.general.database)


def _running_line(t: Translate, msgid: str, config: Config, locked: Locked) -> str:
    return t(msgid).format(database=shown(config), pid=locked.pid,
                           host=locked.host, since=locked.since)


def take_run_lock(config: Config, t: Translate) -> tuple[bool, InstanceLock | None]:
    """For ``sunbox run``: the lock beside the database, held until the process ends.

    ``(False, None)`` after saying why it cannot be had (another instance runs);
    ``(True, None)`` for a database that is not a file.
    """
    path = lock_path(config.general.database)
    if path is None and is_postgres(config.general.database):
        # One poller per token; in webhook mode several instances share the database.
        webhook = getattr(config.telegram, "mode", "polling") == "webhook"
        try:
            return True, acquire_postgres(config.general.database, "run", shared=webhook)
        except Locked as locked:
            print(_running_line(t, MSG_ALREADY_RUNNING, config, locked), file=sys.stderr)
        except DatabaseError as error:
            print(t(MSG_LOCK_FAILED).format(path=shown(config), error=error_kind(error)),
                  file=sys.stderr)
        return False, None
    if path is None:
        return True, None
    try:
        return True, InstanceLock.acquire(path, "run")
    except Locked as locked:
        print(_running_line(t, MSG_ALREADY_RUNNING, config, locked), file=sys.stderr)
    except OSError as error:
        print(t(MSG_LOCK_FAILED).format(path=path, error=error), file=sys.stderr)
    return False, None


def _setup(args: argparse.Namespace) -> tuple[Translate, Config] | None:
    language = command_language(args)
    config = load_for_command(args, language)
    return None if config is None else (translator(language), config)


def _exclusive(config: Config, t: Translate, purpose: str, refusal: str
               ) -> InstanceLock | None:
    """The database's lock for a command that must not run beside the bot; None after
    saying why it cannot be had (``refusal`` names the running instance)."""
    path = lock_path(config.general.database)
    if path is None and is_postgres(config.general.database):
        try:
            return acquire_postgres(config.general.database, purpose)
        except Locked as locked:
            print(_running_line(t, refusal, config, locked), file=sys.stderr)
        except DatabaseError as error:
            print(t(MSG_LOCK_FAILED).format(path=shown(config), error=error_kind(error)),
                  file=sys.stderr)
        return None
    if path is None:
        print(t("{database}: only a database file can be used here.").format(
            database=config.general.database), file=sys.stderr)
        return None
    try:
        return InstanceLock.acquire(path, purpose)
    except Locked as locked:
        print(_running_line(t, refusal, config, locked), file=sys.stderr)
    except OSError as error:
        print(t(MSG_LOCK_FAILED).format(path=path, error=error), file=sys.stderr)
    return None


def cmd_erase(args: argparse.Namespace) -> int:
    """Refused while the bot runs: it holds the person's conversation in memory and would
    write it back when it stops."""
    from bot.services import lifecycle

    setup = _setup(args)
    if setup is None:
        return 1
    t, config = setup

    async def erase(runtime: Runtime) -> lifecycle.Erased:
        return await lifecycle.erase_person(runtime, args.telegram_id)

    lock = _exclusive(config, t, "erase", MSG_ERASE_RUNNING)
    if lock is None:
        return 1
    with lock:
        erased = with_runtime(config, t, erase)
    if erased is None:
        return 1
    if not erased.anything:
        print(t("Sunbox holds no personal data of {telegram_id}; nothing has changed.").format(
            telegram_id=args.telegram_id))
        return 0
    print(t(PERSON_OUTCOMES[erased.person]).format(telegram_id=args.telegram_id))
    print(t("{cases} named case(s) kept without the reporter's identity; {drafts} draft(s), "
            "{messages} message(s) and {updates} stored update(s) deleted. The delivery "
            "addresses of their anonymous cases are removed too (not counted).").format(
        cases=erased.named_cases, drafts=erased.drafts, messages=erased.messages,
        updates=erased.updates))
    if any(member.telegram_id == args.telegram_id for member in config.members):
        print(t("{telegram_id} is listed in [[members]] of the configuration: remove it there, "
                "or Sunbox grants the role again when it starts.").format(
            telegram_id=args.telegram_id))
    return 0


PERSON_OUTCOMES = {
    "deleted": N_("Erased the personal data of {telegram_id}; their person record is deleted."),
    "anonymised": N_("Erased the personal data of {telegram_id}; their person record is kept "
                     "without name, languages or Telegram id (other records refer to it)."),
    "unknown": N_("Erased the personal data of {telegram_id}; Sunbox had no person record "
                  "for that id."),
}


def cmd_export(args: argparse.Namespace) -> int:
    from bot.services import lifecycle

    setup = _setup(args)
    if setup is None:
        return 1
    t, config = setup

    async def export(runtime: Runtime) -> dict[str, Any]:
        return await lifecycle.export_person(runtime, args.telegram_id)

    data = with_runtime(config, t, export)
    if data is None:
        return 1
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.chmod(args.out, 0o600)  # an existing file keeps its mode otherwise
        except OSError as error:
            print(t("Cannot write the export: {error}").format(error=error), file=sys.stderr)
            return 1
        print(t("Export of {telegram_id} written to {path}").format(
            telegram_id=args.telegram_id, path=args.out))
    if data["person"] is None:
        print(t("Sunbox holds no person with the Telegram id {telegram_id}.").format(
            telegram_id=args.telegram_id), file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:

    from bot.backup import BackupError, create_backup

    setup = _setup(args)
    if setup is None:
        return 1
    t, config = setup
    try:
        manifest = create_backup(config.general.database, args.file, SystemClock().now(),
                                 config.storage.files_dir(config.general.database))
    except BackupError as error:
        print(t(error.msgid).format(**error.params), file=sys.stderr)
        return 1
    except _FILE_FAILURES as error:
        print(t("Cannot write the backup: {error}").format(error=error), file=sys.stderr)
        return 1
    member = manifest.members[0]  # the database; the stored files follow it
    if manifest.engine == "postgresql":
        line = (t(MSG_PG_WHOLE) if manifest.whole else t(MSG_PG_SCHEMA)).format(
            path=args.file, database=redact(config.general.database), schema=manifest.schema,
            version=manifest.schema_version, size=member.size, sha256=member.sha256)
        print(line)
    else:
        print(t("Backup written to {path}: schema version {version}, database {size} bytes, "
                "integrity checked, SHA-256 {sha256}.").format(
            path=args.file, version=manifest.schema_version, size=member.size,
            sha256=member.sha256))
    stored = len(manifest.members) - 1
    tn = plural_translator(command_language(args))
    print(tn(
        "It holds {count} attachment from the file store, each checked against its "
        "SHA-256.", "It holds {count} attachments from the file store, each checked "
        "against its SHA-256.", stored).format(count=stored))
    print(t("No key is in the backup: keep the seal key apart from it."))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:

    from bot.backup import BackupError, restore_backup

    setup = _setup(args)
    if setup is None:
        return 1
    t, config = setup
    database = config.general.database
    # A PostgreSQL database has no lock file: it is restored only into an empty one, which
    # no bot is using.
    lock = None if is_postgres(database) else _exclusive(config, t, "restore", MSG_RUNNING)
    if lock is None and not is_postgres(database):
        return 1
    with lock or nullcontext():
        try:
            restored = restore_backup(args.file, database, SystemClock().now(),
                                      config.storage.files_dir(database))
        except BackupError as error:
            print(t(error.msgid).format(**error.params), file=sys.stderr)
            print(t("Nothing was restored."), file=sys.stderr)
            return 1
        except _FILE_FAILURES as error:
            print(t("Cannot restore: {error}").format(error=error), file=sys.stderr)
            return 1
    print(t("Restored {path} (backup of {created_at}, schema version {version}) into "
            "{database}.").format(path=args.file, created_at=restored.manifest.created_at,
                                  version=restored.manifest.schema_version,
                                  database=redact(database)))
    if restored.kept is not None:
        print(t("The database it replaced is kept as {kept}: delete it once the restored "
                "one works.").format(kept=Path(restored.kept)))
    return 0


#: ``migrate`` (``bot.cli_migrate``), the other command that moves a whole database, is
#: dispatched from here too.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "erase": cmd_erase, "export": cmd_export, "backup": cmd_backup, "restore": cmd_restore,
    "migrate": cmd_migrate,
}
