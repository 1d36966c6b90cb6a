"""What the running bot holds: configuration, clock, calendar, the database and the seal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock
from bot.config import Config
from bot.limiter import Limiter
from bot.seal import Sealer, load_sealer
from bot.services.alarm_changes import AlarmChanges
from bot.services.leadership import LEASE_TIMEOUT, Leadership
from bot.workdays import WorkCalendar
from storage import directory, sealing
from storage.db import Database
from storage.sql import Conn


@dataclass
class Runtime:
    """Shared by the persistence, the handlers and the services of one Application."""

    config: Config
    clock: Clock
    database_path: str
    # Whether a missing seal key may be created here (``sunbox run``, the demo, tests); the
    # administrators' commands never create one (bot/seal.py load_sealer).
    create_key: bool = True
    # Seconds a cluster member's lease of the leader holds after its last renewal
    # (``[cluster] lease_timeout``; bot.services.leadership).
    lease_timeout: float = LEASE_TIMEOUT
    calendar: WorkCalendar = field(init=False)
    # Per-person counters, in memory only (bot.services.limits).
    limiter: Limiter = field(default_factory=Limiter, init=False)
    # The alarms written since the alarm job last looked, in memory only
    # (bot.services.alarm_changes).
    alarm_changes: AlarmChanges = field(default_factory=AlarmChanges, init=False)
    # Whether this instance does the work that must be done once (the outbox's rounds, the
    # alarms, the scheduled jobs): always, unless several instances share the database and
    # handlers.jobs.start_leadership gave it a lease to hold (bot.services.leadership).
    leadership: Leadership = field(default_factory=Leadership, init=False)
    _db: Database | None = field(default=None, init=False)
    _sealer: Sealer | None = field(default=None, init=False)
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self.calendar = self.config.calendar.calendar()

    @property
    def db(self) -> Database:
        """The open database (after :meth:`open`)."""
        if self._db is None:
            raise RuntimeError("the database is not open yet")
        return self._db

    @property
    def shares_database(self) -> bool:
        """Whether other instances may work on this database (once open): webhook
        mode on PostgreSQL. One instance alone (SQLite; polling, one poller per token)
        leads without a lease and takes no turns (bot/telegram/turns.py)."""
        return (self.config.telegram.mode == "webhook" and self._db is not None
                and self._db.engine == "postgresql")

    @property
    def sealer(self) -> Sealer:
        """The seal of anonymous cases' delivery chats (after :meth:`open`)."""
        if self._sealer is None:
            raise RuntimeError("the database is not open yet")
        return self._sealer

    async def open(self) -> Database:
        """Open and migrate the database, check the seal key against it (``SealError``:
        the instance must not start), seal what an older version left in plain text, and
        mirror the configuration into it, once."""
        async with self._opening:
            if self._db is None:
                db = await Database.open(self.database_path)
                try:
                    self._sealer = await self._seal(db)
                except BaseException:
                    await db.close()
                    raise
                self._db = db
                try:
                    await self._mirror_config(db)
                except BaseException:
                    self._db = None
                    await db.close()
                    raise
        return self._db

    async def _mirror_config(self, db: Database) -> None:
        """Units, categories and ``[[members]]`` into the database (a member removed from
        the file loses the role; ``routing.settle`` moves what that leaves unstaffed)."""
        config = self.config

        def work(conn: Conn, now: datetime) -> None:
            directory.sync_units(conn, config.units)
            directory.sync_categories(conn, config.categories)
            directory.sync_config_members(conn, config.members, now)
        await db.write(work, self.clock.now())

    async def _seal(self, db: Database) -> Sealer:
        from bot.services.sealed import seal_legacy

        stored = await db.read(sealing.fingerprint)
        sealer = load_sealer(self.config, self.database_path, stored, create=self.create_key)
        if stored is None:
            # The first start with a seal: what an older Sunbox left in plain text is sealed
            # with the fingerprint's first record (and never again: no plain chat comes after).
            def work(conn: Conn, now: datetime) -> None:
                sealing.set_fingerprint(conn, sealer.fingerprint)
                seal_legacy(conn, sealer, now)
            await db.write(work, self.clock.now())
        return sealer

    async def durable(self) -> None:
        """Return once every commit made so far is on disk (at once if nothing is open)."""
        if self._db is not None:
            await self._db.durable()

    async def close(self) -> None:
        """Close the database if open."""
        async with self._opening:
            if self._db is not None:
                await self._db.close()
                self._db = None
