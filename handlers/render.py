"""Text for cases as a reporter sees them, in the reader's language."""

from __future__ import annotations

from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services.notify import KIND_NAMES, category_name, local_time, unit_name
from bot.services.roles import route_concerning_head
from storage.models import Case, CaseEvent

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
#: What a reporter is shown of their case's trail; the unit's own steps (reminders, drafts of
#: answers, refused transfers, extension requests) are not theirs to read.
EVENT_NAMES = {
    "filed": N_("submitted"),
    "followup": N_("you added information"),
    "withdrawn": N_("you withdrew the case"),
    "bound": N_("linked to your Telegram account"),
    "redacted": N_("texts removed"),
    "accepted": N_("accepted by the unit"),
    "answered": N_("answered"),
    "transferred": N_("passed to another unit"),
    "escalated": N_("passed to the supervision group"),
    "question": N_("the unit asked you a question"),
    "reply": N_("you replied"),
    "rated": N_("you rated the answer"),
    "closed": N_("closed"),
    "extension_granted": N_("the unit was given more time"),
    "routed_up": N_("sent to the unit above: nobody handles cases at the chosen unit yet"),
    "moved_up": N_("moved to the unit above: nobody handles cases at its unit any more"),
    "deadline_recomputed": N_("deadline counted again on the official calendar"),
}


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
        if name is None:
            continue
        what = t(name)
        when = local_time(runtime, event.at)
        extra = event.payload.get("text") if event.type == "followup" else None
        if event.type == "followup" and event.redacted:
            extra = t("(removed)")
        if extra:
            lines.append(t("{time} — {what}: {text}").format(time=when, what=what, text=extra))
        else:
            lines.append(t("{time} — {what}").format(time=when, what=what))
    return "\n".join(lines)


def above_supervision_name(runtime: Runtime, unit_id: str, language: str) -> str | None:
    """Where a report about ``unit_id``'s own leadership goes, when that is not the
    supervision group (``unit_id`` is the supervision unit itself); None otherwise."""
    target, _ = route_concerning_head(runtime.config, unit_id)
    supervision = runtime.config.supervision_unit()
    if supervision is None or target == supervision.id:
        return None
    return unit_name(runtime, target, language)
