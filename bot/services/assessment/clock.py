"""The working-day clock of a report: the working days of a million spans at once, on
the calendar :meth:`bot.workdays.WorkCalendar.working_days_between` reads one span on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.services.assessment.figures import Item
from bot.workdays import WorkCalendar


def clock_rows(calendar: WorkCalendar, tz: ZoneInfo, first: datetime, last: datetime
               ) -> list[tuple[int, ...]]:
    """The working-day clock from ``first`` to ``last``.

    The clock reads, at any moment, the working days elapsed since an origin: each local day
    adds its working part (the day's length counts 1 on a working day, 0 otherwise), so the
    working days between two moments are the difference of two readings — exactly
    ``WorkCalendar.working_days_between`` in ``tz``. One row per UTC day (days since the
    epoch): ``split``, the local midnight inside it, and for the local day before and after
    it (working days before it, working or not, start and length in epoch seconds).
    """
    day = first.astimezone(tz).date() - timedelta(days=2)
    end_day = last.astimezone(tz).date() + timedelta(days=2)
    local: list[tuple[int, int, int, int]] = []  # start, end, working, working days before
    before = 0
    while day <= end_day:
        start = int(datetime.combine(day, time(0), tzinfo=tz).timestamp())
        end = int(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).timestamp())
        working = int(calendar.is_workday(day))
        local.append((start, end, working, before))
        before += working
        day += timedelta(days=1)
    rows: list[tuple[int, ...]] = []
    index = 0
    for utc_day in range(local[0][0] // 86400 + 1, local[-1][0] // 86400):
        midnight = utc_day * 86400
        while local[index][1] <= midnight:
            index += 1
        a = local[index]
        b = local[index + 1] if a[1] < midnight + 86400 else a
        split = a[1] if b is not a else midnight + 86400
        rows.append((utc_day, split, a[3], a[2], a[0], a[1] - a[0],
                     b[3], b[2], b[0], b[1] - b[0]))
    return rows


def clock_at(rows: Sequence[tuple[int, ...]], moment: datetime) -> float:
    """The clock of :func:`clock_rows` at ``moment`` (within its span)."""
    epoch = moment.timestamp()
    row = rows[int(epoch // 86400) - rows[0][0]]
    _, split, a_cum, a_work, a_start, a_len, b_cum, b_work, b_start, b_len = row
    if epoch < split:
        return a_cum + a_work * (epoch - a_start) / a_len
    return b_cum + b_work * (epoch - b_start) / b_len


def working_days(rows: Sequence[tuple[int, ...]], spans: dict[str, list[str]]
                 ) -> dict[str, list[float]]:
    """Per unit, the working days of each span that :mod:`storage.assessment` read (texts of
    comma-separated pairs of epoch seconds: since, until), on the clock of :func:`clock_rows`
    — as :func:`clock_at` reads it, for a million spans at once (numpy)."""
    import numpy as np

    table = np.array(rows, dtype=np.int64)
    result: dict[str, list[float]] = {}
    for unit, texts in spans.items():
        pairs = np.fromstring(",".join(texts), dtype=np.int64, sep=",").reshape(-1, 2)
        days = pairs // 86400 - rows[0][0]
        # The clock covers every moment read; one outside it counts nothing.
        inside = ((days >= 0) & (days < len(table))).all(axis=1)
        pairs, days = pairs[inside], days[inside]
        since, until = (_clock_many(table, pairs[:, i], days[:, i]) for i in (0, 1))
        result[unit] = (until - since).tolist()
    return result


def _clock_many(table: Any, epochs: Any, days: Any) -> Any:
    import numpy as np

    row = table[days]
    return np.where(epochs < row[:, 1],
                    row[:, 2] + row[:, 3] * (epochs - row[:, 4]) / row[:, 5],
                    row[:, 6] + row[:, 7] * (epochs - row[:, 8]) / row[:, 9])


def overdue_days(rows: Sequence[tuple[int, ...]], as_of: datetime, items: Iterable[Item]
                 ) -> list[Item]:
    """The cases overdue now that :mod:`storage.assessment` read, each with the working days
    from its deadline to ``as_of`` (``days``) on the clock of :func:`clock_rows`; a deadline
    outside the clock counts nothing (the clock spans every deadline a report reads)."""
    now = clock_at(rows, as_of)
    first, count = rows[0][0], len(rows)
    result = []
    for item in items:
        due = item.due or item.at
        if 0 <= int(due.timestamp() // 86400) - first < count:
            result.append(replace(item, days=now - clock_at(rows, due)))
    return result
