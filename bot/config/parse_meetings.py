"""``[[meetings]]``: recurring supervisors' meetings, their cron schedule, organizer,
reminders and summary."""

from __future__ import annotations

import re
from datetime import datetime, time

from croniter import croniter

from bot.config.messages import (
    MSG_ARRAY,
    MSG_AT_MOST,
    MSG_CRON,
    MSG_CRON_NEVER,
    MSG_CRON_TIME,
    MSG_DUPLICATE_MEETING,
    MSG_MEETING_OFFSET,
    MSG_ORGANIZER,
    MSG_POSITIVE,
    MSG_REQUIRED,
    MSG_SHIFT,
    MSG_UNKNOWN_KIND,
    MSG_UNKNOWN_UNIT,
)
from bot.config.reader import MISSING, Reader, array_of_tables
from bot.config.sections import (
    DEFAULT_MEETING_REMINDERS,
    DEFAULT_MEETING_SUMMARY,
    MeetingConfig,
    MeetingOffset,
)

MEETING_KINDS = ("monthly", "symposium")
MEETING_SHIFTS = ("next_working_day", "none")
# The most days a meeting reminder may come before the meeting.
MEETING_OFFSET_MAX_DAYS = 60
MEETING_RECORD_MAX_DAYS = 60

MEETING_KEYS = ("id", "kind", "unit", "cron", "place", "organizer", "shift", "reminders",
                "summary", "record_within_days")
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


def _check_cron(reader: Reader, expression: str) -> bool:
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


def _meeting_offsets(reader: Reader) -> tuple[MeetingOffset, ...]:
    raw = reader.data.get("reminders", MISSING)
    if raw is MISSING:
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


def parse_meetings(root: Reader, unit_ids: set[str]) -> tuple[MeetingConfig, ...]:
    meetings: list[MeetingConfig] = []
    first_seen: set[str] = set()
    for key, item in array_of_tables(root, "meetings", required=False):
        reader = Reader(item, key, root.problems, MEETING_KEYS)
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


def _meeting_organizer(reader: Reader, unit: str | None, unit_ids: set[str]) -> str | None:
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
