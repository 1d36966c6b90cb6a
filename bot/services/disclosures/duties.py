"""The obligations (公开时限) as tracked duties on the cases' alarm ladder.

- :func:`sync` records the regular obligations of periods ending around now (from
  :data:`LOOKBACK` ago to :data:`AHEAD` on), once each, with their alarms.
- A staged matter's stage reached, or a temporary event recorded, makes an obligation of
  its own (:func:`reach_stage`, :func:`record_event`).
- Each obligation has the ladder of ``[alerts]``: reminders to the unit before it is due,
  the breach to its head when due, the escalation to supervision ``escalate_after`` later;
  an alarm of an obligation met meanwhile is skipped. The digest lists the overdue ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.sections_disclosure import DisclosureItemConfig
from bot.i18n import Translate
from bot.i18n import translator as translator_for
from bot.runtime import Runtime
from bot.services import notify
from bot.services.deadlines import shift
from bot.services.disclosure_schedule import (
    Obligation,
    regular_obligations,
    stage_obligation,
    temporary_obligation,
)
from bot.services.disclosures import rights
from bot.services.disclosures.content import DisclosureError
from bot.services.disclosures.texts import FORM_NAMES
from storage import alarms as alarm_repo
from storage import directory
from storage import disclosures as repo_disclosures
from storage import obligations as repo
from storage.alarms import Alarm
from storage.models import Person
from storage.obligations import ObligationRow
from storage.sql import Conn

SUBJECT = "obligation"
#: Regular periods ending this long ago or this far ahead are recorded by a sync (daily),
#: those not yet due only: a fresh register does not start with obligations overdue.
LOOKBACK = timedelta(days=40)
AHEAD = timedelta(days=40)


def plan(runtime: Runtime, due: datetime, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """The alarms of an obligation due at ``due``: (kind, due, fire_at)."""
    alerts = runtime.config.alerts
    local = due.astimezone(runtime.config.general.tz)
    result = []
    for offset in alerts.reminders:
        if offset is None:
            continue
        fire = shift(local, offset, runtime.calendar, -1)
        if fire >= now:
            result.append(("reminder", due, fire))
    result.append(("breach", due, due))
    result.append(("escalation", due, shift(local, alerts.escalate_after, runtime.calendar, 1)))
    return result


def _record(conn: Conn, runtime: Runtime, found: list[Obligation], titles: list[str | None],
            now: datetime) -> int:
    rows = [(o.item_id, o.unit_id, o.period_key, title, o.due_at)
            for o, title in zip(found, titles, strict=True)]
    new = repo.ensure(conn, rows, now)
    for obligation_id in new:
        duty = repo.get(conn, obligation_id)
        assert duty is not None
        runtime.alarm_changes.note(alarm_repo.replan(conn, SUBJECT, obligation_id,
                                                     plan(runtime, duty.due_at, now)))
    return len(new)


async def sync(runtime: Runtime) -> int:
    """Record the regular obligations of periods ending near now; returns how many are new."""
    config = runtime.config
    now = runtime.clock.now()
    tz = config.general.tz
    found: list[Obligation] = []
    for unit in config.units:
        for item in config.disclosure_items_of(unit.id):
            if item.schedule.kind == "regular":
                found += regular_obligations(item, unit.id, now - LOOKBACK, now + AHEAD,
                                             runtime.calendar, tz)
    # Only what is still to come: a new register, or a new item, does not start overdue.
    found = [o for o in found if o.due_at >= now]
    if not found:
        return 0
    return await runtime.db.write(_record, runtime, found, [None] * len(found), now)


def _item_of(runtime: Runtime, unit_id: str, item_id: str, kind: str) -> DisclosureItemConfig:
    try:
        item = runtime.config.disclosure_item(item_id)
    except KeyError as exc:
        raise DisclosureError("invalid") from exc
    if item not in runtime.config.disclosure_items_of(unit_id) or item.schedule.kind != kind:
        raise DisclosureError("invalid")
    return item


async def record_event(runtime: Runtime, person: Person, unit_id: str, item_id: str,
                       title: str) -> ObligationRow:
    """An official records an event of a temporary item ("the committee decided X today"):
    its disclosure is due within the item's working days."""
    item = _item_of(runtime, unit_id, item_id, "temporary")
    title = " ".join(title.split())
    if not 2 <= len(title) <= 120:
        raise DisclosureError("invalid")
    now = runtime.clock.now()

    def work(conn: Conn) -> ObligationRow:
        if not rights.drafts(directory.memberships_of(conn, person.telegram_id), unit_id):
            raise DisclosureError("not_official")
        matter_id = repo.open_matter(conn, item.id, unit_id, "temporary", title, person.id,
                                     now)
        o = temporary_obligation(item, unit_id, matter_id, now, runtime.calendar,
                                 runtime.config.general.tz)
        _record(conn, runtime, [o], [title], now)
        found = repo.open_of(conn, [unit_id])
        return next(d for d in found if d.period_key == o.period_key and d.item_id == item.id)
    return await runtime.db.write(work)


