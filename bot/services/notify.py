"""The one way out: every message to someone other than the person acting.

Messages are rendered here, in the recipient's language, and written to the outbox inside
the caller's transaction (so a change and the messages it owes commit together). The
sender (``bot.outbox``) delivers them afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.i18n import N_, Translate, resolve_language, translator
from bot.runtime import Runtime
from storage import directory, outbox, people
from storage.models import Case, NewAttachment, StaffMember

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


async def chat_language(conn: aiosqlite.Connection, runtime: Runtime, chat_id: int) -> str:
    """The language of whoever is behind a private chat (the default for groups)."""
    person = await people.find_person(conn, chat_id) if chat_id > 0 else None
    default = runtime.config.general.default_language
    if person is None:
        return default
    return resolve_language(person.language, person.telegram_language, default)


async def unit_recipients(
    conn: aiosqlite.Connection, runtime: Runtime, unit_id: str,
    roles: tuple[str, ...] = ("official", "head", "supervision"),
) -> list[Recipient]:
    """Where a unit's cases go: its group chat if it has one, else each member privately."""
    unit = runtime.config.unit(unit_id)
    if unit.group_chat_id is not None:
        return [Recipient(unit.group_chat_id, runtime.config.general.default_language)]
    seen: dict[int, Recipient] = {}
    for member in await directory.unit_staff(conn, unit_id, roles):
        seen.setdefault(member.telegram_id,
                        Recipient(member.telegram_id, staff_language(runtime, member)))
    return list(seen.values())


async def heads_of(conn: aiosqlite.Connection, runtime: Runtime, unit_id: str) -> list[Recipient]:
    """A unit's heads, privately (sign-off requests, new members, escalations)."""
    roles = ("head", "supervision") if runtime.config.unit(unit_id).supervision else ("head",)
    return [Recipient(m.telegram_id, staff_language(runtime, m))
            for m in await directory.unit_staff(conn, unit_id, roles)]


async def supervision_recipients(conn: aiosqlite.Connection, runtime: Runtime
                                 ) -> list[Recipient]:
    unit = runtime.config.supervision_unit()
    return [] if unit is None else await unit_recipients(conn, runtime, unit.id)


def _payload(text: str, buttons: Buttons | None = None,
             attachments: Sequence[NewAttachment] = ()) -> dict[str, Any]:
    return {
        "text": text,
        "buttons": [[list(b) for b in row] for row in buttons] if buttons else None,
        "attachments": [{"kind": a.kind, "file_id": a.file_id} for a in attachments],
    }


async def send(
    conn: aiosqlite.Connection, runtime: Runtime, recipients: Sequence[Recipient],
    render: Render, *, buttons: RenderButtons | None = None,
    attachments: Sequence[NewAttachment] = (), case_id: int | None = None,
    forget: bool = False,
) -> None:
    """Owe each recipient a message rendered in their language.

    ``forget``: once delivered, the stored text is erased (a receipt for a case that must
    keep no link to the chat it came from).
    """
    now = runtime.clock.now()
    for recipient in recipients:
        t = translator(recipient.language)
        payload = _payload(render(t, recipient.language), buttons(t) if buttons else None,
                           attachments)
        if forget:
            payload["forget"] = True
        await outbox.enqueue(conn, now, recipient.chat_id, "message", payload, case_id)


async def to_reporter(
    conn: aiosqlite.Connection, runtime: Runtime, case: Case, render: Render, *,
    buttons: RenderButtons | None = None, attachments: Sequence[NewAttachment] = (),
) -> bool:
    """Tell the reporter, if the case has somewhere to send feedback; False if not.

    An anonymous case's chat is unsealed here; the row (of an anonymous case) forgets it
    and the text once delivered (``storage.outbox``).
    """
    chat_id = runtime.sealer.delivery_chat(case)
    if chat_id is None:
        return False
    language = await chat_language(conn, runtime, chat_id)
    await send(conn, runtime, [Recipient(chat_id, language)], render,
               buttons=buttons, attachments=attachments, case_id=case.id)
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


def reporter_line(t: Translate, case: Case, show_identity: bool) -> str:
    """Who filed the case, as far as the reader is entitled to know."""
    if case.anonymous:
        return t("Reporter: anonymous")
    if not show_identity:
        return t("Reporter: named (identity visible to the handling unit only)")
    if case.reporter_phone:
        return t("Reporter: {name}, phone {phone}").format(
            name=case.reporter_name, phone=case.reporter_phone)
    return t("Reporter: {name}").format(name=case.reporter_name or "—")


