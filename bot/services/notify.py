"""The one way out: every message to someone other than the person acting.

Messages are rendered here, in the recipient's language, and written to the outbox inside
the caller's transaction (so a change and the messages it owes commit together). The
sender (``bot.telegram.outbox``) delivers them afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.i18n import N_, Translate, resolve_language, translator
from bot.runtime import Runtime
from bot.services import case_states, roles
from storage import cases as case_repo
from storage import directory, outbox, people
from storage.models import Case, NewAttachment, StaffMember
from storage.sql import Conn

Buttons = list[list[tuple[str, str]]]
Render = Callable[[Translate, str], str]
RenderButtons = Callable[[Translate], Buttons]

KIND_NAMES = {"suggestion": N_("Suggestion"), "report": N_("Named report")}
CHANNEL_NAMES = {
    "chat": N_("chat"), "box": N_("suggestion box"), "phone": N_("supervision phone line"),
    "visit": N_("visit"), "meeting": N_("meeting"), "supervisor": N_("supervisor finding"),
}
STATE_NAMES = {
    "new": N_("new, waiting to be accepted"),
    "accepted": N_("accepted"),
    "answered": N_("answered"),
    "closed": N_("closed"),
    "info_requested": N_("waiting for the reporter"),
    "reopened": N_("reopened: the reporter was not satisfied"),
    "withdrawn": N_("withdrawn by the reporter"),
}


@dataclass(frozen=True)
class Recipient:
    chat_id: int
    language: str


def staff_language(runtime: Runtime, member: StaffMember) -> str:
    return resolve_language(member.language, member.telegram_language,
                            runtime.config.general.default_language)


def chat_language(conn: Conn, runtime: Runtime, chat_id: int) -> str:
    """The language of whoever is behind a private chat (the default for groups)."""
    person = people.find_person(conn, chat_id) if chat_id > 0 else None
    default = runtime.config.general.default_language
    if person is None:
        return default
    return resolve_language(person.language, person.telegram_language, default)


def unit_recipients(
    conn: Conn, runtime: Runtime, unit_id: str,
    roles: tuple[str, ...] = ("official", "head", "supervision"),
) -> list[Recipient]:
    """Where a unit's cases go: its group chat if it has one, else each member privately."""
    # The database's id, not the configuration's: a group upgraded to a supergroup has moved
    # (``bot.telegram.outbox`` records the move when Telegram says so).
    group = directory.group_chat(conn, unit_id)
    if group is not None:
        return [Recipient(group, runtime.config.general.default_language)]
    seen: dict[int, Recipient] = {}
    for member in directory.unit_staff(conn, unit_id, roles):
        seen.setdefault(member.telegram_id,
                        Recipient(member.telegram_id, staff_language(runtime, member)))
    return list(seen.values())


def heads_of(conn: Conn, runtime: Runtime, unit_id: str) -> list[Recipient]:
    """A unit's heads, privately (sign-off requests, new members, escalations)."""
    roles = ("head", "supervision") if runtime.config.unit(unit_id).supervision else ("head",)
    return [Recipient(m.telegram_id, staff_language(runtime, m))
            for m in directory.unit_staff(conn, unit_id, roles)]


def supervision_recipients(conn: Conn, runtime: Runtime
                                 ) -> list[Recipient]:
    unit = runtime.config.supervision_unit()
    return [] if unit is None else unit_recipients(conn, runtime, unit.id)


def overseer_recipients(conn: Conn, runtime: Runtime,
                        concerns_unit_id: str | None) -> list[Recipient]:
    """Who oversees a case: the supervision group, or for a report about the supervision
    unit's own leadership the unit of ``[routing] above_supervision`` (``roles.overseer``)."""
    unit = roles.overseer(runtime.config, concerns_unit_id)
    return [] if unit is None else unit_recipients(conn, runtime, unit.id)


def _payload(text: str, buttons: Buttons | None = None,
             attachments: Sequence[NewAttachment] = ()) -> dict[str, Any]:
    return {
        "text": text,
        "buttons": [[list(b) for b in row] for row in buttons] if buttons else None,
        "attachments": [{"kind": a.kind, "file_id": a.file_id} for a in attachments],
    }


def send(
    conn: Conn, runtime: Runtime, recipients: Sequence[Recipient],
    render: Render, *, buttons: RenderButtons | None = None,
    attachments: Sequence[NewAttachment] = (), case_id: int | None = None,
    forget: bool = False, now: datetime,
) -> None:
    """Owe each recipient a message rendered in their language.

    ``forget``: once delivered, the stored text is erased (a receipt for a case that must
    keep no link to the chat it came from).
    """
    for recipient in recipients:
        t = translator(recipient.language)
        payload = _payload(render(t, recipient.language), buttons(t) if buttons else None,
                           attachments)
        if forget:
            payload["forget"] = True
        outbox.enqueue(conn, now, recipient.chat_id, "message", payload, case_id)


