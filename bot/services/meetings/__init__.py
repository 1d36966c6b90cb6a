"""Supervisors' meetings: the monthly meeting of each organization and the county's
quarterly symposium.

The package in the order its modules build on each other:

- :mod:`.roster` — who a meeting concerns (the units it invites, its supervisors and
  organizers), its list of supervisors with their answers, its title and time;
- :mod:`.attendance` — the reminders that ask supervisors whether they attend, the
  attendance list to the organizer, the answers;
- :mod:`.records` — recording a held meeting (presence, minutes), the issues raised there
  and supervisors' findings filed as cases, the alarms asking for the record or reporting
  it missing;
- :mod:`.schedule` — the meetings the configured schedules name, laid out ahead with their
  alarms (:func:`sync`), and :func:`fire_alarm`, which does what each alarm stands for;
- :mod:`.listings` — what people read: ``/meetings``, one meeting in full,
  ``/supervisors``, the assessment's figures.

Callers import from here; the names below are the package's surface.
"""

from __future__ import annotations

from bot.services.meetings.attendance import answer, check_answer
from bot.services.meetings.listings import (
    SupervisorLine,
    View,
    details,
    meeting_figures,
    my_meetings,
    supervisor_lists,
)
from bot.services.meetings.records import (
    CHANNEL_FINDING,
    CHANNEL_MEETING,
    MINUTES_MAX_CHARS,
    NOT_RECORDED,
    RECORD_PROMPT,
    check_issue,
    file_finding,
    file_issue,
    is_supervisor_now,
    issue_buttons,
    record,
    start_record,
)
from bot.services.meetings.roster import (
    KIND_TITLES,
    NAME_MAX_CHARS,
    MeetingError,
    RosterEntry,
    attendance_text,
    is_supervisor,
    meeting_title,
    meeting_when,
    person_name,
    presence_text,
    scope,
)
from bot.services.meetings.schedule import (
    HORIZON,
    LOOKBACK,
    MAX_SHIFT_DAYS,
    RECORD_PROMPT_AFTER,
    fire_alarm,
    occurrences,
    plan,
    sync,
)

__all__ = [
    "CHANNEL_FINDING", "CHANNEL_MEETING", "HORIZON", "KIND_TITLES", "LOOKBACK",
    "MAX_SHIFT_DAYS", "MINUTES_MAX_CHARS", "NAME_MAX_CHARS", "NOT_RECORDED", "RECORD_PROMPT",
    "RECORD_PROMPT_AFTER", "MeetingError", "RosterEntry", "SupervisorLine", "View", "answer",
    "attendance_text", "check_answer", "check_issue", "details", "file_finding",
    "file_issue", "fire_alarm", "is_supervisor", "is_supervisor_now", "issue_buttons",
    "meeting_figures", "meeting_title", "meeting_when", "my_meetings", "occurrences",
    "person_name", "plan", "presence_text", "record", "scope", "start_record",
    "supervisor_lists", "sync",
]
