"""Configuration: a TOML file read with :mod:`tomllib` into frozen dataclasses.

The layout is documented line by line in ``config.example.toml``. :func:`parse_config`
checks everything and collects *all* problems (typos, wrong types, unknown references,
cycles in the unit tree, bad durations, ...) instead of stopping at the first one; each
:class:`Problem` names the offending key (``units[3].parent``) and carries an English
message marked with ``N_`` so it can be shown translated.
"""

from __future__ import annotations

import os
import re
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from bot.durations import Duration, DurationError, parse_duration
from bot.i18n import LANGUAGES, N_
from bot.workdays import WorkCalendar

__all__ = [
    "KINDS",
    "MODES",
    "ROLES",
    "SEAL_KEY_ENV",
    "TOKEN_ENV",
    "RetentionConfig",
    "RetentionPeriod",
    "CalendarConfig",
    "CategoryConfig",
    "Config",
    "ConfigError",
    "DeadlineRule",
    "DeadlinesConfig",
    "GeneralConfig",
    "HandlingConfig",
    "LimitsConfig",
    "LoggingConfig",
    "StorageConfig",
    "MeetingConfig",
    "MeetingOffset",
    "MemberConfig",
    "Problem",
    "SecurityConfig",
    "TelegramConfig",
    "UnitConfig",
    "check_config",
    "default_config_path",
    "load_config",
    "parse_config",
]

ROLES = ("official", "head", "clerk", "supervisor", "supervision", "admin")
KINDS = ("suggestion", "report")
MODES = ("polling",)
TOKEN_ENV = "SUNBOX_TOKEN"
# The seal key (bot/seal.py); wins over [security] seal_key_file.
SEAL_KEY_ENV = "SUNBOX_SEAL_KEY"
ID_MAX_CHARS = 32
_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")

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

#: [limits] so high that nobody reaches them: benchmarks, the demo and tests that are not
#: about the per-person limits.
RAISED_LIMITS = {"updates_per_minute": 100_000, "cases_per_day": 100_000,
                 "status_per_hour": 100_000}


# --- the configuration -----------------------------------------------------------------


#: The Bot API's download limit at api.telegram.org (getFile refuses larger files).
DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass(frozen=True)
class TelegramConfig:
    """``[telegram]``: how to reach the Bot API."""

    token: str | None = None
    api_base_url: str = "https://api.telegram.org"
    mode: str = "polling"
    # The proxy every Bot API call goes through (http, https, socks4, socks5, socks5h URL):
    # ``[telegram] proxy``, else HTTPS_PROXY/HTTP_PROXY (by the API's scheme) or ALL_PROXY,
    # unless NO_PROXY names the API's host; None: straight to the API.
    proxy: str | None = None

    @property
    def bot_url(self) -> str:
        """Base URL for Bot API methods (``base_url`` of python-telegram-bot)."""
        return self.api_base_url.rstrip("/") + "/bot"

    @property
    def file_url(self) -> str:
        """Base URL for file downloads (``base_file_url`` of python-telegram-bot)."""
        return self.api_base_url.rstrip("/") + "/file/bot"

    @property
    def download_limit(self) -> int | None:
        """The largest file the bot can download, in bytes: 20 MB from api.telegram.org;
        None (no limit) from a self-hosted Bot API server."""
        host = urllib.parse.urlsplit(self.api_base_url).hostname or ""
        return DOWNLOAD_LIMIT if host.lower() == "api.telegram.org" else None


@dataclass(frozen=True)
class GeneralConfig:
    """``[general]``: time zone, default language, database path."""

    timezone: str = "Asia/Shanghai"
    default_language: str = "zh_CN"
    database: str = "sunbox.db"

    @property
    def tz(self) -> ZoneInfo:
        """The county's time zone."""
        return ZoneInfo(self.timezone)


def _localized(language: str, zh: str, en: str) -> str:
    """Pick the Chinese or the English name for ``language``."""
    return zh if language == "zh_CN" or language.startswith("zh") else en


@dataclass(frozen=True)
class UnitConfig:
    """One ``[[units]]`` entry: a node of the unit tree."""

    id: str
    name_zh: str
    name_en: str
    parent: str | None = None
    supervision: bool = False
    sign_off: bool = False
    group_chat_id: int | None = None

    def name(self, language: str) -> str:
        """The unit's name in ``language`` (``zh_CN`` → Chinese, else English)."""
        return _localized(language, self.name_zh, self.name_en)


@dataclass(frozen=True)
class CategoryConfig:
    """One ``[[categories]]`` entry: a subject area and the unit it is routed to."""

    id: str
    name_zh: str
    name_en: str
    unit: str

    def name(self, language: str) -> str:
        """The category's name in ``language`` (``zh_CN`` → Chinese, else English)."""
        return _localized(language, self.name_zh, self.name_en)


@dataclass(frozen=True)
class MemberConfig:
    """One ``[[members]]`` entry: a Telegram user holding a role in a unit."""

    telegram_id: int
    role: str
    unit: str
    #: How lists name the person until they write (then Telegram's name is used).
    name: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DeadlineRule:
    """Acceptance and answer deadlines for one kind (and maybe one category)."""

    accept: Duration
    answer: Duration


DEFAULT_SUGGESTION_RULE = DeadlineRule(Duration(1, "wd"), Duration(15, "wd"))
DEFAULT_REPORT_RULE = DeadlineRule(Duration(1, "wd"), Duration(30, "wd"))


@dataclass(frozen=True)
class DeadlinesConfig:
    """``[deadlines]``: a rule per kind, plus per-category overrides.

    ``categories`` holds ``(category_id, kind, rule)``; the loader stores each override
    already merged with the kind's rule, so a field not given in the file is the kind's.
    """

    suggestion: DeadlineRule = DEFAULT_SUGGESTION_RULE
    report: DeadlineRule = DEFAULT_REPORT_RULE
    categories: tuple[tuple[str, str, DeadlineRule], ...] = ()

    def rule(self, kind: str, category_id: str | None = None) -> DeadlineRule:
        """The rule for ``kind`` in ``category_id``: its override, else the kind's rule."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
        if category_id is not None:
            for cat, cat_kind, rule in self.categories:
                if cat == category_id and cat_kind == kind:
                    return rule
        return self.suggestion if kind == "suggestion" else self.report


@dataclass(frozen=True)
class LimitsConfig:
    """``[limits]``: sizes of user input and of lists."""

    text_min_chars: int = 5
    text_max_chars: int = 2000
    max_attachments: int = 5
    name_max_chars: int = 40
    page_size: int = 5
    # Per person, counted in memory; holders of a staff role are exempt.
    updates_per_minute: int = 20
    cases_per_day: int = 5
    status_per_hour: int = 10
    # The longest an invite may stay valid.
    invite_max_days: int = 30
    # A resident's unfinished case draft, with what they entered, is deleted this long after
    # it was last changed (counted from the end of that day).
    draft_ttl: Duration = Duration(7, "d")


@dataclass(frozen=True)
class StorageConfig:
    """``[storage]``: how the database keeps what it deleted from lingering."""

    # How often the write-ahead log is emptied into the database file (wal_checkpoint
    # TRUNCATE), when something was written since.
    checkpoint_every: Duration = Duration(60, "s")
    # The folder of the content-addressed file store (attachments kept locally, named by
    # their SHA-256); None: ``files/`` next to a SQLite database. Required with PostgreSQL.
    files: str | None = None

    def files_dir(self, database: str) -> Path:
        """The file store's folder: ``files`` if set, else ``files/`` beside the database."""
        if self.files is not None:
            return Path(self.files)
        if database == ":memory:" or database.startswith("file:"):
            return Path("files").resolve()
        return Path(database).resolve().parent / "files"


