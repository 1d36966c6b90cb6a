"""Step 1 (拟定) in chat: ``/publish`` shows an official what their units owe and what is in
progress; a press drafts one (or a pre-disclosure, or records an event of a temporary
item); the text, a major decision's sections and the files are asked in turn; the summary
submits it to review."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import N_
from bot.services import notify
from bot.services.disclosures import archive, content, duties, steps
from bot.services.disclosures.texts import full_text
from handlers.context import SunboxContext
from handlers.disclosures_flow import (
    BODY,
    DISCLOSURES,
    DRAFT,
    EVENT,
    FILES,
    SECTION,
    SUMMARY,
    DisclosureDraft,
    checked,
    pressed_id,
    typed,
)
from handlers.flow import END, Next
from handlers.keyboards import button
from handlers.uploads import refused_too_big
from storage import obligations
from storage.disclosures import Disclosure
from storage.obligations import ObligationRow

MAX_MESSAGE = 4000


async def publish_command(update: Update, context: SunboxContext) -> Next:
    """/publish: the official's desk."""
    runtime = context.runtime
    desk = await duties.desk(runtime, context.require_person())
    message = update.effective_message
    assert message is not None
    t, lang = context.t, context.language
    if not desk.units:
        await message.reply_text(t("Only the officials of a unit publish its disclosures."))
        return END
    rows: list[list[InlineKeyboardButton]] = []
    for duty in desk.obligations[:10]:
        rows.append([button(t("📝 {what} · due {due}").format(
            what=duties.duty_title(runtime, duty, lang),
            due=notify.local_time(runtime, duty.due_at)), f"dd:new:{duty.id}")])
        rows.append([button(t("📣 …as a draft for comment first"), f"dd:pre:{duty.id}")])
    for d in desk.in_progress[:10]:
        rows.append([button(t("✏️ {title} ({stage})").format(
            title=d.title, stage=t(STAGE_NAMES.get(d.stage, d.stage))), f"dd:open:{d.id}")])
    for unit_id, item in desk.temporary[:5]:
        rows.append([button(t("🗒 Record an event: {item}").format(item=item.name(lang)),
                            f"dd:ev:{unit_id}:{item.id}")])
    for unit_id, item in desk.staged[:5]:
        rows.append([button(t("📂 Open a matter: {item}").format(item=item.name(lang)),
                            f"dd:mt:{unit_id}:{item.id}")])
    for matter, left in desk.matters[:5]:
        index, stage = left[0]
        rows.append([button(t("🔖 {matter}: stage reached — {stage}").format(
            matter=matter.title, stage=stage), f"dd:st:{matter.id}:{index}")])
    text = (t("What your units owe and have in progress:") if rows
            else t("Nothing is due and nothing is in progress. /catalog shows what your "
                   "units publish."))
    await message.reply_text(text, reply_markup=InlineKeyboardMarkup(rows) if rows else None)
    return END


STAGE_NAMES = {"draft": N_("draft"), "review": N_("in review"),
               "signoff": N_("awaiting signature")}


