"""The anonymous link is sealed: the delivery chat of an anonymous case and a person's list of
anonymous cases are encrypted with a key the database never holds (bot/seal.py)."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from bot.config import Config, SecurityConfig, default_config_path, parse_config
from bot.seal import KEY_ENV, Sealer, SealError, encode_key, load_sealer, new_key
from bot.services import sealed
from storage.migrations import FUNCTIONS, MIGRATIONS, migrate
from storage.sql import Conn, connect
from tests.conftest import Bench, execute_script
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import CIVIL_OFFICIAL, staffed
from tests.support import engines

# Nine digits, as real Telegram ids: found by a byte search, not by chance.
RESIDENT = 387_654_321
OTHER = 412_345_678
# Where a person's own id may be: their row, and their own conversation's state.
PERSON_KEYED = {("people", "telegram_id"), ("user_data", "user_id"), ("conversations", "key")}


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


async def columns_holding(bench: Bench, value: int) -> list[tuple[str, str]]:
    """Every (table, column) where ``value`` is stored, as an integer or inside text."""
    found = []
    for table in await engines.table_names(bench):
        for column in await engines.column_names(bench, table):
            [(count,)] = await bench.rows(
                f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) = ? '
                f'OR instr(CAST("{column}" AS TEXT), ?) > 0', str(value), str(value))
            if count:
                found.append((table, column))
    return found


def private_links(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [place for place in found if place not in PERSON_KEYED]


async def test_the_same_chat_sealed_twice_gives_different_bytes(bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    await file_suggestion(bench, resident, photo=False)
    [(one,), (two,)] = await bench.rows("SELECT delivery_sealed FROM cases ORDER BY id")
    assert one != two
    sealer = bench.runtime.sealer
    assert sealer.unseal_chat(one) == sealer.unseal_chat(two) == RESIDENT
    assert sealer.seal_chat(RESIDENT) != sealer.seal_chat(RESIDENT)
    # The index on the chat is gone, and no other index holds a hash of it.
    indexes = await engines.index_names(bench, "cases")
    assert "cases_delivery" not in indexes


async def test_no_column_holds_the_chat_of_an_anonymous_case(bench: Bench) -> None:
    official = bench.user(CIVIL_OFFICIAL, "民政 official")
    resident = bench.user(RESIDENT, "王秀兰")
    number = await file_suggestion(bench, resident)
    # The receipt went out (the photo as it goes on, scrubbed, follows it).
    assert any(number in text for text in bench.texts(resident)), "the receipt went out"
    # After the filing: the receipt was sent at once, and forgot the chat and its text.
    assert private_links(await columns_holding(bench, RESIDENT)) == []
    assert await bench.rows(
        "SELECT COUNT(*) FROM outbox WHERE instr(payload, ?) > 0", number) == [(0,)]
    # The unit accepts: the reporter hears it through the sealed chat, and that row forgets.
    await bench.tap(official, "case:1:accept")
    assert number in bench.last_text(resident)
    assert private_links(await columns_holding(bench, RESIDENT)) == []
    assert await bench.rows(
        "SELECT chat_id, payload FROM outbox o JOIN cases c ON c.id = o.case_id "
        "WHERE c.anonymous = 1 AND o.status IN ('sent', 'failed') AND "
        "(o.chat_id IS NOT NULL OR o.payload != '{}')") == []
    # People keep dates to the day.
    [(created,)] = await bench.rows("SELECT created_at FROM people WHERE telegram_id = ?",
                                    RESIDENT)
    assert created == "2026-11-25"


async def test_no_replies_leaves_no_link_once_the_receipt_is_out(bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    number = await file_suggestion(bench, resident, "no_feedback", photo=False)
    assert number in bench.last_text(resident)
    assert private_links(await columns_holding(bench, RESIDENT)) == []
    assert await bench.rows("SELECT sealed_cases FROM people WHERE telegram_id = ?",
                            RESIDENT) == [(None,)]


async def test_my_followup_and_withdraw_find_anonymous_cases_through_the_sealed_list(
    bench: Bench,
) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    [(case_id,)] = await bench.rows("SELECT id FROM cases")
    [(person_id, token)] = await bench.rows(
        "SELECT id, sealed_cases FROM people WHERE telegram_id = ?", RESIDENT)
    assert bench.runtime.sealer.unseal_ids(person_id, token) == [case_id]
    [listing] = await bench.say(resident, "/my")
    assert number in (listing.text or "")
    # Someone else presses forged buttons for it: not theirs.
    other = bench.user(OTHER, "李四")
    [empty] = await bench.say(other, "/my")
    assert number not in (empty.text or "")
    await bench.press_data(other, empty, f"my:open:{case_id}")
    assert bench.emu.callback_answers[-1][1] == "未找到此事项。"
    # The reporter adds information; the conversation's stored state names no case.
    await bench.press_data(resident, listing, f"my:open:{case_id}")
    await bench.tap(resident, f"my:add:{case_id}")
    assert await bench.rows("SELECT COUNT(*) FROM user_data WHERE instr(data, ?) > 0",
                            f'"followup_case": {case_id}') == [(0,)]
    [added] = await bench.say(resident, "补充：公示栏在村委会门口。")
    assert added.text == f"已补充到 {number}。"
    await bench.tap(resident, f"my:wd:{case_id}")
    await bench.tap(resident, f"my:wdyes:{case_id}")
    assert await bench.rows("SELECT state FROM cases") == [("withdrawn",)]


async def test_erasing_the_sealed_list_unlinks_the_person(bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    [(person_id,)] = await bench.rows("SELECT id FROM people WHERE telegram_id = ?", RESIDENT)

    def work(conn: Conn) -> None:
        assert sealed.erase(conn, bench.runtime.sealer, person_id) == [1]
    await bench.runtime.db.write(work)
    assert await bench.rows("SELECT delivery_sealed FROM cases") == [(None,)]
    assert await bench.rows("SELECT sealed_cases FROM people WHERE id = ?", person_id) == [
        (None,)]
    [listing] = await bench.say(resident, "/my")
    assert number not in (listing.text or "")


async def test_a_wrong_key_refuses_to_start(bench: Bench, seal_key_home: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    await bench.stop()
    key = Path(bench.config.security.seal_key_file or seal_key_home)  # PostgreSQL: named
    original = key.read_text()
    key.write_text(encode_key(new_key()) + "\n")
    with pytest.raises(SealError, match="not the one this database was sealed with"):
        await bench.start()
    # The missing key is not silently replaced by a new one.
    key.unlink()
    with pytest.raises(SealError, match="is missing|to be supplied"):
        await bench.start()
    assert not key.exists()
    monkeypatch.setenv(KEY_ENV, original.strip())
    await bench.start()  # the right key, from the environment


def test_a_wrong_key_is_one_line_from_the_command_line(
    tmp_path: Path, seal_key_home: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.cli import main

    config = tmp_path / "config.toml"
    config.write_text(default_config_path().read_text(encoding="utf-8"), encoding="utf-8")
    # An administrator's command before the first start creates no key and pins nothing.
    assert main(["members", "--config", str(config), "--lang", "en"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "sunbox run" in lines[0], lines
    assert not seal_key_home.exists()
    monkeypatch.setenv(KEY_ENV, encode_key(new_key()))
    assert main(["members", "--config", str(config), "--lang", "en"]) == 0
    monkeypatch.setenv(KEY_ENV, encode_key(new_key()))
    capsys.readouterr()
    assert main(["members", "--config", str(config), "--lang", "en"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "seal key" in lines[0], lines


@pytest.mark.sqlite_only  # on PostgreSQL the key is never created: it must be supplied
async def test_the_key_file_is_created_0600_outside_the_data_directory(
    bench: Bench, seal_key_home: Path, tmp_path: Path,
) -> None:
    assert seal_key_home.exists()
    assert stat.S_IMODE(seal_key_home.stat().st_mode) == 0o600
    assert stat.S_IMODE(seal_key_home.parent.stat().st_mode) == 0o700
    assert seal_key_home.parent != bench.db_path.parent
    key = base64.urlsafe_b64decode(seal_key_home.read_text().strip())
    [(stored,)] = await bench.rows("SELECT value FROM meta WHERE key = 'seal_fingerprint'")
    assert stored == Sealer(key).fingerprint == bench.runtime.sealer.fingerprint
    # Nothing of the key is in the database's files.
    await bench.stop()
    for path in bench.db_path.parent.glob("sunbox.db*"):
        assert key not in path.read_bytes()
        assert seal_key_home.read_text().strip().encode() not in path.read_bytes()


async def test_the_environment_key_wins(bench: Bench, seal_key_home: Path,
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    await bench.stop()
    key = new_key()
    monkeypatch.setenv(KEY_ENV, encode_key(key))
    fresh = dataclasses.replace(bench.config, security=SecurityConfig(
        seal_key_file=str(tmp_path / "elsewhere" / "seal.key")))
    bench.config = fresh
    bench.db_path = tmp_path / "fresh.db"
    await bench.start()
    assert bench.runtime.sealer.fingerprint == Sealer(key).fingerprint
    assert not (tmp_path / "elsewhere" / "seal.key").exists()


def test_a_postgresql_database_needs_a_supplied_key(tmp_path: Path) -> None:
    config = Config(security=SecurityConfig(seal_key_file=str(tmp_path / "none.key")))
    with pytest.raises(SealError, match="PostgreSQL"):
        load_sealer(config, "postgresql://sunbox@db/sunbox", None, env={})
    assert not (tmp_path / "none.key").exists()
    key = encode_key(new_key())
    assert load_sealer(config, "postgresql://sunbox@db/sunbox", None, env={KEY_ENV: key})
    _, problems = parse_config({"general": {"database": "postgresql://sunbox@db/sunbox"}},
                               env={})
    assert [p.key for p in problems if "seal" in p.key] == ["security.seal_key_file"]


async def test_an_older_database_is_sealed_at_start_up(tmp_path: Path, config: Config) -> None:
    """A database of schema 6 with a plain delivery chat on an anonymous case, a receipt, a
    people row with a full moment and open steps remembering case ids in plain: start-up
    seals, lists, forgets and truncates."""
    path = tmp_path / "old.db"
    with closing(connect(str(path), functions=FUNCTIONS)) as conn:
        migrate(conn, MIGRATIONS[:6])
        execute_script(conn, f"""
            INSERT INTO people (id, telegram_id, created_at, blocked_at)
                VALUES (7, {RESIDENT}, '2026-11-20T02:03:04+00:00', '2026-11-21T05:06:07+00:00');
            INSERT INTO units (id, name_zh, name_en) VALUES ('u', 'u', 'u');
            INSERT INTO categories (id, name_zh, name_en, unit_id) VALUES ('c', 'c', 'c', 'u');
            INSERT INTO cases (id, number, kind, category_id, unit_id, state, anonymous,
                delivery_chat_id, language, text, created_at, updated_at, accept_due,
                answer_due, idempotency_key)
                VALUES (1, 'S-2026-00001', 'suggestion', 'c', 'u', 'new', 1, {RESIDENT},
                'zh_CN', 'text', '2026-11-20T02:03:05+00:00', '2026-11-20T02:03:05+00:00',
                '2026-11-21T00:00:00+00:00', '2026-11-30T00:00:00+00:00', 'k1');
            INSERT INTO outbox (created_at, chat_id, kind, case_id, payload, status)
                VALUES ('2026-11-20T02:03:05+00:00', {RESIDENT}, 'message', NULL,
                        '{{"text": "S-2026-00001"}}', 'sent'),
                       ('2026-11-20T03:00:00+00:00', {RESIDENT}, 'message', 1,
                        '{{"text": "accepted"}}', 'sent'),
                       ('2026-11-20T03:00:00+00:00', {RESIDENT}, 'message', 1,
                        '{{"text": "pending"}}', 'pending');
            INSERT INTO user_data (user_id, data) VALUES
                ({RESIDENT}, '{{"followup_case": 1, "reply_case": 1, "rating_case": 1,
                               "draft": {{"text": "draft"}}}}'),
                ({OTHER}, '{{"reply_case": 1}}');
        """)
    from bot.clock import ManualClock
    from bot.runtime import Runtime
    from tests.conftest import START

    runtime = Runtime(config, ManualClock(START), str(path))
    await runtime.open()
    try:
        def work(conn: Conn):
            rows = conn.execute_fetchall(
                "SELECT delivery_chat_id, delivery_sealed FROM cases")
            [(plain, token)] = [tuple(r) for r in rows]
            people = [tuple(r) for r in conn.execute_fetchall(
                "SELECT created_at, blocked_at, sealed_cases FROM people WHERE id = 7")]
            outbox = [tuple(r) for r in conn.execute_fetchall(
                "SELECT chat_id, payload, status FROM outbox ORDER BY id")]
            notes = {int(r[0]): json.loads(r[1]) for r in conn.execute_fetchall(
                "SELECT user_id, data FROM user_data")}
            [(other_id,)] = [tuple(r) for r in conn.execute_fetchall(
                "SELECT id FROM people WHERE telegram_id = ?", (OTHER,))]
            return outbox, people, plain, token, notes, other_id
        outbox, people, plain, token, notes, other_id = await runtime.db.read(work)
        assert plain is None and runtime.sealer.unseal_chat(token) == RESIDENT
        [(created, blocked, listed)] = people
        assert (created, blocked) == ("2026-11-20", "2026-11-21")
        assert runtime.sealer.unseal_ids(7, listed) == [1]
        assert outbox == [(None, "{}", "sent"), (None, "{}", "sent"),
                          (RESIDENT, '{"text": "pending"}', "pending")]
        # The case ids open steps remembered are sealed to their person (one who had no row
        # yet gets one, as the sealed list does); nothing else of the data changes.
        for user_id, person_id, keys in ((RESIDENT, 7, ("followup_case", "reply_case",
                                                          "rating_case")),
                                         (OTHER, other_id, ("reply_case",))):
            for key in keys:
                note = notes[user_id][key]
                assert isinstance(note, str), (key, note)
                assert runtime.sealer.unseal_note(person_id, note) == 1
        assert notes[RESIDENT]["draft"] == {"text": "draft"}
    finally:
        await runtime.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    assert os.path.exists(path)


async def test_an_open_reply_step_keeps_its_case_sealed_in_the_conversation(
    bench: Bench,
) -> None:
    """While the resident is about to reply to a question, their persisted conversation must
    remember which case, but must not join them to an anonymous case in plain."""
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    resident = bench.user(RESIDENT, "王秀兰")
    number = await file_suggestion(bench, resident, photo=False)
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:ask")
    await bench.say(official, "请问是哪个路口？")
    await bench.tap(resident, "rep:1:reply")
    [(data,)] = await bench.rows("SELECT data FROM user_data WHERE user_id = ?", RESIDENT)
    stored = json.loads(data)
    assert isinstance(stored["reply_case"], str), stored  # sealed, not the case id
    [(person_id,)] = await bench.rows("SELECT id FROM people WHERE telegram_id = ?", RESIDENT)
    assert bench.runtime.sealer.unseal_note(person_id, stored["reply_case"]) == 1
    await bench.say(resident, "在村东头的路口。")
    assert number in bench.last_text(resident)  # the reply went to the unit


async def test_a_filing_changes_several_sealed_lists_not_the_reporters_alone(
    bench: Bench,
) -> None:
    """Two copies of the database, before and after an anonymous filing, must not point at
    the reporter as the one person whose row changed."""
    others = [bench.user(500_000_001 + i, f"居民{i}") for i in range(12)]
    for other in others:
        await bench.say(other, "/start")
    resident = bench.user(RESIDENT, "王秀兰")
    await bench.say(resident, "/start")
    before = dict(await bench.rows("SELECT id, sealed_cases FROM people"))
    await file_suggestion(bench, resident, photo=False)
    after = dict(await bench.rows("SELECT id, sealed_cases FROM people"))
    changed = {pid for pid in after if after[pid] != before.get(pid)}
    [(reporter,)] = await bench.rows("SELECT id FROM people WHERE telegram_id = ?", RESIDENT)
    assert reporter in changed and len(changed) >= 4, changed
    sealer = bench.runtime.sealer
    for pid in changed - {reporter}:  # sealed afresh, holding what they held
        assert sealer.unseal_ids(pid, after[pid]) == sealer.unseal_ids(pid, before[pid])