HANDLING_MAXIMA = {"max_transfers": 20, "close_unrated_days": 365}


@dataclass(frozen=True)
class AssessmentConfig:
    """``[assessment]``: weights of the composite score, ranking and accountability rules."""

    weight_response: float = 30
    weight_resolution: float = 35
    weight_satisfaction: float = 35
    # Units that received fewer cases in the period are not ranked.
    min_cases: int = 5
    # A unit whose on-time answer rate is below this goes on the accountability list.
    answer_on_time_below: float = 0.9
    # A unit holding a case overdue by more than this many working days goes on it too.
    overdue_over_working_days: float = 10


@dataclass(frozen=True)
class AlertsConfig:
    """``[alerts]``: reminders before deadlines, escalation after them, the daily digest."""

    # Offsets before each deadline; ``None`` is the moment of the deadline itself.
    reminders: tuple[Duration | None, ...] = (Duration(1, "wd"), None)
    escalate_after: Duration = Duration(2, "wd")
    digest_time: time = time(8, 30)
    pause_while_asking: bool = True


@dataclass(frozen=True)
class HandlingConfig:
    """``[handling]``: how cases move between units and when they close."""

    max_transfers: int = 2
    close_unrated_days: int = 7


@dataclass(frozen=True)
class RetentionPeriod:
    """How long after closing a case keeps its personal data: ``amount`` years ("y",
    calendar years: the same date that many years on) or days ("d", 24 hours each)."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def cutoff(self, now: datetime) -> datetime:
        """Cases closed before this moment are past the period at ``now``."""
        if self.unit == "d":
            return now - timedelta(days=self.amount)
        year = now.year - self.amount
        try:
            return now.replace(year=year)
        except ValueError:  # 29 February, in a year without one
            return now.replace(year=year, day=28)


@dataclass(frozen=True)
class RetentionConfig:
    """``[retention]``: when the personal data of closed cases is redacted (a daily job)."""

    closed_after: RetentionPeriod = RetentionPeriod(3, "y")
    # Local time of the daily run.
    run_at: time = time(3, 30)


@dataclass(frozen=True)
class RoutingConfig:
    """``[routing]``: where cases go that the supervision group may not handle.

    ``above_supervision``: the unit that receives a named report about the supervision
    unit's own leadership (it cannot go to the supervision group, which it concerns).
    """

    above_supervision: str | None = None


MEETING_KINDS = ("monthly", "symposium")
MEETING_SHIFTS = ("next_working_day", "none")
# The most days a meeting reminder may come before the meeting.
MEETING_OFFSET_MAX_DAYS = 60
MEETING_RECORD_MAX_DAYS = 60


@dataclass(frozen=True)
class MeetingOffset:
    """A moment relative to a meeting's date: ``days`` (or working days, ``unit`` "wd")
    before it, at the local time ``at``. ``0d 08:00`` is the morning of the meeting."""

    days: int
    unit: str
    at: time

    def __str__(self) -> str:
        return f"{self.days}{self.unit} {self.at.strftime('%H:%M')}"


DEFAULT_MEETING_REMINDERS = (MeetingOffset(3, "d", time(9, 0)), MeetingOffset(0, "d", time(8, 0)))
DEFAULT_MEETING_SUMMARY = MeetingOffset(1, "d", time(16, 0))


@dataclass(frozen=True)
class MeetingConfig:
    """One ``[[meetings]]`` entry: a recurring supervisors' meeting of an organization.

    ``cron`` is a five-field cron expression in the county's time zone (a day must match
    both day-of-month and day-of-week). ``organizer`` is a Telegram user id (as digits) or
    ``head:<unit>``: whoever heads that unit. A ``symposium`` invites the supervisors of
    ``unit`` and of every unit below it; a ``monthly`` meeting those of ``unit`` only.
    """

    id: str
    kind: str
    unit: str
    cron: str
    place: str
    organizer: str
    shift: str = "next_working_day"
    reminders: tuple[MeetingOffset, ...] = DEFAULT_MEETING_REMINDERS
    summary: MeetingOffset = DEFAULT_MEETING_SUMMARY
    record_within_days: int = 3

    @property
    def organizer_id(self) -> int | None:
        """The organizer's Telegram user id, or ``None`` when a unit's head organizes."""
        return int(self.organizer) if self.organizer.isdigit() else None

    @property
    def organizer_unit(self) -> str | None:
        """The unit whose heads organize, or ``None`` for one named person."""
        return self.organizer.removeprefix("head:") if self.organizer_id is None else None


@cache
def _work_calendar(holidays: tuple[date, ...], workdays: tuple[date, ...],
                   complete_years: tuple[int, ...] = ()) -> WorkCalendar:
    return WorkCalendar(holidays, workdays, complete_years)


@dataclass(frozen=True)
class SecurityConfig:
    """``[security]``: where the seal key is kept (``bot/seal.py``). ``None``: the default
    place, ``$XDG_CONFIG_HOME/sunbox/seal.key``, outside the data directory."""

    seal_key_file: str | None = None


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class LoggingConfig:
    """``[logging]``: what ``sunbox run`` writes to standard error (``bot/logsetup.py``)."""

    level: str = "INFO"
    # "text": one readable line per record; "json": one JSON object per line.
    format: str = "text"


@dataclass(frozen=True)
class CalendarConfig:
    """``[calendar]``: local days off and working days on top of the official calendar;
    ``complete_years``, the years whose State Council notice is copied here in full; and
    what a year that neither knows does (``unknown_years``: "weekdays" or "flag")."""

    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    complete_years: tuple[int, ...] = ()
    unknown_years: str = "weekdays"

    def calendar(self) -> WorkCalendar:
        """The :class:`WorkCalendar` with these overrides (one shared, caching instance)."""
        return _work_calendar(self.holidays, self.workdays, self.complete_years)

    @property
    def flag(self) -> bool:
        """Whether deadlines counted in an uncovered year are marked for review."""
        return self.unknown_years == "flag"


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``source`` is the file it was read from, if any."""

    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    general: GeneralConfig = field(default_factory=GeneralConfig)
    units: tuple[UnitConfig, ...] = ()
    categories: tuple[CategoryConfig, ...] = ()
    members: tuple[MemberConfig, ...] = ()
    deadlines: DeadlinesConfig = field(default_factory=DeadlinesConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    handling: HandlingConfig = field(default_factory=HandlingConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    assessment: AssessmentConfig = field(default_factory=AssessmentConfig)
    meetings: tuple[MeetingConfig, ...] = ()
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: str | None = None

    @cached_property
    def _units_by_id(self) -> dict[str, UnitConfig]:
        return {unit.id: unit for unit in reversed(self.units)}  # first one wins

    @cached_property
    def _categories_by_id(self) -> dict[str, CategoryConfig]:
        return {category.id: category for category in reversed(self.categories)}

    @cached_property
    def _children(self) -> dict[str | None, tuple[UnitConfig, ...]]:
        children: dict[str | None, list[UnitConfig]] = {}
        for unit in self.units:
            children.setdefault(unit.parent, []).append(unit)
        return {parent: tuple(units) for parent, units in children.items()}

    def unit(self, unit_id: str) -> UnitConfig:
        """The unit with ``unit_id``; ``KeyError`` if there is none."""
        try:
            return self._units_by_id[unit_id]
        except KeyError:
            raise KeyError(f"unknown unit {unit_id!r}") from None

    def category(self, category_id: str) -> CategoryConfig:
        """The category with ``category_id``; ``KeyError`` if there is none."""
        try:
            return self._categories_by_id[category_id]
        except KeyError:
            raise KeyError(f"unknown category {category_id!r}") from None

    def children(self, unit_id: str) -> tuple[UnitConfig, ...]:
        """The direct children of ``unit_id``, in file order; ``KeyError`` if unknown."""
        self.unit(unit_id)
        return self._children.get(unit_id, ())

    def descendants(self, unit_id: str) -> tuple[UnitConfig, ...]:
        """Every unit below ``unit_id`` (depth first, file order), not the unit itself."""
        result: list[UnitConfig] = []
        seen = {unit_id}
        stack = list(reversed(self.children(unit_id)))
        while stack:
            unit = stack.pop()
            if unit.id in seen:
                continue
            seen.add(unit.id)
            result.append(unit)
            stack.extend(reversed(self._children.get(unit.id, ())))
        return tuple(result)

    def roots(self) -> tuple[UnitConfig, ...]:
        """The units without a parent, in file order."""
        return self._children.get(None, ())

    def supervision_unit(self) -> UnitConfig | None:
        """The supervision group (the unit with ``supervision = true``), if any."""
        return next((unit for unit in self.units if unit.supervision), None)

    def unit_path(self, unit_id: str) -> tuple[str, ...]:
        """Ids from the root down to ``unit_id`` (inclusive); ``KeyError`` if unknown."""
        path = [self.unit(unit_id).id]
        seen = set(path)
        parent = self.unit(unit_id).parent
        while parent is not None and parent not in seen and parent in self._units_by_id:
            path.append(parent)
            seen.add(parent)
            parent = self._units_by_id[parent].parent
        return tuple(reversed(path))


# --- problems ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration.

    ``message`` is an English msgid (marked with ``N_``) with ``{name}`` placeholders
    filled from ``params`` after translation; ``key`` says where (``units[3].parent``).
    """

    key: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, t: Callable[[str], str] = lambda s: s) -> str:
        """``key: message`` with the message translated by ``t`` and filled in."""
        return f"{self.key}: {t(self.message).format(**self.params)}"

    def __str__(self) -> str:
        return self.render()


class ConfigError(Exception):
    """The configuration has problems; they are all in ``problems``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {problem.render()}" for problem in self.problems)
        super().__init__(f"invalid configuration ({len(self.problems)} problems):\n{lines}")


# Messages (msgids). Placeholders are filled from Problem.params.
MSG_UNKNOWN_KEY = N_("unknown key; allowed keys: {allowed}")
MSG_REQUIRED = N_("is required")
MSG_NOT_EMPTY = N_("must not be empty")
MSG_STRING = N_("must be a string")
MSG_INTEGER = N_("must be an integer")
MSG_BOOLEAN = N_("must be true or false")
MSG_TABLE = N_("must be a table")
MSG_ARRAY = N_("must be an array")
MSG_ARRAY_OF_TABLES = N_("must be an array of tables, written [[{name}]]")
MSG_POSITIVE = N_("must be a positive integer")
MSG_AT_MOST = N_("must be at most {max}")
MSG_TEXT_AT_MOST = N_(
    "must be at most {max}: a Telegram message holds 4096 characters, and the case card "
    "adds its own lines to the text")
MSG_GROUP_CHAT_ID = N_("must be a negative integer (a group chat id)")
MSG_URL = N_("must be an http:// or https:// URL")
MSG_MODE = N_('unsupported mode "{value}"; allowed: {allowed}')
MSG_TIMEZONE = N_('unknown time zone "{value}"')
MSG_CHOICE = N_('unsupported value "{value}"; allowed: {allowed}')
MSG_LANGUAGE = N_('unsupported language "{value}"; allowed: {allowed}')
MSG_DATE = N_('not a date: "{value}" (use YYYY-MM-DD)')
MSG_DATE_BOTH = N_("{date} is listed both as a holiday and as a working day")
MSG_YEAR = N_("must be a list of years from {min} to {max}, e.g. [2027]")
MSG_YEAR_EMPTY = N_(
    "{year} is declared complete but holidays lists no day of it: copy the State Council's "
    "notice for {year} into holidays and workdays first")
MSG_ID_FORMAT = N_(
    "ids use lowercase letters, digits and underscores, start with a letter "
    "and have at most {max} characters"
)
MSG_DUPLICATE_UNIT = N_("duplicate unit id {id}")
MSG_DUPLICATE_CATEGORY = N_("duplicate category id {id}")
MSG_DUPLICATE_MEMBER = N_("duplicate member: same telegram_id, role and unit as members[{index}]")
MSG_UNKNOWN_PARENT = N_("unknown parent unit {unit}")
MSG_CYCLE = N_("the unit tree has a cycle: {cycle}")
MSG_UNKNOWN_UNIT = N_("unknown unit {unit}")
MSG_UNKNOWN_ROLE = N_("unknown role {role}; allowed: {allowed}")
MSG_SUPERVISION_ROLE = N_(
    "the role supervision can be held only in the supervision unit ({unit}), not in {other}"
)
MSG_SUPERVISION_COUNT = N_(
    "exactly one unit must be the supervision group (supervision = true); found {count}"
)
MSG_ABOVE_SUPERVISION_REQUIRED = N_(
    "is required when a unit is the supervision group: the id of the unit that receives "
    "reports about the supervision unit's own leadership (e.g. the county party committee)"
)
MSG_ABOVE_SUPERVISION_SELF = N_(
    "must not be the supervision unit {unit}: reports about its own leadership never go to it"
)
MSG_UNKNOWN_CATEGORY = N_("unknown category {category}")
MSG_UNKNOWN_KIND = N_("unknown kind {kind}; allowed: {allowed}")
MSG_MIN_OVER_MAX = N_("text_min_chars ({min}) is greater than text_max_chars ({max})")
MSG_EXACT_DURATION = N_(
    'must be a length of time in s, m, h or d (not working days), e.g. "{example}"')
MSG_DURATION_RANGE = N_("must be from {min} to {max}")
MSG_TOML = N_("invalid TOML at line {line}, column {column}: {error}")
MSG_NOT_FOUND = N_("file not found")
MSG_UNREADABLE = N_("cannot read the file: {error}")
MSG_NOT_UTF8 = N_("the file is not valid UTF-8")
MSG_PROXY = N_(
    "must be a proxy URL: http://, https://, socks4://, socks5:// or socks5h://, with a host "
    "and a port (e.g. socks5://127.0.0.1:1080)"
)
MSG_PROXY_ENV = N_("the environment variable {name} is not a usable proxy URL: {value}")
MSG_TOKEN_FORMAT = N_(
    "does not look like a bot token from @BotFather: digits, a colon, then at least 30 "
    "letters, digits, - or _ (e.g. 123456789:AAH...)"
)
MSG_TOKEN = N_(
    "a bot token is required: set telegram.token or the SUNBOX_TOKEN environment variable"
)
MSG_FILES_REQUIRED = N_(
    "a PostgreSQL database needs a folder for the attachments that every instance shares: "
    "set storage.files"
)
MSG_SEAL_KEY_REQUIRED = N_(
    "a PostgreSQL database needs the seal key to be supplied: set security.seal_key_file "
    "to an existing key file or the SUNBOX_SEAL_KEY environment variable"
)


# --- parsing ---------------------------------------------------------------------------

_MISSING: Any = object()

TOP_LEVEL_KEYS = (
    "telegram",
    "general",
    "limits",
    "storage",
    "handling",
    "alerts",
    "retention",
    "assessment",
    "calendar",
    "deadlines",
    "units",
    "categories",
    "members",
    "meetings",
    "routing",
    "security",
    "logging",
)


class _Reader:
    """Reads typed values out of one TOML table, recording problems under ``prefix``."""

    def __init__(
        self,
        data: Mapping[str, Any],
        prefix: str,
        problems: list[Problem],
        allowed: tuple[str, ...] | None,
    ) -> None:
        self.data = data
        self.prefix = prefix
        self.problems = problems
        for name in data if allowed is not None else ():
            if allowed is not None and name not in allowed:
                self.problem(name, MSG_UNKNOWN_KEY, allowed=", ".join(allowed))

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, name: str, message: str, /, **params: Any) -> None:
        self.problems.append(Problem(self.key(name), message, params))

    def _absent(self, name: str, default: Any) -> Any:
        """The value for a missing key: ``default``, or ``None`` and a problem if required."""
        if default is _MISSING:
            self.problem(name, MSG_REQUIRED)
            return None
        return default

    def string(self, name: str, default: Any = _MISSING, *, empty_ok: bool = False) -> Any:
        """A string (stripped); ``default`` if absent, ``None`` after a problem."""
        if name not in self.data:
            return self._absent(name, default)
        value = self.data[name]
        if not isinstance(value, str):
            self.problem(name, MSG_STRING)
            return None
        value = value.strip()
        if not value and not empty_ok:
            self.problem(name, MSG_NOT_EMPTY)
            return None
        return value

    def integer(self, name: str, default: Any = _MISSING) -> Any:
        """An integer (not a boolean); ``default`` if absent, ``None`` after a problem."""
        if name not in self.data:
            return self._absent(name, default)
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, MSG_INTEGER)
            return None
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        """``true``/``false``; ``default`` if absent, ``None`` after a problem."""
        if name not in self.data:
            return self._absent(name, default)
        value = self.data[name]
        if not isinstance(value, bool):
            self.problem(name, MSG_BOOLEAN)
            return None
        return value

    def identifier(self, name: str) -> str | None:
        """A required id: lowercase ASCII, digits, underscores; starts with a letter."""
        value = self.string(name)
        if value is None:
            return None
        if len(value) > ID_MAX_CHARS or not _ID_PATTERN.fullmatch(value):
            self.problem(name, MSG_ID_FORMAT, max=ID_MAX_CHARS)
            return None
        return value

    def duration(self, name: str, default: Duration) -> Duration:
        """A duration string such as ``15wd``; ``default`` if absent or bad."""
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, str):
            self.problem(name, MSG_STRING)
            return default
        try:
            return parse_duration(value)
        except DurationError as error:
            self.problem(name, error.msgid, **error.params)
            return default


