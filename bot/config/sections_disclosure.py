"""The disclosure register's configuration (党务公开, issue 22): what each unit must publish
(``[[disclosure_items]]``, the catalog), on what schedule, in which forms, to whom; and the
register's own settings (``[disclosure]``).

The seed (section 三) names four items of content (四大项目), three kinds of time limit
(常规性工作定期公开, 阶段性工作逐段公开, 临时性工作及时公开) and the forms of publication.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.durations import Duration

#: The seed's four items of content: 基层党建, 重大事项决策, 服务承诺, 人事管理.
ASPECTS = ("party_building", "major_decisions", "service_pledges", "personnel")
#: Who may read a published item: party members only (党内公开), or everyone (党外公开).
AUDIENCES = ("party", "public")
#: How an item must be published: the bot's channel or party group, the notice board
#: (公开栏, a printed poster), a meeting, a document, the web register.
FORMS = ("channel", "notice_board", "meeting", "document", "web")
#: The periods of a regular schedule.
PERIODS = ("monthly", "quarterly", "half_yearly", "yearly")
#: The kinds of schedule: regular (定期), staged (逐段), temporary (及时).
SCHEDULE_KINDS = ("regular", "staged", "temporary")
#: The levels of ``[[units]]``, for items that apply to every unit of a level.
LEVELS = ("county", "township", "department", "village")


@dataclass(frozen=True)
class AspectConfig:
    """One ``[[disclosure_aspects]]``: a finer aspect of one of the seed's four items (the
    county's "8 个方面")."""

    id: str
    item: str  # one of ASPECTS
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class ScheduleConfig:
    """When an item is due.

    - ``regular``: every ``period``, due ``due`` after the period ends (``10d``: by the
      10th of the next month for a monthly item; ``wd`` counts working days);
    - ``staged``: a matter the unit opens, with named ``stages``; each stage is due
      ``within`` (working days) of its being reached;
    - ``temporary``: due ``within`` of an event an official records.
    """

    kind: str  # one of SCHEDULE_KINDS
    period: str | None = None  # regular: one of PERIODS
    due: Duration | None = None  # regular: after the period's end
    within: Duration | None = None  # staged, temporary
    stages: tuple[str, ...] = ()  # staged: the stages' names, in order


@dataclass(frozen=True)
class DisclosureItemConfig:
    """One ``[[disclosure_items]]`` entry of the catalog (公开目录): applied to ``unit``, or
    to every unit of ``units_of_level``."""

    id: str
    name_zh: str
    name_en: str
    aspect: str  # one of ASPECTS, or the id of an AspectConfig
    audience: str  # one of AUDIENCES
    forms: tuple[str, ...]  # of FORMS, at least one
    schedule: ScheduleConfig
    unit: str | None = None
    units_of_level: str | None = None  # one of LEVELS

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


@dataclass(frozen=True)
class DisclosureConfig:
    """``[disclosure]``: the register's own settings.

    ``review_quorum``: approvals of the unit's committee (支委/党委) needed at review; 0 means
    a majority of its active members. ``comment_window``: how long a pre-disclosure is open
    for comment. ``on_time_threshold``: units whose on-time rate is under it (a share, 0–1)
    are on the assessment's accountability list.
    """

    review_quorum: int = 0
    comment_window: Duration = Duration(5, "wd")
    on_time_threshold: float = 0.9
