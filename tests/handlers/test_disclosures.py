"""The disclosure register end to end, as its people use it: a village's monthly finances
come due; the official drafts them in chat; the committee reviews (quorum, return); the head
signs; the post appears in the channel with its opinion button; the clerk confirms the
notice board; a resident gives an opinion; the unit answers; a corrected version follows.
Also the permissions of each step, the channel's failures and retry, a restart mid-review,
the alarm ladder of an obligation, and the archive's immutability in the database."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime

import pytest
from pypdf import PdfReader

from bot.config import Config, MemberConfig
from bot.emulator.core import EmuUser
from handlers.disclosure_posts import POSTS
from handlers.jobs import ALARMS, DIGEST
from storage.sql import Conn
from tests.conftest import SHANGHAI, Bench
from tests.handlers.staff import SUPERVISION, staffed

OFFICIAL, HEAD, C1, C2, C3, CLERK, PARTY1, RESIDENT, OTHER_HEAD = (
    2001, 2002, 2003, 2004, 2005, 2006, 2101, 3001, 1102)
CHANNEL = -1001000000001
UNIT = "yizhou_beiguan"
BODY = "十一月村级财务收入三万二千元，支出两万八千元，其中低保户慰问金四千元。"
SECTIONS = ("经村民代表会议讨论", "依据村务公开条例", "公开透明、民主理财",
            "提出、审议、表决、公开")


def village(config: Config) -> Config:
    base = staffed(config, **{UNIT: {"public_channel_id": CHANNEL}})
    members = base.members + (
        MemberConfig(OFFICIAL, "official", UNIT), MemberConfig(HEAD, "head", UNIT),
        MemberConfig(C1, "committee", UNIT), MemberConfig(C2, "committee", UNIT),
        MemberConfig(C3, "committee", UNIT), MemberConfig(CLERK, "clerk", UNIT),
        MemberConfig(PARTY1, "party_member", UNIT))
    return dataclasses.replace(base, members=members)


@pytest.fixture
def config(config: Config) -> Config:
    return village(config)


async def everyone(bench: Bench, *, admin_channel: bool = True) -> dict[int, EmuUser]:
    bench.emu.channel(CHANNEL, "北关村党务公开",
                      bot="administrator" if admin_channel else "member")
    users = {}
    for uid in (OFFICIAL, HEAD, C1, C2, C3, CLERK, PARTY1, RESIDENT, OTHER_HEAD, SUPERVISION):
        users[uid] = bench.user(uid, f"u{uid}", language="en")
        await bench.say(users[uid], "/start")
    return users


async def draft_and_submit(bench: Bench, users: dict[int, EmuUser]) -> int:
    """The official drafts November's finances and submits them; returns the disclosure."""
    official = users[OFFICIAL]
    replies = await bench.say(official, "/publish")
    assert any("Village income and spending" in (m.text or "") or
               any("Village income" in b for row in m.buttons() for b, _ in row)
               for m in replies)
    [(duty,)] = await bench.rows(
        "SELECT id FROM disclosure_obligations WHERE unit_id = ? AND period_key = '2026-11'",
        UNIT)
    await bench.tap(official, f"dd:new:{duty}")
    await bench.say(official, BODY)
    for section in SECTIONS:  # a major decision's procedure, basis, principles, stages
        await bench.say(official, section)
    await bench.send(official, "send_photo")
    await bench.tap(official, "dx:files:done")
    assert BODY in bench.last_text(official)
    await bench.tap(official, "dx:submit")
    [(did,)] = await bench.rows("SELECT id FROM disclosures WHERE unit_id = ?", UNIT)
    return int(did)


async def publish(bench: Bench, users: dict[int, EmuUser]) -> int:
    did = await draft_and_submit(bench, users)
    await bench.tap(users[C1], f"dr:ok:{did}")
    await bench.tap(users[C2], f"dr:ok:{did}")
    await bench.tap(users[HEAD], f"ds:ok:{did}")
    await bench.run_job(POSTS)
    return did


async def stage(bench: Bench, did: int) -> str:
    [(found,)] = await bench.rows("SELECT stage FROM disclosures WHERE id = ?", did)
    return str(found)


