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
from bot.config.sections_disclosure import DisclosureItemConfig, ScheduleConfig
from bot.durations import Duration
from bot.emulator.core import EmuUser
from handlers.disclosure_posts import POSTS
from handlers.jobs import ALARMS, DIGEST
from storage.sql import Conn
from tests.conftest import SHANGHAI, Bench
from tests.handlers.staff import ADMIN, SUPERVISION, staffed

OFFICIAL, HEAD, C1, C2, C3, CLERK, PARTY1, RESIDENT, OTHER_HEAD = (
    2001, 2002, 2003, 2004, 2005, 2006, 2101, 3001, 1102)
CHANNEL = -1001000000001
UNIT = "yizhou_beiguan"
BODY = "十一月村级财务收入三万二千元，支出两万八千元，其中低保户慰问金四千元。"
SECTIONS = ("经村民代表会议讨论", "依据村务公开条例", "公开透明、民主理财",
            "提出、审议、表决、公开")


PARTY_GROUP = -4002  # a basic group, which Telegram may upgrade
#: A party-only item of the village (党内公开): its branch's monthly work.
BRANCH_ITEM = DisclosureItemConfig(
    id="branch_work", name_zh="支部工作", name_en="Branch work", aspect="party_building",
    audience="party", forms=("channel",), unit=UNIT,
    schedule=ScheduleConfig(kind="regular", period="monthly", due=Duration(10, "d")))

#: A staged matter of the village: each stage published within 5 working days.
LAND_ITEM = DisclosureItemConfig(
    id="land_contract", name_zh="土地承包", name_en="Land contracts", aspect="major_decisions",
    audience="public", forms=("channel",), unit=UNIT,
    schedule=ScheduleConfig(kind="staged", stages=("方案公示", "结果公示"),
                            within=Duration(5, "wd")))


def village(config: Config) -> Config:
    base = staffed(config, **{UNIT: {"public_channel_id": CHANNEL,
                                     "party_chat_id": PARTY_GROUP}})
    members = base.members + (
        MemberConfig(OFFICIAL, "official", UNIT), MemberConfig(HEAD, "head", UNIT),
        MemberConfig(C1, "committee", UNIT), MemberConfig(C2, "committee", UNIT),
        MemberConfig(C3, "committee", UNIT), MemberConfig(CLERK, "clerk", UNIT),
        MemberConfig(PARTY1, "party_member", UNIT))
    return dataclasses.replace(base, members=members,
                               disclosure_items=base.disclosure_items + (BRANCH_ITEM, LAND_ITEM))


@pytest.fixture
def config(config: Config) -> Config:
    return village(config)


async def everyone(bench: Bench, *, admin_channel: bool = True) -> dict[int, EmuUser]:
    bench.emu.channel(CHANNEL, "北关村党务公开",
                      bot="administrator" if admin_channel else "member")
    bench.emu.group(PARTY_GROUP, "北关村党支部")
    users = {}
    for uid in (OFFICIAL, HEAD, C1, C2, C3, CLERK, PARTY1, RESIDENT, OTHER_HEAD, SUPERVISION):
        users[uid] = bench.user(uid, f"u{uid}", language="en")
        await bench.say(users[uid], "/start")
    return users


async def november_finances(bench: Bench) -> int:
    """The village's obligation to publish November's finances."""
    [(duty,)] = await bench.rows(
        "SELECT id FROM disclosure_obligations WHERE unit_id = ? AND period_key = '2026-11' "
        "AND item_id = 'village_finance'", UNIT)
    return int(duty)


async def draft_and_submit(bench: Bench, users: dict[int, EmuUser], *,
                           item: str = "village_finance", body: str = BODY) -> int:
    """The official drafts November's item (finances by default) and submits it; returns
    the disclosure."""
    official = users[OFFICIAL]
    replies = await bench.say(official, "/publish")
    assert any("Village income and spending" in (m.text or "") or
               any("Village income" in b for row in m.buttons() for b, _ in row)
               for m in replies)
    [(duty,)] = await bench.rows(
        "SELECT id FROM disclosure_obligations WHERE unit_id = ? AND period_key = '2026-11' "
        "AND item_id = ?", UNIT, item)
    await bench.tap(official, f"dd:new:{duty}")
    await bench.say(official, body)
    if item == "village_finance":
        for section in SECTIONS:  # a major decision's procedure, basis, principles, stages
            await bench.say(official, section)
    await bench.send(official, "send_photo")
    await bench.tap(official, "dx:files:done")
    assert body[-20:] in bench.last_text(official)
    await bench.tap(official, "dx:submit")
    [(did,)] = await bench.rows(
        "SELECT id FROM disclosures WHERE unit_id = ? AND item_id = ? ORDER BY id DESC LIMIT 1",
        UNIT, item)
    return int(did)


