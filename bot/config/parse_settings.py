"""The tables of plain settings: ``[general]``, ``[storage]``, ``[security]``,
``[logging]``, ``[limits]``, ``[handling]`` and ``[assessment]``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.messages import (
    MSG_AT_MOST,
    MSG_CHOICE,
    MSG_DURATION_RANGE,
    MSG_EXACT_DURATION,
    MSG_FILES_REQUIRED,
    MSG_INTEGER,
    MSG_LANGUAGE,
    MSG_MIN_OVER_MAX,
    MSG_POSITIVE,
    MSG_RATE,
    MSG_SEAL_KEY_REQUIRED,
    MSG_TEXT_AT_MOST,
    MSG_TIMEZONE,
    MSG_WEIGHTS,
)
from bot.config.reader import Problem, Reader, sub_table
from bot.config.sections import (
    AssessmentConfig,
    ClusterConfig,
    GeneralConfig,
    HandlingConfig,
    LimitsConfig,
    LoggingConfig,
    SecurityConfig,
    StorageConfig,
)
from bot.durations import Duration
from bot.i18n import LANGUAGES

# The seal key (bot/seal.py); wins over [security] seal_key_file.
SEAL_KEY_ENV = "SUNBOX_SEAL_KEY"

# Upper bounds for [limits]: Telegram's own limits, with room for the bot's framing.
LIMIT_MAXIMA = {
    "text_min_chars": 3500,
    # A message holds 4096 characters and a card adds its own lines to the resident's text: a
    # longer text would always reach the unit shortened (bot/fit.py), with /case for the rest.
    "text_max_chars": 3500,
    "max_attachments": 10,  # a media group holds at most 10 items
    "name_max_chars": 255,
    "page_size": 20,
    # Per person; generous maxima, so that benchmarks and the demo can lift the limits.
    "updates_per_minute": 100_000,
    "cases_per_day": 100_000,
    "status_per_hour": 100_000,
    "invite_max_days": 365,
}

HANDLING_MAXIMA = {"max_transfers": 20, "close_unrated_days": 365}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


def _resolve_database(database: str, base_dir: Path | None) -> str:
    """A relative database path is relative to the configuration file's folder."""
    if database == ":memory:" or database.startswith(("file:", "postgresql://", "postgres://")):
        return database
    path = Path(database).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return str(path)


def parse_general(root: Reader, base_dir: Path | None) -> GeneralConfig:
    table = sub_table(root, "general", ("timezone", "default_language", "database"))
    default = GeneralConfig()
    if table is None:
        return GeneralConfig(database=_resolve_database(default.database, base_dir))
    timezone = table.string("timezone", default.timezone)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            table.problem("timezone", MSG_TIMEZONE, value=timezone)
    language = table.string("default_language", default.default_language)
    if language is not None and language not in LANGUAGES:
        table.problem(
            "default_language", MSG_LANGUAGE, value=language, allowed=", ".join(LANGUAGES)
        )
    database = table.string("database", default.database)
    return GeneralConfig(
        timezone=timezone or default.timezone,
        default_language=language or default.default_language,
        database=_resolve_database(database or default.database, base_dir),
    )


def _exact_duration(table: Reader, name: str, default: Duration, example: str,
                    least: Duration, most: Duration) -> Duration:
    """A duration of fixed length (no working days) from ``least`` to ``most``."""
    value = table.duration(name, default)
    if value.working_days:
        table.problem(name, MSG_EXACT_DURATION, example=example)
        return default
    if not least.as_timedelta() <= value.as_timedelta() <= most.as_timedelta():
        table.problem(name, MSG_DURATION_RANGE, min=str(least), max=str(most))
        return default
    return value


DRAFT_TTL_RANGE = (Duration(1, "h"), Duration(365, "d"))
CHECKPOINT_RANGE = (Duration(1, "s"), Duration(1, "d"))


LEASE_RANGE = (Duration(1, "s"), Duration(10, "m"))


def parse_cluster(root: Reader) -> ClusterConfig:
    table = sub_table(root, "cluster", ("lease_timeout",))
    default = ClusterConfig()
    if table is None:
        return default
    return ClusterConfig(lease_timeout=_exact_duration(
        table, "lease_timeout", default.lease_timeout, "15s", *LEASE_RANGE))


def parse_storage(root: Reader, base_dir: Path | None, database: str) -> StorageConfig:
    table = sub_table(root, "storage", ("checkpoint_every", "files"))
    default = StorageConfig()
    files = None if table is None else table.string("files", None)
    if files is not None:
        # Relative to the configuration file's folder, as the database is.
        resolved = Path(files).expanduser()
        if not resolved.is_absolute() and base_dir is not None:
            resolved = base_dir / resolved
        files = str(resolved)
    elif database.startswith(("postgresql://", "postgres://")):
        # No folder beside the database to default to, and every instance must share it.
        root.problems.append(Problem("storage.files", MSG_FILES_REQUIRED, {}))
    if table is None:
        return StorageConfig(files=files)
    return StorageConfig(checkpoint_every=_exact_duration(
        table, "checkpoint_every", default.checkpoint_every, "60s", *CHECKPOINT_RANGE),
        files=files)