async def test_a_month_of_finances_from_due_to_corrected(bench: Bench) -> None:
    users = await everyone(bench)
    did = await draft_and_submit(bench, users)
    # Three committee members: a majority, two, approve; each is asked.
    for member in (C1, C2, C3):
        assert bench.find_data_message(users[member], f"dr:ok:{did}")
    request = bench.find_data_message(users[C1], f"dr:ok:{did}")
    await bench.tap(users[C1], f"dr:ok:{did}")
    assert await stage(bench, did) == "review"
    await bench.press_data(users[C1], request, f"dr:ok:{did}")  # twice counts once
    assert await stage(bench, did) == "review"
    await bench.tap(users[C2], f"dr:ok:{did}")
    assert await stage(bench, did) == "signoff"
    await bench.tap(users[HEAD], f"ds:ok:{did}")
    [(number, digest, published)] = await bench.rows(
        "SELECT number, content_hash, published_at FROM disclosures WHERE id = ?", did)
    assert number == "D-2026-00001" and len(digest) == 64 and published
    # The post, with the opinion button, in the channel (the bot's own post: no update).
    await bench.run_job(POSTS)
    posts = bench.emu.sent(CHANNEL)
    assert posts and BODY in (posts[0].text or "") and "D-2026-00001" in (posts[0].text or "")
    assert not bench.emu.pending_updates()
    # The poster goes to the clerk, who confirms the notice board with a photo; only then,
    # with the channel post, is the month's obligation met.
    [(met,)] = await bench.rows(
        "SELECT met_at FROM disclosure_obligations WHERE period_key = '2026-11' AND unit_id = ?",
        UNIT)
    assert met is None
    [poster] = [m for m in bench.emu.sent(CLERK) if m.kind == "document"]
    pages = PdfReader(io.BytesIO(bench.emu.file_bytes(poster.file_id or ""))).pages
    printed = "".join(page.extract_text() for page in pages).replace("\x00", "")
    assert "D-2026-00001" in printed and "低保户" in printed
    await bench.tap(users[CLERK], f"df:notice_board:{did}")
    await bench.send(users[CLERK], "send_photo")
    [(met,)] = await bench.rows(
        "SELECT met_at FROM disclosure_obligations WHERE period_key = '2026-11' AND unit_id = ?",
        UNIT)
    assert met is not None
    # A resident opens the post's button, gives an anonymous opinion; it is a case of the
    # village, linked to the disclosure, and the post shows the count.
    bench.emu.click_link(users[RESIDENT], posts[-1], "💬")
    await bench.deliver()
    await bench.say(users[RESIDENT], "慰问金发给了哪些低保户？希望公布名单。")
    await bench.tap(users[RESIDENT], "new:att:done")
    await bench.tap(users[RESIDENT], "new:id:anonymous")
    await bench.tap(users[RESIDENT], "new:confirm")
    [(case_id, unit, anonymous)] = await bench.rows(
        "SELECT c.id, c.unit_id, c.anonymous FROM disclosure_opinions o "
        "JOIN cases c ON c.id = o.case_id WHERE o.disclosure_id = ?", did)
    assert unit == UNIT and anonymous == 1
    await bench.run_job(POSTS)
    assert any("1" in text for row in posts[-1].buttons() for text, _ in row)
    # The unit answers all opinions in one reply; the resident hears it.
    await bench.say(users[OFFICIAL], "/opinions")
    await bench.tap(users[OFFICIAL], f"dv:{did}")
    await bench.tap(users[OFFICIAL], f"do:all:{did}")
    await bench.say(users[OFFICIAL], "名单已在村公开栏张贴，共十二户。")
    assert any("十二户" in (m.text or "") for m in bench.emu.sent(RESIDENT))
    # A correction: version 2, linked both ways; the resident is told.
    await bench.say(users[OFFICIAL], "/opinions")
    await bench.tap(users[OFFICIAL], f"dv:{did}")
    await bench.tap(users[OFFICIAL], f"dd:fix:{did}")
    await bench.say(users[OFFICIAL], BODY + "（更正：支出两万七千元）")
    await bench.tap(users[OFFICIAL], "dx:files:done")
    await bench.tap(users[OFFICIAL], "dx:submit")
    [(v2, version, previous)] = await bench.rows(
        "SELECT id, version, previous_id FROM disclosures WHERE previous_id = ?", did)
    assert version == 2 and previous == did
    await bench.tap(users[C2], f"dr:ok:{v2}")
    await bench.tap(users[C3], f"dr:ok:{v2}")
    await bench.tap(users[HEAD], f"ds:ok:{v2}")
    assert any("D-2026-00002" in (m.text or "") for m in bench.emu.sent(RESIDENT))
    del case_id


