"""Deadline alarms: reminders before a deadline, the breach, and the escalation after it.

The database is the only source of truth. Each case's alarms are derived from its
deadlines and re-derived whenever they move (``bot.services.deadlines.replan_case``,
re-exported here); one scheduler job wakes at the earliest unfired alarm (so 100,000 open
cases need one timer, not 100,000). An alarm is marked fired in the same transaction that
writes its messages and events, and is checked against the case at that moment (a case
accepted since is not reminded to accept), so nothing fires twice — also after a restart,
when every alarm that passed while the bot was down fires once. Alarms due together
(thousands after a stop) are claimed and fired in batches, one transaction each, of at
most :data:`BATCH` alarms and about :data:`BATCH_SECONDS` of work, so people talking to
the bot meanwhile wait little.

Every alarm written is noted in the runtime's :class:`AlarmChanges`, so the scheduler
(``handlers.jobs.arm``) looks at the database again only when an alarm earlier than the
one it waits for may have appeared.

The alarms of other subjects (a meeting's) share the table and its job: the caller of
:func:`fire_due` hands it the function that fires each such subject, so this module knows
none of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.i18n import N_, Translate
from bot.runtime import Runtime
from bot.services import notify
from bot.services.deadlines import OPEN, AlarmChanges, changes, plan, replan_case, shift
from storage import alarms as alarm_repo
from storage import cases as case_repo
from storage.alarms import Alarm
from storage.models import Case
from storage.sql import Conn, DatabaseError

__all__ = [
    "BATCH", "BATCH_SECONDS", "DEADLINE_NAMES", "LATE_REMINDER", "OPEN", "AlarmChanges",
    "FireAlarm", "changes", "fire_due", "next_alarm", "overdue_digest", "plan",
    "replan_case", "shift",
]

log = logging.getLogger(__name__)

DEADLINE_NAMES = {"accept": N_("acceptance"), "answer": N_("answer")}

#: Fires one alarm of a subject other than a case, in a transaction of its own, claiming
#: it; False if it no longer applied (``bot.services.meetings.fire_alarm``).
FireAlarm = Callable[[Runtime, Alarm], Awaitable[bool]]

LATE_REMINDER = timedelta(minutes=1)
#: Most alarms claimed and fired in one transaction (each transaction waits for the disk).
BATCH = 200
#: A batch takes no further alarm after this much work (real time: the database is held).
BATCH_SECONDS = 0.02


def _applies(runtime: Runtime, case: Case | None, alarm: Alarm, now: datetime) -> bool:
    if case is None:
        return False
    if alarm.kind.endswith("_reminder") and now > alarm.due + LATE_REMINDER:
        return False  # found late (the bot was down): the breach says it better
    deadline = alarm.kind.split("_")[0]
    if deadline == "accept":
        return case.state == "new" and case.accept_due == alarm.due
    paused = case.state == "info_requested" and runtime.config.alerts.pause_while_asking
    return case.state in OPEN and not paused and case.answer_due == alarm.due


async def fire_due(runtime: Runtime, subjects: Mapping[str, FireAlarm], batch: int = BATCH,
                   seconds: float | None = None) -> int:
    """Fire every alarm whose moment has come; returns how many did something.

    Due alarms, oldest first, are claimed and fired in transactions of up to ``batch``
    alarms and about ``seconds`` (default :data:`BATCH_SECONDS`) of work, each checked
    against its case as its transaction finds it; an alarm of a subject in ``subjects``
    (``handlers.jobs.ALARM_SUBJECTS``: a meeting's) is fired by its function in a
    transaction of its own, after the alarms before it.

    An alarm whose work raises (a fault in the code or the configuration, not in the
    database) must not hold back the others: its batch is rolled back and taken again one
    alarm at a time, and the one that fails is logged and set aside (outcome ``failed``).
    A database error is raised (the caller tries again later).
    """
    budget = BATCH_SECONDS if seconds is None else seconds
    done = 0
    suspects = 0  # after a failed batch, how many of its alarms go one at a time
    while True:
        ahead: list[Alarm] = []  # filled on the database thread, read here if it fails
        try:
            alone, due, taken, fired = await runtime.db.write(
                _fire_batch, runtime, runtime.clock.now(), subjects,
                1 if suspects else batch, 0 if suspects else budget, ahead)
        except DatabaseError:
            raise
        except Exception:
            if not ahead:
                raise
            if suspects:
                await _set_aside(runtime, ahead[0])
                suspects = 0
            else:
                log.warning("a batch of %d alarms failed; taking them one at a time",
                            len(ahead), exc_info=True)
                suspects = len(ahead)
            continue
        done += fired
        suspects = max(0, suspects - taken)
        if not due:
            return done
        if alone is not None and taken == len(ahead):
            try:
                if await subjects[alone.subject](runtime, alone):
                    done += 1
            except DatabaseError:
                raise
            except Exception:
                await _set_aside(runtime, alone)


def _fire_batch(conn: Conn, runtime: Runtime, now: datetime, subjects: Mapping[str, FireAlarm],
                limit: int, budget: float, ahead: list[Alarm]
                ) -> tuple[Alarm | None, list[Alarm], int, int]:
    """One batch: the alarms due (at most ``limit``), those before the first of one of
    ``subjects`` (``alone``, fired on its own after) put in ``ahead`` and fired; returns
    (alone, due, taken, fired)."""
    alone: Alarm | None = None
    due = alarm_repo.due_now(conn, now, limit)
    for alarm in due:
        if alarm.subject in subjects:
            alone = alarm
            break
        ahead.append(alarm)
    taken, fired = _Batch(conn, runtime, now).fire(ahead, budget)
    return alone, due, taken, fired


async def _set_aside(runtime: Runtime, alarm: Alarm) -> None:
    """Record an alarm whose work failed as done with outcome ``failed`` (call it while
    handling the exception: it is logged)."""
    log.error("alarm %s (%s %s, %s at %s) failed: set aside", alarm.id, alarm.subject,
              alarm.subject_id, alarm.kind, alarm.fire_at.isoformat(), exc_info=True)
    await runtime.db.write(alarm_repo.claim, alarm.id, runtime.clock.now(), "failed")


async def next_alarm(runtime: Runtime) -> datetime | None:
    """When the next alarm is due."""
    return await runtime.db.read(alarm_repo.next_fire_at)


class _Batch:
    """Case alarms fired in one transaction. What they read — cases, recipients, languages
    — is read once: firing changes none of it, and the transaction lets nobody else."""

    def __init__(self, conn: Conn, runtime: Runtime, now: datetime) -> None:
        self.conn, self.runtime, self.now = conn, runtime, now
        self._known_cases: dict[int, Case | None] = {}
        self._known_recipients: dict[tuple[str, str, str], list[notify.Recipient]] = {}
        self._known_languages: dict[int, str] = {}

    def fire(self, due: list[Alarm], seconds: float) -> tuple[int, int]:
        """Do the work of the alarms that apply, in order, until ``seconds`` have passed
        (one at least), and claim those taken (``fired`` or ``skipped``); the rest stay
        for the next batch. Returns how many were taken and how many did something."""
        stop = time.monotonic() + seconds
        claims: list[tuple[int, str]] = []
        for alarm in due:
            if claims and time.monotonic() > stop:
                break
            case = self._case(alarm.subject_id) if alarm.subject == "case" else None
            if _applies(self.runtime, case, alarm, self.now):
                assert case is not None
                self._fire(alarm, case)
                claims.append((alarm.id, "fired"))
            else:
                claims.append((alarm.id, "skipped"))
        if alarm_repo.claim_many(self.conn, claims, self.now) != len(claims):
            # Unreachable while reading and claiming share this write transaction; should it
            # happen, the batch's work is rolled back with it and the next run starts over.
            raise RuntimeError("an alarm of the batch was claimed already")
        return len(claims), sum(outcome == "fired" for _, outcome in claims)

    def _case(self, case_id: int) -> Case | None:
        if case_id not in self._known_cases:
            self._known_cases[case_id] = case_repo.get_case(self.conn, case_id)
        return self._known_cases[case_id]

    def _recipients(self, who: str, unit_id: str, concerns: str | None = None
                          ) -> list[notify.Recipient]:
        """``concerns``: the unit a report is about; whoever oversees the case is never it
        (``notify.overseer_recipients``)."""
        key = (who, unit_id, concerns or "")
        if key not in self._known_recipients:
            conn, runtime = self.conn, self.runtime
            if who == "unit":
                found = notify.unit_recipients(conn, runtime, unit_id)
            elif who == "heads":
                found = (notify.heads_of(conn, runtime, unit_id)
                         or notify.overseer_recipients(conn, runtime, concerns))
            else:
                found = notify.overseer_recipients(conn, runtime, concerns)
            self._known_recipients[key] = found
        return self._known_recipients[key]

    def _reporter(self, case: Case) -> list[notify.Recipient]:
        """Where the reporter hears back (as ``notify.to_reporter``): nowhere without a
        delivery chat."""
        chat_id = self.runtime.sealer.delivery_chat(case)
        if chat_id is None:
            return []
        languages = self._known_languages
        if chat_id not in languages:
            languages[chat_id] = notify.chat_language(self.conn, self.runtime, chat_id)
        return [notify.Recipient(chat_id, languages[chat_id])]

    def _fire(self, alarm: Alarm, case: Case) -> None:
        """The event and the messages of a claimed alarm that applies."""
        conn, runtime, now = self.conn, self.runtime, self.now
        deadline, what = alarm.kind.split("_", 1)
        case_repo.append_event(
            conn, case.id, now, None, "system", what, case.state, case.state,
            {"deadline": deadline, "due": alarm.due.isoformat()})
        due = notify.local_time(runtime, alarm.due)
        number = case.number
        kind_name = DEADLINE_NAMES[deadline]

        def deadline_name(t: Translate) -> str:
            return t(kind_name)

        if what == "reminder":
            # The reminder at the deadline itself says that it has come.
            reminder = (N_("⏰ The {deadline} deadline of {number} has come: it is {due}. "
                           "Please act on it now.") if alarm.fire_at >= alarm.due
                        else N_("⏰ Reminder: the {deadline} deadline of {number} is {due}."))
            notify.send(conn, runtime, self._recipients("unit", case.unit_id),
                        lambda t, lang: t(reminder).format(
                deadline=deadline_name(t), number=number, due=due), case_id=case.id, now=now)
        elif what == "breach":
            heads = self._recipients("heads", case.unit_id, case.concerns_unit_id)
            notify.send(conn, runtime, heads, lambda t, lang: t(
                "⚠ {number} at {unit} is overdue: its {deadline} deadline was {due}."
            ).format(number=number, unit=notify.unit_name(runtime, case.unit_id, lang),
                     deadline=deadline_name(t), due=due), case_id=case.id, now=now)
        else:
            notify.send(
                conn, runtime, self._recipients("supervision", "", case.concerns_unit_id),
                lambda t, lang: t(
                    "🚨 Escalated: {number} at {unit} has been overdue since {due} (the "
                    "{deadline} deadline)."
                ).format(number=number, unit=notify.unit_name(runtime, case.unit_id, lang),
                         deadline=deadline_name(t), due=due), case_id=case.id, now=now)
            notify.send(conn, runtime, self._reporter(case), lambda t, lang: t(
                "Your case {number} is overdue: the {deadline} deadline was {due}. The "
                "supervision group has been told and will follow it up."
            ).format(number=number, deadline=deadline_name(t), due=due), case_id=case.id, now=now)


async def overdue_digest(runtime: Runtime) -> int:
    """The daily list of overdue cases for the supervision group; returns how many. Reports
    about the supervision unit's own leadership are not on it: it is the unit they concern
    (their overseer hears of them by the escalation, ``roles.overseer``)."""
    now = runtime.clock.now()
    supervision = runtime.config.supervision_unit()

    def work(conn: Conn) -> int:
        overdue, total = case_repo.overdue_cases(
            conn, now, not_concerning=[supervision.id] if supervision else [])
        if not overdue:
            return 0

        def render(t: Translate, language: str) -> str:
            lines = [t("📋 Overdue cases today: {count}").format(count=total)]
            for case in overdue:
                due = case.accept_due if case.state == "new" else case.answer_due
                lines.append(t("{number} · {unit} · {state} · due {due}").format(
                    number=case.number, unit=notify.unit_name(runtime, case.unit_id, language),
                    state=t(notify.STATE_NAMES[case.state]),
                    due=notify.local_time(runtime, due)))
            if total > len(overdue):
                lines.append(t("… and {count} more: see /inbox").format(
                    count=total - len(overdue)))
            return "\n".join(lines)

        notify.send(conn, runtime, notify.supervision_recipients(conn, runtime),
                    render, now=now)
        return total
    return await runtime.db.write(work)
