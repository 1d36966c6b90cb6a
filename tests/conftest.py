"""The test bench: the real Application on the Bot API emulator, with a hand-moved clock.

Tests act as people do: a resident sends a message or presses a button, and the test reads
what the bot sent back through the emulator, and what it stored in the database.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.clock import ManualClock
from bot.config import Config, default_config_path, load_config, raised_limits
from bot.emulator.core import Emulator, EmuUser, SentMessage
from bot.emulator.transport import EmulatorRequest
from bot.telegram.pacing import Rates
from bot.telegram.update_processor import processor_of
from storage.migrations import _statements
from storage.sql import Conn
from storage.sql_postgres import redact
from tests.support import engines

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A public case number with its check part, as reporters are shown it.
NUMBER = re.compile(r"[SR]-\d{4}-\d{5,6}-[A-Z0-9]{3}")


def short(number: str) -> str:
    """A public number without its check part (``S-2026-00042``), as staff may type it."""
    return number.rsplit("-", 1)[0]


# A Wednesday, an ordinary working day.
START = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


class Bench:
    """One running Sunbox and the people talking to it."""

    def __init__(self, config: Config, db_path: Path | str, emulator: Emulator,
                 clock: ManualClock):
        self.config = config
        self.db_path = db_path
        self.emu = emulator
        self.clock = clock
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.errors: list[BaseException] = []
        # Extra keyword arguments for build_application (e.g. rate_limiter=False).
        self.options: dict[str, Any] = {"outbox_rates": Rates(scale=1000)}
        # The bot's transport to the emulator (a test may watch the calls with a subclass).
        self.transport: Callable[[Emulator], EmulatorRequest] = EmulatorRequest

    async def start(self) -> None:
        """Build and initialise the real Application (as run_polling would)."""
        config = dataclasses.replace(
            self.config, telegram=dataclasses.replace(self.config.telegram, token=self.emu.token)
        )
        app = build_application(
            config,
            request=self.transport(self.emu),
            get_updates_request=self.transport(self.emu),
            clock=self.clock,
            database=str(self.db_path),
            outbox_loop=False,
            **self.options,  # by default Telegram's pace, a thousand times faster
        )

        async def collect(update: object, context: Any) -> None:
            assert context.error is not None
            self.errors.append(context.error)

        app.add_error_handler(collect)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        self.app = app

    async def stop(self) -> None:
        """Shut down cleanly (persistence flushed, database closed)."""
        if self.app is None:
            return
        app, self.app = self.app, None
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)

    async def crash(self) -> None:
        """Drop the Application without any shutdown step, as a killed process would."""
        assert self.app is not None
        app, self.app = self.app, None
        runtime = app.bot_data.runtime
        # Only the connection is closed, so the test process does not leak a thread;
        # nothing is flushed.
        await runtime.close()

    async def restart(self, *, crash: bool = False) -> None:
        """Stop (or crash) and start again on the same database."""
        await (self.crash() if crash else self.stop())
        await self.start()

    @property
    def runtime(self) -> Any:
        assert self.app is not None
        return self.app.bot_data.runtime

    async def handle(self) -> None:
        """Hand every pending update to the Application as ``sunbox run`` does: through its
        update processor, all at once (each person's in order, different people's side by
        side); return when all are handled. The outbox is not drained."""
        app = self.app
        assert app is not None
        processor = processor_of(app)
        for data in self.emu.take_updates():
            update = Update.de_json(data, app.bot)
            await processor.process_update(update, self._process(app, update))
        await processor.join()

    async def _process(self, app: Application[Any, Any, Any, Any, Any, Any],
                       update: Update) -> None:
        try:
            await app.process_update(update)
        except Exception as error:  # noqa: BLE001 - any error outside a handler is the test's to see
            self.errors.append(error)

    async def deliver(self) -> None:
        """Hand every pending update to the Application (``handle``), then drain the
        outbox."""
        await self.handle()
        assert self.app is not None
        await self.app.bot_data.sender.drain()

    async def run_job(self, name: str) -> None:
        """Run a scheduled job now (the clock decides what it finds), then drain the outbox."""
        assert self.app is not None and self.app.job_queue is not None
        [job] = self.app.job_queue.get_jobs_by_name(name)
        await job.run(self.app)
        await self.app.bot_data.sender.drain()

    def user(self, user_id: int, name: str, language: str | None = "zh-hans") -> EmuUser:
        return self.emu.user(user_id, name, language_code=language)

    async def say(self, user: EmuUser, text: str) -> list[SentMessage]:
        """The user sends a text; returns what the bot sent to that chat in reply."""
        before = len(self.emu.sent(user.id))
        self.emu.send_text(user, text)
        await self.deliver()
        return self.emu.sent(user.id)[before:]

    async def press(self, user: EmuUser, label: str, message: SentMessage | None = None
                    ) -> list[SentMessage]:
        """The user presses the button whose text contains ``label`` on ``message``
        (default: the newest message of theirs that has such a button)."""
        target = message or self.find_button_message(user, label)
        data = target.button(label)
        return await self.press_data(user, target, data)

    async def press_data(self, user: EmuUser, message: SentMessage | int, data: str
                         ) -> list[SentMessage]:
        """The user presses a button carrying ``data`` (may be forged) on a message.

        Returns what the bot sent in reply: the pressed message first when the bot edited
        it into its next question, then the new messages."""
        before = len(self.emu.sent(user.id))
        pressed = message if isinstance(message, SentMessage) else None
        text = pressed.text if pressed is not None else None
        self.emu.press(user, message, data)
        await self.deliver()
        replies = self.emu.sent(user.id)[before:]
        if pressed is not None and pressed.text != text and not pressed.deleted:
            replies.insert(0, pressed)
        return replies

    async def send(self, user: EmuUser, method: str, *args: Any, **kwargs: Any
                   ) -> list[SentMessage]:
        """The user sends something else (``send_photo``, ``send_contact`` …)."""
        before = len(self.emu.sent(user.id))
        getattr(self.emu, method)(user, *args, **kwargs)
        await self.deliver()
        return self.emu.sent(user.id)[before:]

    def find_button_message(self, user: EmuUser, label: str) -> SentMessage:
        for message in reversed(self.emu.sent(user.id)):
            for row in message.buttons():
                if any(label in text for text, _ in row):
                    return message
        raise AssertionError(f"no message to {user.id} has a button {label!r}")

    def find_data_message(self, user: EmuUser, data: str) -> SentMessage:
        """The newest message to ``user`` with a button carrying exactly ``data``."""
        for message in reversed(self.emu.sent(user.id)):
            if any(d == data for row in message.buttons() for _, d in row):
                return message
        raise AssertionError(f"no message to {user.id} has a button {data!r}")

    async def tap(self, user: EmuUser, data: str) -> list[SentMessage]:
        """Press the newest button carrying exactly ``data``."""
        return await self.press_data(user, self.find_data_message(user, data), data)

    @staticmethod
    def number_in(messages: list[SentMessage]) -> str:
        """The whole public case number (``S-2026-00042-K7P``) in a list of messages."""
        for message in messages:
            found = NUMBER.search(message.text or "")
            if found:
                return found.group(0)
        raise AssertionError(f"no case number in {[m.text for m in messages]}")

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows from the bot's database, as plain tuples."""
        def work(conn: Conn):
            with conn.execute(sql, params) as cur:
                return [tuple(row) for row in cur.fetchall()]
        return await self.runtime.db.read(work)

    def texts(self, user: EmuUser) -> list[str]:
        return [m.text or "" for m in self.emu.sent(user.id)]

    def last_text(self, user: EmuUser) -> str:
        last = self.emu.last(user.id)
        assert last is not None, "the bot sent nothing"
        return last.text or ""


