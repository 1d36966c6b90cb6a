"""The Bot API transport of ``sunbox run``: python-telegram-bot's ``BaseRequest`` on aiohttp.

PTB's default ``HTTPXRequest`` spends several times the CPU of this one on each call, and
more as calls in flight grow (httpcore scans its whole pool for every request; the figures
are in ``bench/README.md``). Every step of a conversation makes two or three
calls, so the transport was most of the bot's CPU. aiohttp is already a dependency (the
emulator's server).

Errors keep PTB's meaning, which the outbox relies on: ``TimedOut`` when a request was sent
and no answer came (it may have taken effect), ``NetworkError`` when it never left.

A mainland network reaches Telegram only through a proxy (``[telegram] proxy``, or the
environment's: ``bot.config.proxy_from_env``). Every kind goes through aiohttp-socks's
connector, which opens a tunnel per connection: an HTTP ``CONNECT`` for http:// and
https:// proxies (TLS to the proxy for the latter), SOCKS4 or SOCKS5 for socks URLs, with
the host name resolved by the proxy (DNS answers for api.telegram.org are not to be
trusted there). aiohttp alone speaks no SOCKS and ignores ``ALL_PROXY``.
"""

from __future__ import annotations

import ssl
import urllib.parse
from typing import Any

import aiohttp
import aiohttp_socks
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """Keep-alive connections to the Bot API, at most ``pool_size`` at a time."""

    def __init__(self, *, pool_size: int = 32, connect_timeout: float | None = 5.0,
                 read_timeout: float | None = 5.0, write_timeout: float | None = 5.0,
                 media_write_timeout: float | None = 20.0, proxy: str | None = None) -> None:
        self._pool_size = pool_size
        self._proxy = proxy
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=proxy_connector(self._proxy, self._pool_size),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _timeout(self, read: Any, write: Any, connect: Any, pool: Any,
                 files: bool) -> aiohttp.ClientTimeout:
        # A timeout the caller did not pass arrives as DEFAULT_NONE (BaseRequest's contract).
        unset = BaseRequest.DEFAULT_NONE
        if read is unset:
            read = self._read_timeout
        if write is unset:
            write = self._media_write_timeout if files else self._write_timeout
        if connect is unset:
            connect = self._connect_timeout
        if pool is unset:
            pool = 1.0
        parts = (read, write, connect, pool)
        total = None if any(p is None for p in parts) else sum(parts)
        return aiohttp.ClientTimeout(total=total, connect=None if connect is None or pool is None
                                     else connect + pool,
                                     sock_connect=connect, sock_read=read)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        data: Any = fields
        if files:
            # Names as UTF-8, as Telegram and PTB's own transport send them (not %-quoted).
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, pool_timeout,
                                bool(files))
        try:
            async with self._session.request(method, url, data=data,
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except (aiohttp_socks.ProxyConnectionError, aiohttp_socks.ProxyError,
                aiohttp_socks.ProxyTimeoutError) as error:
            # The proxy could not be reached or would not open the tunnel: nothing was sent.
            raise NetworkError(f"not sent: proxy: {error}") from error
        except aiohttp.ConnectionTimeoutError as error:
            raise NetworkError(f"not sent: connection timed out ({error})") from error
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientConnectorError as error:
            raise NetworkError(f"not sent: {type(error).__name__}") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def proxy_connector(proxy: str | None, limit: int) -> aiohttp.TCPConnector:
    """A connector for at most ``limit`` connections, each through ``proxy`` if given."""
    if proxy is None:
        return aiohttp.TCPConnector(limit=limit)
    parts = urllib.parse.urlsplit(proxy)
    scheme = parts.scheme.lower()
    kinds = {"http": aiohttp_socks.ProxyType.HTTP, "https": aiohttp_socks.ProxyType.HTTP,
             "socks4": aiohttp_socks.ProxyType.SOCKS4, "socks4a": aiohttp_socks.ProxyType.SOCKS4,
             "socks": aiohttp_socks.ProxyType.SOCKS5, "socks5": aiohttp_socks.ProxyType.SOCKS5,
             "socks5h": aiohttp_socks.ProxyType.SOCKS5}
    if scheme not in kinds or not parts.hostname or parts.port is None:
        raise ValueError("not a proxy URL (http, https, socks, socks4, socks4a, socks5, socks5h)")
    return aiohttp_socks.ProxyConnector(
        proxy_type=kinds[scheme], host=parts.hostname, port=parts.port,
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        rdns=True, proxy_ssl=ssl.create_default_context() if scheme == "https" else None,
        limit=limit)
