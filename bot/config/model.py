"""The whole configuration, :class:`Config`: every table of the file, and the unit tree
they describe (lookups by id, children, descendants, the path from the root), with each
unit's disclosure catalog."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from bot.config.sections import (
    AlertsConfig,
    AssessmentConfig,
    CalendarConfig,
    CategoryConfig,
    ClusterConfig,
    DeadlinesConfig,
    GeneralConfig,
    HandlingConfig,
    HttpConfig,
    LimitsConfig,
    LoggingConfig,
    MeetingConfig,
    MemberConfig,
    RetentionConfig,
    RoutingConfig,
    SecurityConfig,
    StorageConfig,
    TelegramConfig,
    UnitConfig,
)
from bot.config.sections_disclosure import AspectConfig, DisclosureConfig, DisclosureItemConfig

#: [limits] so high that nobody reaches them: benchmarks, the demo and tests that are not
#: about the per-person limits.
RAISED_LIMITS = {"updates_per_minute": 100_000, "cases_per_day": 100_000,
                 "status_per_hour": 100_000}


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``source`` is the file it was read from, if any."""

    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    general: GeneralConfig = field(default_factory=GeneralConfig)
    units: tuple[UnitConfig, ...] = ()
    categories: tuple[CategoryConfig, ...] = ()
    members: tuple[MemberConfig, ...] = ()
    deadlines: DeadlinesConfig = field(default_factory=DeadlinesConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    handling: HandlingConfig = field(default_factory=HandlingConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    assessment: AssessmentConfig = field(default_factory=AssessmentConfig)
    meetings: tuple[MeetingConfig, ...] = ()
    disclosure_aspects: tuple[AspectConfig, ...] = ()
    disclosure_items: tuple[DisclosureItemConfig, ...] = ()
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: str | None = None

    @cached_property
    def _units_by_id(self) -> dict[str, UnitConfig]:
        return {unit.id: unit for unit in reversed(self.units)}  # first one wins

    @cached_property
    def _categories_by_id(self) -> dict[str, CategoryConfig]:
        return {category.id: category for category in reversed(self.categories)}

    @cached_property
    def _children(self) -> dict[str | None, tuple[UnitConfig, ...]]:
        children: dict[str | None, list[UnitConfig]] = {}
        for unit in self.units:
            children.setdefault(unit.parent, []).append(unit)
        return {parent: tuple(units) for parent, units in children.items()}

    @cached_property
    def _items_by_id(self) -> dict[str, DisclosureItemConfig]:
        return {item.id: item for item in reversed(self.disclosure_items)}

    @cached_property
    def _aspects_by_id(self) -> dict[str, AspectConfig]:
        return {aspect.id: aspect for aspect in reversed(self.disclosure_aspects)}

    def unit(self, unit_id: str) -> UnitConfig:
        """The unit with ``unit_id``; ``KeyError`` if there is none."""
        try:
            return self._units_by_id[unit_id]
        except KeyError:
            raise KeyError(f"unknown unit {unit_id!r}") from None

    def category(self, category_id: str) -> CategoryConfig:
        """The category with ``category_id``; ``KeyError`` if there is none."""
        try:
            return self._categories_by_id[category_id]
        except KeyError:
            raise KeyError(f"unknown category {category_id!r}") from None

    def children(self, unit_id: str) -> tuple[UnitConfig, ...]:
        """The direct children of ``unit_id``, in file order; ``KeyError`` if unknown."""
        self.unit(unit_id)
        return self._children.get(unit_id, ())

    def descendants(self, unit_id: str) -> tuple[UnitConfig, ...]:
        """Every unit below ``unit_id`` (depth first, file order), not the unit itself."""
        result: list[UnitConfig] = []
        seen = {unit_id}
        stack = list(reversed(self.children(unit_id)))
        while stack:
            unit = stack.pop()
            if unit.id in seen:
                continue
            seen.add(unit.id)
            result.append(unit)
            stack.extend(reversed(self._children.get(unit.id, ())))
        return tuple(result)

    def roots(self) -> tuple[UnitConfig, ...]:
        """The units without a parent, in file order."""
        return self._children.get(None, ())

    def supervision_unit(self) -> UnitConfig | None:
        """The supervision group (the unit with ``supervision = true``), if any."""
        return next((unit for unit in self.units if unit.supervision), None)

    def disclosure_items_of(self, unit_id: str) -> tuple[DisclosureItemConfig, ...]:
        """The catalog items ``unit_id`` must publish (its own, and those of its level), in
        file order; ``KeyError`` if the unit is unknown."""
        unit = self.unit(unit_id)
        return tuple(item for item in self.disclosure_items
                     if item.unit == unit.id
                     or (item.units_of_level is not None and item.units_of_level == unit.level))

    def disclosure_item(self, item_id: str) -> DisclosureItemConfig:
        """The catalog item with ``item_id``; ``KeyError`` if there is none."""
        try:
            return self._items_by_id[item_id]
        except KeyError:
            raise KeyError(f"unknown disclosure item {item_id!r}") from None

    def seed_aspect(self, aspect: str) -> str:
        """Which of the seed's four items (``ASPECTS``) ``aspect`` is or belongs to: an
        aspect id of ``[[disclosure_aspects]]`` gives its ``item``."""
        found = self._aspects_by_id.get(aspect)
        return found.item if found is not None else aspect

    def unit_path(self, unit_id: str) -> tuple[str, ...]:
        """Ids from the root down to ``unit_id`` (inclusive); ``KeyError`` if unknown."""
        path = [self.unit(unit_id).id]
        seen = set(path)
        parent = self.unit(unit_id).parent
        while parent is not None and parent not in seen and parent in self._units_by_id:
            path.append(parent)
            seen.add(parent)
            parent = self._units_by_id[parent].parent
        return tuple(reversed(path))


def raised_limits(config: Config) -> Config:
    """``config`` with the per-person limits out of reach (benchmarks, the demo, tests)."""
    return replace(config, limits=replace(
        config.limits, updates_per_minute=RAISED_LIMITS["updates_per_minute"],
        cases_per_day=RAISED_LIMITS["cases_per_day"],
        status_per_hour=RAISED_LIMITS["status_per_hour"]))
