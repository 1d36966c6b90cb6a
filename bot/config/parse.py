"""Checking a parsed TOML document and building the :class:`~bot.config.model.Config`:
every table is read by its parser (``parse_*`` modules) and every problem is collected."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config.messages import MSG_TABLE
from bot.config.model import Config
from bot.config.parse_disclosure import parse_aspects, parse_disclosure, parse_items
from bot.config.parse_meetings import parse_meetings
from bot.config.parse_schedules import (
    parse_alerts,
    parse_calendar,
    parse_deadlines,
    parse_retention,
)
from bot.config.parse_settings import (
    parse_assessment,
    parse_cluster,
    parse_general,
    parse_handling,
    parse_limits,
    parse_logging,
    parse_security,
    parse_storage,
)
from bot.config.parse_telegram import parse_http, parse_telegram
from bot.config.parse_units import parse_categories, parse_members, parse_routing, parse_units
from bot.config.reader import Problem, Reader

TOP_LEVEL_KEYS = (
    "telegram",
    "http",
    "general",
    "limits",
    "storage",
    "cluster",
    "handling",
    "alerts",
    "retention",
    "assessment",
    "calendar",
    "deadlines",
    "units",
    "categories",
    "members",
    "meetings",
    "disclosure_aspects",
    "disclosure_items",
    "disclosure",
    "routing",
    "security",
    "logging",
)


def parse_config(
    data: Mapping[str, Any],
    *,
    env: Mapping[str, str] = os.environ,
    base_dir: Path | None = None,
    for_run: bool = False,
    source: str | None = None,
    check_token: bool = False,
) -> tuple[Config | None, list[Problem]]:
    """Check ``data`` (a parsed TOML document) and build a :class:`Config`.

    Returns ``(config, [])`` or ``(None, problems)`` with every problem found.
    ``SUNBOX_TOKEN`` in ``env`` wins over ``telegram.token``; with ``for_run`` a missing
    token is a problem, and with ``check_token`` one that does not look like a token.
    A relative ``general.database`` is resolved against ``base_dir``.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return None, [Problem("(root)", MSG_TABLE, {})]
    root = Reader(data, "", problems, TOP_LEVEL_KEYS)
    telegram = parse_telegram(root, env, for_run, check_token)
    http = parse_http(root)
    general = parse_general(root, base_dir)
    limits = parse_limits(root)
    storage = parse_storage(root, base_dir, general.database)
    cluster = parse_cluster(root)
    handling = parse_handling(root)
    alerts = parse_alerts(root)
    retention = parse_retention(root)
    assessment = parse_assessment(root)
    calendar = parse_calendar(root)
    units = parse_units(root)
    unit_ids = {unit.id for unit in units}
    categories = parse_categories(root, unit_ids)
    members = parse_members(root, units)
    deadlines = parse_deadlines(root, {category.id for category in categories})
    meetings = parse_meetings(root, unit_ids)
    disclosure_aspects = parse_aspects(root)
    disclosure_items = parse_items(root, unit_ids, {a.id for a in disclosure_aspects})
    disclosure = parse_disclosure(root)
    routing = parse_routing(root, units)
    security = parse_security(root, base_dir, env, general.database)
    logging_config = parse_logging(root)
    if problems:
        return None, problems
    config = Config(
        telegram=telegram,
        http=http,
        general=general,
        units=units,
        categories=categories,
        members=members,
        deadlines=deadlines,
        limits=limits,
        storage=storage,
        cluster=cluster,
        calendar=calendar,
        handling=handling,
        alerts=alerts,
        retention=retention,
        assessment=assessment,
        meetings=meetings,
        disclosure_aspects=disclosure_aspects,
        disclosure_items=disclosure_items,
        disclosure=disclosure,
        routing=routing,
        security=security,
        logging=logging_config,
        source=source,
    )
    return config, []
