"""Due times of a case, from the configured deadlines and the working-day calendar."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from bot.durations import add_duration
from bot.workdays import WorkCalendar


def due_times(
    config: Config, calendar: WorkCalendar, kind: str, category_id: str, filed_at: datetime
) -> tuple[datetime, datetime]:
    """(acceptance due, answer due) for a case filed at ``filed_at``.

    Working-day arithmetic happens in the county's time zone.
    """
    rule = config.deadlines.rule(kind, category_id)
    local = filed_at.astimezone(config.general.tz)
    return add_duration(local, rule.accept, calendar), add_duration(local, rule.answer, calendar)
