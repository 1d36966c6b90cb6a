"""Deciding what waits on someone: a head signs off an answer (:mod:`bot.services.handling`),
a head or the supervision group grants more time (:mod:`bot.services.extensions`).

Both take one shape (``decide``). Inside one transaction: the request and its case are read
again; the decision is refused if either is gone (``not_found``), if the person may not
decide it (``not_allowed``), if it was decided already (``already``), or if the case's state
no longer allows it (``state``: the table in :mod:`bot.services.case_states`, and for an
approval whatever else the kind of request needs still to hold). Otherwise the decision is
stored, the kind carries it out, and whoever asked hears of it (unless they decided it).
A refusal is recorded in the case's trail (``acting.refuse``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from bot.runtime import Runtime
from bot.services import case_states, notify
from bot.services.acting import Actor, Refused, refuse
from storage import cases as case_repo
from storage import people
from storage.models import Case, Person
from storage.sql import Conn


class Pending(Protocol):
    """A request waiting on a decision (an answer, an extension)."""

    @property
    def id(self) -> int: ...

    @property
    def case_id(self) -> int: ...

    @property
    def status(self) -> str: ...


P = TypeVar("P", bound=Pending)


@dataclass(frozen=True)
class Decision:
    """A decision being carried out: who decided in which role, which way, and who asked."""

    actor: Actor
    role: str
    approve: bool
    comment: str | None
    at: datetime
    requester: Person | None


class Request(ABC, Generic[P]):
    """One kind of request: what differs between signing off an answer and more time."""

    #: The action a refused decision is recorded under.
    action: str
    #: The actions of ``case_states`` an approval and a refusal are.
    approve_action: str
    refuse_action: str

    @abstractmethod
    def load(self, conn: Conn, request_id: int) -> P | None:
        """The request by id."""

    @abstractmethod
    def requester_id(self, item: P) -> int:
        """The person who asked (and hears of the decision)."""

    @abstractmethod
    def decider_role(self, conn: Conn, runtime: Runtime, item: P,
                     case: Case, person: Person) -> str | None:
        """The role ``person`` decides ``item`` in; None if they may not decide it."""

    def still_applies(self, item: P, case: Case) -> bool:
        """Whether an approval still fits the case as it is now, beyond what its state
        allows (the table's row for ``approve_action``)."""
        return True

    @abstractmethod
    def record(self, conn: Conn, item: P, approve: bool, by: int,
               comment: str | None, at: datetime) -> None:
        """Store the decision on the request."""

    @abstractmethod
    def carry_out(self, conn: Conn, runtime: Runtime, item: P,
                  case: Case, decision: Decision) -> Case:
        """The decision's events, changes and messages; returns the case as it is now."""

    @abstractmethod
    def told(self, runtime: Runtime, item: P, case: Case, decision: Decision
             ) -> notify.Render:
        """What the requester reads about the decision."""


def _refusal(
    conn: Conn, runtime: Runtime, kind: Request[P], item: P | None,
    case: Case | None, person: Person, approve: bool,
) -> tuple[str | None, str]:
    """Why ``person`` may not decide ``item`` this way now (None: they may), and the role
    they would decide in."""
    if item is None or case is None:
        return "not_found", ""
    role = kind.decider_role(conn, runtime, item, case, person)
    if role is None:
        return "not_allowed", ""
    if item.status != "pending":
        return "already", role
    action = kind.approve_action if approve else kind.refuse_action
    if not case_states.may(action, case.state) or (approve and not kind.still_applies(item, case)):
        return "state", role  # the case moved on (or ended) while the request waited
    return None, role


async def check(runtime: Runtime, kind: Request[P], request_id: int, person: Person) -> None:
    """Refuse at the press what ``decide`` would refuse whichever way (someone who may not
    decide, a request decided already); nothing is recorded."""
    def work(conn: Conn) -> str | None:
        item = kind.load(conn, request_id)
        case = case_repo.get_case(conn, item.case_id) if item else None
        reason, _ = _refusal(conn, runtime, kind, item, case, person, approve=False)
        return reason
    reason = await runtime.db.read(work)
    if reason is not None:
        raise Refused(reason)


async def decide(
    runtime: Runtime, kind: Request[P], request_id: int, actor: Actor, approve: bool,
    comment: str | None = None,
) -> tuple[Case, P]:
    """Approve or refuse a request; returns the case as it is now and the request as it was
    before the decision."""
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[Case | None, P | None, str | None]:
        item = kind.load(conn, request_id)
        case = case_repo.get_case(conn, item.case_id) if item else None
        reason, role = _refusal(conn, runtime, kind, item, case, actor.person, approve)
        if reason is None:
            assert item is not None and case is not None
            kind.record(conn, item, approve, actor.person.id, comment, now)
            people.set_display_name(conn, actor.person.id, actor.name)
            requester = people.get_person(conn, kind.requester_id(item))
            decision = Decision(actor, role, approve, comment, now, requester)
            case = kind.carry_out(conn, runtime, item, case, decision)
            if requester is not None and requester.id != actor.person.id:
                language = notify.chat_language(conn, runtime, requester.telegram_id)
                notify.send(
                    conn, runtime, [notify.Recipient(requester.telegram_id, language)],
                    kind.told(runtime, item, case, decision), case_id=case.id, now=now)
            return case, item, None
        return case, None, reason
    case, decided, reason = await runtime.db.write(work)
    if reason is None:
        assert case is not None and decided is not None
        return case, decided
    raise await refuse(runtime, case.id if case else None, actor.person, kind.action, reason)
