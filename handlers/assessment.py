"""/assessment [period]: the assessment as a chart (PNG) and a workbook (XLSX), in chat.

For the supervision group and administrators (every unit) and unit heads (their own units
and everything below them); the reader's roles are read from the database on every command.
A progress message is edited as the report is built. While the bot runs, the building goes
on in a background task (the heavy parts in a worker thread), so other people's updates are
not held up; outside a running application (tests) it is awaited in place.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler, filters

from bot.i18n import N_
from bot.reports import chart, workbook
from bot.services import assessment, roles
from bot.services.assessment import NotAllowed, Period, PeriodError
from handlers.context import SunboxContext

log = logging.getLogger(__name__)

USAGE = N_(
    "Send /assessment with a period: a half year (/assessment 2026H2), a quarter (2026Q4), "
    "a month (2026-11), a year (2026) or a range of dates (2026-07-01..2026-12-31). "
    "Without a period you get the current half year."
)
REFUSED = N_("The assessment is for the supervision group, administrators and unit heads.")
BUSY = N_("Your previous assessment is still being built; it will arrive shortly.")
PROGRESS = N_("⏳ Building the assessment {period}…\n{stage}")
READING = N_("Reading the cases…")
DRAWING = N_("Drawing the chart…")
WRITING = N_("Writing the workbook…")
DONE = N_("✅ Assessment {period} ({first} – {last}): {counts}. The chart and the workbook "
          "follow.")
CAPTION = N_("Assessment {period} ({first} – {last})")
FAILED = N_("Sorry, the assessment could not be built. Please try again later.")

# Chats whose report is being built (one at a time per chat).
_building: set[int] = set()


async def assessment_command(update: Update, context: SunboxContext) -> None:
    """/assessment [period]: check who asks and what, then build the report."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None
    t = context.t
    runtime = context.runtime
    memberships = await roles.memberships(runtime, context.require_person().telegram_id)
    try:
        scope = assessment.reader_scope(memberships)
    except NotAllowed:
        await message.reply_text(t(REFUSED))
        return
    args = context.args or []
    if len(args) > 1:
        await message.reply_text(t(USAGE))
        return
    try:
        period = (assessment.parse_period(args[0]) if args else
                  assessment.current_half(runtime.clock.now(), runtime.config.general.tz))
    except PeriodError as error:
        await message.reply_text(t(error.message).format(**error.params) + "\n\n" + t(USAGE))
        return
    if chat.id in _building:
        await message.reply_text(t(BUSY))
        return
    progress = await message.reply_text(
        t(PROGRESS).format(period=period.code, stage=t(READING)))
    _building.add(chat.id)
    build = _build(context, chat.id, progress, period, scope)
    if context.application.running:
        context.application.create_task(build, update=update, name=f"assessment:{chat.id}")
    else:
        await build


async def _edit(progress: Message, text: str) -> None:
    try:
        await progress.edit_text(text)
    except BadRequest as error:  # the reader deleted it, or nothing changed
        log.info("assessment progress message not edited: %s", error)


async def _build(context: SunboxContext, chat_id: int, progress: Message, period: Period,
                 scope: list[str] | None) -> None:
    """Read, compute, draw and write; send the chart and the workbook."""
    t = context.t
    language = context.language
    runtime = context.runtime
    config = runtime.config

    def stage(text: str) -> str:
        return t(PROGRESS).format(period=period.code, stage=text)

    try:
        as_of = runtime.clock.now()
        histories = await assessment.load(runtime, period)
        await _edit(progress, stage(context.tn(
            "Computing the figures of {count} case…", "Computing the figures of {count} cases…",
            len(histories)).format(count=len(histories))))
        result = await asyncio.to_thread(
            assessment.compute, config, runtime.calendar, histories, period, as_of,
            scope=scope)
        result = await assessment.with_meetings(runtime, result)
        await _edit(progress, stage(t(DRAWING)))
        png = await asyncio.to_thread(chart.render_png, result, config, language)
        await _edit(progress, stage(t(WRITING)))
        xlsx = await asyncio.to_thread(workbook.build_workbook, result, config, language)
        dates = {"period": period.code, "first": period.first.isoformat(),
                 "last": period.last.isoformat()}
        await _edit(progress, t(DONE).format(counts=_counts(context, result), **dates))
        caption = t(CAPTION).format(**dates)
        await context.bot.send_photo(chat_id, png, caption=caption)
        await context.bot.send_document(
            chat_id, xlsx, caption=caption,
            filename=f"assessment-{period.code.replace('..', '_')}.xlsx")
    except Exception:
        await _edit(progress, t(FAILED))
        raise
    finally:
        _building.discard(chat_id)


def _counts(context: SunboxContext, result: assessment.Assessment) -> str:
    """The figures of the summary, each with its plural form."""
    tn = context.tn
    units, received = len(result.rows), result.total.received
    ranked = len(result.ranking)
    accountable = len({entry.unit_id for entry in result.accountability})
    return context.t("{first_item}, {second_item}, {third_item}, {fourth_item}").format(
        first_item=tn("{count} unit", "{count} units", units).format(count=units),
        second_item=tn("{count} case received", "{count} cases received",
                       received).format(count=received),
        third_item=tn("{count} unit ranked", "{count} units ranked",
                      ranked).format(count=ranked),
        fourth_item=tn("{count} unit on the accountability list",
                       "{count} units on the accountability list",
                       accountable).format(count=accountable))


def register(application: Application) -> None:
    """Install /assessment (before the catch-alls of ``handlers.fallback``)."""
    application.add_handler(CommandHandler("assessment", assessment_command,
                                           filters=filters.ChatType.PRIVATE))
