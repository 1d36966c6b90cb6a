"""``sunbox status`` and the administrators' ``/health``: what they show, and that the
command exits non-zero only on its thresholds (a failed message, a message waiting for more
than 10 minutes, no backup in 7 days, no poll for 5 minutes), never for overdue cases.

``sunbox status`` reads the system clock, so the bench's hand-moved clock is set to the real
time around it (the poller records its poll, and each row its moment, by the bench's clock);
``/health`` reads the bench's clock, so there the clock moves days at will.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import ManualClock
from bot.config import Config, default_config_path, load_config, raised_limits
from bot.emulator.core import Emulator, EmuUser
from bot.telegram.poller import DurablePoller
from storage.models import to_db_time
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion, to_text_step
from tests.handlers.staff import ADMIN, CIVIL_HEAD, CIVIL_OFFICIAL

RESIDENT = 8801
#: Everyone the configuration below names (they have opened a chat with the bot).
MEMBERS = (1001, 1002, 1003, 1004, 1005, 1006, CIVIL_OFFICIAL, CIVIL_HEAD)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The example configuration with civil affairs staffed, as a file: ``sunbox status``
    reads the same county the bench runs (it would revoke configured roles it does not
    find in its file)."""
    path = tmp_path / "config.toml"
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('database = "sunbox.db"',
                        f'database = "{(tmp_path / "sunbox.db").as_posix()}"')
    text += "".join(f'\n[[members]]\ntelegram_id = {telegram_id}\nrole = "{role}"\n'
                    f'unit = "civil_affairs"\n'
                    for telegram_id, role in ((CIVIL_OFFICIAL, "official"),
                                              (CIVIL_HEAD, "head")))
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config(config_file: Path) -> Config:
    return raised_limits(load_config(config_file))


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def live(config: Config, tmp_path: Path) -> AsyncIterator[Bench]:
    """A started Sunbox whose clock starts 40 days before the real time."""
    clock = ManualClock(real_now() - timedelta(days=40))
    emulator = Emulator(clock=lambda: clock.now().timestamp())
    bench = Bench(config, tmp_path / "sunbox.db", emulator, clock)
    await bench.start()
    try:
        yield bench
    finally:
        await bench.stop()
    assert not bench.errors, f"handlers raised: {bench.errors!r}"


async def sunbox(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``sunbox …`` beside the running bench; its exit code and what it printed."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def status(capsys: pytest.CaptureFixture[str], config_file: Path, lang: str = "en"
                 ) -> tuple[int, str]:
    return await sunbox(capsys, "status", "--config", str(config_file), "--lang", lang)


async def backup(capsys: pytest.CaptureFixture[str], config_file: Path, tmp_path: Path) -> None:
    code, out = await sunbox(capsys, "backup", "--config", str(config_file),
                             str(tmp_path / "backup.tar"))
    assert code == 0, out


async def poll(bench: Bench) -> None:
    """The durable poller polls Telegram (the emulator) once, and is stopped."""
    assert bench.app is not None
    now = to_db_time(bench.clock.now())
    poller = DurablePoller(bench.app, timeout=1)
    polling = asyncio.create_task(poller.run())
    try:
        for _ in range(1000):
            if await bench.rows("SELECT 1 FROM meta WHERE key = 'last_poll' AND value = ?", now):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the poller did not poll")
    finally:
        poller.stop()
        await polling


def members_in_chat(bench: Bench) -> None:
    """Every member has opened a private chat with the bot (Telegram requires it)."""
    for telegram_id in MEMBERS:
        bench.user(telegram_id, f"Member {telegram_id}", language="en")


def resident(bench: Bench) -> EmuUser:
    return bench.user(RESIDENT, "王秀兰", language="en")