def to_reporter(
    conn: Conn, runtime: Runtime, case: Case, render: Render, *,
    buttons: RenderButtons | None = None, attachments: Sequence[NewAttachment] = (), now: datetime,
) -> bool:
    """Tell the reporter, if the case has somewhere to send feedback; False if not.

    An anonymous case's chat is unsealed here; the row (of an anonymous case) forgets it
    and the text once delivered (``storage.outbox``).
    """
    chat_id = runtime.sealer.delivery_chat(case)
    if chat_id is None:
        return False
    language = chat_language(conn, runtime, chat_id)
    send(conn, runtime, [Recipient(chat_id, language)], render,
         buttons=buttons, attachments=attachments, case_id=case.id, now=now)
    return True


# ------------------------------------------------------------------------- case cards

def unit_name(runtime: Runtime, unit_id: str, language: str) -> str:
    try:
        return runtime.config.unit(unit_id).name(language)
    except KeyError:
        return unit_id


def category_name(runtime: Runtime, category_id: str, language: str) -> str:
    try:
        return runtime.config.category(category_id).name(language)
    except KeyError:
        return category_id


def local_time(runtime: Runtime, moment: Any) -> str:
    return str(moment.astimezone(runtime.config.general.tz).strftime("%Y-%m-%d %H:%M"))


def reporter_line(t: Translate, case: Case, show_identity: bool, *, in_group: bool = False
                  ) -> str:
    """Who filed the case, as far as the reader is entitled to know (a group never is)."""
    if case.anonymous:
        return t("Reporter: anonymous")
    if in_group:
        return t("Reporter: named. Members entitled to see who it is: send /case {number} "
                 "to me in a private chat.").format(number=case.number)
    if not show_identity:
        return t("Reporter: named (identity visible to the handling unit only)")
    if case.reporter_phone:
        return t("Reporter: {name}, phone {phone}").format(
            name=case.reporter_name, phone=case.reporter_phone)
    return t("Reporter: {name}").format(name=case.reporter_name or "—")


#: Starts every line of a resident's text on a card, so that no line of it can pass for one
#: of the card's own (a typed "Reporter: …" or "State: answered" stays visibly quoted).
QUOTE = "┃ "


def quoted(text: str) -> str:
    """``text`` set apart: each of its lines (by any line break Telegram shows) quoted."""
    return "\n".join(QUOTE + line for line in (text.splitlines() or [""]))


def card_text(runtime: Runtime, case: Case, t: Translate, language: str, *,
              show_identity: bool, status: str, attachments: int,
              in_group: bool = False) -> str:
    """A case as a unit sees it (``in_group``: in a unit's group chat)."""
    lines = [
        t("📨 {number} · {kind}").format(number=case.number, kind=t(KIND_NAMES[case.kind])),
        t("Category: {category}").format(
            category=category_name(runtime, case.category_id, language)),
        t("Unit: {unit}").format(unit=unit_name(runtime, case.unit_id, language)),
        t("Channel: {channel}").format(channel=t(CHANNEL_NAMES.get(case.channel, case.channel))),
        t("Filed: {time}").format(time=local_time(runtime, case.created_at)),
        t("Acceptance due: {due}").format(due=local_time(runtime, case.accept_due)),
        t("Answer due: {due}").format(due=local_time(runtime, case.answer_due)),
        reporter_line(t, case, show_identity, in_group=in_group),
    ]
    if attachments:
        lines.append(t("Attachments: {count} (sent above)").format(count=attachments))
    if case.latitude is not None and case.longitude is not None:
        lines.append(t("Location: {lat:.5f}, {lon:.5f}").format(
            lat=case.latitude, lon=case.longitude))
    lines += ["", quoted(case.text), "",
              t("State: {state}").format(state=t(STATE_NAMES[case.state]))]
    if status:
        lines.append(status)
    return "\n".join(lines)


def card_buttons(t: Translate, case: Case) -> Buttons:
    """What the unit can do with the case in its present state: the actions the state
    machine allows from it (``bot.services.case_states``), one row each, the moves last."""
    def b(label: str, action: str) -> tuple[str, str]:
        return (t(label), f"case:{case.id}:{action}")

    def may(action: str) -> bool:
        return case_states.may(action, case.state)

    rows = [[b(label, action)] for label, action in (
        (N_("✅ Accept"), "accept"), (N_("✍ Answer"), "answer"),
        (N_("❓ Ask the reporter"), "ask")) if may(action)
        and (action != "ask" or case.reachable)]  # no question to a "no replies" case
    moves = [b(label, action) for label, action in (
        (N_("↪ Transfer"), "transfer"), (N_("⏳ More time"), "extend")) if may(action)]
    return [*rows, moves] if moves else rows


