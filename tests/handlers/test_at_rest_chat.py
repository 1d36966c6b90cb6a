"""At rest, seen from the chat: unfinished drafts expire with what was entered in them, and
a case's history reads what people wrote from where it can be redacted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import Config
from handlers.jobs import DRAFTS
from storage import cases as case_repo
from storage.sql import Conn
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion, to_text_step
from tests.handlers.staff import CIVIL_OFFICIAL, staffed
from tests.support import engines

RESIDENT = 604417293
DRAFT_TEXT = "西街路灯坏了两个月，晚上老人出门很危险"
REPLY_TEXT = "就在西街三号门口，电线杆上有编号"
EXPIRED_NOTICE = "草稿"


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


async def _drafts_holding(bench: Bench, text: str) -> int:
    rows = await bench.rows("SELECT data FROM user_data")
    return sum(text in data for (data,) in rows)


async def test_an_unfinished_draft_expires_with_its_text_and_the_resident_is_told(
        bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, DRAFT_TEXT)
    assert await _drafts_holding(bench, DRAFT_TEXT) == 1
    assert await bench.rows("SELECT key FROM conversations") == [(f"[{RESIDENT}]",)]
    # Stamped 25 November: kept through the seventh day after that day.
    bench.clock.advance(timedelta(days=7))
    await bench.run_job(DRAFTS)
    assert await _drafts_holding(bench, DRAFT_TEXT) == 1
    bench.clock.advance(timedelta(days=1))
    await bench.run_job(DRAFTS)
    assert await _drafts_holding(bench, DRAFT_TEXT) == 0
    assert await bench.rows("SELECT key FROM conversations") == []
    # The next message (a photo for the attachments step the draft was at) is not taken
    # into a draft that is gone: the resident hears what happened, and nothing is filed.
    replies = await bench.send(resident, "send_photo")
    assert len(replies) == 1 and EXPIRED_NOTICE in (replies[0].text or "")
    assert "/new" in (replies[0].text or "")
    assert await bench.rows("SELECT COUNT(*) FROM cases") == [(0,)]
    assert await bench.rows("SELECT COUNT(*) FROM attachments") == [(0,)]
    # A fresh start works as ever.
    number = await file_suggestion(bench, resident, photo=False)
    assert number.startswith("S-")


async def test_an_expired_draft_is_not_written_back_and_is_explained_after_a_restart(
        bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, DRAFT_TEXT)
    assert bench.app is not None
    await bench.app.update_persistence()  # PTB's own timer stages a copy of the draft
    bench.clock.advance(timedelta(days=9))
    await bench.run_job(DRAFTS)
    await bench.stop()  # the persistence's flush must not write the staged copy back
    with engines.outside(bench.db_path) as conn:
        assert not any(DRAFT_TEXT in data for (data,) in conn.execute_fetchall(
            "SELECT data FROM user_data"))
        assert tuple(conn.execute_fetchall("SELECT COUNT(*) FROM conversations")[0]) == (0,)
    await bench.start()
    replies = await bench.say(resident, "还在吗？")
    assert len(replies) == 1 and EXPIRED_NOTICE in (replies[0].text or "")
    # Told once; after that, the usual answer.
    replies = await bench.say(resident, "还在吗？")
    assert EXPIRED_NOTICE not in (replies[0].text or "")


async def test_a_draft_in_use_does_not_expire(bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    await to_text_step(bench, resident)
    bench.clock.advance(timedelta(days=6))
    await bench.say(resident, DRAFT_TEXT)  # a step: the draft is stamped again
    bench.clock.advance(timedelta(days=6))
    await bench.run_job(DRAFTS)
    assert await _drafts_holding(bench, DRAFT_TEXT) == 1


@pytest.mark.parametrize("crash", [False, True])
async def test_a_draft_from_before_stamping_expires_across_restarts(
        bench: Bench, crash: bool) -> None:
    """A draft an older Sunbox saved has no stamp: the first expiry run stamps it with that
    day, and the stamp is kept in the database (a restart, even a crash, must not stamp it
    anew each time, which would keep it for ever)."""
    resident = bench.user(RESIDENT, "王秀兰")
    await to_text_step(bench, resident)
    await bench.say(resident, DRAFT_TEXT)
    await bench.stop()
    with engines.outside(bench.db_path) as conn:  # as an older Sunbox left it
        conn.execute("UPDATE user_data SET data = (data::jsonb #- '{draft,touched}')::text"
                     if engines.is_postgres(bench.db_path) else
                     "UPDATE user_data SET data = json_remove(data, '$.draft.touched')")
        [(data,)] = conn.execute_fetchall("SELECT data FROM user_data")
        assert DRAFT_TEXT in data and "touched" not in data
    await bench.start()
    await bench.run_job(DRAFTS)  # 25 November: stamped with that day
    assert await _drafts_holding(bench, DRAFT_TEXT) == 1
    for _ in range(3):  # a restart every other day: the stamp stays 25 November
        bench.clock.advance(timedelta(days=2))
        await bench.restart(crash=crash)
        await bench.run_job(DRAFTS)
        assert await _drafts_holding(bench, DRAFT_TEXT) == 1
    bench.clock.advance(timedelta(days=2))  # past the seventh day after 25 November
    await bench.run_job(DRAFTS)
    assert await _drafts_holding(bench, DRAFT_TEXT) == 0
    replies = await bench.say(resident, "还在吗？")
    assert len(replies) == 1 and EXPIRED_NOTICE in (replies[0].text or "")


async def test_a_reply_is_read_from_the_redactable_texts_and_its_redaction_shows(
        bench: Bench) -> None:
    official = bench.user(CIVIL_OFFICIAL, "赵承办")  # has opened the bot (cards reach them)
    resident = bench.user(RESIDENT, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问是哪个路口？")
    await bench.tap(resident, "rep:1:reply")
    await bench.say(resident, REPLY_TEXT)
    payloads = await bench.rows("SELECT type, payload FROM case_events ORDER BY id")
    assert not any(REPLY_TEXT in p or "哪个路口" in p for _, p in payloads)
    texts = await bench.rows(
        "SELECT e.type, t.texts FROM case_event_texts t JOIN case_events e ON e.id = t.event_id")
    assert [(kind, REPLY_TEXT in text or "哪个路口" in text) for kind, text in texts] == [
        ("question", True), ("reply", True)]
    history = "\n".join(m.text or "" for m in await bench.say(official, f"/case {number}"))
    assert REPLY_TEXT in history and "请问是哪个路口？" in history

    def work(conn: Conn) -> None:
        assert case_repo.redact_event_texts(
            conn, 1, bench.clock.now(), purpose="retention") == 2
    await bench.runtime.db.write(work)
    history = "\n".join(m.text or "" for m in await bench.say(official, f"/case {number}"))
    assert REPLY_TEXT not in history and "哪个路口" not in history
    assert "（已删除）" in history and "个人信息已删除" in history
