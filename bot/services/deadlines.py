"""Due times of a case, from the configured deadlines and the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime

from bot.config import Config
from bot.durations import add_duration
from bot.workdays import WorkCalendar

#: Acceptance deadlines already worked out, by (rule, local date): see ``acceptance_due``.
AcceptanceMemo = dict[tuple[int, date], datetime]


def due_times(
    config: Config, calendar: WorkCalendar, kind: str, category_id: str, filed_at: datetime
) -> tuple[datetime, datetime]:
    """(acceptance due, answer due) for a case filed at ``filed_at``.

    Working-day arithmetic happens in the county's time zone.
    """
    rule = config.deadlines.rule(kind, category_id)
    local = filed_at.astimezone(config.general.tz)
    return add_duration(local, rule.accept, calendar), add_duration(local, rule.answer, calendar)


def acceptance_due(config: Config, calendar: WorkCalendar, kind: str, category_id: str,
                   arrived_at: datetime, memo: AcceptanceMemo | None = None) -> datetime:
    """The acceptance deadline of ``due_times`` alone, for an arrival at ``arrived_at``.

    A deadline in working days ends a working day, so it depends only on the local date;
    with ``memo`` (for many arrivals at once) each is worked out once per rule and date.
    """
    rule = config.deadlines.rule(kind, category_id).accept
    local = arrived_at.astimezone(config.general.tz)
    if memo is None or not rule.working_days:
        return add_duration(local, rule, calendar)
    key = (rule.amount, local.date())
    due = memo.get(key)
    if due is None:
        due = memo[key] = add_duration(local, rule, calendar)
    return due
