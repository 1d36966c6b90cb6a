"""The baseline: a bare python-telegram-bot echo bot, long polling a Bot API at ``--url``.

``python -m bench.echo_bot --url http://127.0.0.1:PORT/bot --token TOKEN``; stops on SIGTERM.
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


def build(url: str, token: str) -> Application:  # type: ignore[type-arg]
    app = ApplicationBuilder().token(token).base_url(url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


async def main(url: str, token: str) -> None:
    app = build(url, token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await app.start()
        await stop.wait()
        await app.updater.stop()
        await app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.token))
