"""Durations written as in the configuration: ``30s``, ``15m``, ``2h``, ``3d``, ``15wd``.

``s``/``m``/``h``/``d`` are exact lengths of time (``d`` is 24 hours); ``wd`` counts
working days on the official Chinese calendar (see :mod:`bot.workdays`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.i18n import N_
from bot.workdays import WorkCalendar

__all__ = [
    "DURATION_FORMAT_HELP",
    "DURATION_TOO_LONG",
    "MAX_DAYS",
    "UNITS",
    "Duration",
    "DurationError",
    "add_duration",
    "parse_duration",
]

UNITS = ("s", "m", "h", "d", "wd")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^([0-9]+)(s|m|h|d|wd)$")

#: The longest duration accepted, in days (working days count as days here): ten years.
MAX_DAYS = 3660

#: Message (msgid) naming the accepted forms; ``{value}`` is the rejected text.
DURATION_FORMAT_HELP = N_(
    'invalid duration "{value}": use a whole number from 1 followed by s (seconds), '
    "m (minutes), h (hours), d (days) or wd (working days), e.g. 15wd"
)
#: Message (msgid) for a duration longer than :data:`MAX_DAYS`.
DURATION_TOO_LONG = N_('duration "{value}" is too long: at most {max_days} days')


class DurationError(ValueError):
    """A rejected duration text; ``msgid``/``params`` let callers translate the message."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid.format(**params))
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True)
class Duration:
    """An amount of seconds, minutes, hours, days or working days."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown duration unit {self.unit!r}; allowed: {', '.join(UNITS)}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError(f"duration amount must be an integer >= 1, got {self.amount!r}")

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def working_days(self) -> bool:
        """True for ``wd``, whose length depends on the calendar."""
        return self.unit == "wd"

    def as_timedelta(self) -> timedelta:
        """The exact length; ``ValueError`` for working days, which have none."""
        if self.working_days:
            raise ValueError("a duration in working days has no fixed length")
        return timedelta(seconds=self.amount * _SECONDS[self.unit])


def parse_duration(text: str) -> Duration:
    """Parse ``<amount><unit>`` (e.g. ``15wd``) after stripping surrounding blanks.

    Exactly ``^[0-9]+(s|m|h|d|wd)$`` with an amount of at least 1 and at most ten years
    (:data:`MAX_DAYS`); anything else raises :class:`DurationError` (a ``ValueError``)
    whose message names the accepted forms.
    """
    if not isinstance(text, str):
        raise DurationError(DURATION_FORMAT_HELP, value=str(text))
    match = _PATTERN.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise DurationError(DURATION_FORMAT_HELP, value=text)
    amount, unit = int(match.group(1)), match.group(2)
    days = amount if unit == "wd" else amount * _SECONDS[unit] / 86400
    if days > MAX_DAYS:
        raise DurationError(DURATION_TOO_LONG, value=text, max_days=MAX_DAYS)
    return Duration(amount, unit)


def add_duration(start: datetime, d: Duration, calendar: WorkCalendar) -> datetime:
    """``start`` plus ``d``: exact arithmetic for s/m/h/d, working days via the calendar.

    ``start`` must be time-zone-aware (``ValueError`` otherwise). Exact units are added
    as elapsed time (in UTC), so a DST change does not shift them; ``wd`` returns the end
    of the n-th working day after ``start``'s date (:meth:`WorkCalendar.add_working_days`).
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be a time-zone-aware datetime, got {start!r}")
    if d.working_days:
        return calendar.add_working_days(start, d.amount)
    tz = start.tzinfo
    return (start.astimezone(UTC) + d.as_timedelta()).astimezone(tz)
