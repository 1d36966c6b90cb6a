"""What every action on a case shares: who acts and in which role (a unit's staff), whose
case it is (the reporter), whether the case's state and the actor's roles allow the action,
how a refusal is recorded, and the status line the case's cards show afterwards.

The actions themselves: :mod:`bot.services.handling` (accept, answer, sign-off),
:mod:`bot.services.transfer`, :mod:`bot.services.questions`, :mod:`bot.services.ratings`
and :mod:`bot.services.extensions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import Translate, translator
from bot.runtime import Runtime
from bot.services import case_states, limits, notify, sealed
from bot.services.roles import handles, is_supervision
from storage import cases as case_repo
from storage import directory
from storage.models import Case, Membership, Person
from storage.sql import Conn


class Refused(Exception):
    """The action is not allowed now; ``reason`` is a stable code for the message."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Actor:
    """The person acting, with the name colleagues see on cards."""

    person: Person
    name: str


async def refuse(
    runtime: Runtime, case_id: int | None, actor: Person, action: str, reason: str,
    detail: str | None = None,
) -> Refused:
    """Record a refused attempt in the case's trail (nothing else changes).

    A refusal to someone who holds no role is only counted, in memory
    (:mod:`bot.services.limits`): a stranger's forged presses must not fill the trail.
    """
    if case_id is None or not await limits.holds_a_role(runtime, actor.telegram_id):
        limits.count_refusal(runtime, reason)
    else:
        now = runtime.clock.now()

        def work(conn: Conn) -> None:
            if case_repo.get_case(conn, case_id) is not None:
                case_repo.append_event(
                    conn, case_id, now, actor.id, "none", "refused", None, None,
                    {"action": action, "reason": reason},
                )
        await runtime.db.write(work)
    return Refused(reason, detail)


def role_for(roles: list[Membership], case: Case) -> str:
    """The role the actor acts in on this case (as the case's trail records it)."""
    for role in ("head", "official", "supervision"):
        if any(m.role == role and m.unit_id == case.unit_id for m in roles):
            return role
    return "supervision" if is_supervision(roles) else "none"


def load(
    conn: Conn, case_id: int, actor: Person
) -> tuple[Case | None, list[Membership]]:
    """The case and the actor's roles, read in the caller's transaction."""
    return (case_repo.get_case(conn, case_id),
            directory.memberships_of(conn, actor.telegram_id))


def reporters_case(conn: Conn, runtime: Runtime, case_id: int,
                   person: Person) -> Case | None:
    """The case if ``person`` reported it (by name, or on their sealed list of anonymous
    cases); None for any other, whatever a button claims."""
    case = case_repo.get_case(conn, case_id)
    if case is None or not sealed.owns(conn, runtime.sealer, case, person):
        return None
    return case


def why_not(case: Case | None, roles: list[Membership], action: str) -> str | None:
    """Why ``roles`` may not take ``action`` on the case now (None: they may)."""
    if case is None:
        return "not_found"
    if not handles(roles, case):
        return "not_allowed"
    if not case_states.may(action, case.state):
        return "state"
    return None


def attachment_count(conn: Conn, case_id: int) -> int:
    return len(case_repo.attachments_of(conn, case_id))


def status(message: str, **params: object) -> notify.Render:
    """A status line for cards, translated per reader (unit names in their language)."""
    def render(t: Translate, language: str) -> str:
        values = {k: (v(language) if callable(v) else v) for k, v in params.items()}
        return t(message).format(**values)
    return render


def unit_label(runtime: Runtime, unit_id: str) -> Callable[[str], str]:
    """A unit's name in the language of whoever reads the status line."""
    return lambda language: notify.unit_name(runtime, unit_id, language)


def translated(language: str, message: str) -> str:
    return translator(language)(message)
