"""/inbox and /case: the open cases of a reader's units, and one case with its history.

Every command and press reads the reader's roles again (``bot.services.inbox``): a button
names a filter, a page or a case id, never a right. A case the reader may not see gets the
same answer as a number that does not exist.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import N_, Translate
from bot.services import inbox, notify, roles
from bot.services.disclosures import duties
from bot.services.inbox import CaseView, InboxPage
from handlers.context import SunboxContext, answer_query, set_text
from handlers.keyboards import button, pager_row
from handlers.render import case_card_for_reporter, local_time
from handlers.uploads import send_kept
from storage.models import Case, CaseEvent, Membership

log = logging.getLogger(__name__)

MAX_MESSAGE = 4000
MAX_DETAIL = 300

FILTER_NAMES = {
    "all": N_("all open cases"),
    "new": N_("new"),
    "accepted": N_("accepted"),
    "overdue": N_("overdue"),
}
FILTER_LABELS = {
    "all": N_("All ({count})"),
    "new": N_("New ({count})"),
    "accepted": N_("Accepted ({count})"),
    "overdue": N_("⚠ Overdue ({count})"),
}
STATE_NAMES = {
    "new": N_("new"),
    "accepted": N_("accepted"),
    "info_requested": N_("waiting for the reporter"),
    "reopened": N_("reopened"),
}
DEADLINES = {
    ("accept", False): N_("accept by {due}"),
    ("accept", True): N_("⚠ accept by {due}: overdue"),
    ("answer", False): N_("answer by {due}"),
    ("answer", True): N_("⚠ answer by {due}: overdue"),
}
EVENT_NAMES = {
    "filed": N_("filed"),
    "followup": N_("the reporter added information"),
    "bound": N_("linked to the resident's Telegram account"),
    "extension_requested": N_("more time asked for"),
    "extension_granted": N_("more time granted"),
    "extension_refused": N_("more time refused"),
    "reminder": N_("deadline reminder sent"),
    "breach": N_("deadline passed: the unit head was told"),
    "escalation": N_("overdue: escalated to the supervision group"),
    "withdrawn": N_("withdrawn by the reporter"),
    "accepted": N_("accepted"),
    "answer_submitted": N_("answer written, waiting for sign-off"),
    "answer_returned": N_("answer returned for rework"),
    "signed_off": N_("answer signed off"),
    "answered": N_("answered"),
    "transferred": N_("transferred"),
    "transfer_refused": N_("transfer refused: the report concerns that unit"),
    "escalated": N_("passed to the supervision group"),
    "question": N_("the reporter was asked"),
    "reply": N_("the reporter replied"),
    "rated": N_("the reporter rated the answer"),
    "rating_comment": N_("the reporter commented on the answer"),
    "closed": N_("closed"),
    "redacted": N_("personal data removed"),
    "routed_up": N_("its unit has no official or head: sent to the unit above"),
    "moved_up": N_("its unit lost its last official or head: moved to the unit above"),
    "deadline_recomputed": N_("deadline counted again on the official calendar"),
}
#: Marks a case whose deadline was counted on a guessed calendar (``[calendar]``).
REVIEW_MARK = "🗓"
ROLE_NAMES = {
    "official": N_("an official"),
    "head": N_("the unit head"),
    "supervision": N_("the supervision group"),
    "clerk": N_("the mailbox clerk"),
    "admin": N_("the administrator"),
}
RATING_NAMES = {
    "satisfied": N_("satisfied"),
    "basically": N_("basically satisfied"),
    "unsatisfied": N_("not satisfied"),
}
# Events whose payload text is part of the case (what the reporter or the unit wrote).
TEXT_EVENTS = ("followup", "question", "reply", "rating_comment")


# ------------------------------------------------------------------------------ the list

def _case_line(context: SunboxContext, case: Case, page: InboxPage) -> str:
    t = context.t
    which, due = inbox.due(case)
    deadline = t(DEADLINES[which, due < page.now]).format(
        due=local_time(context.runtime, due))
    line = t("{number} · {kind} · {unit} · {state} · {deadline}").format(
        number=case.number, kind=t(notify.KIND_NAMES[case.kind]),
        unit=notify.unit_name(context.runtime, case.unit_id, context.language),
        state=t(STATE_NAMES.get(case.state, case.state)), deadline=deadline,
    )
    return f"{REVIEW_MARK} {line}" if case.id in page.review else line


def _list_view(context: SunboxContext, page: InboxPage) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    lines = [
        t("📥 Inbox: {filter}, page {page}/{pages}").format(
            filter=t(FILTER_NAMES[page.filter]), page=page.page + 1, pages=page.pages),
        t("Open: {all} · new: {new} · accepted: {accepted} · overdue: {overdue}").format(
            **page.counts),
        "",
    ]
    if page.cases:
        lines += [_case_line(context, case, page) for case in page.cases]
        if page.review:
            lines += ["", t(
                "{mark} Deadline counted on Monday–Friday: the official calendar does not "
                "cover its year yet. Check it; it is counted again once [calendar] or the "
                "chinesecalendar package covers the year.").format(mark=REVIEW_MARK)]
    else:
        lines.append(t("No cases here."))
    rows: list[list[InlineKeyboardButton]] = []
    for case in page.cases:
        label = f"⚠ {case.number}" if inbox.is_overdue(case, page.now) else case.number
        rows.append([button(label, f"inb:open:{case.id}")])
    nav = pager_row(context, page.page, page.pages, f"inb:f:{page.filter}:")
    if nav:
        rows.append(nav)
    filter_buttons = []
    for name in inbox.FILTERS:
        label = t(FILTER_LABELS[name]).format(count=page.counts[name])
        if name == page.filter:
            label = f"✓ {label}"
        filter_buttons.append(button(label, f"inb:f:{name}:0"))
    rows += [filter_buttons[:2], filter_buttons[2:]]
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def _staff(context: SunboxContext) -> list[Membership] | None:
    """The reader's roles now, if any of them has an inbox."""
    memberships = await roles.memberships(context.runtime, context.require_person().telegram_id)
    return memberships if inbox.is_staff(memberships) else None


