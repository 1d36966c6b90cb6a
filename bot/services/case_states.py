"""The case state machine, in one table: the states a case can be in and, for every action
on a case, the states it may start from and the states it may lead to.

The services ask it before they act (``may``) and take the state they write from it
(``next_state``, ``starts``); tests/services/test_case_properties.py holds every stored event to it
(``MOVES``). A service refuses an action the table does not allow in the case's state
(mostly with the reason ``state``). Changing what a case may do is a change to this table.
"""

from __future__ import annotations

from dataclasses import dataclass

NEW = "new"
ACCEPTED = "accepted"
INFO_REQUESTED = "info_requested"
ANSWERED = "answered"
REOPENED = "reopened"
CLOSED = "closed"
WITHDRAWN = "withdrawn"
#: Named by the product brief as a side path. No action leads to it (a transfer makes the
#: case ``new`` at the other unit), but a case stored in it counts as open.
TRANSFERRED = "transferred"

STATES = (NEW, ACCEPTED, INFO_REQUESTED, ANSWERED, REOPENED, CLOSED, WITHDRAWN, TRANSFERRED)
#: Where every case starts, at its unit (``storage.cases.create_case``, its ``filed`` event).
FIRST = NEW
#: A unit works on the case: its deadlines run (acceptance while new, then the answer).
LIVE = (NEW, ACCEPTED, INFO_REQUESTED, REOPENED)
#: The case is still going on: the reporter may add to it.
OPEN = (NEW, ACCEPTED, ANSWERED, TRANSFERRED, INFO_REQUESTED, REOPENED)
#: The case has ended: nothing moves it again.
ENDED = (CLOSED, WITHDRAWN)

#: Every state but the ended ones.
_GOING_ON = tuple(state for state in STATES if state not in ENDED)
#: Where the unit may answer (and where an answer waiting for sign-off may go out).
_ANSWERABLE = (ACCEPTED, REOPENED, INFO_REQUESTED)


@dataclass(frozen=True)
class Move:
    """An action's place in the machine: the states it may start from (``start``), and the
    states it may lead to (``to``; empty: the case stays in the state it was in)."""

    start: tuple[str, ...]
    to: tuple[str, ...] = ()


ACTIONS: dict[str, Move] = {
    # The unit.
    "accept": Move((NEW,), (ACCEPTED,)),  # the first acceptance wins
    # The answer goes to the reporter; where the head signs answers off, it waits for that
    # first, the state unchanged.
    "answer": Move(_ANSWERABLE, (ANSWERED,)),
    "sign_off": Move(_ANSWERABLE, (ANSWERED,)),  # the head approves: the answer goes out
    # The head returns an answer with a comment, while the case goes on (an answer waiting
    # for sign-off on a case withdrawn meanwhile is refused as ``state``).
    "return_answer": Move(_GOING_ON),
    # To another unit (or, past the transfer limit, the supervision group): new there.
    "transfer": Move(LIVE, (NEW,)),
    "ask": Move((ACCEPTED, REOPENED), (INFO_REQUESTED,)),  # a question to the reporter
    # More time: asked while a deadline runs; granted only while it still runs unchanged.
    "extend": Move(LIVE),
    "grant_extension": Move(LIVE),
    # A refusal of more time, while the case goes on (after it ended, refused as ``state``).
    "refuse_extension": Move(_GOING_ON),
    # The reporter.
    "reply": Move((INFO_REQUESTED,), (ACCEPTED, REOPENED)),  # back where the question was
    # Satisfied: closed. Not satisfied: reopened at the unit, the second time at the
    # supervision group.
    "rate": Move((ANSWERED,), (CLOSED, REOPENED)),
    "followup": Move(OPEN),
    "withdraw": Move((NEW, ACCEPTED, TRANSFERRED, INFO_REQUESTED, REOPENED), (WITHDRAWN,)),
    # Sunbox itself.
    "close_unrated": Move((ANSWERED,), (CLOSED,)),  # the reporter did not rate in time
    # The cases a unit holds go up when it loses its last official or head.
    "move_up": Move((NEW, ACCEPTED, INFO_REQUESTED, REOPENED, ANSWERED, TRANSFERRED)),
}

#: Every change of state an event may record, as (state before, state after).
MOVES = frozenset((before, after) for move in ACTIONS.values()
                  for before in move.start for after in move.to if after != before)


def may(action: str, state: str) -> bool:
    """May ``action`` start from a case in ``state``?"""
    return state in ACTIONS[action].start


def starts(action: str) -> tuple[str, ...]:
    """The states ``action`` may start from."""
    return ACTIONS[action].start


def next_state(action: str, state: str, choice: str | None = None) -> str:
    """The state ``action`` takes a case in ``state`` to: its one target, ``choice`` for an
    action with several (``rate``, ``reply``), ``state`` itself for one that moves nothing.

    A call the table does not allow is a mistake in the caller: ``ValueError``.
    """
    move = ACTIONS[action]
    if state not in move.start:
        raise ValueError(f"{action} may not start from {state}")
    if not move.to:
        return state
    if choice is None and len(move.to) == 1:
        return move.to[0]
    if choice not in move.to:
        raise ValueError(f"{action} leads to one of {move.to}, not {choice}")
    return choice
