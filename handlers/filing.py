"""The resident's flow: file a suggestion or a named report.

kind → category → unit (the category's rule, or browse the tree) → text → attachments →
anonymous/signed (suggestion) or real name and own phone (report) → summary with
Confirm / Edit / Cancel → stored, number shown. The draft lives in persisted user data, so
the flow survives a restart; the draft's key makes confirming idempotent.

A document added to a suggestion (which may be filed anonymously) is answered with a
warning that its name and content may identify the reporter, and a Keep / Drop choice for
that file. An anonymous case's files are scrubbed after the commit (bot/services/scrub.py):
pictures lose their metadata, every file is renamed after the case number.

The flow, its states, the draft and the questions: ``handlers.filing_flow``; the text and
what comes with it: ``handlers.filing_attachments``; the other steps:
``handlers.filing_steps``.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import drafts
from handlers.filing_attachments import (
    attachment_expected,
    attachment_received,
    attachments_done,
    description_expected,
    document_chosen,
    location_received,
    text_received,
)
from handlers.filing_flow import (
    ATTACH,
    CATEGORY,
    CONCERNS,
    CONFIRM,
    DRAFT,
    DRAFT_SLOT,
    FILING,
    IDENTITY,
    KIND,
    NAME,
    PHONE,
    TEXT,
    UNIT,
    FilingDraft,
    summary_text,
)
from handlers.filing_steps import (
    category_chosen,
    concerns_chosen,
    confirmed,
    contact_expected,
    contact_received,
    edit_chosen,
    edit_menu,
    identity_chosen,
    kind_chosen,
    name_expected,
    name_received,
    new_command,
    start_from_menu,
    tree_opened,
    unit_confirmed,
    unit_picked,
)
from handlers.flow import NOT_COMMAND, TYPED, button_step, refuse_button, use_buttons

__all__ = [  # what this module has always offered, wherever it lives now
    "ATTACH", "CATEGORY", "CONCERNS", "CONFIRM", "DRAFT", "DRAFT_SLOT", "FILING",
    "FILING_STEPS", "IDENTITY", "KIND", "NAME", "PHONE", "TEXT", "UNIT", "FilingDraft",
    "confirmed", "document_chosen", "filing_entry_points", "filing_fallbacks",
    "filing_states", "refuse_button", "summary_text", "use_buttons",
]


def filing_entry_points() -> list[Any]:
    """Where filing starts."""
    return drafts.guard([
        CommandHandler("new", new_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(start_from_menu, pattern=r"^new:start:(suggestion|report)$"),
    ], entry=True)


def filing_states() -> dict[object, list[Any]]:
    """The filing steps of the resident's conversation. Each needs the draft; if it expired
    meanwhile, the resident is told so and the conversation ends (``handlers.drafts``)."""
    files = filters.PHOTO | filters.Document.ALL
    states = FILING.steps({
        KIND: button_step(
            CallbackQueryHandler(kind_chosen, pattern=r"^new:kind:(suggestion|report)$")),
        CATEGORY: button_step(CallbackQueryHandler(category_chosen, pattern=r"^new:cat:[\w-]+$")),
        UNIT: button_step(
            CallbackQueryHandler(unit_confirmed, pattern=r"^new:unit:ok$"),
            CallbackQueryHandler(tree_opened, pattern=r"^new:tree:[\w-]*:\d{1,4}$"),
            CallbackQueryHandler(unit_picked, pattern=r"^new:pick:[\w-]+$")),
        TEXT: [
            MessageHandler(TYPED, text_received),
            MessageHandler(files & filters.CAPTION, text_received),
            MessageHandler(NOT_COMMAND, description_expected),
        ],
        ATTACH: [
            MessageHandler(files, attachment_received),
            MessageHandler(filters.LOCATION, location_received),
            CallbackQueryHandler(attachments_done, pattern=r"^new:att:done$"),
            MessageHandler(NOT_COMMAND, attachment_expected),
        ],
        IDENTITY: button_step(CallbackQueryHandler(identity_chosen, pattern=r"^new:id:\w+$")),
        NAME: [MessageHandler(TYPED, name_received), MessageHandler(NOT_COMMAND, name_expected)],
        PHONE: [
            MessageHandler(filters.CONTACT, contact_received),
            MessageHandler(NOT_COMMAND, contact_expected),
        ],
        CONCERNS: button_step(
            CallbackQueryHandler(concerns_chosen, pattern=r"^new:head:(yes|no)$")),
        CONFIRM: button_step(
            CallbackQueryHandler(confirmed, pattern=r"^new:confirm$"),
            CallbackQueryHandler(edit_menu, pattern=r"^new:edit$"),
            CallbackQueryHandler(edit_chosen, pattern=r"^new:edit:\w+$")),
    })
    return {state: drafts.guard(handlers) for state, handlers in states.items()}


#: The steps that hold a draft (an expired draft ends the conversation at these).
FILING_STEPS = FILING.states


def filing_fallbacks() -> list[Any]:
    """Ways out of any step."""
    return [
        *FILING.leave_handlers(),
        CallbackQueryHandler(document_chosen, pattern=r"^new:doc:(keep|drop):\d{1,4}$"),
        CallbackQueryHandler(refuse_button, pattern=r"^new:"),
    ]
