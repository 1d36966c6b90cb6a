"""One frozen dataclass per table of the configuration file (``[telegram]``,
``[[units]]``, ``[deadlines]``, ...), with the defaults a file may leave out. The whole
configuration, :class:`~bot.config.model.Config`, holds one of each."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.durations import Duration
from bot.workdays import WorkCalendar

#: The roles a ``[[members]]`` entry or an invite can give. ``committee``: a member of the
#: unit's party committee (支委/党委委员), who reviews its disclosures (审定).
ROLES = ("official", "head", "clerk", "supervisor", "supervision", "admin", "committee")
#: Not a role one writes: the membership that ``party_member = true`` gives, a party member
#: of the unit's branch (党支部), who receives its party-only disclosures (党内公开).
PARTY_MEMBER = "party_member"
KINDS = ("suggestion", "report")

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
    # Webhook mode: where Telegram posts updates, the secret it sends with each (None: one
    # made once and kept in the database, bot.telegram.webhook) and how many connections it
    # may open at once.
    webhook_url: str | None = None
    secret_token: str | None = None
    max_connections: int = 40

    @property
    def telegram_servers(self) -> bool:
        """Whether the Bot API is Telegram's own (not a self-hosted Bot API server or the
        emulator): only there are webhooks limited to https on four ports."""
        host = urllib.parse.urlsplit(self.api_base_url).hostname or ""
        return host.lower() == "api.telegram.org"

    @property
    def webhook_path(self) -> str:
        """The path the HTTP server takes updates at: ``webhook_url``'s, so a reverse proxy
        passes requests on unchanged."""
        return urllib.parse.urlsplit(self.webhook_url or "").path or "/"

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
        return DOWNLOAD_LIMIT if self.telegram_servers else None


@dataclass(frozen=True)
class HttpConfig:
    """``[http]``: Sunbox's own HTTP server. It takes Telegram's updates in webhook mode and
    answers ``/healthz`` and ``/metrics``; in polling mode it runs only when the file has an
    ``[http]`` table (``configured``), so a county that polls opens no port unasked."""

    listen: str = "127.0.0.1"
    port: int = 8080
    # The address people and Telegram reach the server at, through a reverse proxy (links
    # of the web pages to come); None: not published.
    base_url: str | None = None
    configured: bool = False


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
    #: One of ``sections_disclosure.LEVELS``: for catalog items that apply to every unit of
    #: a level (``[[disclosure_items]] units_of_level``).
    level: str | None = None
    #: The channel where its public disclosures (党外公开) are posted.
    public_channel_id: int | None = None
    #: The party members' group where its party-only disclosures (党内公开) are posted.
    party_chat_id: int | None = None

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
    """One ``[[members]]`` entry: a Telegram user holding a role in a unit. An entry with
    ``party_member = true`` gives one more, with the role :data:`PARTY_MEMBER`."""

    telegram_id: int
    role: str
    unit: str
    #: How lists name the person until they write (then Telegram's name is used).
    name: str | None = field(default=None, compare=False)

    @property
    def party_member(self) -> bool:
        """Whether this is party membership of the unit's branch, not a staff role."""
        return self.role == PARTY_MEMBER


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
class ClusterConfig:
    """``[cluster]``: several instances on one PostgreSQL database (webhook mode)."""

    # Within how long the other instances take over the leader's work (the outbox, alarms,
    # the daily jobs) when the instance holding it dies.
    lease_timeout: Duration = Duration(15, "s")


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


@dataclass(frozen=True)
class AssessmentConfig:
    """``[assessment]``: weights of the composite score, ranking and accountability rules."""

    weight_response: float = 30
    weight_resolution: float = 35
    weight_satisfaction: float = 35
    # Weights of the disclosure register's rates (党务公开): on-time rate, completeness and
    # opinion response rate; each counts only for a unit it applies to in the period.
    weight_disclosure_on_time: float = 10
    weight_disclosure_completeness: float = 5
    weight_opinion_response: float = 5
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
