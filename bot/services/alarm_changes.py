"""The earliest alarm written since the alarm job last looked (``handlers.jobs.arm``).

Alarms are written inside units of work, on the database's writer thread
(``bot.services.deadlines.replan_case``); the job looks on the event loop. The moments
travel between the two through a deque, whose ``append`` and ``popleft`` are atomic: the
writer only appends, the loop alone takes them out and keeps the earliest. No lock, and no
note is lost: one appended while the loop clears stays in the deque for its next look.

Kept in memory only: a restart arms from the database (``arm(force=True)``). A note of a
transaction that was rolled back costs one needless look, nothing more.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime


class AlarmChanges:
    """Moments of alarms written (:meth:`note`, any thread); the earliest of them (the
    event loop's thread)."""

    def __init__(self) -> None:
        self._noted: deque[datetime] = deque()
        self._earliest: datetime | None = None  # the loop's alone

    def note(self, fire_at: datetime | None) -> None:
        """An alarm written that fires at ``fire_at`` (None: none was)."""
        if fire_at is not None:
            self._noted.append(fire_at)

    @property
    def earliest(self) -> datetime | None:
        """The earliest moment noted since :meth:`clear` (None: nothing noted)."""
        while self._noted:
            moment = self._noted.popleft()
            if self._earliest is None or moment < self._earliest:
                self._earliest = moment
        return self._earliest

    def earlier_than(self, armed: datetime | None) -> bool:
        """Whether an alarm written since may fall due before ``armed`` (None: nothing
        armed)."""
        earliest = self.earliest
        return earliest is not None and (armed is None or earliest < armed)

    def clear(self) -> None:
        """Forget what was noted (the job is about to look at the database)."""
        _ = self.earliest
        self._earliest = None
