"""Reading the register in chat: ``/catalog`` (a unit's items, their cadence and when each was
last published), ``/disclosures`` (a unit's archive, paged and searched by keyword), one
disclosure with its forms, versions and (for its unit and those who watch it) trail and
opinions; ``/opinions`` for officials, with one reply to all and a pre-disclosure's
rulings."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.i18n import N_
from bot.services import notify
from bot.services.acting import Actor
from bot.services.disclosures import archive, content
from bot.services.disclosures.content import DisclosureError
from bot.services.disclosures.texts import FORM_NAMES, full_text
from handlers.context import SunboxContext, answer_query
from handlers.disclosures_draft import send_long
from handlers.disclosures_flow import (
    ANSWER_ALL,
    DISCLOSURES,
    DRAFT,
    REASON,
    DisclosureDraft,
    checked,
    pressed_id,
    refusal_text,
    typed,
)
from handlers.flow import END, Next
from handlers.keyboards import button
from storage.models import Membership

CADENCES = {"monthly": N_("monthly"), "quarterly": N_("quarterly"),
            "half_yearly": N_("half-yearly"), "yearly": N_("yearly"),
            "staged": N_("stage by stage"), "temporary": N_("as events happen")}
EVENT_NAMES = {
    "drafted": N_("drafted"), "submitted": N_("submitted for review"),
    "approved": N_("approved"), "reviewed": N_("review passed"), "returned": N_("returned"),
    "signed": N_("signed"), "published": N_("published"), "posted": N_("posted"),
    "post_failed": N_("could not be posted"), "form_confirmed": N_("form confirmed"),
    "obligation_met": N_("obligation met"), "opinion_marked": N_("opinion ruled on"),
}
ADOPTION_NAMES = content.ADOPTION_NAMES


async def _roles(context: SunboxContext) -> list[Membership]:
    from bot.services import roles
    return await roles.memberships(context.runtime, context.require_person().telegram_id)


async def _unit_of(update: Update, context: SunboxContext, args: list[str]) -> str | None:
    """The unit named in the command, else the person's own; asks when neither."""
    config = context.runtime.config
    message = update.effective_message
    assert message is not None
    if args:
        try:
            return config.unit(args[0].lower()).id
        except KeyError:
            pass
    own = [m.unit_id for m in await _roles(context)]
    if own and not args:
        return own[0]
    units = [u for u in config.units if config.disclosure_items_of(u.id)]
    rows = [[button(u.name(context.language), f"dl:{u.id}:0")] for u in units[:30]]
    await message.reply_text(context.t("Which unit's register?"),
                             reply_markup=InlineKeyboardMarkup(rows) if rows else None)
    return None


async def catalog_command(update: Update, context: SunboxContext) -> None:
    """/catalog [unit]: what the unit publishes, how often, when last."""
    unit_id = await _unit_of(update, context, list(context.args or []))
    if unit_id is None:
        return
    runtime, t, lang = context.runtime, context.t, context.language
    lines = [t("📚 Disclosure catalog of {unit}:").format(
        unit=notify.unit_name(runtime, unit_id, lang))]
    for line in await archive.catalog(runtime, unit_id):
        item = line.item
        cadence = t(CADENCES[item.schedule.period or item.schedule.kind])
        last = (notify.local_time(runtime, line.last_published) if line.last_published
                else t("never"))
        forms = ", ".join(t(FORM_NAMES[f]) for f in item.forms)
        lines.append(t("• {item} — {cadence}; forms: {forms}; last published: {last}").format(
            item=item.name(lang), cadence=cadence, forms=forms, last=last))
        if line.next_due:
            lines.append(t("  next due: {due}").format(
                due=notify.local_time(runtime, line.next_due)))
    if len(lines) == 1:
        lines.append(t("(no items)"))
    assert update.effective_message is not None
    await update.effective_message.reply_text("\n".join(lines), reply_markup=InlineKeyboardMarkup(
        [[button(t("🗂 Browse the archive"), f"dl:{unit_id}:0")]]))


