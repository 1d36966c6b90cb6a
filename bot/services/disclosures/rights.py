"""Who may do what in the register, decided from the database on every press.

- A unit's officials and head draft its disclosures (step 1, 拟定).
- Its committee (role ``committee``: the 支委/党委 members) reviews them (step 2, 审定); a
  quorum approves (``[disclosure] review_quorum``, 0 = a majority of its active members)
  and any member may return one. A unit without committee members falls back to its head,
  alone (``check-config`` warns of it).
- Its head signs them off (step 3, 审签), which publishes them.
- Everyone reads the public items of the register; party items are for the unit's party
  members, its staff and committee, the heads above it, and the supervision group.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.runtime import Runtime
from storage import directory
from storage.models import Membership, StaffMember
from storage.sql import Conn

DRAFTING_ROLES = ("official", "head")
#: Who reads a unit's party items, besides its party members: its staff and committee.
PARTY_READERS = ("official", "head", "committee", "clerk", "supervisor")


def drafts(roles: Iterable[Membership], unit_id: str) -> bool:
    return any(m.role in DRAFTING_ROLES and m.unit_id == unit_id for m in roles)


def is_head(roles: Iterable[Membership], unit_id: str) -> bool:
    return any(m.role == "head" and m.unit_id == unit_id for m in roles)


def reviewers(conn: Conn, unit_id: str) -> tuple[list[StaffMember], bool]:
    """Who reviews the unit's disclosures: its committee, or (``True`` second) its heads
    when it has no committee member."""
    committee = directory.unit_staff(conn, unit_id, ("committee",))
    if committee:
        return committee, False
    return directory.unit_staff(conn, unit_id, ("head",)), True


def quorum(runtime: Runtime, members: int, fallback: bool) -> int:
    """Approvals needed at review, out of ``members`` reviewers."""
    if fallback:
        return 1
    wanted = runtime.config.disclosure.review_quorum or members // 2 + 1
    return max(1, min(wanted, members))


def reviews(conn: Conn, roles: Iterable[Membership], unit_id: str) -> bool:
    """May approve or return the unit's disclosures at review."""
    people_ids = {m.person_id for m in roles}
    members, _ = reviewers(conn, unit_id)
    return any(m.person_id in people_ids for m in members)


def reads_party(runtime: Runtime, roles: Iterable[Membership], unit_id: str) -> bool:
    """May read the unit's party items (党内公开)."""
    config = runtime.config
    roles = list(roles)
    if any(m.role == "supervision" for m in roles):
        return True
    path = set(config.unit_path(unit_id))
    for m in roles:
        if m.unit_id == unit_id and (m.role in PARTY_READERS or m.role == "party_member"):
            return True
        if m.role == "head" and m.unit_id in path:
            return True
    return False


def watches(runtime: Runtime, roles: Iterable[Membership], unit_id: str) -> bool:
    """Supervises the unit's register: the supervision group, the unit's supervisors and
    the heads above it."""
    path = set(runtime.config.unit_path(unit_id))
    return any(m.role == "supervision" or (m.role == "supervisor" and m.unit_id == unit_id)
               or (m.role == "head" and m.unit_id in path) for m in roles)