async def test_status_is_zero_when_healthy_after_a_backup_and_overdue_cases_do_not_fail_it(
    live: Bench, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    members_in_chat(live)
    await file_suggestion(live, resident(live), photo=False)  # 40 days ago: overdue now
    live.clock.set(real_now())
    await poll(live)

    code, out = await status(capsys, config_file)
    assert code == 1
    assert "Last backup: never" in out and "No backup recorded" in out
    assert "Overdue cases: 1 (shown, not a problem)" in out
    assert "1 problem:" in out

    await backup(capsys, config_file, tmp_path)
    code, out = await status(capsys, config_file)
    assert code == 0, out
    assert "✅ No problems." in out and "Overdue cases: 1" in out
    assert "Failed in the last 24 hours: 0 messages" in out
    assert "Outbox: 0 messages waiting" in out and "0 updates waiting to be handled" in out
    assert "Schema version:" in out and "Database size:" in out
    assert "Calendar: every year in use is covered" in out

    code, out = await status(capsys, config_file, lang="zh_CN")  # the operator's language
    assert code == 0 and "上次备份" in out and "逾期" in out


async def test_status_exits_non_zero_with_a_failed_outbox_row(
    live: Bench, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Civil affairs' staff never opened a chat with the bot: their cards of the case
    cannot be delivered (Telegram: chat not found) and are recorded as failed."""
    live.clock.set(real_now())
    await file_suggestion(live, resident(live), photo=False)
    [(failed,)] = await live.rows("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")
    assert failed >= 1
    await poll(live)
    await backup(capsys, config_file, tmp_path)

    code, out = await status(capsys, config_file)
    assert code == 1
    assert f"{failed} message{'s' if failed > 1 else ''} failed in the last 24 hours" in out


async def test_status_exits_non_zero_with_a_message_waiting_over_ten_minutes(
    live: Bench, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The sender has not run since the case was filed 15 minutes ago: the cards owed to
    civil affairs still wait."""
    members_in_chat(live)
    filed = real_now() - timedelta(minutes=15)
    live.clock.set(filed)
    reporter = resident(live)
    await to_text_step(live, reporter)
    await live.say(reporter, "村里的低保名单已经三个月没有张榜公示了。")
    await live.tap(reporter, "new:att:done")
    await live.tap(reporter, "new:id:anonymous")
    live.emu.press(reporter, live.find_data_message(reporter, "new:confirm"), "new:confirm")
    assert live.app is not None
    await live.handle()  # handled, and the outbox not drained
    [(waiting,)] = await live.rows(
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
    assert waiting >= 1
    live.clock.set(real_now())
    await poll(live)
    await backup(capsys, config_file, tmp_path)

    code, out = await status(capsys, config_file)
    assert code == 1
    assert "A message has been waiting for" in out and "the limit is 10 minutes" in out
    assert f"Outbox: {waiting} messages waiting" in out or waiting == 1
    assert "1 problem:" in out  # the poll and the backup are fresh, nothing failed


async def test_no_poll_for_five_minutes_and_no_backup_in_seven_days_are_problems(
    live: Bench, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    members_in_chat(live)
    admin = live.user(ADMIN, "Admin", language="en")
    live.clock.set(real_now())
    await poll(live)
    await backup(capsys, config_file, tmp_path)
    [reply] = await live.say(admin, "/health")
    assert "✅ No problems." in (reply.text or "")

    live.clock.advance(timedelta(minutes=4))
    [reply] = await live.say(admin, "/health")
    assert "✅ No problems." in (reply.text or "")
    live.clock.advance(timedelta(minutes=2))
    [reply] = await live.say(admin, "/health")
    text = reply.text or ""
    assert "1 problem:" in text and "No poll of Telegram and no update for 6 minutes" in text

    live.clock.advance(timedelta(days=7, minutes=1))
    await poll(live)
    [reply] = await live.say(admin, "/health")
    text = reply.text or ""
    assert "1 problem:" in text
    assert "The last backup was 7 days ago; one is needed at least every 7 days" in text


async def test_health_answers_an_admin_and_not_a_resident(bench: Bench) -> None:
    someone = resident(bench)
    [reply] = await bench.say(someone, "/health")
    assert reply.text == "Only an administrator can see the health of Sunbox."

    admin = bench.user(ADMIN, "管理员")
    [reply] = await bench.say(admin, "/health")
    text = reply.text or ""
    assert "上次成功" in text and "数据库" in text
    assert "Telegram" in text  # never polled in this bench: a problem, named


def test_status_without_a_database_says_so_in_one_line(
    config_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "--config", str(config_file), "--lang", "en"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "there is no database yet" in err[0]


async def test_a_message_to_someone_who_blocked_the_bot_is_shown_but_is_no_failure(
    live: Bench, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A resident who blocked the bot cannot be told that their case was accepted: that is
    their choice, not something the operator can mend, so the status stays healthy."""
    members_in_chat(live)
    live.clock.set(real_now())
    reporter = resident(live)
    await file_suggestion(live, reporter, identity="signed", photo=False)
    live.emu.block(reporter)
    [(case_id,)] = await live.rows("SELECT id FROM cases")
    await live.tap(live.user(CIVIL_OFFICIAL, "Member"), f"case:{case_id}:accept")
    assert await live.rows("SELECT 1 FROM outbox WHERE error = 'forbidden'")
    await poll(live)
    await backup(capsys, config_file, tmp_path)

    code, out = await status(capsys, config_file)
    assert code == 0, out
    assert "Not delivered because the person blocked the bot: 1 message (not a problem)" in out
    assert "Failed in the last 24 hours: 0 messages" in out
