"""The resident's one conversation: filing a case, or adding information to one.

One ConversationHandler holds both, so starting one flow always ends the other and a text
message never goes to two places. Its state and the draft are persisted.
"""

from __future__ import annotations

import warnings

from telegram.ext import Application, ConversationHandler
from telegram.warnings import PTBUserWarning

from handlers import filing, my_cases


def build_resident_conversation() -> ConversationHandler:
    """Filing steps plus the follow-up step, persisted under the name ``resident``."""
    with warnings.catch_warnings():
        # Buttons are tracked per chat and user, not per message: intended.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=filing.filing_entry_points() + my_cases.followup_entry_points(),
            states={**filing.filing_states(), **my_cases.followup_states()},
            fallbacks=filing.filing_fallbacks(),
            name="resident",
            persistent=True,
            allow_reentry=True,
        )


def register(application: Application) -> None:
    """Install the conversation."""
    application.add_handler(build_resident_conversation())
