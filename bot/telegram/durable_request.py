"""Nothing leaves for Telegram before what it rests on is on disk.

A PTB ``BaseRequest`` around the real transport: before each call it awaits a barrier
(``Runtime.durable``) that returns once every database commit made so far has reached the
disk. A case number is sent only after its case is durable, and ``getUpdates`` confirms the
updates before it only after they are stored for good. Commits of people served at the same
moment share one flush of the log (``storage.db``), so the barrier is cheap under load.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram.request import BaseRequest, RequestData


class DurableRequest(BaseRequest):
    """``inner``'s calls, each made only after ``barrier()`` has returned."""

    __slots__ = ("_barrier", "_inner")

    def __init__(self, inner: BaseRequest, barrier: Callable[[], Awaitable[None]]) -> None:
        self._inner = inner
        self._barrier = barrier

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

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
        await self._barrier()
        return await self._inner.do_request(url, method, request_data, read_timeout,
                                            write_timeout, connect_timeout, pool_timeout)
