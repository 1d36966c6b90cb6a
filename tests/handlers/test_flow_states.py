"""The dialog's states: namespaced by flow, declared once, none shared, none unhandled."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from typing import Any

import pytest
from telegram.ext import CommandHandler

from handlers import filing, filing_flow, meetings_flow, official_flow
from handlers.conversation import build_dialog
from handlers.flow import FLOWS, Flow, merge

#: The six flows of the one dialog (handlers.conversation).
DIALOG_FLOWS = ("filing", "followup", "official", "reporter", "intake", "meetings",
                "disclosures")


async def _noop(update: Any, context: Any) -> None:
    """A callback for handlers that are never run."""


@pytest.fixture
def scratch() -> Iterator[Flow]:
    """A flow declared for one test only (flows register themselves by name)."""
    flow = Flow("scratch", cancel_data="scr:cancel")
    try:
        yield flow
    finally:
        del FLOWS["scratch"]


def test_each_flow_names_its_own_states_and_no_two_share_one() -> None:
    build_dialog()  # every flow module is imported and declared
    assert set(DIALOG_FLOWS) <= set(FLOWS)
    for flow in FLOWS.values():
        assert flow.states, f"{flow!r} declares no state"
        assert all(s.startswith(f"{flow.name}.") for s in flow.states), flow
        assert len(set(flow.states)) == len(flow.states), flow
    for a, b in combinations(FLOWS.values(), 2):
        assert not set(a.states) & set(b.states), (a, b)


def test_every_state_the_dialog_handles_is_declared_and_every_declared_one_handled() -> None:
    dialog = build_dialog()
    declared = {state for flow in DIALOG_FLOWS for state in FLOWS[flow].states}
    handled = set(dialog.states)
    assert all(isinstance(state, str) for state in handled)
    assert handled == declared
    assert all(dialog.states[state] for state in handled)  # a state with no handler strands


def test_the_filing_steps_an_expired_draft_ends_are_the_filing_flow_s() -> None:
    assert set(filing.FILING_STEPS) == set(FLOWS["filing"].states)
    assert filing_flow.TEXT == "filing.text"
    assert official_flow.ANSWER_PREVIEW == "official.answer.preview"
    assert meetings_flow.REC_MINUTES == "meetings.minutes"


def test_a_state_is_declared_once(scratch: Flow) -> None:
    assert scratch.state("text") == "scratch.text"
    with pytest.raises(ValueError, match="declared twice"):
        scratch.state("text")
    with pytest.raises(ValueError, match="declared twice"):
        Flow("scratch")


def test_a_flow_refuses_to_handle_a_state_it_did_not_declare(scratch: Flow) -> None:
    text = scratch.state("text")
    handler = CommandHandler("noop", _noop)
    assert list(scratch.steps({text: [handler]})) == [text]
    with pytest.raises(ValueError, match="undeclared"):
        scratch.steps({text: [handler], "scratch.other": [handler]})
    with pytest.raises(ValueError, match="undeclared"):
        scratch.steps({filing_flow.TEXT: [handler]})


def test_merging_refuses_a_state_two_flows_share() -> None:
    handler = CommandHandler("noop", _noop)
    assert merge({"a.x": [handler]}, {"b.x": [handler]}).keys() == {"a.x", "b.x"}
    with pytest.raises(ValueError, match="two flows"):
        merge({"a.x": [handler]}, {"a.x": [handler]})