async def new_pressed(update: Update, context: SunboxContext) -> Next:
    """Draft what an obligation owes (``dd:pre:`` for comment first)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    obligation_id = pressed_id(update)
    runtime = context.runtime
    duty = await runtime.db.read(obligations.get, obligation_id)
    if duty is None:
        await DISCLOSURES.pressed(update, context)
        return END
    d = await checked(update, context, steps.start_draft(
        runtime, context.require_person(), duty.unit_id, duty.item_id,
        obligation_id=duty.id, pre=query.data.startswith("dd:pre:")))
    if d is None:
        return None
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(disclosure_id=d.id))
    return await ask_body(update, context, d)


async def open_pressed(update: Update, context: SunboxContext) -> Next:
    """Back to a draft in progress (or see one that moved on)."""
    details = await checked(update, context, archive.details(
        context.runtime, context.require_person().telegram_id, pressed_id(update)))
    if details is None:
        return None
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(disclosure_id=details.disclosure.id))
    return await show_summary(update, context, details.disclosure)


async def fix_pressed(update: Update, context: SunboxContext) -> Next:
    """A correction (step 7, 再公开) or a pre-disclosure's final version: a new version,
    starting from the published text."""
    details = await checked(update, context, archive.details(
        context.runtime, context.require_person().telegram_id, pressed_id(update)))
    if details is None:
        return None
    before = details.disclosure
    d = await checked(update, context, steps.start_draft(
        context.runtime, context.require_person(), before.unit_id, before.item_id,
        previous_id=before.id))
    if d is None:
        return None
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(disclosure_id=d.id))
    return await ask_body(update, context, d)


async def ask_body(update: Update, context: SunboxContext, d: Disclosure) -> Next:
    t = context.t
    if d.body:
        await send_long(update, context, t(
            "The current text follows. Send the new text of the disclosure, or press Keep."))
        await send_long(update, context, d.body, InlineKeyboardMarkup([
            [button(t("✔ Keep this text"), "dx:keep")], DISCLOSURES.cancel_row(context)]))
    else:
        await DISCLOSURES.send(update, context, t(
            "Drafting “{title}”. Send the text to publish (up to 20,000 characters; a long "
            "text may come in several messages: send the first, then add the rest from the "
            "summary).").format(title=d.title), DISCLOSURES.cancel_markup(context))
    return BODY


async def body_received(update: Update, context: SunboxContext) -> Next:
    draft = DRAFT.need(context)
    d = await checked(update, context, steps.set_content(
        context.runtime, context.require_person(), draft.disclosure_id, body=typed(update)))
    if d is None:
        return None
    return await after_body(update, context, d)


async def body_kept(update: Update, context: SunboxContext) -> Next:
    await DISCLOSURES.pressed(update, context)
    d = await _current(update, context)
    return None if d is None else await after_body(update, context, d)


async def _current(update: Update, context: SunboxContext) -> Disclosure | None:
    details = await checked(update, context, archive.details(
        context.runtime, context.require_person().telegram_id,
        DRAFT.need(context).disclosure_id))
    return None if details is None else details.disclosure


async def after_body(update: Update, context: SunboxContext, d: Disclosure) -> Next:
    lacking = [s for s in steps.missing(context.runtime, d) if s != "body"]
    if lacking:
        with DRAFT.edit(context) as draft:
            draft.section = lacking[0]
        await DISCLOSURES.send(update, context, context.t(
            "A major decision publishes its {section} too. Send it:").format(
            section=context.t(content.SECTION_NAMES[lacking[0]])),
            DISCLOSURES.cancel_markup(context))
        return SECTION
    return await ask_files(update, context)


async def section_received(update: Update, context: SunboxContext) -> Next:
    draft = DRAFT.need(context)
    d = await checked(update, context, steps.set_content(
        context.runtime, context.require_person(), draft.disclosure_id,
        section=(draft.section, typed(update))))
    if d is None:
        return None
    return await after_body(update, context, d)


async def ask_files(update: Update, context: SunboxContext) -> Next:
    await DISCLOSURES.send(update, context, context.t(
        "Add photos or documents to publish with it, or press Done."),
        InlineKeyboardMarkup([[button(context.t("✔ Done"), "dx:files:done")],
                              DISCLOSURES.cancel_row(context)]))
    return FILES


async def file_received(update: Update, context: SunboxContext) -> Next:
    message = update.effective_message
    assert message is not None
    if await refused_too_big(context, message):
        return None
    if message.photo:
        kind, file_id, unique, name = ("photo", message.photo[-1].file_id,
                                       message.photo[-1].file_unique_id, None)
    elif message.document:
        kind, file_id, unique, name = ("document", message.document.file_id,
                                       message.document.file_unique_id,
                                       message.document.file_name)
    else:
        return None
    draft = DRAFT.need(context)
    position = await checked(update, context, steps.add_file(
        context.runtime, context.require_person(), draft.disclosure_id, kind, file_id,
        unique, name))
    if position is not None:
        await message.reply_text(context.t("Added (file {n}). More, or Done?").format(
            n=position), reply_markup=InlineKeyboardMarkup(
            [[button(context.t("✔ Done"), "dx:files:done")]]))
    return None


async def files_done(update: Update, context: SunboxContext) -> Next:
    await DISCLOSURES.pressed(update, context)
    d = await _current(update, context)
    return None if d is None else await show_summary(update, context, d)


async def show_summary(update: Update, context: SunboxContext, d: Disclosure) -> Next:
    t = context.t
    text = full_text(context.runtime, d, t, context.language)
    if d.stage != "draft":
        await send_long(update, context, t("{text}\n\n(It is {stage}; it cannot be edited "
                                           "now.)").format(text=text, stage=t(
                                               STAGE_NAMES.get(d.stage, d.stage))))
        return END
    markup = InlineKeyboardMarkup([
        [button(t("📤 Submit for review"), "dx:submit")],
        [button(t("✏️ Rewrite the text"), "dx:body"),
         button(t("📎 Add files"), "dx:files")],
        DISCLOSURES.cancel_row(context)])
    await send_long(update, context, text, markup)
    return SUMMARY


async def rewrite_pressed(update: Update, context: SunboxContext) -> Next:
    await DISCLOSURES.pressed(update, context)
    d = await _current(update, context)
    return None if d is None else await ask_body(update, context, d)


async def add_files_pressed(update: Update, context: SunboxContext) -> Next:
    await DISCLOSURES.pressed(update, context)
    return await ask_files(update, context)


async def submit_pressed(update: Update, context: SunboxContext) -> Next:
    moved = await checked(update, context, steps.submit(
        context.runtime, context.require_person(), DRAFT.need(context).disclosure_id))
    if moved is None:
        return None
    await DISCLOSURES.pressed(update, context)
    DISCLOSURES.drop(context)
    await DISCLOSURES.send(update, context, context.t(
        "📤 Sent to the committee for review (审定). You will hear when it is approved, "
        "returned or published."))
    return END


async def event_pressed(update: Update, context: SunboxContext) -> Next:
    """Record an event of a temporary item (``dd:ev:``), or open a staged matter
    (``dd:mt:``): its title is asked."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, kind, unit_id, item_id = query.data.split(":", 3)
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(choice=f"{kind}:{unit_id}:{item_id}"))
    if kind == "mt":
        prompt = context.t("The matter's name, one line (e.g. “admission of Zhang San”). Its "
                           "stages are then recorded one by one with /publish.")
    else:
        prompt = context.t("What happened? One line, e.g. “the village committee decided the "
                           "road repair today”. Its disclosure falls due from today.")
    await DISCLOSURES.send(update, context, prompt, DISCLOSURES.cancel_markup(context))
    return EVENT