def _refusal(context: SunboxContext) -> str:
    return context.t(
        "The inbox is for officials, unit heads and the supervision group. "
        "To follow your own cases, send /my."
    )


def _remember(context: SunboxContext, page: InboxPage) -> None:
    """Where "back to the inbox" leads from a case opened on this page."""
    if context.user_data is not None:
        context.user_data["inbox"] = [page.filter, page.page]


async def inbox_command(update: Update, context: SunboxContext) -> None:
    """/inbox: the first page of all open cases the reader must see to."""
    message = update.effective_message
    assert message is not None
    memberships = await _staff(context)
    if memberships is None:
        await message.reply_text(_refusal(context))
        return
    page = await inbox.inbox_page(context.runtime, memberships, "all", 0)
    _remember(context, page)
    text, markup = _list_view(context, page)
    await message.reply_text(text, reply_markup=markup)
    if any(m.role == "supervision" for m in memberships):
        # 谁公开不到位就公开谁: the register's overdue and incomplete disclosures too.
        lines = await duties.watched(context.runtime, context.t, context.language)
        if lines:
            await message.reply_text("\n".join(lines)[:4000])


async def _private_query(update: Update, context: SunboxContext) -> bool:
    """A press on one of the bot's messages in a private chat; anything else is refused."""
    query = update.callback_query
    assert query is not None
    message = query.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        await answer_query(query, context.t("This button is no longer valid."), show_alert=True)
        return False
    return True


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await set_text(query, text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def filter_page(update: Update, context: SunboxContext) -> None:
    """A filter or another page, in place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await _private_query(update, context):
        return
    memberships = await _staff(context)
    if memberships is None:
        await answer_query(query, _refusal(context), show_alert=True)
        return
    _, _, name, number = query.data.split(":")
    await answer_query(query)
    page = await inbox.inbox_page(context.runtime, memberships, name, int(number))
    _remember(context, page)
    await _edit(update, *_list_view(context, page))


# ------------------------------------------------------------------------------ one case

def _actor(t: Translate, view: CaseView, event: CaseEvent) -> str:
    """Who did it, as far as staff may know: never a reporter as a person."""
    if event.actor_role == "reporter":
        return t("reporter")
    if event.actor_role == "system":
        return t("Sunbox")
    if event.actor_role in inbox.NAMED_ACTOR_ROLES:
        name = view.actors.get(event.actor_person_id or 0)
        return name or t(ROLE_NAMES[event.actor_role])
    return "—"


def _detail(context: SunboxContext, event: CaseEvent) -> str:
    t = context.t
    payload = event.payload
    text = ""
    if event.type in TEXT_EVENTS:
        text = t("(removed)") if event.redacted else str(payload.get("text") or "")
    elif event.type in ("transferred", "escalated", "transfer_refused", "routed_up",
                        "moved_up") and payload.get("to"):
        text = t("to {unit}").format(
            unit=notify.unit_name(context.runtime, str(payload["to"]), context.language))
    elif event.type == "rated" and payload.get("rating") in RATING_NAMES:
        text = t(RATING_NAMES[payload["rating"]])
    if len(text) > MAX_DETAIL:
        text = text[: MAX_DETAIL - 1] + "…"
    return text


def _history_line(context: SunboxContext, view: CaseView, event: CaseEvent) -> str:
    t = context.t
    name = EVENT_NAMES.get(event.type)
    what = t(name) if name else event.type
    when = local_time(context.runtime, event.at)
    who = _actor(t, view, event)
    detail = _detail(context, event)
    if detail:
        return t("{time} — {what} — {who}: {text}").format(
            time=when, what=what, who=who, text=detail)
    return t("{time} — {what} — {who}").format(time=when, what=what, who=who)


def _fit(context: SunboxContext, card: str, history: list[str]) -> str:
    """The card and as much of the history as fits, the newest entries kept."""
    t = context.t
    kept = list(history)
    dropped = 0

    def render() -> str:
        lines = [card, "", t("History:")]
        if dropped:
            lines.append(context.tn("… {count} earlier entry not shown",
                                    "… {count} earlier entries not shown",
                                    dropped).format(count=dropped))
        return "\n".join(lines + kept)

    text = render()
    while len(text) > MAX_MESSAGE and kept:
        kept.pop(0)
        dropped += 1
        text = render()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _staff_text(context: SunboxContext, view: CaseView, *, attachments_sent: bool) -> str:
    """The unit's card (as far as the reader may see it) and the history."""
    t = context.t
    runtime = context.runtime
    case = view.case
    status: list[str] = []
    if case.state in inbox.INBOX_STATES and inbox.is_overdue(case, runtime.clock.now()):
        status.append(t("⚠ Overdue: the deadline was {due}.").format(
            due=local_time(runtime, inbox.due(case)[1])))
    if not view.handles:
        status.append(t("Read only: the case is handled by {unit}.").format(
            unit=notify.unit_name(runtime, case.unit_id, context.language)))
    if view.attachments and not attachments_sent:
        status.append(t("Attachments: {count}; send /case {number} to receive them.").format(
            count=len(view.attachments), number=case.number))
    card = notify.card_text(
        runtime, case, t, context.language, show_identity=view.show_identity,
        status="\n".join(status), attachments=len(view.attachments) if attachments_sent else 0,
    )
    return _fit(context, card, [_history_line(context, view, e) for e in view.events])


def _action_rows(context: SunboxContext, view: CaseView) -> list[list[InlineKeyboardButton]]:
    if not view.handles:
        return []
    return [[button(label, data) for label, data in row]
            for row in notify.card_buttons(context.t, view.case)]


def _reporter_text(context: SunboxContext, view: CaseView) -> str:
    text = case_card_for_reporter(context.runtime, context.t, view.case, view.events,
                                  len(view.attachments), context.language)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


async def case_opened(update: Update, context: SunboxContext) -> None:
    """A case from the inbox list, in place (its files come with /case)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not await _private_query(update, context):
        return
    assert update.effective_chat is not None
    view = await inbox.open_case(
        context.runtime, context.require_person(), update.effective_chat.id,
        case_id=int(query.data.removeprefix("inb:open:")),
    )
    if view is None:
        await answer_query(query, context.t("This case was not found."), show_alert=True)
        return
    await answer_query(query)
    if view.as_reporter:
        await _edit(update, _reporter_text(context, view), None)
        return
    rows = _action_rows(context, view)
    back = (context.user_data or {}).get("inbox") or ["all", 0]
    try:
        name, number = str(back[0]), int(back[1])
    except (TypeError, ValueError, IndexError):
        name, number = "all", 0
    if name not in inbox.FILTERS:
        name = "all"
    rows.append([button(context.t("« Back to the inbox"), f"inb:f:{name}:{number}")])
    await _edit(update, _staff_text(context, view, attachments_sent=False),
                InlineKeyboardMarkup(rows))


async def case_command(update: Update, context: SunboxContext) -> None:
    """/case NUMBER: one case with its history (and, for staff, its files again)."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None
    t = context.t
    if not context.args:
        await message.reply_text(
            t("Send /case with a case number, for example: /case S-2026-00042"))
        return
    number = inbox.parse_number(" ".join(context.args))
    view = None
    if number is not None:
        view = await inbox.open_case(context.runtime, context.require_person(), chat.id,
                                     number=number)
    if view is None:
        await message.reply_text(t("This case was not found."))
        return
    if view.as_reporter:
        await message.reply_text(_reporter_text(context, view))
        return
    for attachment in view.attachments:
        try:
            await send_kept(context, chat.id, attachment.kind, attachment.file_id)
        except BadRequest:
            log.warning("could not send an attachment of case %s again", view.case.id,
                        exc_info=True)
    rows = _action_rows(context, view)
    await message.reply_text(_staff_text(context, view, attachments_sent=True),
                             reply_markup=InlineKeyboardMarkup(rows) if rows else None)


def register(application: Application) -> None:
    """Install the handlers of this module."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("inbox", inbox_command, filters=private))
    application.add_handler(CommandHandler("case", case_command, filters=private))
    application.add_handler(CallbackQueryHandler(
        filter_page, pattern=r"^inb:f:(all|new|accepted|overdue):\d{1,5}$"))
    application.add_handler(CallbackQueryHandler(case_opened, pattern=r"^inb:open:\d{1,18}$"))
