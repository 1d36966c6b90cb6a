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

from handlers import drafts, opinions
from handlers import filing_attachments as attachments
from handlers import filing_flow as base
from handlers import filing_steps as steps
from handlers.filing_flow import FILING
from handlers.flow import NOT_COMMAND, TYPED, button_step, refuse_button


def filing_entry_points() -> list[Any]:
    """Where filing starts."""
    return drafts.guard([
        CommandHandler("new", steps.new_command, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(steps.start_from_menu, pattern=r"^new:start:(suggestion|report)$"),
        CommandHandler("start", opinions.opinion_link, filters=filters.Regex(
            r"^/start op_[0-9]{1,18}$") & filters.ChatType.PRIVATE),
        CallbackQueryHandler(opinions.opinion_pressed, pattern=r"^dop:[0-9]{1,18}$"),
    ], entry=True)


def filing_states() -> dict[object, list[Any]]:
    """The filing steps of the resident's conversation. Each needs the draft; if it expired
    meanwhile, the resident is told so and the conversation ends (``handlers.drafts``)."""
    files = filters.PHOTO | filters.Document.ALL
    states = FILING.steps({
        base.KIND: button_step(
            CallbackQueryHandler(steps.kind_chosen, pattern=r"^new:kind:(suggestion|report)$")),
        base.CATEGORY: button_step(
            CallbackQueryHandler(steps.category_chosen, pattern=r"^new:cat:[\w-]+$")),
        base.UNIT: button_step(
            CallbackQueryHandler(steps.unit_confirmed, pattern=r"^new:unit:ok$"),
            CallbackQueryHandler(steps.tree_opened, pattern=r"^new:tree:[\w-]*:\d{1,4}$"),
            CallbackQueryHandler(steps.unit_picked, pattern=r"^new:pick:[\w-]+$")),
        base.TEXT: [
            MessageHandler(TYPED, attachments.text_received),
            MessageHandler(files & filters.CAPTION, attachments.text_received),
            MessageHandler(NOT_COMMAND, attachments.description_expected),
        ],
        base.ATTACH: [
            MessageHandler(files, attachments.attachment_received),
            MessageHandler(filters.LOCATION, attachments.location_received),
            CallbackQueryHandler(attachments.attachments_done, pattern=r"^new:att:done$"),
            MessageHandler(NOT_COMMAND, attachments.attachment_expected),
        ],
        base.IDENTITY: button_step(
            CallbackQueryHandler(steps.identity_chosen, pattern=r"^new:id:\w+$")),
        base.NAME: [MessageHandler(TYPED, steps.name_received),
                    MessageHandler(NOT_COMMAND, steps.name_expected)],
        base.PHONE: [
            MessageHandler(filters.CONTACT, steps.contact_received),
            MessageHandler(NOT_COMMAND, steps.contact_expected),
        ],
        base.CONCERNS: button_step(
            CallbackQueryHandler(steps.concerns_chosen, pattern=r"^new:head:(yes|no)$")),
        base.CONFIRM: button_step(
            CallbackQueryHandler(steps.confirmed, pattern=r"^new:confirm$"),
            CallbackQueryHandler(steps.edit_menu, pattern=r"^new:edit$"),
            CallbackQueryHandler(steps.edit_chosen, pattern=r"^new:edit:\w+$")),
    })
    return {state: drafts.guard(handlers) for state, handlers in states.items()}


#: The steps that hold a draft (an expired draft ends the conversation at these).
FILING_STEPS = FILING.states


def filing_fallbacks() -> list[Any]:
    """Ways out of any step."""
    return [
        *FILING.leave_handlers(),
        CallbackQueryHandler(attachments.document_chosen,
                             pattern=r"^new:doc:(keep|drop):\d{1,4}$"),
        CallbackQueryHandler(refuse_button, pattern=r"^new:"),
    ]