def _sub_table(reader: _Reader, name: str, allowed: tuple[str, ...] | None) -> _Reader | None:
    """The reader of table ``name`` inside ``reader`` (an empty one if absent).

    ``allowed`` lists the keys the table may hold (others are reported); ``None`` lets
    the caller check the keys itself.
    """
    value = reader.data.get(name, {})
    if not isinstance(value, dict):
        reader.problem(name, MSG_TABLE)
        return None
    return _Reader(value, reader.key(name), reader.problems, allowed)


def _array_of_tables(
    reader: _Reader, name: str, *, required: bool
) -> list[tuple[str, dict[str, Any]]]:
    """``[(key_prefix, table), ...]`` of the ``[[name]]`` array; bad items are reported."""
    if name not in reader.data:
        if required:
            reader.problem(name, MSG_REQUIRED)
        return []
    value = reader.data[name]
    if not isinstance(value, list):
        reader.problem(name, MSG_ARRAY_OF_TABLES, name=name)
        return []
    items = []
    for index, item in enumerate(value):
        key = f"{reader.key(name)}[{index}]"
        if not isinstance(item, dict):
            reader.problems.append(Problem(key, MSG_TABLE, {}))
            continue
        items.append((key, item))
    return items


def _parse_telegram(root: _Reader, env: Mapping[str, str], for_run: bool,
                    check_token: bool = False) -> TelegramConfig:
    table = _sub_table(root, "telegram", ("token", "api_base_url", "mode", "proxy"))
    default = TelegramConfig()
    proxy: str | None = None
    if table is None:
        token = None
        url, mode = default.api_base_url, default.mode
    else:
        proxy = table.string("proxy", "", empty_ok=True) or None
        if proxy is not None and not valid_proxy(proxy):
            table.problem("proxy", MSG_PROXY)
        token = table.string("token", "", empty_ok=True) or None
        url = table.string("api_base_url", default.api_base_url)
        if url is not None and not re.match(r"https?://[^/\s]+", url):
            table.problem("api_base_url", MSG_URL)
        mode = table.string("mode", default.mode)
        if mode is not None and mode not in MODES:
            table.problem("mode", MSG_MODE, value=mode, allowed=", ".join(MODES))
    env_token = (env.get(TOKEN_ENV) or "").strip()
    if env_token:
        token = env_token
    if for_run and not token:
        root.problems.append(Problem("telegram.token", MSG_TOKEN, {}))
    elif check_token and token and not TOKEN_FORMAT.fullmatch(token):
        key = TOKEN_ENV if env_token else "telegram.token"
        root.problems.append(Problem(key, MSG_TOKEN_FORMAT, {}))
    api_base_url = url or default.api_base_url
    if proxy is None:  # unset or empty: the environment's, as curl and pip take it
        found = proxy_from_env(env, api_base_url)
        if found is not None and not valid_proxy(found[1]):
            # Only where it would be used: the demo and the administrators' commands never
            # reach Telegram, so a desktop's odd ALL_PROXY must not stop them.
            if for_run:
                root.problems.append(Problem("telegram.proxy", MSG_PROXY_ENV,
                                             {"name": found[0],
                                              "value": redact_proxy(found[1])}))
        elif found is not None:
            proxy = found[1]
    return TelegramConfig(
        token=token,
        api_base_url=api_base_url,
        mode=mode or default.mode,
        proxy=proxy,
    )


