"""A unit hands a case to another unit; past the transfer limit it goes to the supervision
group instead ("escalated"). Never to the unit a report is about."""

from __future__ import annotations

from bot.i18n import N_
from bot.runtime import Runtime
from bot.services import acting, alarms, case_states, notify, routing
from bot.services.acting import Actor, Refused
from bot.services.deadlines import due_times
from bot.services.roles import overseer
from storage import cases as case_repo
from storage import people
from storage.models import Case, Person
from storage.sql import Conn


async def transfer(
    runtime: Runtime, case_id: int, actor: Actor, to_unit: str, reason_text: str
) -> tuple[Case, bool]:
    """Hand the case to another unit; past the transfer limit it goes to supervision.

    Returns the case and whether it went to the supervision group instead.
    """
    config = runtime.config
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[Case | None, str | None, str, bool | None]:
        case, roles = acting.load(conn, case_id, actor.person)
        reason = acting.why_not(case, roles, "transfer")
        try:
            config.unit(to_unit)
        except KeyError:
            reason = reason or "invalid"
        if reason is None and case is not None and to_unit == case.unit_id:
            reason = "same_unit"
        refused_role = "none"
        if reason is None:
            assert case is not None
            supervision = overseer(config, case.concerns_unit_id)
            escalated = (case.transfers + 1 > config.handling.max_transfers
                         and supervision is not None)
            target = supervision.id if escalated and supervision else to_unit
            role = acting.role_for(roles, case)
            if case.concerns_unit_id in (to_unit, target):
                # The report is about that unit's own leadership: it must never see it.
                reason, refused_role = "concerned_unit", role
        if reason is None:
            assert case is not None
            people.set_display_name(conn, actor.person.id, actor.name)
            accept_due, _ = due_times(config, runtime.calendar, case.kind, case.category_id, now)
            old_unit = case.unit_id
            # A unit nobody can take the case at passes it up the tree (services/routing.py).
            meant_for = target
            target = routing.staffed_target(conn, runtime, target, case.concerns_unit_id)
            case_repo.move_to_unit(conn, case.id, target, accept_due, now,
                                   count_transfer=True)
            case_repo.append_event(
                conn, case.id, now, actor.person.id, role,
                "escalated" if escalated else "transferred", case.state,
                case_states.next_state("transfer", case.state),
                {"from": old_unit, "to": target, "asked_for": to_unit, "reason": reason_text})
            alarms.replan_case(conn, runtime, case.id, now=now)
            moved = case_repo.get_case(conn, case.id)
            assert moved is not None
            if target != meant_for:
                routing.routed_up(conn, runtime, moved, meant_for, now=now)
            files = case_repo.attachments_of(conn, case.id)
            notify.refresh_cards(
                conn, runtime, moved,
                acting.status(N_("↪ Transferred by {name} to {unit}: {reason}"), name=actor.name,
                              unit=acting.unit_label(runtime, target), reason=reason_text),
                len(files), unit_id=old_unit, now=now)
            notify.send_cards(
                conn, runtime, moved, files,
                acting.status(N_("↪ Transferred from {unit}: {reason}"),
                              unit=acting.unit_label(runtime, old_unit), reason=reason_text),
                now=now)
            notify.to_reporter(conn, runtime, moved, lambda t, lang: t(
                "Your case {number} has been transferred to {unit}. Reason: {reason}"
            ).format(number=moved.number, unit=notify.unit_name(runtime, target, lang),
                     reason=reason_text), now=now)
            return moved, None, refused_role, escalated
        return case, reason, refused_role, None
    case, reason, refused_role, escalated = await runtime.db.write(work)
    if escalated is not None:
        assert case is not None
        return case, escalated
    if reason == "concerned_unit" and case is not None:
        raise await _refuse_transfer(runtime, case, actor.person, refused_role, to_unit)
    raise await acting.refuse(runtime, case.id if case else None, actor.person, "transfer",
                              reason or "invalid")


async def _refuse_transfer(
    runtime: Runtime, case: Case, actor: Person, role: str, to_unit: str
) -> Refused:
    """A transfer to the unit a report is about: refused, and recorded in the trail."""
    await runtime.db.write(
        case_repo.append_event, case.id, runtime.clock.now(), actor.id, role,
        "transfer_refused", case.state, case.state, {"to": to_unit, "reason": "concerned_unit"})
    return Refused("concerned_unit")