async def test_each_step_is_its_people_s_only(bench: Bench) -> None:
    users = await everyone(bench)
    did = await draft_and_submit(bench, users)
    message = bench.find_data_message(users[C1], f"dr:ok:{did}")
    # Nobody but the committee approves; nobody but the head signs.
    for outsider in (RESIDENT, OFFICIAL, HEAD, PARTY1, OTHER_HEAD):
        await bench.press_data(users[outsider], message, f"dr:ok:{did}")
        assert "committee" in bench.emu.callback_answers[-1][1]
    await bench.tap(users[C1], f"dr:ok:{did}")
    await bench.tap(users[C2], f"dr:ok:{did}")
    for outsider in (RESIDENT, OFFICIAL, C1, PARTY1, OTHER_HEAD):
        await bench.press_data(users[outsider], message, f"ds:ok:{did}")
        assert "head" in bench.emu.callback_answers[-1][1]
    assert await stage(bench, did) == "signoff"
    # A resident cannot open the draft.
    await bench.press_data(users[RESIDENT], message, f"dd:open:{did}")
    assert "not found" in bench.emu.callback_answers[-1][1]


async def test_a_committee_member_returns_it_with_a_comment(bench: Bench) -> None:
    users = await everyone(bench)
    did = await draft_and_submit(bench, users)
    await bench.tap(users[C1], f"dr:ok:{did}")
    await bench.tap(users[C3], f"dr:back:{did}")
    await bench.say(users[C3], "支出明细不全，请补充。")
    assert await stage(bench, did) == "draft"
    assert "支出明细不全" in bench.last_text(users[OFFICIAL])
    # Submitted again, the earlier approval no longer counts.
    await bench.tap(users[OFFICIAL], f"dd:open:{did}")
    await bench.tap(users[OFFICIAL], "dx:submit")
    await bench.tap(users[C2], f"dr:ok:{did}")
    assert await stage(bench, did) == "review"
    await bench.tap(users[C1], f"dr:ok:{did}")
    assert await stage(bench, did) == "signoff"


async def test_a_restart_mid_review_loses_nothing(bench: Bench) -> None:
    users = await everyone(bench)
    did = await draft_and_submit(bench, users)
    await bench.tap(users[C1], f"dr:ok:{did}")
    await bench.restart(crash=True)
    await bench.tap(users[C2], f"dr:ok:{did}")
    assert await stage(bench, did) == "signoff"


async def test_a_channel_the_bot_cannot_post_to_keeps_the_post_until_fixed(bench: Bench
                                                                            ) -> None:
    users = await everyone(bench, admin_channel=False)
    did = await publish(bench, users)
    [(ids, error)] = await bench.rows(
        "SELECT message_ids, error FROM disclosure_posts WHERE disclosure_id = ?", did)
    assert ids is None and error == "not_admin"
    assert any("administrator" in (m.text or "") for m in bench.emu.sent(OFFICIAL))
    bench.emu.promote_bot(CHANNEL, notify=False)
    await bench.tap(users[OFFICIAL], f"dp:retry:{did}")
    await bench.run_job(POSTS)
    [(ids, error)] = await bench.rows(
        "SELECT message_ids, error FROM disclosure_posts WHERE disclosure_id = ?", did)
    assert ids and error is None
    assert bench.emu.sent(CHANNEL)


async def test_the_published_version_is_immutable_in_the_database(bench: Bench) -> None:
    users = await everyone(bench)
    did = await publish(bench, users)

    def tamper(conn: Conn) -> None:
        conn.execute("UPDATE disclosures SET body = 'x' WHERE id = ?", (did,))

    with pytest.raises(Exception, match="immutable"):
        await bench.runtime.db.write(tamper)

    def delete(conn: Conn) -> None:
        conn.execute("DELETE FROM disclosure_files WHERE disclosure_id = ?", (did,))

    with pytest.raises(Exception, match="immutable"):
        await bench.runtime.db.write(delete)


