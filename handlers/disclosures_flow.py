"""The register's dialog steps as one flow (``handlers.disclosures`` wires them): its states,
the draft it keeps (``user_data["disclosure"]``: which disclosure, and what the next text
is for), and what the steps share. The disclosure's content lives in the database from the
first step, so a draft survives restarts as the dialog state does."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from telegram import Update

from bot.i18n import N_
from bot.services.disclosures.content import DisclosureError
from handlers.context import SunboxContext, answer_query
from handlers.flow import Flow
from handlers.flow_data import Slot, Stored

KEY = "disclosure"
DISCLOSURES = Flow("disclosures", cancel_data="dx:cancel", drops=(KEY,), private=True,
                   cancelled_text=N_("Left. The draft is kept: /publish shows it."))
(BODY, SECTION, FILES, SUMMARY, COMMENT, FORM, EVENT, ANSWER_ALL, REASON) = DISCLOSURES.declare(
    "body", "section", "files", "summary", "comment", "form", "event", "answer_all", "reason")
T = TypeVar("T")


@dataclass
class DisclosureDraft(Stored):
    """Which disclosure the dialog is about and what the next typed text is for:
    ``section`` (a major decision's section being asked), ``target`` (the disclosure
    returned, the form confirmed, the opinion marked), ``choice`` (return at review or at
    sign-off; the form; the ruling; the item of an event)."""

    disclosure_id: int = 0
    section: str = ""
    target: int = 0
    choice: str = ""


DRAFT = Slot(KEY, DisclosureDraft)

REFUSALS = {
    "not_found": N_("This disclosure was not found, or it is not yours to read."),
    "not_official": N_("Only the officials of the unit can do this."),
    "not_committee": N_("Only the unit's committee (支委/党委) reviews its disclosures."),
    "not_head": N_("Only the unit's head signs its disclosures off."),
    "not_allowed": N_("You may not do this with this disclosure."),
    "moved": N_("This disclosure has moved on meanwhile; nothing was changed."),
    "incomplete": N_("The draft is not complete yet: write its text, and every section a "
                     "major decision needs."),
    "too_long": N_("The title must have 1 to 120 characters and the text at most 20,000."),
    "empty_section": N_("This section cannot be empty: the seed requires it."),
    "no_form": N_("Choose at least one form of publication."),
    "too_many_files": N_("That is as many files as a disclosure may have."),
    "confirmed": N_("This form was confirmed already."),
    "window_open": N_("The comment window is still open; the final version waits for it "
                      "to close."),
    "unmarked": N_("Mark every opinion on the draft adopted, partly adopted or not adopted, "
                   "with a reason, before the final version."),
    "invalid": N_("This button is no longer valid."),
}


def refusal_text(context: SunboxContext, error: DisclosureError) -> str:
    return context.t(REFUSALS.get(error.reason, REFUSALS["invalid"]))


async def checked(update: Update, context: SunboxContext, call: Awaitable[T]) -> T | None:
    """What a step asks of the register's services (which check the person again in the
    database); None, and the person told why, when it is refused."""
    try:
        return await call
    except DisclosureError as error:
        text = refusal_text(context, error)
        if update.callback_query is not None:
            await answer_query(update.callback_query, text, show_alert=True)
        else:
            assert update.effective_message is not None
            await update.effective_message.reply_text(text)
        return None


def pressed_id(update: Update) -> int:
    """The number at the end of a ``…:<id>`` press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    return int(query.data.rsplit(":", 1)[1])


def typed(update: Update) -> str:
    message = update.effective_message
    assert message is not None
    return (message.text or "").strip()
