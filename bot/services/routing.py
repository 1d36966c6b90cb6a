"""Routing that never drops a case: a unit without an official or head passes its cases to
the nearest unit above that has one (the supervision group at the top), and the supervision
group is told, so that someone invites staff into the empty unit."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import Translate, plural_translator
from bot.runtime import Runtime
from bot.services import alarms, case_states, notify
from bot.services.roles import STAFF_ROLES, overseer
from storage import cases as case_repo
from storage import routing as routing_repo
from storage.models import Case
from storage.sql import Conn

#: Roles that take a unit's cases: losing the last of them moves the cases.
HANDLING_ROLES = routing_repo.HANDLING_ROLES
#: Cases a unit still holds: they move when it loses its last member.
MOVABLE = case_states.starts("move_up")


def staffed_target(conn: Conn, runtime: Runtime, unit_id: str,
                   concerns: str | None = None) -> str:
    """``unit_id`` if someone there can take a case; else the nearest unit above that has
    someone, then the case's overseer; ``unit_id`` itself if nobody anywhere can. A unit a
    report concerns is never chosen."""
    staffed = routing_repo.staffed_units(conn)
    if unit_id in staffed:
        return unit_id
    config = runtime.config
    parent = config.unit(unit_id).parent
    while parent is not None:
        if parent in staffed and parent != concerns:
            return parent
        parent = config.unit(parent).parent
    top = overseer(config, concerns)
    if top is not None and top.id in staffed and top.id != concerns:
        return top.id
    return unit_id


def routed_up(conn: Conn, runtime: Runtime, case: Case,
              meant_for: str, *, now: datetime) -> None:
    """Record that a new case went above the unit it was meant for, and tell the
    supervision group (the case's card reaches the unit that took it as usual)."""
    case_repo.append_event(conn, case.id, now, None, "system", "routed_up",
                           case.state, case.state, {"from": meant_for, "to": case.unit_id})
    number = case.number

    def render(t: Translate, language: str) -> str:
        return t(
            "↥ {number} was meant for {unit}, which has no official or head: it went to "
            "{target}. Invite someone into {unit} with /invite."
        ).format(number=number, unit=notify.unit_name(runtime, meant_for, language),
                 target=notify.unit_name(runtime, case.unit_id, language))

    notify.send(conn, runtime, notify.supervision_recipients(conn, runtime),
                render, case_id=case.id, now=now)


def move_if_unstaffed(conn: Conn, runtime: Runtime,
                      unit_id: str, *, now: datetime) -> list[Case]:
    """After a unit lost a member: if nobody there can take a case any more, its open
    cases go up the tree as filing would send them (each case's own concerned unit kept
    out), their cards follow, and the supervision group gets one message for all."""
    staffed = routing_repo.staffed_units(conn)
    if unit_id in staffed:
        return []
    moved: list[Case] = []
    for case_id in routing_repo.open_case_ids(conn, unit_id, MOVABLE):
        case = case_repo.get_case(conn, case_id)
        if case is None:
            continue
        target = staffed_target(conn, runtime, unit_id, case.concerns_unit_id)
        if target == unit_id:
            continue
        routing_repo.move_unit(conn, case.id, target, now)
        case_repo.append_event(conn, case.id, now, None, "system", "moved_up",
                               case.state, case.state, {"from": unit_id, "to": target})
        alarms.replan_case(conn, runtime, case.id, now=now)
        updated = case_repo.get_case(conn, case.id)
        assert updated is not None
        files = case_repo.attachments_of(conn, case.id)
        notify.refresh_cards(conn, runtime, updated, None, len(files), unit_id=unit_id, now=now)
        notify.send_cards(conn, runtime, updated, files, now=now)
        moved.append(updated)
    if moved:
        numbers = ", ".join(case.number for case in moved)
        targets = sorted({case.unit_id for case in moved})

        def render(t: Translate, language: str) -> str:
            tn = plural_translator(language)
            return tn(
                "↥ {unit} has no official or head any more: its {count} open case ({numbers}) "
                "went to {targets}. Invite someone into {unit} with /invite.",
                "↥ {unit} has no official or head any more: its {count} open cases "
                "({numbers}) went to {targets}. Invite someone into {unit} with /invite.",
                len(moved)).format(
                count=len(moved), numbers=numbers,
                unit=notify.unit_name(runtime, unit_id, language),
                targets=", ".join(notify.unit_name(runtime, u, language) for u in targets))

        notify.send(conn, runtime, notify.supervision_recipients(conn, runtime),
                    render, now=now)
    return moved


async def settle(runtime: Runtime) -> list[Case]:
    """At start-up, after the configuration is mirrored: members removed from
    ``[[members]]`` (or whose roles went while the bot was down) lose the cards of units
    where they hold no role any more, and every unit with open cases but nobody left to take
    them passes them up the tree, as ``/revoke`` would. It looks at the state, not at what
    changed, so an administrator's command that opened the database first loses nothing."""
    now = runtime.clock.now()

    def work(conn: Conn) -> list[Case]:
        for telegram_id in routing_repo.cards_without_role(conn, STAFF_ROLES):
            notify.withdraw_cards(conn, runtime, telegram_id, now=now)
        moved: list[Case] = []
        for unit_id in routing_repo.units_holding(conn, MOVABLE):
            moved += move_if_unstaffed(conn, runtime, unit_id, now=now)
        return moved
    return await runtime.db.write(work)


def after_blocked(conn: Conn, runtime: Runtime,
                  telegram_id: int, *, now: datetime) -> list[Case]:
    """A member blocked the bot (the outbox was told ``Forbidden``): the units they took
    cases for move their open cases up if nobody else there can take them."""
    units = routing_repo.handling_units_of(conn, telegram_id)
    moved: list[Case] = []
    for unit_id in units:
        moved += move_if_unstaffed(conn, runtime, unit_id, now=now)
    return moved
