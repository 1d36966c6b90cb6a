"""The tables about time: ``[alerts]`` (reminders, escalation, the digest),
``[retention]``, ``[calendar]`` (days off and working days) and ``[deadlines]``."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from bot.config.messages import (
    MSG_ARRAY,
    MSG_BAD_TIME,
    MSG_DATE,
    MSG_DATE_BOTH,
    MSG_MODE,
    MSG_RETENTION,
    MSG_RETENTION_TOO_LONG,
    MSG_UNKNOWN_CATEGORY,
    MSG_UNKNOWN_KIND,
    MSG_YEAR,
    MSG_YEAR_EMPTY,
)
from bot.config.reader import MISSING, Problem, Reader, sub_table
from bot.config.sections import (
    DEFAULT_REPORT_RULE,
    DEFAULT_SUGGESTION_RULE,
    KINDS,
    AlertsConfig,
    CalendarConfig,
    DeadlineRule,
    DeadlinesConfig,
    RetentionConfig,
    RetentionPeriod,
)
from bot.durations import Duration, DurationError, parse_duration

_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RETENTION_PATTERN = re.compile(r"([0-9]+)(y|d)")
#: The longest retention accepted, in years (or the same in days).
RETENTION_MAX_YEARS = 100
CALENDAR_KEYS = ("holidays", "workdays", "complete_years", "unknown_years")
#: ``[calendar] unknown_years``: count Monday–Friday, or do so and mark for review.
UNKNOWN_YEARS = ("weekdays", "flag")
YEAR_MIN, YEAR_MAX = 2000, 2100


def parse_alerts(root: Reader) -> AlertsConfig:
    table = sub_table(root, "alerts",
                      ("reminders", "escalate_after", "digest_time", "pause_while_asking"))
    default = AlertsConfig()
    if table is None:
        return default
    reminders = default.reminders
    raw = table.data.get("reminders", MISSING)
    if raw is not MISSING:
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


def parse_retention(root: Reader) -> RetentionConfig:
    table = sub_table(root, "retention", ("closed_after", "run_at"))
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


def _parse_offset(text: str) -> Duration | None:
    """A reminder offset: a duration before the deadline, or "0" for the deadline itself."""
    if text.strip() in ("0", "0s", "0m", "0h", "0d", "0wd"):
        return None
    return parse_duration(text)


def _parse_dates(table: Reader, name: str) -> tuple[date, ...]:
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


def parse_calendar(root: Reader) -> CalendarConfig:
    table = sub_table(root, "calendar", CALENDAR_KEYS)
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


def _parse_rule(reader: Reader | None, default: DeadlineRule) -> DeadlineRule:
    if reader is None:
        return default
    return DeadlineRule(
        accept=reader.duration("accept", default.accept),
        answer=reader.duration("answer", default.answer),
    )


def parse_deadlines(root: Reader, category_ids: set[str]) -> DeadlinesConfig:
    table = sub_table(root, "deadlines", (*KINDS, "category"))
    if table is None:
        return DeadlinesConfig()
    rules = {
        "suggestion": _parse_rule(
            sub_table(table, "suggestion", ("accept", "answer")), DEFAULT_SUGGESTION_RULE
        ),
        "report": _parse_rule(
            sub_table(table, "report", ("accept", "answer")), DEFAULT_REPORT_RULE
        ),
    }
    by_category = sub_table(table, "category", None)  # keys checked in _parse_overrides
    overrides = (
        _parse_overrides(by_category, category_ids, rules) if by_category is not None else ()
    )
    return DeadlinesConfig(
        suggestion=rules["suggestion"], report=rules["report"], categories=overrides
    )


def _parse_overrides(
    by_category: Reader, category_ids: set[str], rules: dict[str, DeadlineRule]
) -> tuple[tuple[str, str, DeadlineRule], ...]:
    """``[deadlines.category.<id>.<kind>]`` tables, each merged with the kind's rule."""
    overrides: list[tuple[str, str, DeadlineRule]] = []
    for category_id in by_category.data:
        known = category_id in category_ids
        if not known:
            by_category.problem(category_id, MSG_UNKNOWN_CATEGORY, category=category_id)
        kinds_table = sub_table(by_category, category_id, None)
        if kinds_table is None:
            continue
        for kind in kinds_table.data:
            if kind not in KINDS:
                kinds_table.problem(kind, MSG_UNKNOWN_KIND, kind=kind, allowed=", ".join(KINDS))
                continue
            rule_table = sub_table(kinds_table, kind, ("accept", "answer"))
            rule = _parse_rule(rule_table, rules[kind])
            if known:
                overrides.append((category_id, kind, rule))
    return tuple(overrides)
