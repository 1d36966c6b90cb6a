"""What a unit does with a case: accept it, answer it, and the head's sign-off of an answer.

Every action re-reads the case and the actor's roles inside its transaction, refuses what
the actor may not do *now* (the case's state against :mod:`bot.services.case_states`; the
refusal recorded in the case's trail, :mod:`bot.services.acting`), and writes the messages
it owes into the outbox in the same transaction.

The other actions live beside it: :mod:`bot.services.transfers`,
:mod:`bot.services.questions` (the unit asks, the reporter replies) and
:mod:`bot.services.ratings`; this module names them too, for the handlers.
"""

from __future__ import annotations

from datetime import datetime

from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services import acting, alarms, case_states, decisions, notify
from bot.services.acting import Actor, Refused
from bot.services.questions import ask_reporter, reporter_case, reporter_reply
from bot.services.ratings import RATING_NAMES, RATINGS, close_unrated, rate, rating_comment
from bot.services.roles import signs_off
from bot.services.transfers import transfer
from storage import answers as answer_repo
from storage import cases as case_repo
from storage import directory, people
from storage.models import Answer, Case, NewAttachment, Person
from storage.sql import Conn

__all__ = [
    "OUTCOMES", "OUTCOME_NAMES", "RATINGS", "RATING_NAMES", "Actor", "Answer", "Refused",
    "accept", "ask_reporter", "check", "check_sign_off", "close_unrated", "decide_sign_off",
    "outcome_text", "rate", "rating_comment", "reporter_case", "reporter_reply",
    "submit_answer", "transfer",
]

OUTCOMES = ("resolved", "partly_resolved", "explained", "not_ours")
OUTCOME_NAMES = {
    "resolved": N_("resolved"),
    "partly_resolved": N_("partly resolved"),
    "explained": N_("explained: cannot be done"),
    "not_ours": N_("not our responsibility"),
}


async def check(runtime: Runtime, case_id: int, actor: Person, action: str) -> Case:
    """May ``actor`` start ``action`` on the case now? Returns the case or raises Refused."""
    case, roles = await runtime.db.read(acting.load, case_id, actor)
    reason = acting.why_not(case, roles, action)
    if reason:
        raise await acting.refuse(runtime, case.id if case else None, actor, action, reason)
    assert case is not None
    if action == "ask" and not case.reachable:
        raise await acting.refuse(runtime, case.id, actor, action, "no_feedback")
    return case


# ----------------------------------------------------------------------------- accept

async def accept(runtime: Runtime, case_id: int, actor: Actor) -> Case:
    """The first acceptance wins; everyone's copy of the card shows who and when."""
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[Case | None, str | None, bool]:
        case, roles = acting.load(conn, case_id, actor.person)
        reason = acting.why_not(case, roles, "accept")
        if reason is None:
            assert case is not None
            if case_repo.mark_accepted(conn, case.id, actor.person.id, now):
                role = acting.role_for(roles, case)
                people.set_display_name(conn, actor.person.id, actor.name)
                case_repo.append_event(
                    conn, case.id, now, actor.person.id, role, "accepted", case.state,
                    case_states.next_state("accept", case.state))
                alarms.replan_case(conn, runtime, case.id, now=now)
                accepted = case_repo.get_case(conn, case.id)
                assert accepted is not None
                notify.to_reporter(conn, runtime, accepted, lambda t, lang: t(
                    "Your case {number} has been accepted by {unit}. The answer is due by "
                    "{due}."
                ).format(number=accepted.number, unit=notify.unit_name(
                    runtime, accepted.unit_id, lang), due=notify.local_time(
                    runtime, accepted.answer_due)), now=now)
                notify.refresh_cards(
                    conn, runtime, accepted,
                    acting.status(N_("✅ Accepted by {name} at {time}"), name=actor.name,
                                  time=notify.local_time(runtime, now)),
                    acting.attachment_count(conn, case.id), now=now)
                return accepted, None, True
        return case, reason, False
    case, reason, done = await runtime.db.write(work)
    if done:
        assert case is not None
        return case
    if case is not None and case.accepted_by == actor.person.id:
        # Their own acceptance, pressed again: a double tap, or the press replayed after a
        # restart that struck between the acceptance and its record. Done, not refused.
        return case
    if reason is None or (reason == "state" and case is not None
                          and case.accepted_by is not None):
        raise await acting.refuse(runtime, case_id, actor.person, "accept", "already")
    raise await acting.refuse(runtime, case.id if case else None, actor.person, "accept", reason)


