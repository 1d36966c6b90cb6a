"""The retry policy (bot/telegram/retrying.py): the schedules every caller takes, and which errors
are worth another try."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.telegram import retrying
from bot.telegram.retrying import Backoff, Policy


def _pauses(backoff: Backoff, failures: int) -> list[float]:
    return [backoff.pause(n) for n in range(1, failures + 1)]


def test_the_schedules() -> None:
    assert _pauses(retrying.QUICK.backoff, 2) == [0.05, 0.1]
    assert _pauses(retrying.OUTBOX.backoff, 10) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert _pauses(retrying.POLLING, 11)[-3:] == [25.6, 51.2, 60.0]
    assert _pauses(retrying.CONFLICT, 5) == [5, 10, 20, 40, 60]
    assert [retrying.OUTBOX.gives_up(n) for n in (7, 8)] == [False, True]


def test_what_is_transient() -> None:
    assert retrying.transient(NetworkError("502 Bad Gateway"))
    assert retrying.transient(TimedOut())
    for error in (BadRequest("text is too long"), Forbidden("blocked"), RetryAfter(3),
                  ValueError()):
        assert not retrying.transient(error), error


def test_the_wait_a_429_names() -> None:
    assert retrying.retry_after_seconds(RetryAfter(timedelta(seconds=2.5))) == 2.5
    # In a process bot.startup did not prepare, PTB gives the wait as a number.
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.delenv("PTB_TIMEDELTA")
        warnings.simplefilter("ignore")
        assert retrying.retry_after_seconds(RetryAfter(30)) == 30.0


NOW = Policy(attempts=3, backoff=Backoff(first=0.0))


async def test_a_transient_error_is_tried_again_until_the_policy_gives_up() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise NetworkError("502")
        return "done"

    assert await retrying.again_if_transient(flaky, NOW) == "done"
    assert len(calls) == 3

    async def down() -> str:
        calls.append(1)
        raise TimedOut()

    calls.clear()
    with pytest.raises(TimedOut):
        await retrying.again_if_transient(down, NOW)
    assert len(calls) == 3


async def test_a_refusal_is_not_tried_again() -> None:
    calls: list[int] = []

    async def refused() -> None:
        calls.append(1)
        raise BadRequest("message is too long")

    with pytest.raises(BadRequest):
        await retrying.again_if_transient(refused, NOW)
    assert len(calls) == 1