def execute_script(conn: Conn, script: str) -> None:
    """Run every statement of an SQL script (to build a database of an older version)."""
    for statement in _statements(script):
        conn.execute(statement)


@pytest.fixture(autouse=True)
def seal_key_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seal key's default place (bot/seal.py) is the test's own folder, and no key comes
    from the environment: no test reads or writes the real ~/.config/sunbox/seal.key."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SUNBOX_SEAL_KEY", raising=False)
    return tmp_path / "xdg" / "sunbox" / "seal.key"


@pytest.fixture
def service_key(seal_key_home: Path) -> Path:
    """The key file ``sunbox run`` creates on its first start, for tests of the
    administrators' commands (which never create one)."""
    from bot.seal import encode_key, new_key

    seal_key_home.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    seal_key_home.write_text(encode_key(new_key()) + "\n", encoding="ascii")
    seal_key_home.chmod(0o600)
    return seal_key_home


def pytest_sessionstart(session: pytest.Session) -> None:
    why = engines.unreachable() if "postgresql" in engines.wanted() else None
    if why is not None and engines.required():
        pytest.exit(f"SUNBOX_REQUIRE_POSTGRES=1 but PostgreSQL at {redact(engines.DSN)} cannot be "
                    f"reached: {why}", returncode=3)
    if why is not None:
        print(f"PostgreSQL not reachable at {redact(engines.DSN)} ({why}): running on SQLite only.",
              file=sys.stderr)


