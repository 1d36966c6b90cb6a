"""The aiohttp transport of ``sunbox run`` against the emulator's HTTP server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.emulator.core import Emulator
from bot.emulator.server import EmulatorServer, start_server
from bot.telegram.http import AiohttpRequest


@pytest.fixture
async def served() -> AsyncIterator[tuple[Emulator, EmulatorServer]]:
    emu = Emulator()
    server = await start_server(emu)
    try:
        yield emu, server
    finally:
        await server.stop()


def _bot(emu: Emulator, server: EmulatorServer, **options: float) -> Bot:
    return Bot(emu.token, base_url=server.api_base_url, base_file_url=server.file_base_url,
               request=AiohttpRequest(**options), get_updates_request=AiohttpRequest(**options))


async def test_messages_files_and_errors_go_through(
        served: tuple[Emulator, EmulatorServer]) -> None:
    emu, server = served
    user = emu.user(501, "王芳")
    async with _bot(emu, server) as bot:
        assert (await bot.get_me()).is_bot
        sent = await bot.send_message(user.id, "您好，阳光信箱")
        last = emu.last(user.id)
        assert last is not None and last.text == "您好，阳光信箱"
        assert sent.message_id == last.message_id
        # A multipart upload: the bytes arrive as a document with its name.
        await bot.send_document(user.id, "表格内容".encode(), filename="报告.xlsx",
                                caption="半年评估")
        last = emu.last(user.id)
        assert last is not None and last.kind == "document" and last.text == "半年评估"
        assert last.raw["document"]["file_name"] == "报告.xlsx"
        # Telegram's own refusals keep PTB's meaning.
        with pytest.raises(BadRequest):
            await bot.send_message(user.id, "")


async def test_no_answer_is_timed_out(served: tuple[Emulator, EmulatorServer]) -> None:
    emu, server = served
    # A long poll that outlasts the read timeout: sent, and no answer in time.
    poll = f"{server.api_base_url}{emu.token}/getUpdates?timeout=3"
    async with AiohttpRequest() as request:
        with pytest.raises(TimedOut):
            await request.do_request(poll, "POST", read_timeout=0.2)
    # The same with the transport's own read timeout, which applies when a call passes none
    # (PTB says so with BaseRequest.DEFAULT_NONE).
    async with AiohttpRequest(read_timeout=0.2) as request:
        with pytest.raises(TimedOut):
            await request.do_request(poll, "POST")


async def test_nothing_listening_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AiohttpRequest(connect_timeout=1.0) as request:
        with pytest.raises(NetworkError) as caught:
            await request.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")
    # Never sent: the outbox may retry it freely (TimedOut would mean "may have arrived").
    assert not isinstance(caught.value, TimedOut)


async def test_not_initialised_is_refused() -> None:
    with pytest.raises(RuntimeError):
        await AiohttpRequest().do_request("http://127.0.0.1:1/bot1:x/getMe", "POST")