# ----------------------------------------------------------------------------- answer

async def submit_answer(
    runtime: Runtime, case_id: int, actor: Actor, outcome: str, text: str,
    redirect: str | None, attachments: tuple[NewAttachment, ...],
) -> tuple[Case, bool]:
    """Answer a case; returns it and whether the answer waits for the head's sign-off."""
    if outcome not in OUTCOMES:
        raise Refused("invalid")
    now = runtime.clock.now()

    def work(conn: Conn) -> tuple[Case | None, str | None, bool | None]:
        case, roles = acting.load(conn, case_id, actor.person)
        reason = acting.why_not(case, roles, "answer")
        if reason is None:
            assert case is not None
            if answer_repo.pending_answer(conn, case.id) is not None:
                reason = "pending"
        if reason is None:
            assert case is not None
            role = acting.role_for(roles, case)
            people.set_display_name(conn, actor.person.id, actor.name)
            needs_sign_off = runtime.config.unit(case.unit_id).sign_off and not signs_off(
                roles, case)
            answer_id = answer_repo.add_answer(
                conn, case.id, case.unit_id, actor.person.id, outcome, text, redirect,
                "pending" if needs_sign_off else "sent", attachments, now)
            if needs_sign_off:
                case_repo.append_event(
                    conn, case.id, now, actor.person.id, role, "answer_submitted", case.state,
                    case.state, {"answer": answer_id, "outcome": outcome})
                _ask_sign_off(conn, runtime, case, answer_id, actor, now=now)
                notify.refresh_cards(
                    conn, runtime, case,
                    acting.status(N_("✍ Answer by {name} waits for the head's sign-off"),
                                  name=actor.name),
                    acting.attachment_count(conn, case.id), now=now)
                return case, None, True
            answer = answer_repo.get_answer(conn, answer_id)
            assert answer is not None
            answered = _deliver_answer(conn, runtime, case, answer, actor, role, now=now)
            return answered, None, False
        return case, reason, None
    case, reason, pending = await runtime.db.write(work)
    if pending is not None:
        assert case is not None
        return case, pending
    raise await acting.refuse(runtime, case.id if case else None, actor.person, "answer",
                              reason or "invalid")


def outcome_text(t: Translate, answer: Answer) -> str:
    """The answer as the reporter reads it."""
    if answer.outcome == "not_ours":
        return t("Outcome: {outcome}. Where to go instead: {redirect}\n\n{text}").format(
            outcome=t(OUTCOME_NAMES[answer.outcome]), redirect=answer.redirect or "—",
            text=answer.text)
    return t("Outcome: {outcome}\n\n{text}").format(
        outcome=t(OUTCOME_NAMES[answer.outcome]), text=answer.text)


def _ask_sign_off(
    conn: Conn, runtime: Runtime, case: Case, answer_id: int, actor: Actor
, *, now: datetime) -> None:
    answer = answer_repo.get_answer(conn, answer_id)
    assert answer is not None
    notify.send(
        conn, runtime, notify.heads_of(conn, runtime, case.unit_id),
        lambda t, lang: t(
            "✍ {name} answered {number}. Please sign it off before it goes to the "
            "reporter.\n\n{answer}"
        ).format(name=actor.name, number=case.number, answer=outcome_text(t, answer)),
        buttons=lambda t: [[(t("✅ Approve"), f"sign:{answer_id}:ok")],
                           [(t("↩ Return with a comment"), f"sign:{answer_id}:back")]],
        attachments=answer.attachments, case_id=case.id,
        now=now,
    )