def _reader(conn: Conn, case: Case, unit_id: str, chat_id: int
                  ) -> tuple[bool, bool]:
    """Whether whoever reads a copy of the case's card (sent to ``unit_id``) in ``chat_id``
    may still hold it, and may see a named reporter's identity: read from the database now
    (``roles.holds_card``, ``roles.sees_identity``). A group's members are not known: it
    holds the card and never sees an identity."""
    if chat_id < 0:
        return True, False
    memberships = directory.memberships_of(conn, chat_id)
    return roles.holds_card(memberships, unit_id), roles.sees_identity(memberships, case)


def _card_message(
    runtime: Runtime, case: Case, language: str, status: Render | None, attachments: int, *,
    show_identity: bool, in_group: bool,
) -> dict[str, Any]:
    t = translator(language)
    text = card_text(runtime, case, t, language, show_identity=show_identity,
                     status=status(t, language) if status else "", attachments=attachments,
                     in_group=in_group)
    return _payload(text, card_buttons(t, case))


def send_cards(
    conn: Conn, runtime: Runtime, case: Case,
    attachments: Sequence[NewAttachment], status: Render | None = None, *, now: datetime,
) -> None:
    """Owe every member of the case's unit (or its group) the case's card, each rendered
    for its reader: a named reporter's identity only to those entitled to it."""
    for recipient in unit_recipients(conn, runtime, case.unit_id):
        in_group = recipient.chat_id < 0
        identity = False
        if not case.anonymous:
            _, identity = _reader(conn, case, case.unit_id, recipient.chat_id)
        payload = _card_message(runtime, case, recipient.language, status, len(attachments),
                                show_identity=identity, in_group=in_group)
        payload["attachments"] = [{"kind": a.kind, "file_id": a.file_id} for a in attachments]
        payload["unit_id"] = case.unit_id
        outbox.enqueue(conn, now, recipient.chat_id, "card", payload, case.id)


def refresh_cards(
    conn: Conn, runtime: Runtime, case: Case, status: Render | None,
    attachments: int, *, unit_id: str | None = None, now: datetime,
) -> None:
    """Owe every copy of the case's card an edit showing its present state.

    ``unit_id`` names a unit the case has left (after a transfer): its copies lose their
    buttons. By default the copies of the case's present unit are refreshed. Each reader's
    roles are read again: whoever no longer holds a role in the unit gets one last edit
    saying the case is no longer available, and no edit after it.
    """
    unit = unit_id or case.unit_id
    for chat_id in outbox.card_chats(conn, case.id, unit):
        language = chat_language(conn, runtime, chat_id)
        holds, identity = _reader(conn, case, unit, chat_id)
        if not holds:
            _withdraw_card(conn, runtime, case, unit, chat_id, language, now=now)
            continue
        payload = _card_message(runtime, case, language, status, attachments,
                                show_identity=identity, in_group=chat_id < 0)
        if unit != case.unit_id:
            payload["buttons"] = None
        payload["unit_id"] = unit
        outbox.enqueue(conn, now, chat_id, "edit_card", payload, case.id)


def _withdraw_card(
    conn: Conn, runtime: Runtime, case: Case, unit_id: str, chat_id: int,
    language: str, *, now: datetime,
) -> bool:
    """A chat loses its copy of a case's card: a copy still owed never goes, a delivered one
    is edited once to say so, then forgotten (no later edit reaches it)."""
    message_ids = outbox.drop_card(conn, case.id, unit_id, chat_id)
    if not message_ids:
        return False
    t = translator(language)
    payload = _payload(t("🔒 {number}: this case is no longer available to you.").format(
        number=case.number))
    payload["unit_id"] = unit_id
    payload["message_ids"] = message_ids
    outbox.enqueue(conn, now, chat_id, "edit_card", payload, case.id)
    return True


def withdraw_cards(conn: Conn, runtime: Runtime, telegram_id: int, *, now: datetime) -> int:
    """After a role is revoked: every card the person holds for a unit where they no longer
    hold a role is withdrawn (``_withdraw_card``). Returns how many were edited."""
    memberships = directory.memberships_of(conn, telegram_id)
    language = chat_language(conn, runtime, telegram_id)
    edited = 0
    for case_id, unit_id in outbox.cards_in_chat(conn, telegram_id):
        if roles.holds_card(memberships, unit_id):
            continue
        case = case_repo.get_case(conn, case_id)
        if case is not None and _withdraw_card(conn, runtime, case, unit_id,
                                               telegram_id, language, now=now):
            edited += 1
    return edited


__all__ = ["Buttons", "Recipient", "Render", "send", "send_cards", "refresh_cards",
           "withdraw_cards", "to_reporter", "unit_recipients", "heads_of", "supervision_recipients",
           "overseer_recipients"]