def card_text(runtime: Runtime, case: Case, t: Translate, language: str, *,
              show_identity: bool, status: str, attachments: int) -> str:
    """A case as a unit sees it."""
    lines = [
        t("📨 {number} · {kind}").format(number=case.number, kind=t(KIND_NAMES[case.kind])),
        t("Category: {category}").format(
            category=category_name(runtime, case.category_id, language)),
        t("Unit: {unit}").format(unit=unit_name(runtime, case.unit_id, language)),
        t("Channel: {channel}").format(channel=t(CHANNEL_NAMES.get(case.channel, case.channel))),
        t("Filed: {time}").format(time=local_time(runtime, case.created_at)),
        t("Acceptance due: {due}").format(due=local_time(runtime, case.accept_due)),
        t("Answer due: {due}").format(due=local_time(runtime, case.answer_due)),
        reporter_line(t, case, show_identity),
    ]
    if attachments:
        lines.append(t("Attachments: {count} (sent above)").format(count=attachments))
    if case.latitude is not None and case.longitude is not None:
        lines.append(t("Location: {lat:.5f}, {lon:.5f}").format(
            lat=case.latitude, lon=case.longitude))
    lines += ["", case.text, "", t("State: {state}").format(state=t(STATE_NAMES[case.state]))]
    if status:
        lines.append(status)
    return "\n".join(lines)


def card_buttons(t: Translate, case: Case) -> Buttons:
    """What the unit can do with the case in its present state."""
    def b(label: str, action: str) -> tuple[str, str]:
        return (t(label), f"case:{case.id}:{action}")

    if case.state == "new":
        return [[b(N_("✅ Accept"), "accept")],
                [b(N_("↪ Transfer"), "transfer"), b(N_("⏳ More time"), "extend")]]
    if case.state in ("accepted", "reopened", "info_requested"):
        rows = [[b(N_("✍ Answer"), "answer")]]
        if case.state != "info_requested":
            rows.append([b(N_("❓ Ask the reporter"), "ask")])
        rows.append([b(N_("↪ Transfer"), "transfer"), b(N_("⏳ More time"), "extend")])
        return rows
    return []


async def _card_message(
    conn: aiosqlite.Connection, runtime: Runtime, case: Case, language: str,
    status: Render | None, attachments: int,
) -> dict[str, Any]:
    t = translator(language)
    text = card_text(runtime, case, t, language, show_identity=True,
                     status=status(t, language) if status else "", attachments=attachments)
    return _payload(text, card_buttons(t, case))


async def send_cards(
    conn: aiosqlite.Connection, runtime: Runtime, case: Case,
    attachments: Sequence[NewAttachment], status: Render | None = None,
) -> None:
    """Owe every member of the case's unit (or its group) the case's card."""
    now = runtime.clock.now()
    for recipient in await unit_recipients(conn, runtime, case.unit_id):
        payload = await _card_message(conn, runtime, case, recipient.language, status,
                                      len(attachments))
        payload["attachments"] = [{"kind": a.kind, "file_id": a.file_id} for a in attachments]
        payload["unit_id"] = case.unit_id
        await outbox.enqueue(conn, now, recipient.chat_id, "card", payload, case.id)


async def refresh_cards(
    conn: aiosqlite.Connection, runtime: Runtime, case: Case, status: Render | None,
    attachments: int, *, unit_id: str | None = None,
) -> None:
    """Owe every copy of the case's card an edit showing its present state.

    ``unit_id`` names a unit the case has left (after a transfer): its copies lose their
    buttons. By default the copies of the case's present unit are refreshed.
    """
    now = runtime.clock.now()
    unit = unit_id or case.unit_id
    for chat_id in await outbox.card_chats(conn, case.id, unit):
        language = await chat_language(conn, runtime, chat_id)
        payload = await _card_message(conn, runtime, case, language, status, attachments)
        if unit != case.unit_id:
            payload["buttons"] = None
        payload["unit_id"] = unit
        await outbox.enqueue(conn, now, chat_id, "edit_card", payload, case.id)


__all__ = ["Buttons", "Recipient", "Render", "send", "send_cards", "refresh_cards",
           "to_reporter", "unit_recipients", "heads_of", "supervision_recipients"]