def parse_security(root: Reader, base_dir: Path | None, env: Mapping[str, str],
                   database: str) -> SecurityConfig:
    table = sub_table(root, "security", ("seal_key_file",))
    path = None if table is None else table.string("seal_key_file", None)
    if path is not None:
        # Relative to the configuration file's folder, as the database is.
        resolved = Path(path).expanduser()
        if not resolved.is_absolute() and base_dir is not None:
            resolved = base_dir / resolved
        path = str(resolved)
    postgres = database.startswith(("postgresql://", "postgres://"))
    if postgres and not (env.get(SEAL_KEY_ENV) or "").strip() and path is None:
        # Never created for PostgreSQL: the key must be supplied (bot/seal.py).
        root.problems.append(Problem("security.seal_key_file", MSG_SEAL_KEY_REQUIRED, {}))
    return SecurityConfig(seal_key_file=path)


def parse_logging(root: Reader) -> LoggingConfig:
    table = sub_table(root, "logging", ("level", "format"))
    default = LoggingConfig()
    if table is None:
        return default
    level = table.string("level", default.level)
    if level is not None and level.upper() not in LOG_LEVELS:
        table.problem("level", MSG_CHOICE, value=level, allowed=", ".join(LOG_LEVELS))
        level = None
    form = table.string("format", default.format)
    if form is not None and form not in LOG_FORMATS:
        table.problem("format", MSG_CHOICE, value=form, allowed=", ".join(LOG_FORMATS))
        form = None
    return LoggingConfig(level=(level or default.level).upper(), format=form or default.format)


def parse_limits(root: Reader) -> LimitsConfig:
    names = tuple(LIMIT_MAXIMA)
    table = sub_table(root, "limits", (*names, "draft_ttl"))
    default = LimitsConfig()
    if table is None:
        return default
    values: dict[str, int] = {}
    for name in names:
        value = table.integer(name, getattr(default, name))
        if value is None:
            continue
        if value < 1:
            table.problem(name, MSG_POSITIVE)
        elif value > LIMIT_MAXIMA[name]:
            table.problem(name, MSG_TEXT_AT_MOST if name.startswith("text_") else MSG_AT_MOST,
                          max=LIMIT_MAXIMA[name])
        else:
            values[name] = value
    limits = LimitsConfig(**values, draft_ttl=_exact_duration(
        table, "draft_ttl", default.draft_ttl, "7d", *DRAFT_TTL_RANGE))
    if (
        "text_min_chars" in values
        and "text_max_chars" in values
        and limits.text_min_chars > limits.text_max_chars
    ):
        table.problem(
            "text_min_chars",
            MSG_MIN_OVER_MAX,
            min=limits.text_min_chars,
            max=limits.text_max_chars,
        )
    return limits


def parse_handling(root: Reader) -> HandlingConfig:
    names = tuple(HANDLING_MAXIMA)
    table = sub_table(root, "handling", names)
    default = HandlingConfig()
    if table is None:
        return default
    values: dict[str, int] = {}
    for name in names:
        value = table.integer(name, getattr(default, name))
        if value is None:
            continue
        if value < 1:
            table.problem(name, MSG_POSITIVE)
        elif value > HANDLING_MAXIMA[name]:
            table.problem(name, MSG_AT_MOST, max=HANDLING_MAXIMA[name])
        else:
            values[name] = value
    return HandlingConfig(**values)


def parse_assessment(root: Reader) -> AssessmentConfig:
    names = tuple(AssessmentConfig.__dataclass_fields__)
    table = sub_table(root, "assessment", names)
    default = AssessmentConfig()
    if table is None:
        return default
    values: dict[str, Any] = {}
    for name in names:
        value = table.data.get(name, getattr(default, name))
        if isinstance(value, bool) or not isinstance(value, int | float):
            table.problem(name, MSG_INTEGER if name == "min_cases" else MSG_RATE)
            continue
        values[name] = value
    if values.get("min_cases", 1) < 1 or not isinstance(values.get("min_cases", 1), int):
        table.problem("min_cases", MSG_POSITIVE)
        values.pop("min_cases", None)
    rate = values.get("answer_on_time_below", 0.9)
    if not 0 <= rate <= 1:
        table.problem("answer_on_time_below", MSG_RATE)
        values.pop("answer_on_time_below", None)
    if values.get("overdue_over_working_days", 0) < 0:
        table.problem("overdue_over_working_days", MSG_POSITIVE)
        values.pop("overdue_over_working_days", None)
    weights = [values.get(n, getattr(default, n)) for n in
               ("weight_response", "weight_resolution", "weight_satisfaction")]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        table.problem("weight_response", MSG_WEIGHTS)
        for n in ("weight_response", "weight_resolution", "weight_satisfaction"):
            values.pop(n, None)
    # The disclosure register's weights may all be 0 (its rates then do not count).
    for n in ("weight_disclosure_on_time", "weight_disclosure_completeness",
              "weight_opinion_response"):
        if values.get(n, 0) < 0:
            table.problem(n, MSG_WEIGHTS)
            values.pop(n, None)
    return AssessmentConfig(**values)
