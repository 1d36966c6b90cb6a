"""More time: an official asks with a reason and a new date; the unit head (acceptance)
or the supervision group (answer) grants or refuses; one extension per deadline.

Nobody decides their own request. When the only one who could decide asked, the next one
up decides: the parent unit's head, else the supervision group (and for the answer, whose
decider is the supervision group, the head of the unit above it). The answer's decider is
whoever oversees the case (``roles.overseer``): for a report about the supervision unit's
own leadership, the heads of ``[routing] above_supervision``. Nobody of the unit a report is
about ever decides, or is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services import alarms, case_states, decisions, notify, roles
from bot.services.acting import Actor, Refused, refuse
from bot.services.roles import handles
from storage import cases as case_repo
from storage import directory, people
from storage import extensions as extension_repo
from storage.extensions import Extension
from storage.models import Case, Membership, Person, StaffMember
from storage.sql import Conn

MAX_DAYS = 90


def deadline_of(case: Case) -> str | None:
    """The deadline an extension would move now: acceptance while new, else the answer."""
    if not case_states.may("extend", case.state):
        return None
    return "accept" if case.state == case_states.NEW else "answer"


def due_of(case: Case, deadline: str) -> datetime:
    return case.accept_due if deadline == "accept" else case.answer_due


@dataclass(frozen=True)
class Deciders:
    """Who decides a request: the heads of ``unit_id``, or the supervision group (``None``);
    never the person who asked."""

    unit_id: str | None
    members: tuple[StaffMember, ...]

    @property
    def role(self) -> str:
        return "head" if self.unit_id is not None else "supervision"

    def includes(self, person_id: int) -> bool:
        return any(member.person_id == person_id for member in self.members)


def deciders(conn: Conn, runtime: Runtime, case: Case, deadline: str,
             requester_id: int) -> Deciders | None:
    """The first level, going up, with someone other than the requester to decide (None if
    there is nobody at all). For the answer, the first level is whoever oversees the case
    (``roles.overseer``). Nobody of the unit a report is about ever decides (nor hears of
    the request): not its heads, nor, when it is the supervision unit, its group."""
    config = runtime.config
    supervision = config.supervision_unit()
    concerned = case.concerns_unit_id
    # A unit's id: its heads decide; None: the supervision group does.
    levels: list[str | None]
    if deadline == "accept":
        parent = config.unit(case.unit_id).parent
        levels = [case.unit_id, *([parent] if parent else []), None]
    else:
        overseer = roles.overseer(config, concerned)
        if overseer is None or overseer.supervision:
            above = supervision.parent if supervision is not None else None
            levels = [None, *([above] if above else [])]
        else:
            levels = [overseer.id, *([overseer.parent] if overseer.parent else [])]
    excluded = {requester_id, *(m.person_id for m in _concerned(conn, case))}
    for level in levels:
        if level is None:
            if supervision is None or supervision.id == concerned:
                continue
            members = directory.unit_staff(conn, supervision.id, ("supervision",))
        else:
            if level == concerned:
                continue
            unit_roles = (("head", "supervision") if config.unit(level).supervision
                          else ("head",))
            members = directory.unit_staff(conn, level, unit_roles)
        others = tuple(m for m in members if m.person_id not in excluded)
        if others:
            return Deciders(level, others)
    return None


def _concerned(conn: Conn, case: Case) -> list[StaffMember]:
    """The members of the unit a report is about (none for other cases)."""
    if not case.concerns_unit_id:
        return []
    return directory.all_staff(conn, case.concerns_unit_id)


async def check(runtime: Runtime, case_id: int, actor: Actor) -> tuple[Case, str]:
    """May the actor ask for more time on this case now? (case, deadline) or Refused."""
    def work(conn: Conn) -> tuple[Case | None, str | None, list[Membership], bool]:
        case = case_repo.get_case(conn, case_id)
        roles = directory.memberships_of(conn, actor.person.telegram_id)
        deadline = deadline_of(case) if case else None
        taken = bool(case and deadline and extension_repo.taken(conn, case.id, deadline))
        return case, deadline, roles, taken
    case, deadline, roles, taken = await runtime.db.read(work)
    reason = None
    if case is None:
        reason = "not_found"
    elif not handles(roles, case):
        reason = "not_allowed"
    elif deadline is None:
        reason = "state"
    elif taken:
        reason = "extension_taken"
    if reason:
        raise await refuse(runtime, case.id if case else None, actor.person, "extend", reason)
    assert case is not None and deadline is not None
    return case, deadline


async def request(
    runtime: Runtime, case_id: int, actor: Actor, reason: str, new_due: datetime
) -> Extension:
    """Store the request and ask the approver."""
    case, deadline = await check(runtime, case_id, actor)
    now = runtime.clock.now()
    old_due = due_of(case, deadline)
    if new_due <= old_due or (new_due - old_due).days > MAX_DAYS:
        raise Refused("bad_date")

    def work(conn: Conn) -> Extension | None:
        fresh = case_repo.get_case(conn, case.id)
        if fresh is None or deadline_of(fresh) != deadline or due_of(fresh, deadline) != old_due:
            raise Refused("state")
        chosen = deciders(conn, runtime, fresh, deadline, actor.person.id)
        if chosen is None:
            raise Refused("no_decider")
        extension_id = extension_repo.request(
            conn, case.id, deadline, actor.person.id, reason, old_due, new_due, now)
        if extension_id is None:
            raise Refused("extension_taken")
        people.set_display_name(conn, actor.person.id, actor.name)
        case_repo.append_event(
            conn, case.id, now, actor.person.id, "official", "extension_requested",
            case.state, case.state,
            {"deadline": deadline, "old_due": old_due.isoformat(),
             "new_due": new_due.isoformat(), "reason": reason})
        if chosen.unit_id is None:
            barred = {actor.person.telegram_id,
                      *(m.telegram_id for m in _concerned(conn, fresh))}
            approvers = [r for r in notify.supervision_recipients(conn, runtime)
                         if r.chat_id not in barred]
        else:
            approvers = [notify.Recipient(m.telegram_id, notify.staff_language(runtime, m))
                         for m in chosen.members]
        label = DEADLINE_LABELS[deadline]
        notify.send(
            conn, runtime, approvers,
            lambda t, lang: t(
                "⏳ {name} asks for more time on {number} ({unit}): the {deadline} deadline "
                "from {old} to {new}.\nReason: {reason}"
            ).format(name=actor.name, number=case.number,
                     unit=notify.unit_name(runtime, case.unit_id, lang), deadline=t(label),
                     old=notify.local_time(runtime, old_due),
                     new=notify.local_time(runtime, new_due), reason=reason),
            buttons=lambda t: [[(t("✅ Grant"), f"ext:{extension_id}:ok"),
                                (t("✖ Refuse"), f"ext:{extension_id}:no")]],
            case_id=case.id, now=now)
        extension = extension_repo.get(conn, extension_id)
        return extension
    extension = await runtime.db.write(work)
    assert extension is not None
    return extension


DEADLINE_LABELS = {"accept": N_("acceptance"), "answer": N_("answer")}


class ExtensionRequest(decisions.Request[Extension]):
    """A request for more time: granted, the deadline moves and everyone is told; refused,
    it stays. Decided by ``deciders`` (never the one who asked)."""

    action = "extension"
    approve_action = "grant_extension"
    refuse_action = "refuse_extension"

    def load(self, conn: Conn, request_id: int) -> Extension | None:
        return extension_repo.get(conn, request_id)

    def requester_id(self, item: Extension) -> int:
        return item.requested_by

    def decider_role(self, conn: Conn, runtime: Runtime,
                     item: Extension, case: Case, person: Person) -> str | None:
        # The requester never decides their own request.
        chosen = deciders(conn, runtime, case, item.deadline, item.requested_by)
        return chosen.role if chosen is not None and chosen.includes(person.id) else None

    def still_applies(self, item: Extension, case: Case) -> bool:
        # The same deadline still runs, due when it was when asked.
        return (deadline_of(case) == item.deadline
                and due_of(case, item.deadline) == item.old_due)

    def record(self, conn: Conn, item: Extension, approve: bool,
               by: int, comment: str | None, at: datetime) -> None:
        extension_repo.decide(conn, item.id, approve, by, at)

    def carry_out(self, conn: Conn, runtime: Runtime, item: Extension,
                  case: Case, decision: decisions.Decision) -> Case:
        grant, now = decision.approve, decision.at
        event = "extension_granted" if grant else "extension_refused"
        case_repo.append_event(
            conn, case.id, now, decision.actor.person.id, decision.role, event, case.state,
            case.state, {"deadline": item.deadline, "old_due": item.old_due.isoformat(),
                         "new_due": item.new_due.isoformat()})
        if not grant:
            return case
        new = notify.local_time(runtime, item.new_due)
        label = DEADLINE_LABELS[item.deadline]
        case_repo.set_due(conn, case.id, item.deadline, item.new_due, now)
        alarms.replan_case(conn, runtime, case.id, now=now)
        extended = case_repo.get_case(conn, case.id)
        assert extended is not None
        number = extended.number
        notify.to_reporter(conn, runtime, extended, lambda t, lang: t(
            "The {deadline} deadline of your case {number} has been extended to {new}."
        ).format(deadline=t(label), number=number, new=new), now=now)
        notify.refresh_cards(
            conn, runtime, extended, lambda t, lang: t(
                "⏳ {deadline} deadline extended to {new} by {name}").format(
                deadline=t(label), new=new, name=decision.actor.name),
            len(case_repo.attachments_of(conn, case.id)), now=now)
        return extended

    def told(self, runtime: Runtime, item: Extension, case: Case,
             decision: decisions.Decision) -> notify.Render:
        grant, name, number = decision.approve, decision.actor.name, case.number
        new = notify.local_time(runtime, item.new_due)
        label = DEADLINE_LABELS[item.deadline]
        return lambda t, lang: _decision(t, grant).format(
            number=number, deadline=t(label), new=new, name=name)


EXTENSION = ExtensionRequest()


async def decide(runtime: Runtime, extension_id: int, actor: Actor, grant: bool
                 ) -> tuple[Case, Extension]:
    """Grant (the deadline moves, everyone is told) or refuse a request."""
    return await decisions.decide(runtime, EXTENSION, extension_id, actor, grant)


def _decision(t: Translate, grant: bool) -> str:
    if grant:
        return t("✅ {name} granted more time on {number}: the {deadline} deadline is now {new}.")
    return t("✖ {name} refused more time on {number}; the {deadline} deadline stays.")

