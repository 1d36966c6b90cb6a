"""The one dialog a person has with the bot at a time.

Residents file a case, add to one, reply to a unit's question or comment on a rating;
officials answer, transfer, ask the reporter; heads return an answer with a comment. One
ConversationHandler holds them all, so starting one flow ends the other and a text message
never goes to two places. It is keyed by the user alone (not the chat): an official who
presses a button on a card in the unit's group continues in their private chat. The state
and the drafts are persisted.

Each flow declares its states once, namespaced by its name (``filing.text``,
``official.answer.preview``; ``handlers.flow``); merging refuses a state two flows share.
"""

from __future__ import annotations

import warnings

from telegram.ext import Application, ConversationHandler
from telegram.warnings import PTBUserWarning

from handlers import clerk, disclosures, filing, meetings, my_cases, official, reporter
from handlers.flow import merge


def build_dialog() -> ConversationHandler:
    """All text-taking steps, persisted under the name ``dialog``."""
    with warnings.catch_warnings():
        # Buttons are tracked per user, not per message: intended.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=(filing.filing_entry_points() + my_cases.followup_entry_points()
                          + official.entry_points() + reporter.entry_points()
                          + clerk.entry_points() + meetings.entry_points()
                          + disclosures.entry_points()),
            states=merge(filing.filing_states(), my_cases.followup_states(),
                         official.states(), reporter.states(), clerk.states(),
                         meetings.states(), disclosures.states()),
            fallbacks=filing.filing_fallbacks() + official.fallbacks(),
            name="dialog",
            persistent=True,
            allow_reentry=True,
            per_chat=False,
        )


def register(application: Application) -> None:
    """Install the dialog."""
    application.add_handler(build_dialog())