#: ``socks`` is SOCKS5, as desktop proxy settings (GNOME's ALL_PROXY) write it.
PROXY_SCHEMES = ("http", "https", "socks", "socks4", "socks4a", "socks5", "socks5h")
#: What a bot token from @BotFather looks like: the bot's id, a colon, a 35-character secret.
TOKEN_FORMAT = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,}")


def valid_proxy(url: str) -> bool:
    """Whether ``url`` is a proxy URL Sunbox can use (scheme, host and port)."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.scheme.lower() in PROXY_SCHEMES and bool(parts.hostname) and port is not None


def redact_proxy(url: str) -> str:
    """A proxy URL without its password, fit for a message or a log line."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY (``*`` or host names and domains, commas between) names ``host``."""
    host = host.lower()
    for entry in no_proxy.replace(" ", "").lower().split(","):
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        name = name.lstrip(".")
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def proxy_from_env(env: Mapping[str, str], api_base_url: str) -> tuple[str, str] | None:
    """``(variable, url)`` of the proxy the environment asks for to reach ``api_base_url``:
    HTTPS_PROXY (or HTTP_PROXY for an http:// API), then ALL_PROXY, lower case first as
    curl reads them; None when there is none or NO_PROXY names the API's host."""
    parts = urllib.parse.urlsplit(api_base_url)
    scheme = parts.scheme.lower() or "https"
    for name in (f"{scheme}_proxy", "all_proxy"):
        for variable in (name, name.upper()):
            value = (env.get(variable) or "").strip()
            if not value:
                continue
            no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
            return None if _bypassed(parts.hostname or "", no_proxy) else (variable, value)
    return None