async def stage_pressed(update: Update, context: SunboxContext) -> Next:
    """``dd:st:<matter>:<stage index>``: a stage of a staged matter was reached; its
    disclosure falls due from now."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, matter_id, index = query.data.split(":")
    matter = await context.runtime.db.read(obligations.matter, int(matter_id))
    stages: tuple[str, ...] = ()
    if matter is not None:
        try:
            stages = context.runtime.config.disclosure_item(matter.item_id).schedule.stages
        except KeyError:
            stages = ()
    if matter is None or not int(index) < len(stages):
        await DISCLOSURES.pressed(update, context)
        return END
    duty = await checked(update, context, duties.reach_stage(
        context.runtime, context.require_person(), matter.id, stages[int(index)]))
    if duty is None:
        return None
    await DISCLOSURES.pressed(update, context)
    return await _due_now(update, context, duty)


async def event_received(update: Update, context: SunboxContext) -> Next:
    kind, unit_id, item_id = DRAFT.need(context).choice.split(":", 2)
    if kind == "mt":
        opened = await checked(update, context, duties.open_matter(
            context.runtime, context.require_person(), unit_id, item_id, typed(update)))
        if opened is None:
            return None
        DISCLOSURES.drop(context)
        await DISCLOSURES.send(update, context, context.t(
            "📂 Opened. Record each stage when it is reached: /publish."))
        return END
    duty = await checked(update, context, duties.record_event(
        context.runtime, context.require_person(), unit_id, item_id, typed(update)))
    if duty is None:
        return None
    return await _due_now(update, context, duty)


async def _due_now(update: Update, context: SunboxContext, duty: ObligationRow) -> Next:
    DISCLOSURES.drop(context)
    await DISCLOSURES.send(update, context, context.t(
        "🗒 Recorded. Its disclosure is due by {due}.").format(
        due=notify.local_time(context.runtime, duty.due_at)), InlineKeyboardMarkup(
        [[button(context.t("📝 Draft it now"), f"dd:new:{duty.id}")]]))
    return END


async def send_long(update: Update, context: SunboxContext, text: str,
                    markup: InlineKeyboardMarkup | None = None) -> None:
    """Send a text that may exceed one message, split at line ends (buttons on the last)."""
    chunks, chunk = [], ""
    for line in text.split("\n"):
        while len(line) > MAX_MESSAGE:
            if chunk:
                chunks.append(chunk)
            chunk = ""
            chunks.append(line[:MAX_MESSAGE])
            line = line[MAX_MESSAGE:]
        if chunk and len(chunk) + 1 + len(line) > MAX_MESSAGE:
            chunks.append(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    chunks.append(chunk or "…")
    for index, part in enumerate(chunks):
        await DISCLOSURES.send(update, context, part, markup if index == len(chunks) - 1
                               else None)