async def disclosures_command(update: Update, context: SunboxContext) -> None:
    """/disclosures [unit] [keyword] [aspect] [period]: a unit's archive, newest first, or
    what matches (``archive.parse_filters``: e.g. ``低保 2026-11``, ``party_building 2026``)."""
    args = list(context.args or [])
    unit_id = await _unit_of(update, context, args)
    if unit_id is None:
        return
    if args and args[0].lower() == unit_id:
        args = args[1:]
    await _show_page(update, context, unit_id, " ".join(args), 0)


async def page_pressed(update: Update, context: SunboxContext) -> None:
    """``dl:<unit>:<page>`` (no keyword) or ``dq:<unit>:<page>`` (the last keyword)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    kind, unit_id, page = query.data.split(":")
    await answer_query(query)
    keyword = (context.user_data or {}).get("register_query", "") if kind == "dq" else ""
    await _show_page(update, context, unit_id, keyword, int(page))


async def _show_page(update: Update, context: SunboxContext, unit_id: str, keyword: str,
                     page: int) -> None:
    runtime, t, lang = context.runtime, context.t, context.language
    chat = update.effective_chat
    assert chat is not None
    asked = archive.parse_filters(runtime, keyword)
    try:
        found = await archive.browse(runtime, context.require_person().telegram_id, unit_id,
                                     query=asked.keyword, aspect=asked.aspect,
                                     period=asked.period, page=page)
    except KeyError:
        await context.bot.send_message(chat.id, t("No such unit."))
        return
    if context.user_data is not None:
        context.user_data["register_query"] = keyword
    head = (t("🔎 “{q}” in the register of {unit}, page {page}:") if keyword
            else t("🗂 Register of {unit}, page {page}:")).format(
        q=keyword, unit=notify.unit_name(runtime, unit_id, lang), page=page + 1)
    rows: list[list[InlineKeyboardButton]] = [
        [button(f"{d.number} · {d.title}"[:60], f"dv:{d.id}")] for d in found.disclosures]
    nav = []
    prefix = "dq" if keyword else "dl"
    if page > 0:
        nav.append(button(t("◀ Newer"), f"{prefix}:{unit_id}:{page - 1}"))
    if found.has_more:
        nav.append(button(t("Older ▶"), f"{prefix}:{unit_id}:{page + 1}"))
    if nav:
        rows.append(nav)
    text = head if found.disclosures else t("{head}\nNothing found.").format(head=head)
    if found.partial:
        text = t("{text}\n(A one-character search reads only the {count} newest disclosures; "
                 "add a character to search them all.)").format(
            text=text, count=archive.SCAN_BOUND)
    await context.bot.send_message(chat.id, text, reply_markup=InlineKeyboardMarkup(rows)
                                   if rows else None)


async def view_pressed(update: Update, context: SunboxContext) -> None:
    """``dv:<id>``: one disclosure in full."""
    query = update.callback_query
    assert query is not None
    try:
        found = await archive.details(context.runtime, context.require_person().telegram_id,
                                      pressed_id(update))
    except DisclosureError as error:
        await answer_query(query, refusal_text(context, error), show_alert=True)
        return
    await answer_query(query)
    runtime, t = context.runtime, context.t
    d = found.disclosure
    lines = [full_text(runtime, d, t, context.language), ""]
    for form in found.forms:
        mark = "✅" if form.confirmed_at else "⏳"
        lines.append(f"{mark} {t(FORM_NAMES[form.form])}")
    if found.earlier is not None:
        lines.append(t("Replaces {number}.").format(number=found.earlier.number))
    for later in found.later:
        if later.number:
            lines.append(t("Replaced by {number}.").format(number=later.number))
    if d.content_hash:
        lines.append(t("Content hash: {hash}").format(hash=d.content_hash[:16]))
    rows = []
    if found.staff:
        for event in found.events:
            lines.append(t("· {when} {what} ({role})").format(
                when=notify.local_time(runtime, event.at),
                what=t(EVENT_NAMES.get(event.type, event.type)), role=event.role or "—"))
        for opinion in found.opinions:
            ruling = t(ADOPTION_NAMES[opinion.adoption]) if opinion.adoption else "—"
            lines.append(t("💬 {number}: {state}; {ruling}").format(
                number=opinion.number, state=opinion.state, ruling=ruling))
            if d.pre and opinion.adoption is None:
                rows.append([button(t("{number}: {ruling}").format(
                    number=opinion.number, ruling=t(ADOPTION_NAMES[a])),
                    f"dm:{a}:{opinion.case_id}") for a in ADOPTION_NAMES])
        if d.number:
            rows.append([button(t("✏️ Publish a corrected version") if not d.pre
                                else t("✅ Publish the final version"), f"dd:fix:{d.id}")])
        if found.opinions:
            rows.append([button(t("💬 Reply to all opinions"), f"do:all:{d.id}")])
        if any(p for p in found.forms if p.form == "channel" and not p.confirmed_at):
            rows.append([button(t("🔁 Post again"), f"dp:retry:{d.id}")])
    await send_long(update, context, "\n".join(lines),
                    InlineKeyboardMarkup(rows) if rows else None)


async def opinions_command(update: Update, context: SunboxContext) -> None:
    """/opinions: the opinions on the units' disclosures, grouped by disclosure."""
    groups = await archive.grouped(context.runtime, context.require_person())
    t = context.t
    message = update.effective_message
    assert message is not None
    if not groups:
        await message.reply_text(t("No opinions on your units' disclosures."))
        return
    rows = [[button(t("{number} · {title}: {n} ({open} open)").format(
        number=d.number, title=d.title[:30], n=n, open=still), f"dv:{d.id}")]
        for d, n, still in groups[:20]]
    await message.reply_text(t("Opinions by disclosure:"), reply_markup=InlineKeyboardMarkup(
        rows))