async def test_an_obligation_climbs_the_alarm_ladder(bench: Bench) -> None:
    users = await everyone(bench)
    del users

    async def at(moment: datetime) -> None:
        bench.clock.set(moment)
        await bench.run_job(ALARMS)

    # November's finances are due by the end of 10 December (a Thursday).
    await at(datetime(2026, 12, 9, 23, 59, 59, tzinfo=SHANGHAI))
    assert any("due by" in (m.text or "") and "Village income" in (m.text or "")
               for m in bench.emu.sent(OFFICIAL))
    await at(datetime(2026, 12, 11, 0, 0, 1, tzinfo=SHANGHAI))
    assert any("overdue" in (m.text or "") for m in bench.emu.sent(HEAD))
    await at(datetime(2026, 12, 15, 0, 0, 1, tzinfo=SHANGHAI))
    assert any("Escalated" in (m.text or "") for m in bench.emu.sent(SUPERVISION))
    # 谁公开不到位就公开谁: every overdue village is in the supervision group's digest.
    await bench.run_job(DIGEST)
    assert any("Disclosures overdue" in (m.text or "") and "Beiguan" in (m.text or "")
               for m in bench.emu.sent(SUPERVISION))


async def give_opinion(bench: Bench, user: EmuUser, did: int, text: str) -> None:
    await bench.say(user, f"/start op_{did}")
    await bench.say(user, text)
    await bench.tap(user, "new:att:done")
    await bench.tap(user, "new:id:anonymous")
    await bench.tap(user, "new:confirm")


async def test_a_pre_disclosure_refuses_the_final_version_until_every_opinion_is_ruled(
        bench: Bench) -> None:
    users = await everyone(bench)
    official = users[OFFICIAL]
    [(duty,)] = await bench.rows(
        "SELECT id FROM disclosure_obligations WHERE unit_id = ? AND period_key = '2026-11'",
        UNIT)
    await bench.say(official, "/publish")
    await bench.tap(official, f"dd:pre:{duty}")
    await bench.say(official, BODY)
    for section in SECTIONS:
        await bench.say(official, section)
    await bench.tap(official, "dx:files:done")
    await bench.tap(official, "dx:submit")
    [(pre,)] = await bench.rows("SELECT id FROM disclosures WHERE pre = 1")
    await bench.tap(users[C1], f"dr:ok:{pre}")
    await bench.tap(users[C2], f"dr:ok:{pre}")
    await bench.tap(users[HEAD], f"ds:ok:{pre}")
    [(until, met)] = await bench.rows(
        "SELECT d.comment_until, o.met_at FROM disclosures d JOIN disclosure_obligations o "
        "ON o.id = d.obligation_id WHERE d.id = ?", pre)
    assert until is not None and met is None  # a draft for comment meets nothing
    await give_opinion(bench, users[RESIDENT], pre, "建议把慰问金发放标准一并公开。")
    [(case_id,)] = await bench.rows(
        "SELECT case_id FROM disclosure_opinions WHERE disclosure_id = ?", pre)
    # While the window is open: no ruling, no final version.
    message = bench.emu.sent(OFFICIAL)[-1]
    await bench.press_data(official, message, f"dd:fix:{pre}")
    assert "still open" in bench.emu.callback_answers[-1][1]
    # Five working days on, the window has closed; still every opinion must be ruled on.
    bench.clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI))
    await bench.press_data(official, message, f"dd:fix:{pre}")
    assert "Mark every opinion" in bench.emu.callback_answers[-1][1]
    await bench.press_data(official, message, f"dm:adopted:{case_id}")
    await bench.say(official, "采纳，标准随正式版公开。")
    await bench.press_data(official, message, f"dd:fix:{pre}")
    await bench.tap(official, "dx:keep")
    await bench.tap(official, "dx:files:done")
    await bench.tap(official, "dx:submit")
    [(final, previous, responses)] = await bench.rows(
        "SELECT id, previous_id, sections FROM disclosures WHERE previous_id = ?", pre)
    assert previous == pre and "采纳，标准随正式版公开。" in responses
    await bench.tap(users[C1], f"dr:ok:{final}")
    await bench.tap(users[C2], f"dr:ok:{final}")
    await bench.tap(users[HEAD], f"ds:ok:{final}")
    await bench.run_job(POSTS)
    assert any("采纳" in (m.text or "") for m in bench.emu.sent(CHANNEL))
