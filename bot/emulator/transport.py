"""A PTB ``BaseRequest`` that hands requests straight to an ``Emulator`` (no HTTP).

Usage::

    app = (ApplicationBuilder().token(emu.token)
           .request(EmulatorRequest(emu)).get_updates_request(EmulatorRequest(emu)).build())

Parameters are taken from ``RequestData.json_parameters`` (the same strings HTTPXRequest would
put on the wire) and files from ``RequestData.multipart_data``, so the emulator sees exactly what
it would see over HTTP. File downloads (``File.download_*`` -> ``retrieve``) are served from the
emulator's file store.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from .api import FileTuple
from .core import Emulator
from .models import ApiError

__all__ = ["EmulatorRequest"]

_FILE_RE = re.compile(r"/file/bot([^/]+)/(.+)$")
_METHOD_RE = re.compile(r"/bot([^/]+)/([^/]+)$")


def _payload(status: int, body: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(body, ensure_ascii=False).encode("utf-8")


class EmulatorRequest(BaseRequest):
    """Routes PTB's Bot API requests and file downloads into an ``Emulator``."""

    __slots__ = ("_emulator", "_read_timeout")

    def __init__(self, emulator: Emulator, *, read_timeout: float | None = 5.0) -> None:
        self._emulator = emulator
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer one request as the Bot API would: (HTTP status, body bytes)."""
        del read_timeout, write_timeout, connect_timeout, pool_timeout  # no network here
        await asyncio.sleep(0)  # let other tasks run, as real I/O would
        parts = urlsplit(url)
        path = unquote(parts.path)
        file_match = _FILE_RE.search(path)
        if file_match is not None:
            return self._file(file_match.group(1), file_match.group(2))
        method_match = _METHOD_RE.search(path)
        if method_match is None:
            return _payload(404, ApiError(404, "Not Found").body())
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        files: dict[str, FileTuple] = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            if request_data.contains_files:
                for name, field in request_data.multipart_data.items():
                    filename, content, mime = field[0], field[1], field[2]
                    data = content if isinstance(content, bytes) else content.read()
                    files[name] = (filename or name, bytes(data), mime or "")
        status, body = await self._emulator.call(
            method_match.group(2), params, files, token=method_match.group(1)
        )
        if self._emulator.take_lost_answer(method_match.group(2)):
            raise TimedOut("the emulator lost this answer")
        return _payload(status, body)

    def _file(self, token: str, file_path: str) -> tuple[int, bytes]:
        if token != self._emulator.token:
            return _payload(401, ApiError(401, "Unauthorized").body())
        stored = self._emulator.file_by_path(file_path)
        if stored is None:
            return _payload(404, ApiError(404, "Not Found").body())
        return 200, stored.data

