"""The disclosure register (党务公开, issue 22): ``[[disclosure_aspects]]`` (the county's finer
aspects of the seed's four items), ``[[disclosure_items]]`` (the catalog, each item with its
unit or level, aspect, audience, forms and schedule) and ``[disclosure]``."""

from __future__ import annotations

from typing import Any

from bot.config.messages import (
    MSG_ARRAY,
    MSG_ASPECT_RESERVED,
    MSG_CHOICE,
    MSG_DAYS,
    MSG_DUE_TOO_LATE,
    MSG_DUPLICATE_ASPECT,
    MSG_DUPLICATE_FORM,
    MSG_DUPLICATE_ITEM,
    MSG_DUPLICATE_STAGE,
    MSG_NOT_EMPTY,
    MSG_NOT_NEGATIVE,
    MSG_RATE,
    MSG_REQUIRED,
    MSG_SCHEDULE_KEY,
    MSG_STRING,
    MSG_UNIT_OR_LEVEL,
    MSG_UNKNOWN_ASPECT,
    MSG_UNKNOWN_KEY,
    MSG_UNKNOWN_KIND,
    MSG_UNKNOWN_UNIT,
)
from bot.config.reader import Reader, array_of_tables, sub_table
from bot.config.sections_disclosure import (
    ASPECTS,
    AUDIENCES,
    FORMS,
    LEVELS,
    PERIODS,
    SCHEDULE_KINDS,
    AspectConfig,
    DisclosureConfig,
    DisclosureItemConfig,
    ScheduleConfig,
)
from bot.durations import Duration, DurationError, parse_duration

ASPECT_KEYS = ("id", "item", "name_zh", "name_en")
ITEM_KEYS = ("id", "name_zh", "name_en", "unit", "units_of_level", "aspect", "audience",
             "forms", "schedule")
DISCLOSURE_KEYS = ("review_quorum", "comment_window", "on_time_threshold")
#: The keys of a schedule, by kind.
SCHEDULE_KEYS = {
    "regular": ("kind", "period", "due"),
    "staged": ("kind", "stages", "within"),
    "temporary": ("kind", "within"),
}
#: The latest a regular item may be due after its period ends, in days or working days:
#: before the next period ends, so that one period's item is due before the next one's.
DUE_MAX = {
    "monthly": {"d": 28, "wd": 20},
    "quarterly": {"d": 90, "wd": 60},
    "half_yearly": {"d": 181, "wd": 120},
    "yearly": {"d": 365, "wd": 245},
}


def _choice(reader: Reader, name: str, allowed: tuple[str, ...]) -> str | None:
    """A required string out of ``allowed``; ``None`` after a problem."""
    value: str | None = reader.string(name)
    if value is not None and value not in allowed:
        reader.problem(name, MSG_CHOICE, value=value, allowed=", ".join(allowed))
        return None
    return value


def parse_aspects(root: Reader) -> tuple[AspectConfig, ...]:
    """``[[disclosure_aspects]]``: ids apart from the four items, each under one of them."""
    aspects: list[AspectConfig] = []
    first_seen: set[str] = set()
    for key, entry in array_of_tables(root, "disclosure_aspects", required=False):
        reader = Reader(entry, key, root.problems, ASPECT_KEYS)
        aspect_id = reader.identifier("id")
        item = _choice(reader, "item", ASPECTS)
        name_zh = reader.string("name_zh")
        name_en = reader.string("name_en")
        if aspect_id in ASPECTS:
            reader.problem("id", MSG_ASPECT_RESERVED, id=aspect_id, allowed=", ".join(ASPECTS))
            continue
        if aspect_id is None:
            continue
        if aspect_id in first_seen:
            reader.problem("id", MSG_DUPLICATE_ASPECT, id=aspect_id)
            continue
        first_seen.add(aspect_id)
        # Kept with its problems too (the file is refused anyway): items naming it are fine.
        aspects.append(AspectConfig(aspect_id, item or "", name_zh or "", name_en or ""))
    return tuple(aspects)


def parse_items(
    root: Reader, unit_ids: set[str], aspect_ids: set[str]
) -> tuple[DisclosureItemConfig, ...]:
    """``[[disclosure_items]]``, the catalog (公开目录)."""
    items: list[DisclosureItemConfig] = []
    first_seen: set[str] = set()
    for key, entry in array_of_tables(root, "disclosure_items", required=False):
        reader = Reader(entry, key, root.problems, ITEM_KEYS)
        item_id = reader.identifier("id")
        name_zh = reader.string("name_zh")
        name_en = reader.string("name_en")
        unit, level, placed = _placement(reader, unit_ids)
        aspect = reader.string("aspect")
        if aspect is not None and aspect not in ASPECTS and aspect not in aspect_ids:
            reader.problem("aspect", MSG_UNKNOWN_ASPECT, value=aspect,
                           allowed=", ".join(ASPECTS))
            aspect = None
        audience = _choice(reader, "audience", AUDIENCES)
        forms = _forms(reader)
        schedule = _schedule(reader)
        if item_id is not None:
            if item_id in first_seen:
                reader.problem("id", MSG_DUPLICATE_ITEM, id=item_id)
                continue
            first_seen.add(item_id)
        if (item_id is None or name_zh is None or name_en is None or not placed
                or aspect is None or audience is None or forms is None or schedule is None):
            continue
        items.append(DisclosureItemConfig(
            id=item_id, name_zh=name_zh, name_en=name_en, aspect=aspect, audience=audience,
            forms=forms, schedule=schedule, unit=unit, units_of_level=level))
    return tuple(items)