async def open_matter(runtime: Runtime, person: Person, unit_id: str, item_id: str,
                      title: str) -> int:
    """An official opens a staged matter; its stages are reached one by one."""
    item = _item_of(runtime, unit_id, item_id, "staged")
    title = " ".join(title.split())
    if not 2 <= len(title) <= 120:
        raise DisclosureError("invalid")
    now = runtime.clock.now()

    def work(conn: Conn) -> int:
        if not rights.drafts(directory.memberships_of(conn, person.telegram_id), unit_id):
            raise DisclosureError("not_official")
        return repo.open_matter(conn, item.id, unit_id, "staged", title, person.id, now)
    return await runtime.db.write(work)


async def reach_stage(runtime: Runtime, person: Person, matter_id: int, stage: str
                      ) -> ObligationRow:
    """A stage of a staged matter was reached: its disclosure is due within the item's
    working days."""
    now = runtime.clock.now()

    def work(conn: Conn) -> ObligationRow:
        matter = repo.matter(conn, matter_id)
        if matter is None or matter.kind != "staged":
            raise DisclosureError("not_found")
        if not rights.drafts(directory.memberships_of(conn, person.telegram_id),
                             matter.unit_id):
            raise DisclosureError("not_official")
        item = _item_of(runtime, matter.unit_id, matter.item_id, "staged")
        if stage not in item.schedule.stages:
            raise DisclosureError("invalid")
        o = stage_obligation(item, matter.unit_id, matter.id, stage, now, runtime.calendar,
                             runtime.config.general.tz)
        _record(conn, runtime, [o], [f"{matter.title} · {stage}"], now)
        found = [d for d in repo.open_of(conn, [matter.unit_id])
                 if d.period_key == o.period_key and d.item_id == item.id]
        if not found:
            raise DisclosureError("moved")
        return found[0]
    return await runtime.db.write(work)


# ----------------------------------------------------------------------------- alarms

def duty_title(runtime: Runtime, duty: ObligationRow, language: str) -> str:
    try:
        name = runtime.config.disclosure_item(duty.item_id).name(language)
    except KeyError:
        name = duty.item_id
    return f"{name} · {duty.title or duty.period_key}"


def _text(runtime: Runtime, duty: ObligationRow, kind: str, t: Translate, language: str
          ) -> str:
    values = {"what": duty_title(runtime, duty, language),
              "unit": notify.unit_name(runtime, duty.unit_id, language),
              "due": notify.local_time(runtime, duty.due_at)}
    if kind == "reminder":
        return t("⏰ Disclosure due by {due}: {what}. Draft it with /publish.").format(**values)
    if kind == "breach":
        return t("⚠️ Disclosure overdue since {due}: {what} ({unit}). 谁公开不到位就公开谁: "
                 "it is listed for supervision.").format(**values)
    return t("🚨 Escalated: {unit} has not published {what}, due {due}.").format(**values)


async def fire_alarm(runtime: Runtime, alarm: Alarm) -> bool:
    """Do what an obligation's alarm stands for, once; False if it no longer applies."""
    now = runtime.clock.now()

    def work(conn: Conn) -> bool:
        duty = repo.get(conn, alarm.subject_id)
        applies = duty is not None and duty.met_at is None and duty.due_at == alarm.due
        if not alarm_repo.claim(conn, alarm.id, now, "fired" if applies else "skipped"):
            return False
        if not applies:
            return False
        assert duty is not None
        if alarm.kind == "reminder":
            recipients = notify.unit_recipients(conn, runtime, duty.unit_id)
        elif alarm.kind == "breach":
            recipients = notify.heads_of(conn, runtime, duty.unit_id)
        else:
            recipients = notify.supervision_recipients(conn, runtime)
        notify.send(conn, runtime, recipients,
                    lambda t, lang: _text(runtime, duty, alarm.kind, t, lang), now=now)
        return True
    return await runtime.db.write(work)