def _resolve_database(database: str, base_dir: Path | None) -> str:
    """A relative database path is relative to the configuration file's folder."""
    if database == ":memory:" or database.startswith(("file:", "postgresql://", "postgres://")):
        return database
    path = Path(database).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return str(path)


def _parse_general(root: _Reader, base_dir: Path | None) -> GeneralConfig:
    table = _sub_table(root, "general", ("timezone", "default_language", "database"))
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


def _exact_duration(table: _Reader, name: str, default: Duration, example: str,
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


def _parse_storage(root: _Reader, base_dir: Path | None, database: str) -> StorageConfig:
    table = _sub_table(root, "storage", ("checkpoint_every", "files"))
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


def _parse_security(root: _Reader, base_dir: Path | None, env: Mapping[str, str],
                    database: str) -> SecurityConfig:
    table = _sub_table(root, "security", ("seal_key_file",))
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


def _parse_logging(root: _Reader) -> LoggingConfig:
    table = _sub_table(root, "logging", ("level", "format"))
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


def _parse_limits(root: _Reader) -> LimitsConfig:
    names = tuple(LIMIT_MAXIMA)
    table = _sub_table(root, "limits", (*names, "draft_ttl"))
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


def _parse_handling(root: _Reader) -> HandlingConfig:
    names = tuple(HANDLING_MAXIMA)
    table = _sub_table(root, "handling", names)
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


MSG_BAD_TIME = N_('not a time of day: "{value}" (use HH:MM)')


def _parse_alerts(root: _Reader) -> AlertsConfig:
    table = _sub_table(root, "alerts",
                       ("reminders", "escalate_after", "digest_time", "pause_while_asking"))
    default = AlertsConfig()
    if table is None:
        return default
    reminders = default.reminders
    raw = table.data.get("reminders", _MISSING)
    if raw is not _MISSING:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            table.problem("reminders", MSG_ARRAY)
        else:
            parsed: list[Duration | None] = []
            for index, value in enumerate(raw):
                try:
                    parsed.append(_parse_offset(value))
                except DurationError as error:
                    table.problem(f"reminders[{index}]", error.msgid, **error.params)
            reminders = tuple(parsed)
    escalate_after = default.escalate_after
    text = table.string("escalate_after", None)
    if text is not None:
        try:
            escalate_after = parse_duration(text)
        except DurationError as error:
            table.problem("escalate_after", error.msgid, **error.params)
    digest_time = default.digest_time
    text = table.string("digest_time", None)
    if text is not None:
        try:
            digest_time = time.fromisoformat(text)
        except ValueError:
            table.problem("digest_time", MSG_BAD_TIME, value=text)
    pause = table.boolean("pause_while_asking", default.pause_while_asking)
    return AlertsConfig(reminders, escalate_after, digest_time,
                        default.pause_while_asking if pause is None else pause)


_RETENTION_PATTERN = re.compile(r"([0-9]+)(y|d)")
#: The longest retention accepted, in years (or the same in days).
RETENTION_MAX_YEARS = 100
MSG_RETENTION = N_(
    'invalid retention period "{value}": use a whole number from 1 followed by y (years) '
    'or d (days), e.g. "3y" or "1095d"'
)
MSG_RETENTION_TOO_LONG = N_('retention period "{value}" is too long: at most {max} years')


def _parse_retention(root: _Reader) -> RetentionConfig:
    table = _sub_table(root, "retention", ("closed_after", "run_at"))
    default = RetentionConfig()
    if table is None:
        return default
    closed_after = default.closed_after
    text = table.string("closed_after", None)
    if text is not None:
        match = _RETENTION_PATTERN.fullmatch(text)
        amount = int(match.group(1)) if match else 0
        if match is None or amount < 1:
            table.problem("closed_after", MSG_RETENTION, value=text)
        elif amount > RETENTION_MAX_YEARS * (365 if match.group(2) == "d" else 1):
            table.problem("closed_after", MSG_RETENTION_TOO_LONG, value=text,
                          max=RETENTION_MAX_YEARS)
        else:
            closed_after = RetentionPeriod(amount, match.group(2))
    run_at = default.run_at
    text = table.string("run_at", None)
    if text is not None:
        try:
            run_at = time.fromisoformat(text)
        except ValueError:
            table.problem("run_at", MSG_BAD_TIME, value=text)
    return RetentionConfig(closed_after, run_at)


MSG_WEIGHTS = N_("the weights must not be negative and must not all be 0")
MSG_RATE = N_("must be a number from 0 to 1")


def _parse_assessment(root: _Reader) -> AssessmentConfig:
    names = tuple(AssessmentConfig.__dataclass_fields__)
    table = _sub_table(root, "assessment", names)
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
    return AssessmentConfig(**values)


def _parse_offset(text: str) -> Duration | None:
    """A reminder offset: a duration before the deadline, or "0" for the deadline itself."""
    if text.strip() in ("0", "0s", "0m", "0h", "0d", "0wd"):
        return None
    return parse_duration(text)


def _parse_dates(table: _Reader, name: str) -> tuple[date, ...]:
    value = table.data.get(name, [])
    if not isinstance(value, list):
        table.problem(name, MSG_ARRAY)
        return ()
    days: list[date] = []
    for index, item in enumerate(value):
        key = f"{table.key(name)}[{index}]"
        day: date | None = None
        if isinstance(item, date) and not isinstance(item, datetime):
            day = item
        elif isinstance(item, str) and _DATE_PATTERN.fullmatch(item.strip()):
            try:
                day = date.fromisoformat(item.strip())
            except ValueError:
                day = None
        if day is None:
            table.problems.append(Problem(key, MSG_DATE, {"value": str(item)}))
        elif day not in days:
            days.append(day)
    return tuple(days)


def _parse_calendar(root: _Reader) -> CalendarConfig:
    table = _sub_table(root, "calendar", CALENDAR_KEYS)
    if table is None:
        return CalendarConfig()
    holidays = _parse_dates(table, "holidays")
    workdays = _parse_dates(table, "workdays")
    for day in workdays:
        if day in holidays:
            table.problem("workdays", MSG_DATE_BOTH, date=day.isoformat())
    years = table.data.get("complete_years", [])
    complete: list[int] = []
    if not isinstance(years, list) or not all(
            isinstance(y, int) and not isinstance(y, bool) and YEAR_MIN <= y <= YEAR_MAX
            for y in years):
        table.problem("complete_years", MSG_YEAR, min=YEAR_MIN, max=YEAR_MAX)
    else:
        complete = sorted(set(years))
        for year in complete:
            if not any(day.year == year for day in holidays):
                table.problem("complete_years", MSG_YEAR_EMPTY, year=year)
    unknown = table.string("unknown_years", "weekdays")
    if unknown is not None and unknown not in UNKNOWN_YEARS:
        table.problem("unknown_years", MSG_MODE, value=unknown,
                      allowed=", ".join(UNKNOWN_YEARS))
        unknown = None
    return CalendarConfig(holidays=holidays, workdays=workdays,
                          complete_years=tuple(complete),
                          unknown_years=unknown or "weekdays")


CALENDAR_KEYS = ("holidays", "workdays", "complete_years", "unknown_years")
#: ``[calendar] unknown_years``: count Monday–Friday, or do so and mark for review.
UNKNOWN_YEARS = ("weekdays", "flag")
YEAR_MIN, YEAR_MAX = 2000, 2100


def _parse_rule(reader: _Reader | None, default: DeadlineRule) -> DeadlineRule:
    if reader is None:
        return default
    return DeadlineRule(
        accept=reader.duration("accept", default.accept),
        answer=reader.duration("answer", default.answer),
    )


def _parse_deadlines(root: _Reader, category_ids: set[str]) -> DeadlinesConfig:
    table = _sub_table(root, "deadlines", (*KINDS, "category"))
    if table is None:
        return DeadlinesConfig()
    rules = {
        "suggestion": _parse_rule(
            _sub_table(table, "suggestion", ("accept", "answer")), DEFAULT_SUGGESTION_RULE
        ),
        "report": _parse_rule(
            _sub_table(table, "report", ("accept", "answer")), DEFAULT_REPORT_RULE
        ),
    }
    by_category = _sub_table(table, "category", None)  # keys checked in _parse_overrides
    overrides = (
        _parse_overrides(by_category, category_ids, rules) if by_category is not None else ()
    )
    return DeadlinesConfig(
        suggestion=rules["suggestion"], report=rules["report"], categories=overrides
    )


def _parse_overrides(
    by_category: _Reader, category_ids: set[str], rules: dict[str, DeadlineRule]
) -> tuple[tuple[str, str, DeadlineRule], ...]:
    """``[deadlines.category.<id>.<kind>]`` tables, each merged with the kind's rule."""
    overrides: list[tuple[str, str, DeadlineRule]] = []
    for category_id in by_category.data:
        known = category_id in category_ids
        if not known:
            by_category.problem(category_id, MSG_UNKNOWN_CATEGORY, category=category_id)
        kinds_table = _sub_table(by_category, category_id, None)
        if kinds_table is None:
            continue
        for kind in kinds_table.data:
            if kind not in KINDS:
                kinds_table.problem(kind, MSG_UNKNOWN_KIND, kind=kind, allowed=", ".join(KINDS))
                continue
            rule_table = _sub_table(kinds_table, kind, ("accept", "answer"))
            rule = _parse_rule(rule_table, rules[kind])
            if known:
                overrides.append((category_id, kind, rule))
    return tuple(overrides)


UNIT_KEYS = ("id", "name_zh", "name_en", "parent", "supervision", "sign_off", "group_chat_id")
CATEGORY_KEYS = ("id", "name_zh", "name_en", "unit")
MEMBER_KEYS = ("telegram_id", "role", "unit", "name")


def _parse_units(root: _Reader) -> tuple[UnitConfig, ...]:
    entries: list[tuple[str, UnitConfig]] = []
    first_seen: set[str] = set()
    for key, item in _array_of_tables(root, "units", required=True):
        reader = _Reader(item, key, root.problems, UNIT_KEYS)
        unit_id = reader.identifier("id")
        name_zh = reader.string("name_zh")
        name_en = reader.string("name_en")
        parent = reader.string("parent", None)
        supervision = reader.boolean("supervision", False)
        sign_off = reader.boolean("sign_off", False)
        group_chat_id = reader.integer("group_chat_id", None)
        if group_chat_id is not None and group_chat_id >= 0:
            reader.problem("group_chat_id", MSG_GROUP_CHAT_ID)
            group_chat_id = None
        if unit_id is None:
            continue
        if unit_id in first_seen:
            reader.problem("id", MSG_DUPLICATE_UNIT, id=unit_id)
            continue
        first_seen.add(unit_id)
        unit = UnitConfig(
            id=unit_id,
            name_zh=name_zh or "",
            name_en=name_en or "",
            parent=parent,
            supervision=bool(supervision),
            sign_off=bool(sign_off),
            group_chat_id=group_chat_id,
        )
        entries.append((key, unit))
    if "units" in root.data and isinstance(root.data["units"], list):
        count = sum(1 for _, unit in entries if unit.supervision)
        if count != 1:
            root.problem("units", MSG_SUPERVISION_COUNT, count=count)
    _check_unit_tree(entries, root.problems)
    return tuple(unit for _, unit in entries)


def _check_unit_tree(entries: list[tuple[str, UnitConfig]], problems: list[Problem]) -> None:
    """Report unknown parents and every cycle (once, at its first unit in file order)."""
    parents = {unit.id: unit.parent for _, unit in entries}
    keys = {unit.id: key for key, unit in entries}
    order = {unit.id: index for index, (_, unit) in enumerate(entries)}
    for key, unit in entries:
        if unit.parent is not None and unit.parent not in parents:
            problems.append(Problem(f"{key}.parent", MSG_UNKNOWN_PARENT, {"unit": unit.parent}))
    done: set[str] = set()
    for _, unit in entries:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = unit.id
        while current is not None and current in parents and current not in done:
            if current in on_path:
                cycle = path[path.index(current) :]
                first = min(cycle, key=order.__getitem__)
                start = cycle.index(first)
                cycle = cycle[start:] + cycle[:start]
                problems.append(
                    Problem(
                        f"{keys[first]}.parent",
                        MSG_CYCLE,
                        {"cycle": " → ".join([*cycle, first])},
                    )
                )
                break
            path.append(current)
            on_path.add(current)
            current = parents[current]
        done.update(path)


def _parse_routing(root: _Reader, units: tuple[UnitConfig, ...]) -> RoutingConfig:
    """``[routing]``; ``above_supervision`` is required whenever a supervision unit exists."""
    table = _sub_table(root, "routing", ("above_supervision",))
    if table is None:
        return RoutingConfig()
    supervision = next((unit for unit in units if unit.supervision), None)
    if supervision is not None and "above_supervision" not in table.data:
        table.problem("above_supervision", MSG_ABOVE_SUPERVISION_REQUIRED)
    above = table.string("above_supervision", None)
    if above is None:
        return RoutingConfig()
    if above not in {unit.id for unit in units}:
        table.problem("above_supervision", MSG_UNKNOWN_UNIT, unit=above)
    elif supervision is not None and above == supervision.id:
        table.problem("above_supervision", MSG_ABOVE_SUPERVISION_SELF, unit=above)
    return RoutingConfig(above)


def _parse_categories(root: _Reader, unit_ids: set[str]) -> tuple[CategoryConfig, ...]:
    categories: list[CategoryConfig] = []
    first_seen: set[str] = set()
    for key, item in _array_of_tables(root, "categories", required=True):
        reader = _Reader(item, key, root.problems, CATEGORY_KEYS)
        category_id = reader.identifier("id")
        name_zh = reader.string("name_zh")
        name_en = reader.string("name_en")
        unit = reader.string("unit")
        if unit is not None and unit not in unit_ids:
            reader.problem("unit", MSG_UNKNOWN_UNIT, unit=unit)
        if category_id is None:
            continue
        if category_id in first_seen:
            reader.problem("id", MSG_DUPLICATE_CATEGORY, id=category_id)
            continue
        first_seen.add(category_id)
        categories.append(CategoryConfig(category_id, name_zh or "", name_en or "", unit or ""))
    return tuple(categories)


def _parse_members(root: _Reader, units: tuple[UnitConfig, ...]) -> tuple[MemberConfig, ...]:
    unit_ids = {unit.id for unit in units}
    supervision = [unit.id for unit in units if unit.supervision]
    members: list[MemberConfig] = []
    first_index: dict[MemberConfig, int] = {}
    for index, (key, item) in enumerate(_array_of_tables(root, "members", required=False)):
        reader = _Reader(item, key, root.problems, MEMBER_KEYS)
        telegram_id = reader.integer("telegram_id")
        if telegram_id is not None and telegram_id < 1:
            reader.problem("telegram_id", MSG_POSITIVE)
            telegram_id = None
        role = reader.string("role")
        if role is not None and role not in ROLES:
            reader.problem("role", MSG_UNKNOWN_ROLE, role=role, allowed=", ".join(ROLES))
            role = None
        unit = reader.string("unit")
        if unit is not None and unit not in unit_ids:
            reader.problem("unit", MSG_UNKNOWN_UNIT, unit=unit)
            unit = None
        if role == "supervision" and unit is not None and len(supervision) == 1 \
                and unit != supervision[0]:
            reader.problem("unit", MSG_SUPERVISION_ROLE, unit=supervision[0], other=unit)
            unit = None
        name = reader.string("name", None)
        if telegram_id is None or role is None or unit is None:
            continue
        member = MemberConfig(telegram_id, role, unit, name)
        if member in first_index:
            reader.problem("telegram_id", MSG_DUPLICATE_MEMBER, index=first_index[member])
            continue
        first_index[member] = index
        members.append(member)
    return tuple(members)


MEETING_KEYS = ("id", "kind", "unit", "cron", "place", "organizer", "shift", "reminders",
                "summary", "record_within_days")
MSG_DUPLICATE_MEETING = N_("duplicate meeting id {id}")
MSG_SHIFT = N_('unknown shift "{value}"; allowed: {allowed}')
MSG_CRON = N_('not a cron expression: "{value}" (five fields: minute hour day-of-month '
              'month day-of-week, e.g. "30 9 1-7 * 2")')
MSG_CRON_TIME = N_("minute and hour must be single numbers: a meeting starts at one time of day")
MSG_CRON_NEVER = N_('"{value}" never happens')
MSG_ORGANIZER = N_(
    "the organizer is a Telegram user id, \"head\" (the heads of the meeting's unit) or "
    "\"head:<unit>\""
)
MSG_MEETING_OFFSET = N_('not a moment before the meeting: "{value}" (write days before and a '
                        'time, e.g. "3d 09:00", "1wd 16:00" or "0d 08:00"; at most {max} days)')
_MEETING_OFFSET = re.compile(r"([0-9]{1,3})(d|wd)\s+([0-9]{1,2}:[0-9]{2})")


def _meeting_offset(text: object) -> MeetingOffset | None:
    """``"3d 09:00"`` → ``MeetingOffset(3, "d", 09:00)``; ``None`` if malformed."""
    if not isinstance(text, str):
        return None
    match = _MEETING_OFFSET.fullmatch(text.strip())
    if match is None or int(match.group(1)) > MEETING_OFFSET_MAX_DAYS:
        return None
    try:
        at = time.fromisoformat(match.group(3).zfill(5))
    except ValueError:
        return None
    return MeetingOffset(int(match.group(1)), match.group(2), at)


def _check_cron(reader: _Reader, expression: str) -> bool:
    """A five-field cron expression with one start time that happens at all."""
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        reader.problem("cron", MSG_CRON, value=expression)
        return False
    minutes, hours = croniter.expand(expression)[0][:2]
    if len(minutes) != 1 or len(hours) != 1 or "*" in (minutes[0], hours[0]):
        reader.problem("cron", MSG_CRON_TIME)
        return False
    try:
        croniter(expression, datetime(2026, 1, 1), day_or=False).get_next(datetime)
    except Exception:  # noqa: BLE001 - croniter signals "no such day" in several ways
        reader.problem("cron", MSG_CRON_NEVER, value=expression)
        return False
    return True


def _meeting_offsets(reader: _Reader) -> tuple[MeetingOffset, ...]:
    raw = reader.data.get("reminders", _MISSING)
    if raw is _MISSING:
        return DEFAULT_MEETING_REMINDERS
    if not isinstance(raw, list):
        reader.problem("reminders", MSG_ARRAY)
        return DEFAULT_MEETING_REMINDERS
    offsets: list[MeetingOffset] = []
    for index, value in enumerate(raw):
        offset = _meeting_offset(value)
        if offset is None:
            reader.problem(f"reminders[{index}]", MSG_MEETING_OFFSET, value=str(value),
                           max=MEETING_OFFSET_MAX_DAYS)
        elif offset not in offsets:
            offsets.append(offset)
    return tuple(offsets)


def _parse_meetings(root: _Reader, unit_ids: set[str]) -> tuple[MeetingConfig, ...]:
    meetings: list[MeetingConfig] = []
    first_seen: set[str] = set()
    for key, item in _array_of_tables(root, "meetings", required=False):
        reader = _Reader(item, key, root.problems, MEETING_KEYS)
        meeting_id = reader.identifier("id")
        kind = reader.string("kind", "monthly")
        if kind is not None and kind not in MEETING_KINDS:
            reader.problem("kind", MSG_UNKNOWN_KIND, kind=kind, allowed=", ".join(MEETING_KINDS))
            kind = None
        unit = reader.string("unit")
        if unit is not None and unit not in unit_ids:
            reader.problem("unit", MSG_UNKNOWN_UNIT, unit=unit)
            unit = None
        cron = reader.string("cron")
        if cron is not None and not _check_cron(reader, " ".join(cron.split())):
            cron = None
        place = reader.string("place")
        organizer = _meeting_organizer(reader, unit, unit_ids)
        shift = reader.string("shift", "next_working_day")
        if shift is not None and shift not in MEETING_SHIFTS:
            reader.problem("shift", MSG_SHIFT, value=shift, allowed=", ".join(MEETING_SHIFTS))
            shift = None
        reminders = _meeting_offsets(reader)
        summary: MeetingOffset | None = DEFAULT_MEETING_SUMMARY
        if "summary" in item:
            summary = _meeting_offset(item["summary"])
            if summary is None:
                reader.problem("summary", MSG_MEETING_OFFSET, value=str(item["summary"]),
                               max=MEETING_OFFSET_MAX_DAYS)
        within = reader.integer("record_within_days", 3)
        if within is not None and not 1 <= within <= MEETING_RECORD_MAX_DAYS:
            reader.problem("record_within_days", MSG_POSITIVE if within < 1 else MSG_AT_MOST,
                           max=MEETING_RECORD_MAX_DAYS)
            within = None
        if meeting_id is not None:
            if meeting_id in first_seen:
                reader.problem("id", MSG_DUPLICATE_MEETING, id=meeting_id)
                continue
            first_seen.add(meeting_id)
        if None in (meeting_id, kind, unit, cron, place, organizer, shift, summary, within):
            continue
        assert meeting_id is not None and organizer is not None and summary is not None
        meetings.append(MeetingConfig(
            id=meeting_id, kind=kind, unit=unit, cron=" ".join(cron.split()), place=place,
            organizer=organizer, shift=shift, reminders=reminders, summary=summary,
            record_within_days=within))
    return tuple(meetings)


def _meeting_organizer(reader: _Reader, unit: str | None, unit_ids: set[str]) -> str | None:
    """``1006`` → ``"1006"``; ``"head"`` → ``"head:<the meeting's unit>"``; ``"head:<unit>"``."""
    if "organizer" not in reader.data:
        reader.problem("organizer", MSG_REQUIRED)
        return None
    value = reader.data["organizer"]
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            reader.problem("organizer", MSG_ORGANIZER)
            return None
        return str(value)
    if not isinstance(value, str):
        reader.problem("organizer", MSG_ORGANIZER)
        return None
    value = value.strip()
    if value == "head":
        return None if unit is None else f"head:{unit}"
    if value.startswith("head:"):
        other = value.removeprefix("head:")
        if other not in unit_ids:
            reader.problem("organizer", MSG_UNKNOWN_UNIT, unit=other)
            return None
        return value
    reader.problem("organizer", MSG_ORGANIZER)
    return None


def parse_config(
    data: Mapping[str, Any],
    *,
    env: Mapping[str, str] = os.environ,
    base_dir: Path | None = None,
    for_run: bool = False,
    source: str | None = None,
    check_token: bool = False,
) -> tuple[Config | None, list[Problem]]:
    """Check ``data`` (a parsed TOML document) and build a :class:`Config`.

    Returns ``(config, [])`` or ``(None, problems)`` with every problem found.
    ``SUNBOX_TOKEN`` in ``env`` wins over ``telegram.token``; with ``for_run`` a missing
    token is a problem, and with ``check_token`` one that does not look like a token.
    A relative ``general.database`` is resolved against ``base_dir``.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return None, [Problem("(root)", MSG_TABLE, {})]
    root = _Reader(data, "", problems, TOP_LEVEL_KEYS)
    telegram = _parse_telegram(root, env, for_run, check_token)
    general = _parse_general(root, base_dir)
    limits = _parse_limits(root)
    storage = _parse_storage(root, base_dir, general.database)
    handling = _parse_handling(root)
    alerts = _parse_alerts(root)
    retention = _parse_retention(root)
    assessment = _parse_assessment(root)
    calendar = _parse_calendar(root)
    units = _parse_units(root)
    unit_ids = {unit.id for unit in units}
    categories = _parse_categories(root, unit_ids)
    members = _parse_members(root, units)
    deadlines = _parse_deadlines(root, {category.id for category in categories})
    meetings = _parse_meetings(root, unit_ids)
    routing = _parse_routing(root, units)
    security = _parse_security(root, base_dir, env, general.database)
    logging_config = _parse_logging(root)
    if problems:
        return None, problems
    config = Config(
        telegram=telegram,
        general=general,
        units=units,
        categories=categories,
        members=members,
        deadlines=deadlines,
        limits=limits,
        storage=storage,
        calendar=calendar,
        handling=handling,
        alerts=alerts,
        retention=retention,
        assessment=assessment,
        meetings=meetings,
        routing=routing,
        security=security,
        logging=logging_config,
        source=source,
    )
    return config, []


def _read(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read and decode a TOML file; problems are keyed by the file's path."""
    key = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(key, MSG_NOT_FOUND, {})]
    except OSError as error:
        return None, [Problem(key, MSG_UNREADABLE, {"error": error.strerror or str(error)})]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [Problem(key, MSG_NOT_UTF8, {})]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line, column = 0, 0
        if match := _TOML_POSITION.search(message):
            line, column = int(match.group(1)), int(match.group(2))
            message = message[: match.start()]
        elif match := _TOML_END.search(message):
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
            message = message[: match.start()]
        params = {"line": line, "column": column, "error": message}
        return None, [Problem(key, MSG_TOML, params)]