async def answer_all_pressed(update: Update, context: SunboxContext) -> Next:
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(target=pressed_id(update)))
    await DISCLOSURES.send(update, context, context.t(
        "Write one reply; it goes to everyone who gave an opinion on it, as the answer of "
        "their case."), DISCLOSURES.cancel_markup(context))
    return ANSWER_ALL


async def answer_all_received(update: Update, context: SunboxContext) -> Next:
    text = typed(update)
    limits = context.runtime.config.limits
    message = update.effective_message
    assert message is not None
    if not limits.text_min_chars <= len(text) <= limits.text_max_chars:
        await message.reply_text(context.t(
            "Please write a text of {min} to {max} characters.").format(
            min=limits.text_min_chars, max=limits.text_max_chars))
        return None
    user = update.effective_user
    assert user is not None
    actor = Actor(context.require_person(), user.full_name)
    count = await checked(update, context, archive.answer_all(
        context.runtime, actor, DRAFT.need(context).target, text))
    if count is None:
        return None
    DISCLOSURES.drop(context)
    await message.reply_text(context.tn("✅ Answered {n} opinion.", "✅ Answered {n} opinions.",
                                        count).format(n=count))
    return END


async def mark_pressed(update: Update, context: SunboxContext) -> Next:
    """``dm:<ruling>:<case>``: the reason is asked."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, ruling, _ = query.data.split(":")
    if ruling not in ADOPTION_NAMES:
        await answer_query(query, context.t("This button is no longer valid."), show_alert=True)
        return None
    await DISCLOSURES.pressed(update, context)
    DRAFT.put(context, DisclosureDraft(target=pressed_id(update), choice=ruling))
    await DISCLOSURES.send(update, context, context.t(
        "The reason, published with the final version:"), DISCLOSURES.cancel_markup(context))
    return REASON


async def reason_received(update: Update, context: SunboxContext) -> Next:
    draft = DRAFT.need(context)
    done = await checked(update, context, archive.mark(
        context.runtime, context.require_person(), draft.target, draft.choice, typed(update)))
    if done is None:
        return None
    DISCLOSURES.drop(context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(context.t("✅ Ruling recorded."))
    return END
