"""At the end of each half year (and the year) the assessment goes to the supervision
group by itself, once per period, through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.config import Config
from handlers.jobs import REPORTS
from tests.conftest import SHANGHAI, Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import staffed

SUPERVISION = 1003


@pytest.fixture
def config(config: Config) -> Config:
    """Staff at civil affairs: the case stays there (tests/handlers/test_routing_up.py)."""
    return staffed(config)


async def test_half_year_and_year_reports_go_out_once(bench: Bench) -> None:
    supervisor = bench.user(SUPERVISION, "孙监督")
    await bench.say(supervisor, "/start")
    await file_suggestion(bench, bench.user(4401, "王秀兰"), photo=False)
    await bench.run_job(REPORTS)
    assert [m.kind for m in bench.emu.sent(SUPERVISION)][1:] == [], "no period ended yet"
    bench.clock.set(datetime(2027, 1, 1, 1, 0, tzinfo=SHANGHAI))
    await bench.run_job(REPORTS)
    files = [m for m in bench.emu.sent(SUPERVISION) if m.kind in ("photo", "document")]
    assert [m.kind for m in files] == ["photo", "document", "photo", "document"]
    assert "2026H2" in (files[0].text or "") and "2026" in (files[2].text or "")
    assert files[1].file_id and bench.emu.file_bytes(files[1].file_id)[:2] == b"PK"
    await bench.restart()
    bench.clock.advance(timedelta(days=3))
    await bench.run_job(REPORTS)
    assert len([m for m in bench.emu.sent(SUPERVISION) if m.kind != "text"]) == 4
    assert await bench.rows("SELECT period FROM scheduled_reports ORDER BY period") == [
        ("2026",), ("2026H2",)]