@dataclass(frozen=True)
class Desk:
    """What an official has to publish: per unit they draft for, its open obligations (the
    earliest due first), its disclosures in progress, and its temporary items (an event
    recorded makes an obligation)."""

    units: list[str]
    obligations: list[ObligationRow]
    in_progress: list[repo_disclosures.Disclosure]
    temporary: list[tuple[str, DisclosureItemConfig]]
    staged: list[tuple[str, DisclosureItemConfig]]
    #: Open staged matters with the stages not reached yet: (matter, [(index, stage)]).
    matters: list[tuple[repo.Matter, list[tuple[int, str]]]]


async def desk(runtime: Runtime, person: Person) -> Desk:
    now = runtime.clock.now()

    def work(conn: Conn) -> Desk:
        roles = directory.memberships_of(conn, person.telegram_id)
        units = sorted({m.unit_id for m in roles if m.role in rights.DRAFTING_ROLES})
        duties = repo.open_of(conn, units, due_before=now + AHEAD)
        taken = {d.obligation_id for d in repo_disclosures.in_stage(
            conn, units, (repo_disclosures.DRAFT, repo_disclosures.REVIEW,
                          repo_disclosures.SIGNOFF))}
        progress = repo_disclosures.in_stage(
            conn, units, (repo_disclosures.DRAFT, repo_disclosures.REVIEW,
                          repo_disclosures.SIGNOFF))
        temporary = [(u, i) for u in units for i in runtime.config.disclosure_items_of(u)
                     if i.schedule.kind == "temporary"]
        staged = [(u, i) for u in units for i in runtime.config.disclosure_items_of(u)
                  if i.schedule.kind == "staged"]
        matters = []
        for unit_id, item in staged:
            for matter in repo.matters_of(conn, unit_id, "staged"):
                if matter.item_id != item.id:
                    continue
                reached = repo.stages_reached(conn, item.id, unit_id, matter.id)
                left = [(n, s) for n, s in enumerate(item.schedule.stages) if s not in reached]
                if left:
                    matters.append((matter, left))
        return Desk(units, [d for d in duties if d.id not in taken], progress, temporary,
                    staged, matters)
    return await runtime.db.read(work)


# ----------------------------------------------------------------------------- watching

def watch_lines(conn: Conn, runtime: Runtime, now: datetime, t: Translate, language: str
                ) -> list[str]:
    """谁公开不到位就公开谁: the obligations overdue and the disclosures published without
    every form confirmed, for the supervision group's digest and /inbox."""
    lines: list[str] = []
    late = repo.overdue(conn, now)
    if late:
        lines.append(t("📢 Disclosures overdue: {count}").format(count=len(late)))
        for duty in late[:20]:
            lines.append(t("{what} · {unit} · due {due}").format(
                what=duty_title(runtime, duty, language),
                unit=notify.unit_name(runtime, duty.unit_id, language),
                due=notify.local_time(runtime, duty.due_at)))
    incomplete = repo_disclosures.incomplete(conn)
    if incomplete:
        lines.append(t("📢 Published without every form confirmed: {count}").format(
            count=len(incomplete)))
        for d, forms in incomplete[:20]:
            lines.append(t("{number} · {unit} · missing: {forms}").format(
                number=d.number, unit=notify.unit_name(runtime, d.unit_id, language),
                forms=", ".join(t(FORM_NAMES[f]) for f in forms)))
    return lines


async def digest(runtime: Runtime) -> int:
    """The register's part of the daily digest, to the supervision group; returns how many
    lines it had (0: nothing sent)."""
    now = runtime.clock.now()

    def work(conn: Conn) -> int:
        recipients = notify.supervision_recipients(conn, runtime)
        count = len(watch_lines(conn, runtime, now, translator_for("en"), "en"))
        if count:
            notify.send(conn, runtime, recipients,
                        lambda t, lang: "\n".join(watch_lines(conn, runtime, now, t, lang)),
                        now=now)
        return count
    return await runtime.db.write(work)


async def watched(runtime: Runtime, t: Translate, language: str) -> list[str]:
    """:func:`watch_lines` now, read."""
    now = runtime.clock.now()
    return await runtime.db.read(lambda conn: watch_lines(conn, runtime, now, t, language))
