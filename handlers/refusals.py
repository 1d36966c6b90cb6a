"""How a refused action is explained, in the presser's language."""

from __future__ import annotations

from bot.i18n import N_
from handlers.context import SunboxContext

# "Not found" and "not allowed" give the same answer, so that case ids cannot be probed.
NOT_FOUND_OR_NOT_ALLOWED = N_("This case was not found, or it is not yours to act on.")

REFUSALS = {
    "not_found": NOT_FOUND_OR_NOT_ALLOWED,
    "not_allowed": NOT_FOUND_OR_NOT_ALLOWED,
    "state": N_("The case has moved on; this is no longer possible."),
    "already": N_("Someone was faster: this has already been done."),
    "rated": N_("You have already rated this answer. Thank you."),
    "pending": N_("An answer is already waiting for the head's sign-off."),
    "no_feedback": N_("The reporter chose no replies, so they cannot be asked."),
    "same_unit": N_("The case is already at that unit."),
    "concerned_unit": N_("This report concerns the head or leadership of that unit, so it "
                         "can never be transferred there."),
    "extension_taken": N_("This deadline has already been extended once (or a request is "
                          "waiting); it cannot be extended again."),
    "bad_date": N_("The new date must be after the present deadline and within 90 days."),
    "invalid": N_("This button is no longer valid."),
    "no_decider": N_("Nobody but you could decide this request, so it cannot be made. "
                     "Ask an administrator."),
}


def refusal(context: SunboxContext, reason: str) -> str:
    """The message for a refusal code."""
    return context.t(REFUSALS.get(reason, REFUSALS["invalid"]))