def _deliver_answer(
    conn: Conn, runtime: Runtime, case: Case, answer: Answer, actor: Actor,
    role: str, *, now: datetime,
) -> Case:
    """The answer reaches the reporter, with rating buttons; the case is answered."""
    case_repo.mark_answered(conn, case.id, now)
    case_repo.append_event(
        conn, case.id, now, actor.person.id, role, "answered", case.state,
        case_states.next_state("answer", case.state),
        {"answer": answer.id, "outcome": answer.outcome})
    alarms.replan_case(conn, runtime, case.id, now=now)
    answered = case_repo.get_case(conn, case.id)
    assert answered is not None
    notify.to_reporter(
        conn, runtime, answered,
        lambda t, lang: t("📬 The answer to your case {number} from {unit}:\n\n{answer}\n\n"
                          "How satisfied are you with it?").format(
            number=answered.number, unit=notify.unit_name(runtime, answered.unit_id, lang),
            answer=outcome_text(t, answer)),
        buttons=lambda t: [[(t("😊 Satisfied"), f"rate:{answer.id}:satisfied")],
                           [(t("🙂 Basically satisfied"), f"rate:{answer.id}:basically")],
                           [(t("🙁 Not satisfied"), f"rate:{answer.id}:unsatisfied")]],
        attachments=answer.attachments,
        now=now,
    )
    notify.refresh_cards(
        conn, runtime, answered,
        acting.status(
            N_("📬 Answered by {name}: {outcome}"), name=actor.name,
            outcome=lambda language: acting.translated(language, OUTCOME_NAMES[answer.outcome])),
        acting.attachment_count(conn, case.id), now=now)
    return answered


# ----------------------------------------------------------------------------- sign-off

class SignOff(decisions.Request[Answer]):
    """A head decides an answer that waits for sign-off: approved, it goes to the reporter;
    returned, its author answers again."""

    action = "sign_off"
    approve_action = "sign_off"
    refuse_action = "return_answer"

    def load(self, conn: Conn, request_id: int) -> Answer | None:
        return answer_repo.get_answer(conn, request_id)

    def requester_id(self, item: Answer) -> int:
        return item.author_id

    def decider_role(self, conn: Conn, runtime: Runtime, item: Answer,
                     case: Case, person: Person) -> str | None:
        roles = directory.memberships_of(conn, person.telegram_id)
        if not signs_off(roles, case) or item.unit_id != case.unit_id:
            return None
        return acting.role_for(roles, case)

    def record(self, conn: Conn, item: Answer, approve: bool, by: int,
               comment: str | None, at: datetime) -> None:
        answer_repo.decide(conn, item.id, "sent" if approve else "returned", by,
                           comment, at)

    def carry_out(self, conn: Conn, runtime: Runtime, item: Answer,
                  case: Case, decision: decisions.Decision) -> Case:
        actor, author = decision.actor, decision.requester
        if decision.approve:
            case_repo.append_event(
                conn, case.id, decision.at, actor.person.id, decision.role, "signed_off",
                case.state, case.state, {"answer": item.id})
            author_name = (author.display_name if author else None) or actor.name
            return _deliver_answer(
                conn, runtime, case, item, Actor(author, author_name) if author else actor,
                decision.role, now=decision.at)
        case_repo.append_event(
            conn, case.id, decision.at, actor.person.id, decision.role, "answer_returned",
            case.state, case.state, {"answer": item.id, "comment": decision.comment or ""})
        notify.refresh_cards(
            conn, runtime, case,
            acting.status(N_("↩ Answer returned by {name}: {comment}"), name=actor.name,
                          comment=decision.comment or ""),
            acting.attachment_count(conn, case.id), now=decision.at)
        return case

    def told(self, runtime: Runtime, item: Answer, case: Case, decision: decisions.Decision
             ) -> notify.Render:
        name, number, comment = decision.actor.name, case.number, decision.comment
        if decision.approve:
            return lambda t, lang: t("✅ {name} approved your answer to {number}; it has gone "
                                     "to the reporter.").format(name=name, number=number)
        return lambda t, lang: t("↩ {name} returned your answer to {number}: {comment}\n"
                                 "Please answer again.").format(
            name=name, number=number, comment=comment or "—")


SIGN_OFF = SignOff()


async def check_sign_off(runtime: Runtime, answer_id: int, person: Person) -> None:
    """Refuse at the press what ``decide_sign_off`` would refuse after the comment is
    typed (someone who does not sign off, an answer decided already)."""
    await decisions.check(runtime, SIGN_OFF, answer_id, person)


async def decide_sign_off(
    runtime: Runtime, answer_id: int, actor: Actor, approve: bool, comment: str | None = None,
) -> tuple[Case, Answer]:
    """The head approves (the answer goes out) or returns it with a comment."""
    return await decisions.decide(runtime, SIGN_OFF, answer_id, actor, approve, comment)
