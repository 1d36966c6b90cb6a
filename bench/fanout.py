"""Issue 7: outbox fan-out, 1,000 reminders to 1,000 chats under Telegram's flood limits.

    .venv/bin/python -m bench.fanout [--chats 1000]

The emulator (HTTP on loopback) enforces ``FloodLimits()`` at real scale (30/s overall,
1/s per chat with a burst of 3). Sunbox's own ``OutboxSender`` at production ``Rates()``
delivers the rows through the real Application's bot (with its ``AIORateLimiter``), as
``sunbox run`` does. The baseline, in the same run on a fresh emulator: a bare
python-telegram-bot ``ExtBot`` with ``AIORateLimiter`` sending the same 1,000 messages with
``asyncio.gather``. Both in this process: the sender's pacing, not the CPU, sets the pace.
Figures go to stdout and ``bench/results/fanout.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot.app import build_application
from bot.config import default_config_path, load_config
from bot.emulator.core import Emulator
from bot.emulator.limits import FloodLimits
from bot.telegram.pacing import Rates
from storage import outbox
from storage.sql import Conn

from ._harness import Figure, print_table, start_emulator, write_results

FIRST_CHAT = 100_000


def _chats(emu: Emulator, count: int) -> list[int]:
    ids = [FIRST_CHAT + i for i in range(count)]
    for chat_id in ids:
        emu.user(chat_id, f"Resident {chat_id}", language_code="en")
    return ids


def _delivered(emu: Emulator, ids: list[int]) -> tuple[int, int]:
    """(chats that got the reminder, reminders delivered in all)."""
    per_chat = [sum(1 for m in emu.sent(chat) if (m.text or "").startswith("⏰"))
                for chat in ids]
    return sum(1 for n in per_chat if n), sum(per_chat)


async def sunbox_fanout(count: int, timeout: float) -> dict[str, Any]:
    emu, server = await start_emulator()
    emu.flood_limits = FloodLimits()
    ids = _chats(emu, count)
    config = load_config(default_config_path())
    config = dataclasses.replace(config, telegram=dataclasses.replace(
        config.telegram, token=emu.token, api_base_url=server.base_url))
    with tempfile.TemporaryDirectory(prefix="sunbox-fanout-") as tmp:
        application = build_application(config, database=str(Path(tmp) / "fanout.db"),
                                         outbox_loop=False, outbox_rates=Rates())
        await application.initialize()
        assert application.post_init is not None and application.post_shutdown is not None
        await application.post_init(application)
        runtime = application.bot_data.runtime
        sender = application.bot_data.sender
        try:
            def work(conn: Conn) -> None:
                now = runtime.clock.now()
                for chat_id in ids:
                    outbox.enqueue(conn, now, chat_id, "message", {
                        "text": "⏰ Reminder: case S-2026-00042 must be accepted by 17:00."})
            await runtime.db.write(work)
            emu.flood_limits.throttled = 0
            started = time.perf_counter()
            deadline = started + timeout
            while time.perf_counter() < deadline:
                await sender.drain()
                counts = await runtime.db.read(outbox.counts)
                if not counts.get("pending") and not counts.get("sending"):
                    break
                await asyncio.sleep(0.2)
            elapsed = time.perf_counter() - started
            chats, messages = _delivered(emu, ids)
            counts = await runtime.db.read(outbox.counts)
        finally:
            await application.shutdown()
            await application.post_shutdown(application)
            await server.stop()
    return {"seconds": elapsed, "per_second": messages / elapsed, "chats_reached": chats,
            "messages": messages, "throttled_429": emu.flood_limits.throttled,
            "outbox": counts}


async def ptb_fanout(count: int) -> dict[str, Any]:
    """A bare PTB bot with AIORateLimiter: gather 1,000 send_message calls."""
    emu, server = await start_emulator()
    emu.flood_limits = FloodLimits()
    ids = _chats(emu, count)
    bot = ExtBot(emu.token, base_url=server.api_base_url,
                 rate_limiter=AIORateLimiter(max_retries=3))
    failed = 0
    async with bot:
        emu.flood_limits.throttled = 0
        started = time.perf_counter()

        async def one(chat_id: int) -> None:
            nonlocal failed
            try:
                await bot.send_message(chat_id, "⏰ Reminder: case S-2026-00042 is due.")
            except TelegramError:
                failed += 1

        await asyncio.gather(*(one(chat_id) for chat_id in ids))
        elapsed = time.perf_counter() - started
    await server.stop()
    chats, messages = _delivered(emu, ids)
    return {"seconds": elapsed, "per_second": messages / elapsed, "chats_reached": chats,
            "messages": messages, "throttled_429": emu.flood_limits.throttled,
            "failed": failed}


async def main(count: int) -> None:
    baseline = await ptb_fanout(count)
    print(f"  PTB + AIORateLimiter: {baseline['messages']} in {baseline['seconds']:.1f} s = "
          f"{baseline['per_second']:.1f}/s, 429s {baseline['throttled_429']}", flush=True)
    sunbox = await sunbox_fanout(count, timeout=max(120.0, count / 5))
    print(f"  Sunbox outbox:        {sunbox['messages']} in {sunbox['seconds']:.1f} s = "
          f"{sunbox['per_second']:.1f}/s, 429s {sunbox['throttled_429']}, "
          f"outbox {sunbox['outbox']}", flush=True)
    figures = [
        Figure(f"fan-out {count} chats", sunbox["per_second"], "msg/s",
               baseline["per_second"], ">= 27/s", sunbox["per_second"] >= 27),
        Figure("fan-out 429s received", sunbox["throttled_429"], "429s",
               baseline["throttled_429"], "0", sunbox["throttled_429"] == 0),
        Figure("fan-out chats reached", sunbox["chats_reached"], "chats",
               baseline["chats_reached"], f"{count}", sunbox["chats_reached"] == count),
    ]
    print()
    print_table(figures)
    path = write_results("fanout", figures, {"sunbox": sunbox, "ptb_baseline": baseline})
    print(f"results: {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.chats))
