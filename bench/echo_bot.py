"""The baseline: a bare python-telegram-bot echo bot, long polling a Bot API at ``--url``.

``python -m bench.echo_bot --url http://127.0.0.1:PORT/bot --token TOKEN [--stack sunbox]``;
stops on SIGTERM.

``--stack ptb`` (the default) is PTB's defaults: httpx, asyncio's loop, one update at a time.
``--stack sunbox`` is the stack ``sunbox run`` stands on: aiohttp
(``bot.telegram.http``), uvloop and the settled collector (``bot.cli.run_loop``,
``settle_collector``), and up to 64 updates at once, as Sunbox's update processor allows:
the highest echo this stack allows.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the text."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the button press."""
    assert update.callback_query is not None
    await update.callback_query.answer()


def build(url: str, token: str, stack: str = "ptb") -> Application:  # type: ignore[type-arg]
    builder = ApplicationBuilder().token(token).base_url(url)
    if stack == "sunbox":
        from bot.telegram.http import AiohttpRequest
        from bot.telegram.update_processor import PARALLEL

        # Sunbox's pool sizes (bot/app.py) and as many updates at once as its processor.
        builder = (builder.request(AiohttpRequest(pool_size=64))
                   .get_updates_request(AiohttpRequest(pool_size=2))
                   .concurrent_updates(PARALLEL))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


async def main(url: str, token: str, stack: str = "ptb") -> None:
    app = build(url, token, stack)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await app.start()
        if stack == "sunbox":
            from bot.cli import settle_collector

            settle_collector()
        await stop.wait()
        await app.updater.stop()
        await app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--stack", choices=("ptb", "sunbox"), default="ptb",
                        help="PTB's defaults, or Sunbox's transport, loop and collector")
    args = parser.parse_args()
    if args.stack == "sunbox":
        from bot.cli import run_loop

        run_loop(main(args.url, args.token, args.stack))
    else:
        asyncio.run(main(args.url, args.token))
