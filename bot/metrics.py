"""What ``/metrics`` shows, in Prometheus' text format (prometheus-client).

Each Application has a registry of its own (``metrics_of``), not the library's global one:
two Sunboxes in one process (the tests, the demo) count apart, and nothing of the library's
default process collectors is mixed in.

Two kinds of figures:

- counted where they happen, in this process: updates handled and the time their handlers
  took (``bot.telegram.poller``'s hand-off, the one path of both modes), and failures by kind
  (the Application's error handler, the hand-off, the webhook);
- read from the database when ``/metrics`` is asked (``refresh``): the outbox's backlog,
  its failures of the last 24 hours, the updates waiting, the alarms planned and how late the
  oldest due alarm is. Those are the county's, whichever instance answers: an alarm that
  fires late shows here whichever instance was to fire it, and no hook in the alarm job is
  needed.

The failure kinds (the ``kind`` label): ``handler:<error class>`` for an error a handler or a
job raised (``BadRequest``, ``TimedOut``, ``OperationalError`` ...); ``update_unreadable`` for an
update python-telegram-bot could not read; ``inbox_store`` for updates the database could not
take (the poller asks again, the webhook answers 503 and Telegram sends again);
``webhook_secret`` and ``webhook_malformed`` for requests the webhook refused.

Nothing here carries personal data: counts, durations and error class names.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.runtime import Runtime
from bot.services import health
from storage import health as health_repo
from storage.sql import Conn

__all__ = ["CONTENT_TYPE", "Metrics", "metrics_of"]

log = logging.getLogger(__name__)

#: Handler durations, in seconds: a reply takes milliseconds, a filing with attachments a
#: second or more, a stuck call up to Telegram's timeouts.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One Application's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.updates_handled = Counter(
            "sunbox_updates_handled", "Updates handed to the handlers and finished "
            "(duplicates the gatekeeper dropped included).", registry=registry)
        self.handler_seconds = Histogram(
            "sunbox_update_handler_seconds", "Time from an update's turn to the end of its "
            "handlers.", buckets=LATENCY_BUCKETS, registry=registry)
        self.failures = Counter(
            "sunbox_failures", "Failures by kind (see bot/metrics.py).", ["kind"],
            registry=registry)
        self.outbox_backlog = Gauge(
            "sunbox_outbox_backlog", "Messages waiting in the outbox (pending or sending).",
            registry=registry)
        self.outbox_failed = Gauge(
            "sunbox_outbox_failed_24h", "Messages that failed in the last 24 hours (not "
            "counting people who blocked the bot).", registry=registry)
        self.updates_waiting = Gauge(
            "sunbox_updates_waiting", "Updates stored and not yet handled.", registry=registry)
        self.alarms_pending = Gauge(
            "sunbox_alarms_pending", "Alarms (reminders, breaches, escalations) planned and "
            "not fired yet.", registry=registry)
        self.alarm_lag = Gauge(
            "sunbox_alarm_firing_lag_seconds", "How late the oldest alarm that is due and "
            "not fired is (0: none is late).", registry=registry)
        self.database_up = Gauge(
            "sunbox_database_up", "1 when the database answered the last /metrics, else 0.",
            registry=registry)

    def failed(self, kind: str) -> None:
        self.failures.labels(kind=kind).inc()

    def handled(self, seconds: float) -> None:
        self.updates_handled.inc()
        self.handler_seconds.observe(seconds)

    async def refresh(self, runtime: Runtime) -> None:
        """Read the database's figures (one read); on a database that does not answer, they
        keep their last values and ``sunbox_database_up`` says 0."""
        now = runtime.clock.now()

        def work(conn: Conn) -> tuple[health_repo.Facts, health_repo.AlarmFacts]:
            return (health_repo.facts(conn, now - health.FAILED_WINDOW),
                    health_repo.alarm_facts(conn, now))
        try:
            facts, alarms = await runtime.db.read(work)
        except Exception as error:  # noqa: BLE001 - shown as sunbox_database_up 0
            log.warning("metrics: the database did not answer (%s)", type(error).__name__)
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.outbox_backlog.set(facts.outbox_backlog)
        self.outbox_failed.set(facts.failed_recently)
        self.updates_waiting.set(facts.updates_waiting)
        self.alarms_pending.set(alarms.pending)
        self.alarm_lag.set(_lag(now, alarms.oldest_due))

    def render(self) -> bytes:
        """The text ``/metrics`` answers."""
        return generate_latest(self.registry)


def _lag(now: datetime, due: datetime | None) -> float:
    return 0.0 if due is None else max(0.0, (now - due).total_seconds())


_BY_APPLICATION: WeakKeyDictionary[Any, Metrics] = WeakKeyDictionary()


def metrics_of(application: Any) -> Metrics:
    """The Application's metrics (made on first use: ``bot.app`` makes them at build time)."""
    found = _BY_APPLICATION.get(application)
    if found is None:
        found = _BY_APPLICATION[application] = Metrics()
    return found
