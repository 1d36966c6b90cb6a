"""The disclosure register (党务公开) in chat, wired: ``/publish``, ``/catalog``,
``/disclosures``, ``/opinions``; the review, sign-off and confirmation presses; the posting
job. The dialog's steps are in ``handlers.disclosures_draft``, ``_review`` and ``_read``;
an opinion on a disclosure is a case filed through the resident's flow
(``handlers.filing``)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import disclosure_posts
from handlers import disclosures_draft as draft
from handlers import disclosures_read as read
from handlers import disclosures_review as review
from handlers.disclosures_flow import (
    ANSWER_ALL,
    BODY,
    COMMENT,
    DISCLOSURES,
    EVENT,
    FILES,
    FORM,
    REASON,
    SECTION,
    SUMMARY,
)
from handlers.flow import NOT_COMMAND, TYPED, button_step, text_expected

ID = r"[0-9]{1,18}"


def entry_points() -> list[Any]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("publish", draft.publish_command, filters=private),
        CallbackQueryHandler(draft.new_pressed, pattern=rf"^dd:(new|pre):{ID}$"),
        CallbackQueryHandler(draft.open_pressed, pattern=rf"^dd:open:{ID}$"),
        CallbackQueryHandler(draft.fix_pressed, pattern=rf"^dd:fix:{ID}$"),
        CallbackQueryHandler(draft.event_pressed, pattern=r"^dd:(ev|mt):[\w-]+:[\w-]+$"),
        CallbackQueryHandler(draft.stage_pressed, pattern=rf"^dd:st:{ID}:\d{{1,3}}$"),
        CallbackQueryHandler(review.back_pressed, pattern=rf"^d[rs]:back:{ID}$"),
        CallbackQueryHandler(review.form_pressed, pattern=rf"^df:\w+:{ID}$"),
        CallbackQueryHandler(read.answer_all_pressed, pattern=rf"^do:all:{ID}$"),
        CallbackQueryHandler(read.mark_pressed, pattern=rf"^dm:\w+:{ID}$"),
    ]


def states() -> dict[object, list[Any]]:
    files = filters.PHOTO | filters.Document.ALL
    return DISCLOSURES.steps({
        BODY: [MessageHandler(TYPED, draft.body_received),
               CallbackQueryHandler(draft.body_kept, pattern=r"^dx:keep$"),
               MessageHandler(NOT_COMMAND, text_expected)],
        SECTION: [MessageHandler(TYPED, draft.section_received),
                  MessageHandler(NOT_COMMAND, text_expected)],
        FILES: [MessageHandler(files, draft.file_received),
                CallbackQueryHandler(draft.files_done, pattern=r"^dx:files:done$")],
        SUMMARY: button_step(
            CallbackQueryHandler(draft.submit_pressed, pattern=r"^dx:submit$"),
            CallbackQueryHandler(draft.rewrite_pressed, pattern=r"^dx:body$"),
            CallbackQueryHandler(draft.add_files_pressed, pattern=r"^dx:files$")),
        COMMENT: [MessageHandler(TYPED, review.comment_received),
                  MessageHandler(NOT_COMMAND, text_expected)],
        FORM: [MessageHandler(TYPED | filters.PHOTO, review.proof_received)],
        EVENT: [MessageHandler(TYPED, draft.event_received),
                MessageHandler(NOT_COMMAND, text_expected)],
        ANSWER_ALL: [MessageHandler(TYPED, read.answer_all_received),
                     MessageHandler(NOT_COMMAND, text_expected)],
        REASON: [MessageHandler(TYPED, read.reason_received),
                 MessageHandler(NOT_COMMAND, text_expected)],
    }, leave=True)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The commands and presses outside the dialog, and the posting job."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CallbackQueryHandler(review.approve_pressed,
                                                 pattern=rf"^dr:ok:{ID}$"))
    application.add_handler(CallbackQueryHandler(review.sign_pressed, pattern=rf"^ds:ok:{ID}$"))
    application.add_handler(CallbackQueryHandler(review.retry_pressed,
                                                 pattern=rf"^dp:retry:{ID}$"))
    application.add_handler(CallbackQueryHandler(read.page_pressed,
                                                 pattern=r"^d[lq]:[\w-]+:\d{1,5}$"))
    application.add_handler(CallbackQueryHandler(read.view_pressed, pattern=rf"^dv:{ID}$"))
    application.add_handler(CommandHandler("catalog", read.catalog_command, filters=private))
    application.add_handler(CommandHandler("disclosures", read.disclosures_command,
                                           filters=private))
    application.add_handler(CommandHandler("opinions", read.opinions_command, filters=private))
    disclosure_posts.register(application)
