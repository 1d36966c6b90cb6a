"""Logs carry no case text, names or phone numbers (our code at DEBUG, libraries at INFO,
as `sunbox run` configures them)."""

from __future__ import annotations

import logging

import pytest

from bot.config import Config
from tests.conftest import Bench
from tests.handlers.flows import TEXT, file_report, file_suggestion
from tests.handlers.staff import CIVIL_OFFICIAL, staffed


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


async def test_no_personal_data_in_the_logs(bench: Bench, caplog: pytest.LogCaptureFixture
                                            ) -> None:
    caplog.set_level(logging.INFO)
    for name in ("bot", "handlers", "storage"):
        caplog.set_level(logging.DEBUG, logger=name)
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    resident = bench.user(4301, "欧阳娜娜")
    await file_suggestion(bench, resident, photo=True)
    await file_report(bench, bench.user(4302, "李建国"))
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问具体是哪一户？")
    await bench.tap(resident, "rep:1:reply")
    await bench.say(resident, "住在村东头的张家。")
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert caplog.records, "something was logged, so the check means something"
    for secret in (TEXT, "欧阳娜娜", "李建国", "+8613800138000", "8613800138000",
                   "请问具体是哪一户", "住在村东头的张家", "村里修路资金"):
        assert secret not in logged, secret