async def publish(bench: Bench, users: dict[int, EmuUser], **draft: str) -> int:
    did = await draft_and_submit(bench, users, **draft)
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
        "SELECT met_at FROM disclosure_obligations WHERE period_key = '2026-11' AND unit_id = ? "
            "AND item_id = 'village_finance'",
        UNIT)
    assert met is None
    [poster] = [m for m in bench.emu.sent(CLERK) if m.kind == "document"]
    pages = PdfReader(io.BytesIO(bench.emu.file_bytes(poster.file_id or ""))).pages
    printed = "".join(page.extract_text() for page in pages).replace("\x00", "")
    assert "D-2026-00001" in printed and "低保户" in printed
    await bench.tap(users[CLERK], f"df:notice_board:{did}")
    await bench.send(users[CLERK], "send_photo")
    [(met,)] = await bench.rows(
        "SELECT met_at FROM disclosure_obligations WHERE period_key = '2026-11' AND unit_id = ? "
            "AND item_id = 'village_finance'",
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
    duty = await november_finances(bench)
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


async def test_a_party_item_reaches_party_members_only(bench: Bench) -> None:
    users = await everyone(bench)
    # A new party member joins through a one-time invite of the administrator.
    newcomer = bench.user(2102, "u2102", language="en")
    replies = await bench.say(bench.user(ADMIN, "admin", language="en"),
                              f"/invite party_member {UNIT}")
    link = next(line for m in replies for line in (m.text or "").splitlines()
                if "start=inv_" in line)
    bench.emu.open_link(newcomer, link.strip())
    await bench.deliver()
    did = await publish(bench, users, item="branch_work", body="十一月支部组织生活会已召开。")
    # Posted in the party group, not the public channel; each party member gets a copy.
    assert any("支部组织生活会" in (m.text or "") for m in bench.emu.sent(PARTY_GROUP))
    assert not any("支部组织生活会" in (m.text or "") for m in bench.emu.sent(CHANNEL))
    for member in (PARTY1, 2102):
        assert any("支部组织生活会" in (m.text or "") for m in bench.emu.sent(member))
    assert not any("支部组织生活会" in (m.text or "") for m in bench.emu.sent(RESIDENT))
    # The archive shows it to party members, not to residents; nor may a resident give an
    # opinion on it.
    replies = await bench.say(users[PARTY1], f"/disclosures {UNIT}")
    assert any(f"dv:{did}" == d for m in replies for row in m.buttons() for _, d in row)
    replies = await bench.say(users[RESIDENT], f"/disclosures {UNIT}")
    assert not any(f"dv:{did}" == d for m in replies for row in m.buttons() for _, d in row)
    replies = await bench.say(users[RESIDENT], f"/start op_{did}")
    assert "not found" in replies[-1].text
    await bench.press_data(users[RESIDENT], replies[-1], f"dv:{did}")
    assert "not found" in bench.emu.callback_answers[-1][1]


async def test_a_long_text_is_split_in_the_channel_and_kept_whole(bench: Bench) -> None:
    users = await everyone(bench)
    body = "本月村集体经济收支明细如下：" + "修缮村道支出一千二百元；" * 500
    did = await publish(bench, users, body=body)
    posts = [m for m in bench.emu.sent(CHANNEL)]
    assert len(posts) >= 2 and all(len(m.text or "") <= 4096 for m in posts)
    assert posts[-1].buttons() and not posts[0].buttons()
    [(kept,)] = await bench.rows("SELECT body FROM disclosures WHERE id = ?", did)
    assert kept == body.strip()


async def test_the_archive_is_searched_by_keyword(bench: Bench) -> None:
    users = await everyone(bench)
    did = await publish(bench, users)
    found = await bench.say(users[RESIDENT], f"/disclosures {UNIT} 低保")
    assert any(f"dv:{did}" == d for m in found for row in m.buttons() for _, d in row)
    found = await bench.say(users[RESIDENT], f"/disclosures {UNIT} 火箭发射")
    assert "Nothing found" in found[-1].text
    # Two characters that occur, but not side by side, find nothing.
    found = await bench.say(users[RESIDENT], f"/disclosures {UNIT} 低金")
    assert "Nothing found" in found[-1].text
    # By aspect and period too (published on 25 November 2026).
    for query, shown in (("低保 collective_finance 2026-11", True), ("2026-Q4", True),
                         ("2026-10", False), ("personnel", False), ("2026", True)):
        found = await bench.say(users[RESIDENT], f"/disclosures {UNIT} {query}")
        assert any(f"dv:{did}" == d for m in found for row in m.buttons() for _, d in row) \
            == shown, query


async def test_a_staged_matter_and_a_recorded_event_make_obligations_due_in_working_days(
        bench: Bench) -> None:
    users = await everyone(bench)
    official = users[OFFICIAL]
    await bench.say(official, "/publish")
    await bench.tap(official, f"dd:mt:{UNIT}:land_contract")
    await bench.say(official, "二组土地流转")
    await bench.say(official, "/publish")
    [(matter,)] = await bench.rows("SELECT id FROM disclosure_matters WHERE kind = 'staged'")
    await bench.tap(official, f"dd:st:{matter}:0")
    # Reached on Wednesday 25 November: due by the end of the fifth working day, 2 December.
    [(key, due)] = await bench.rows(
        "SELECT period_key, due_at FROM disclosure_obligations WHERE item_id = 'land_contract'")
    assert key == f"{matter}:方案公示"
    assert due.startswith("2026-12-02T15:59:59")  # 23:59:59 in Shanghai
    # The county head records a major matter decided today: due within 3 working days.
    head = bench.user(1104, "county head", language="en")
    await bench.say(head, "/publish")
    await bench.tap(head, "dd:ev:county:major_matters")
    await bench.say(head, "县委常委会决定实施乡村道路改造")
    [(due,)] = await bench.rows(
        "SELECT due_at FROM disclosure_obligations WHERE item_id = 'major_matters'")
    assert due.startswith("2026-11-30T15:59:59")  # Mon 30 November: Thu, Fri, Mon
    # A resident can do neither.
    await bench.press_data(users[RESIDENT], bench.emu.sent(OFFICIAL)[-1],
                           f"dd:st:{matter}:1")
    assert "officials" in bench.emu.callback_answers[-1][1]


@pytest.mark.parametrize(("who", "data", "allowed"), [
    # Step 1: only the unit's officials and head draft.
    (OFFICIAL, "dd:new:{duty}", True), (HEAD, "dd:new:{duty}", True),
    (C1, "dd:new:{duty}", False), (CLERK, "dd:new:{duty}", False),
    (RESIDENT, "dd:new:{duty}", False), (OTHER_HEAD, "dd:new:{duty}", False),
    (PARTY1, "dd:new:{duty}", False), (SUPERVISION, "dd:new:{duty}", False),
])
async def test_only_the_unit_drafts(bench: Bench, who: int, data: str, allowed: bool) -> None:
    users = await everyone(bench)
    duty = await november_finances(bench)
    message = bench.emu.sent(who)[-1]
    await bench.press_data(users[who], message, data.format(duty=duty))
    drafted = await bench.rows("SELECT drafted_by FROM disclosures")
    assert bool(drafted) == allowed


async def test_forms_are_confirmed_by_their_people_only(bench: Bench) -> None:
    users = await everyone(bench)
    did = await publish(bench, users)
    message = bench.emu.sent(RESIDENT)[-1]
    for outsider in (RESIDENT, C1, PARTY1, OTHER_HEAD):
        await bench.press_data(users[outsider], message, f"df:notice_board:{did}")
        await bench.send(users[outsider], "send_photo")
    [(confirmed,)] = await bench.rows(
        "SELECT confirmed_at FROM disclosure_forms WHERE disclosure_id = ? "
        "AND form = 'notice_board'", did)
    assert confirmed is None
    # A retry of the posts: the unit's people only.
    await bench.press_data(users[RESIDENT], message, f"dp:retry:{did}")
    assert "may not" in bench.emu.callback_answers[-1][1]


async def test_a_party_group_upgraded_to_a_supergroup_gets_the_post(bench: Bench) -> None:
    users = await everyone(bench)
    bench.emu.migrate_group(PARTY_GROUP, -1004002)  # the configuration names the old id
    did = await publish(bench, users, item="branch_work", body="支部十一月工作情况。")
    await bench.run_job(POSTS)  # the first try learnt the move; this one posts there
    assert any("支部十一月" in (m.text or "") for m in bench.emu.sent(-1004002))
    [(chat, ids)] = await bench.rows(
        "SELECT chat_id, message_ids FROM disclosure_posts WHERE disclosure_id = ?", did)
    assert chat == -1004002 and ids


async def test_a_restart_mid_draft_keeps_the_text_and_the_step(bench: Bench) -> None:
    users = await everyone(bench)
    official = users[OFFICIAL]
    duty = await november_finances(bench)
    await bench.say(official, "/publish")
    await bench.tap(official, f"dd:new:{duty}")
    await bench.say(official, BODY)
    await bench.say(official, SECTIONS[0])
    await bench.restart(crash=True)
    for section in SECTIONS[1:]:
        await bench.say(official, section)
    await bench.tap(official, "dx:files:done")
    assert BODY in bench.last_text(official) and SECTIONS[3] in bench.last_text(official)
    await bench.tap(official, "dx:submit")
    [(stage_now,)] = await bench.rows("SELECT stage FROM disclosures")
    assert stage_now == "review"