def _load(
    path: str | os.PathLike[str], for_run: bool, env: Mapping[str, str],
    check_token: bool = False,
) -> tuple[Config | None, list[Problem]]:
    path = Path(path).expanduser()
    data, problems = _read(path)
    if data is None:
        return None, problems
    absolute = path.resolve()
    return parse_config(
        data, env=env, base_dir=absolute.parent, for_run=for_run, source=str(absolute),
        check_token=check_token,
    )


def load_config(
    path: str | os.PathLike[str], *, for_run: bool = False, env: Mapping[str, str] = os.environ
) -> Config:
    """Read and check the TOML file at ``path``; :class:`ConfigError` lists all problems.

    With ``for_run`` a bot token is required (from the file or ``SUNBOX_TOKEN``).
    """
    config, problems = _load(path, for_run, env)
    if config is None:
        raise ConfigError(problems)
    return config


def check_config(
    path: str | os.PathLike[str], *, for_run: bool = False, env: Mapping[str, str] = os.environ
) -> list[Problem]:
    """Every problem of the file at ``path`` (empty if it is fine); with ``for_run`` also
    a token that does not look like one (``sunbox run`` lets Telegram judge it instead)."""
    return _load(path, for_run, env, check_token=for_run)[1]


def raised_limits(config: Config) -> Config:
    """``config`` with the per-person limits out of reach (benchmarks, the demo, tests)."""
    return replace(config, limits=replace(
        config.limits, updates_per_minute=RAISED_LIMITS["updates_per_minute"],
        cases_per_day=RAISED_LIMITS["cases_per_day"],
        status_per_hour=RAISED_LIMITS["status_per_hour"]))


def default_config_path() -> Path:
    """``config.example.toml``: the demo runs on it. An installed wheel carries it inside
    the package (setup.py); a source checkout has it at the top."""
    packaged = Path(__file__).resolve().parent / "config.example.toml"
    return packaged if packaged.is_file() else packaged.parent.parent / packaged.name
