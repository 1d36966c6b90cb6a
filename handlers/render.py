"""Text for cases as a reporter sees them, in the reader's language."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import N_, Translate
from bot.runtime import Runtime
from storage.models import Case, CaseEvent

KIND_NAMES = {"suggestion": N_("Suggestion"), "report": N_("Named report")}
IDENTITY_NAMES = {
    "anonymous": N_("Anonymous (replies come to this chat; officials never see who you are)"),
    "no_feedback": N_("Anonymous, no replies (nothing links the case to you)"),
    "signed": N_("Signed with my name"),
    "named": N_("Named report: real name and phone"),
}
STATE_NAMES = {
    "new": N_("submitted, waiting for the unit"),
    "accepted": N_("accepted by the unit"),
    "answered": N_("answered"),
    "closed": N_("closed"),
    "transferred": N_("transferred"),
    "info_requested": N_("waiting for your reply"),
    "reopened": N_("reopened"),
    "withdrawn": N_("withdrawn"),
}
EVENT_NAMES = {
    "filed": N_("submitted"),
    "followup": N_("you added information"),
    "withdrawn": N_("you withdrew the case"),
    "bound": N_("linked to your Telegram account"),
}


def local_time(runtime: Runtime, moment: datetime) -> str:
    """A moment as the county's local date and time."""
    return moment.astimezone(runtime.config.general.tz).strftime("%Y-%m-%d %H:%M")


def unit_name(runtime: Runtime, unit_id: str, language: str) -> str:
    """A unit's name in a language (its id if it is no longer configured)."""
    try:
        return runtime.config.unit(unit_id).name(language)
    except KeyError:
        return unit_id


def category_name(runtime: Runtime, category_id: str, language: str) -> str:
    """A category's name in a language (its id if it is no longer configured)."""
    try:
        return runtime.config.category(category_id).name(language)
    except KeyError:
        return category_id


def case_line(runtime: Runtime, t: Translate, case: Case, language: str) -> str:
    """One line of a reporter's case list."""
    return t("{number} · {kind} · {state} · answer due {due}").format(
        number=case.number, kind=t(KIND_NAMES[case.kind]), state=t(STATE_NAMES[case.state]),
        due=local_time(runtime, case.answer_due),
    )


def case_card_for_reporter(
    runtime: Runtime, t: Translate, case: Case, events: list[CaseEvent], attachments: int,
    language: str,
) -> str:
    """A reporter's view of one of their cases, with its history."""
    lines = [
        t("Case {number}").format(number=case.number),
        t("Kind: {kind}").format(kind=t(KIND_NAMES[case.kind])),
        t("Category: {category}").format(
            category=category_name(runtime, case.category_id, language)),
        t("Unit: {unit}").format(unit=unit_name(runtime, case.unit_id, language)),
        t("State: {state}").format(state=t(STATE_NAMES[case.state])),
        t("Acceptance due: {due}").format(due=local_time(runtime, case.accept_due)),
        t("Answer due: {due}").format(due=local_time(runtime, case.answer_due)),
        t("Attachments: {count}").format(count=attachments),
        "",
        case.text,
        "",
        t("History:"),
    ]
    for event in events:
        name = EVENT_NAMES.get(event.type)
        what = t(name) if name else event.type
        when = local_time(runtime, event.at)
        extra = event.payload.get("text") if event.type == "followup" else None
        if extra:
            lines.append(t("{time} — {what}: {text}").format(time=when, what=what, text=extra))
        else:
            lines.append(t("{time} — {what}").format(time=when, what=what))
    return "\n".join(lines)