_TIME_BY_ENGINE: dict[str, float] = {}
_ENGINE_OF: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Which engine each test runs on, for the time per engine in the summary."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        fixtures = getattr(item, "fixturenames", ())
        _ENGINE_OF[item.nodeid] = (str(params["engine"]) if "engine" in params
                                   else "postgresql" if "postgres_url" in fixtures
                                   else "no database")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Time spent per engine (set-up, test and tear-down), for the summary."""
    engine = _ENGINE_OF.get(report.nodeid, "no database")
    _TIME_BY_ENGINE[engine] = _TIME_BY_ENGINE.get(engine, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TIME_BY_ENGINE:
        parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds
                          in sorted(_TIME_BY_ENGINE.items()))
        terminalreporter.write_line(f"time by engine: {parts}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that use the database run on every engine (``[sqlite]``, ``[postgresql]``),
    except those marked ``sqlite_only`` (what they test is SQLite's own: its files, its
    log, its locks)."""
    if "engine" in metafunc.fixturenames:
        names: tuple[Any, ...] = engines.engines()
        if metafunc.definition.get_closest_marker("sqlite_only"):
            names = tuple(name for name in names if name == "sqlite")
        elif metafunc.definition.get_closest_marker("postgresql_only"):
            names = tuple(name for name in names if name == "postgresql") or (pytest.param(
                "postgresql", marks=pytest.mark.skip(reason="PostgreSQL not reachable")),)
        metafunc.parametrize("engine", names or ("sqlite",), indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The engine this run of the test uses."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def database(engine: str, tmp_path: Path) -> Iterator[str]:
    """Where the test's database is: a file in its folder, or a fresh PostgreSQL schema."""
    if engine == "postgresql":
        with engines.fresh_schema() as url:
            yield url
    else:
        yield str(tmp_path / "sunbox.db")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for a test of PostgreSQL's own (its migrations, triggers):
    skipped without a server, unless SUNBOX_REQUIRE_POSTGRES=1 (then the session has
    stopped already)."""
    why = engines.unreachable()
    if why is not None:
        pytest.skip(f"PostgreSQL not reachable: {why}")
    with engines.fresh_schema() as url:
        yield url


@pytest.fixture
def config(database: str, tmp_path: Path, seal_key_home: Path) -> Config:
    """The example configuration, with the test's database and the per-person limits out
    of reach (tests/handlers/test_limits.py puts them back). On PostgreSQL the seal key
    and the file store, which have no default there, are in the test's folder."""
    base = raised_limits(load_config(default_config_path()))
    general = dataclasses.replace(base.general, database=database)
    config = dataclasses.replace(base, general=general)
    if engines_postgres(database):
        from bot.seal import encode_key, new_key

        key = tmp_path / "seal.key"
        key.write_text(encode_key(new_key()) + "\n", encoding="ascii")
        key.chmod(0o600)
        config = dataclasses.replace(
            config,
            security=dataclasses.replace(config.security, seal_key_file=str(key)),
            storage=dataclasses.replace(config.storage, files=str(tmp_path / "files")))
    return config


def engines_postgres(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://"))


@pytest.fixture
async def bench(config: Config, tmp_path: Path) -> AsyncIterator[Bench]:
    """A started Sunbox; fails the test if any handler raised."""
    clock = ManualClock(START)
    emulator = Emulator(clock=lambda: clock.now().timestamp())
    database = config.general.database
    bench = Bench(config, database if engines_postgres(database) else Path(database), emulator,
                  clock)
    await bench.start()
    try:
        yield bench
    finally:
        await bench.stop()
    assert not bench.errors, f"handlers raised: {bench.errors!r}"
