"""aiohttp HTTP front for the emulator, so an unmodified PTB ``Application`` can poll it.

PTB (HTTPXRequest) POSTs every method to ``{base_url}{token}/{method}``: form-urlencoded when
there are no files, multipart/form-data with file parts otherwise; non-file values are strings
(``RequestParameter.json_value``: JSON for numbers/bools/lists/dicts). Files are fetched with GET
from ``{base_file_url}{token}/{file_path}``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from .api import FileTuple
from .core import Emulator
from .models import ApiError

__all__ = ["EmulatorServer", "start_server"]

log = logging.getLogger(__name__)

_EMULATOR_KEY = web.AppKey("emulator", Emulator)
MAX_BODY = 64 * 1024 * 1024


@dataclass
class EmulatorServer:
    """A running HTTP front; ``api_base_url``/``file_base_url`` go to ApplicationBuilder."""

    emulator: Emulator
    runner: web.AppRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        return self.base_url + "/bot"

    @property
    def file_base_url(self) -> str:
        return self.base_url + "/file/bot"

    async def stop(self) -> None:
        """End running long polls and webhook deliveries, and shut the server down."""
        self.emulator.interrupt_polls()
        await self.emulator.stop_delivery()
        await self.runner.cleanup()


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False),
                        content_type="application/json")


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, FileTuple]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, FileTuple] = {}
    if request.method != "POST" or not request.body_exists:
        return params, files
    ctype = request.content_type
    if ctype == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        params.update(body)
    elif ctype.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = bytes(await part.read(decode=False))
                mime = part.headers.get("Content-Type", "application/octet-stream")
                files[part.name] = (part.filename, data, mime)
            else:
                params[part.name] = await part.text()
    else:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params, files


async def _api(request: web.Request) -> web.Response:
    emu = request.app[_EMULATOR_KEY]
    token, method = request.match_info["token"], request.match_info["method"]
    try:
        params, files = await _read_params(request)
    except ApiError as exc:
        return _json(exc.status, exc.body())
    except ValueError:
        return _json(400, ApiError(400, "Bad Request: can't parse request body").body())
    status, body = await emu.call(method, params, files, token=token)
    return _json(status, body)


async def _file(request: web.Request) -> web.Response:
    emu = request.app[_EMULATOR_KEY]
    if request.match_info["token"] != emu.token:
        return _json(401, ApiError(401, "Unauthorized").body())
    stored = emu.file_by_path(request.match_info["path"])
    if stored is None:
        return _json(404, ApiError(404, "Not Found").body())
    return web.Response(body=stored.data,
                        content_type=stored.mime_type or "application/octet-stream")


async def _not_found(request: web.Request) -> web.Response:
    return _json(404, ApiError(404, "Not Found").body())


async def start_server(emu: Emulator, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
    """Serve ``emu`` over HTTP on host:port (port 0 picks a free one)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[_EMULATOR_KEY] = emu
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", _file)
    app.router.add_route("*", "/bot{token}/{method}", _api)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    log.info("Bot API emulator listening on %s:%s", host, bound_port)
    return EmulatorServer(emu, runner, host, bound_port)
