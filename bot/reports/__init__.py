"""Reports drawn from an :class:`~bot.services.assessment.Assessment`: a chart and a workbook.

Both take the computed assessment, the configuration (for unit names) and a language, and
return bytes; neither reads the database nor knows about Telegram.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from bot.i18n import N_, Translate
from bot.services.assessment import Assessment

TITLE = N_("Assessment {period} ({first} – {last}), as of {as_of}")


def unit_name(config: Config, unit_id: str, language: str) -> str:
    """A unit's name in ``language`` (its id if the configuration no longer has it)."""
    try:
        return config.unit(unit_id).name(language)
    except KeyError:
        return unit_id


def local(assessment: Assessment, moment: datetime) -> str:
    """A moment as local date and time of the county."""
    return moment.astimezone(assessment.tz).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None) -> str:
    """``0.6667`` → ``66.7%``; ``None`` → ``—``."""
    return "—" if value is None else f"{value * 100:.1f}%"


def number(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals; ``None`` → ``—``."""
    return "—" if value is None else f"{value:.{digits}f}"


def title(t: Translate, assessment: Assessment) -> str:
    """The report's title line."""
    return t(TITLE).format(period=assessment.period.code,
                           first=assessment.period.first.isoformat(),
                           last=assessment.period.last.isoformat(),
                           as_of=local(assessment, assessment.as_of))