def _placement(reader: Reader, unit_ids: set[str]) -> tuple[str | None, str | None, bool]:
    """``(unit, units_of_level, valid)``: exactly one of them, known."""
    unit = reader.string("unit", None)
    level = reader.string("units_of_level", None)
    given = [name for name in ("unit", "units_of_level") if name in reader.data]
    if len(given) != 1:
        reader.problem("unit", MSG_UNIT_OR_LEVEL)
        return None, None, False
    if unit is not None and unit not in unit_ids:
        reader.problem("unit", MSG_UNKNOWN_UNIT, unit=unit)
        return None, None, False
    if level is not None and level not in LEVELS:
        reader.problem("units_of_level", MSG_CHOICE, value=level, allowed=", ".join(LEVELS))
        return None, None, False
    return unit, level, unit is not None or level is not None


def _forms(reader: Reader) -> tuple[str, ...] | None:
    """``forms``: a non-empty array of FORMS, each once."""
    if "forms" not in reader.data:
        reader.problem("forms", MSG_REQUIRED)
        return None
    value = reader.data["forms"]
    if not isinstance(value, list):
        reader.problem("forms", MSG_ARRAY)
        return None
    if not value:
        reader.problem("forms", MSG_NOT_EMPTY)
        return None
    forms: list[str] = []
    valid = True
    for index, form in enumerate(value):
        name = f"forms[{index}]"
        if not isinstance(form, str) or form.strip() not in FORMS:
            reader.problem(name, MSG_CHOICE, value=str(form), allowed=", ".join(FORMS))
            valid = False
        elif form.strip() in forms:
            reader.problem(name, MSG_DUPLICATE_FORM, form=form.strip())
            valid = False
        else:
            forms.append(form.strip())
    return tuple(forms) if valid else None


def _days(reader: Reader, name: str) -> Duration | None:
    """A required duration in days or working days (``10d``, ``5wd``)."""
    text = reader.string(name)
    if text is None:
        return None
    try:
        duration = parse_duration(text)
    except DurationError as error:
        reader.problem(name, error.msgid, **error.params)
        return None
    if duration.unit not in ("d", "wd"):
        reader.problem(name, MSG_DAYS)
        return None
    return duration


def _schedule(item: Reader) -> ScheduleConfig | None:
    """``schedule``: an inline table whose keys depend on its ``kind``."""
    if "schedule" not in item.data:
        item.problem("schedule", MSG_REQUIRED)
        return None
    reader = sub_table(item, "schedule", None)  # keys checked below, by kind
    if reader is None:
        return None
    kind = reader.string("kind")
    if kind is not None and kind not in SCHEDULE_KINDS:
        reader.problem("kind", MSG_UNKNOWN_KIND, kind=kind, allowed=", ".join(SCHEDULE_KINDS))
        kind = None
    everything = tuple(dict.fromkeys(k for keys in SCHEDULE_KEYS.values() for k in keys))
    allowed = SCHEDULE_KEYS[kind] if kind is not None else everything
    for name in reader.data:
        if name in allowed:
            continue
        if name in everything and kind is not None:
            reader.problem(name, MSG_SCHEDULE_KEY, kind=kind, allowed=", ".join(allowed))
        else:
            reader.problem(name, MSG_UNKNOWN_KEY, allowed=", ".join(allowed))
    if kind is None:
        return None
    if kind == "regular":
        period = _choice(reader, "period", PERIODS)
        due = _days(reader, "due")
        if period is not None and due is not None and due.amount > DUE_MAX[period][due.unit]:
            reader.problem("due", MSG_DUE_TOO_LATE, period=period,
                           max=f"{DUE_MAX[period][due.unit]}{due.unit}")
            return None
        if period is None or due is None:
            return None
        return ScheduleConfig(kind, period=period, due=due)
    within = _days(reader, "within")
    if kind == "temporary":
        return ScheduleConfig(kind, within=within) if within is not None else None
    stages = _stages(reader)
    if within is None or stages is None:
        return None
    return ScheduleConfig(kind, within=within, stages=stages)


def _stages(reader: Reader) -> tuple[str, ...] | None:
    """``stages``: a non-empty array of distinct, non-empty names, in order."""
    if "stages" not in reader.data:
        reader.problem("stages", MSG_REQUIRED)
        return None
    value: Any = reader.data["stages"]
    if not isinstance(value, list):
        reader.problem("stages", MSG_ARRAY)
        return None
    if not value:
        reader.problem("stages", MSG_NOT_EMPTY)
        return None
    stages: list[str] = []
    valid = True
    for index, stage in enumerate(value):
        name = f"stages[{index}]"
        if not isinstance(stage, str):
            reader.problem(name, MSG_STRING)
            valid = False
        elif not stage.strip():
            reader.problem(name, MSG_NOT_EMPTY)
            valid = False
        elif stage.strip() in stages:
            reader.problem(name, MSG_DUPLICATE_STAGE, stage=stage.strip())
            valid = False
        else:
            stages.append(stage.strip())
    return tuple(stages) if valid else None


def parse_disclosure(root: Reader) -> DisclosureConfig:
    """``[disclosure]``: the review quorum, the comment window, the on-time threshold."""
    table = sub_table(root, "disclosure", DISCLOSURE_KEYS)
    default = DisclosureConfig()
    if table is None:
        return default
    quorum = table.integer("review_quorum", default.review_quorum)
    if quorum is not None and quorum < 0:
        table.problem("review_quorum", MSG_NOT_NEGATIVE)
        quorum = None
    window = table.duration("comment_window", default.comment_window)
    threshold = table.data.get("on_time_threshold", default.on_time_threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
            or not 0 <= threshold <= 1:
        table.problem("on_time_threshold", MSG_RATE)
        threshold = None
    return DisclosureConfig(
        review_quorum=default.review_quorum if quorum is None else quorum,
        comment_window=window,
        on_time_threshold=default.on_time_threshold if threshold is None else float(threshold))
