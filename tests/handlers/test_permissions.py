"""The permission matrix: each role × each action × own unit / other unit, checked in the
database on every press whatever the button says; every refusal explained, and recorded
when the presser holds a role (refusals to people without one are only counted)."""

from __future__ import annotations

import pytest

from bot.config import Config
from tests.conftest import Bench
from tests.handlers.flows import file_suggestion
from tests.handlers.staff import (
    ADMIN,
    AGRI_OFFICIAL,
    CIVIL_HEAD,
    CIVIL_OFFICIAL,
    CLERK,
    COUNTY_HEAD,
    FINANCE_HEAD,
    FINANCE_OFFICIAL,
    SUPERVISION,
    SUPERVISOR,
    staffed,
)

RESIDENT, STRANGER = 4101, 4102
EVERYONE = {
    "own official": CIVIL_OFFICIAL, "own head": CIVIL_HEAD, "other unit's official":
    AGRI_OFFICIAL, "parent unit's head": COUNTY_HEAD, "supervision": SUPERVISION,
    "admin": ADMIN, "clerk": CLERK, "supervisor": SUPERVISOR, "the reporter": RESIDENT,
    "stranger": STRANGER,
}
ALLOWED = {"own official", "own head"}
NOT_ALLOWED = "未找到此事项，或您无权对其进行此操作。"
PROMPTS = {"answer": "办理结果是什么", "transfer": "请选择单位", "ask": "请输入问题"}


@pytest.fixture
def config(config: Config) -> Config:
    return staffed(config)


@pytest.fixture(autouse=True)
def people(bench: Bench) -> None:
    for telegram_id in EVERYONE.values():
        bench.user(telegram_id, f"用户{telegram_id}")
    bench.user(FINANCE_OFFICIAL, "周会计")
    bench.user(FINANCE_HEAD, "吴局长")


async def _case_in_state(bench: Bench, state: str) -> None:
    await file_suggestion(bench, bench.user(RESIDENT, "王秀兰"), photo=False)
    if state == "accepted":
        await bench.tap(bench.user(CIVIL_OFFICIAL, "赵承办"), "case:1:accept")


@pytest.mark.parametrize("who", list(EVERYONE))
@pytest.mark.parametrize(("action", "state"), [
    ("accept", "new"), ("transfer", "new"), ("answer", "accepted"), ("ask", "accepted"),
])
async def test_each_role_each_action(bench: Bench, who: str, action: str, state: str) -> None:
    await _case_in_state(bench, state)
    actor = bench.user(EVERYONE[who], who)
    card = bench.emu.sent(CIVIL_OFFICIAL)[-1]  # any copy of the card: data is what counts
    before_events = await bench.rows("SELECT COUNT(*) FROM case_events")
    replies = await bench.press_data(actor, card.message_id, f"case:1:{action}")
    answer = bench.emu.callback_answers[-1][1]
    if who in ALLOWED:
        if action == "accept":
            assert answer is not None and answer.startswith("已签收 S-2026-00001-")
            assert await bench.rows("SELECT state FROM cases") == [("accepted",)]
        else:
            assert answer is None
            assert PROMPTS[action] in (replies[-1].text or "")
            assert await bench.rows("SELECT state FROM cases") == [(state,)]
        return
    assert answer == NOT_ALLOWED
    assert replies == [], "nothing but the refusal"
    assert await bench.rows("SELECT state FROM cases") == [(state,)]
    refused = await bench.rows(
        "SELECT actor_person_id IS NOT NULL, payload FROM case_events WHERE type = 'refused'")
    if who in ("the reporter", "stranger"):  # no role: counted in memory, not stored
        assert refused == []
        assert await bench.rows("SELECT COUNT(*) FROM case_events") == before_events
        assert bench.runtime.limiter.refusals["not_allowed"] == 1
        return
    assert refused == [(1, f'{{"action": "{action}", "reason": "not_allowed"}}')]
    assert (await bench.rows("SELECT COUNT(*) FROM case_events"))[0][0] == \
        before_events[0][0] + 1


@pytest.mark.parametrize("who", [*EVERYONE, "finance official"])
async def test_only_the_units_head_signs_off(bench: Bench, who: str) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    civil = bench.user(CIVIL_OFFICIAL, "赵承办")
    await bench.tap(civil, "case:1:transfer")
    await bench.tap(civil, "trf:tree:county:0")
    await bench.tap(civil, "trf:pick:finance")
    await bench.say(civil, "财政资金问题。")
    official = bench.user(FINANCE_OFFICIAL, "周会计")
    await bench.tap(official, "case:1:accept")
    await bench.tap(official, "case:1:answer")
    await bench.tap(official, "ans:out:resolved")
    await bench.say(official, "已处理。")
    await bench.tap(official, "ans:files:done")
    await bench.tap(official, "ans:send")
    actor = bench.user(FINANCE_OFFICIAL if who == "finance official" else EVERYONE[who], who)
    await bench.press_data(actor, 1, "sign:1:ok")
    assert bench.emu.callback_answers[-1][1] == NOT_ALLOWED
    assert await bench.rows("SELECT status FROM answers") == [("pending",)]
    head = bench.user(FINANCE_HEAD, "吴局长")
    await bench.tap(head, "sign:1:ok")
    assert await bench.rows("SELECT status FROM answers") == [("sent",)]


async def test_actions_on_a_withdrawn_case_are_refused(bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰")
    await file_suggestion(bench, resident, photo=False)
    await bench.say(resident, "/my")
    await bench.tap(resident, "my:open:1")
    await bench.tap(resident, "my:wd:1")
    await bench.tap(resident, "my:wdyes:1")
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    card = bench.emu.sent(CIVIL_OFFICIAL)[-1]
    assert card.buttons() == [], "the card lost its buttons when the case was withdrawn"
    for action in ("accept", "answer", "transfer", "ask"):
        await bench.press_data(official, card.message_id, f"case:1:{action}")
        assert bench.emu.callback_answers[-1][1] == "事项已有新进展，此操作已不可用。"
    assert await bench.rows("SELECT state FROM cases") == [("withdrawn",)]


async def test_forged_case_ids_and_actions_change_nothing(bench: Bench) -> None:
    await _case_in_state(bench, "new")
    official = bench.user(CIVIL_OFFICIAL, "赵承办")
    for data in ("case:999:accept", "case:1:delete", "case:x:accept", "sign:999:ok",
                 "rate:1:satisfied", "rep:1:reply"):
        await bench.press_data(official, 1, data)
        assert bench.emu.callback_answers[-1][1] in ("未找到此事项。", NOT_ALLOWED,
                                                     "此按钮已失效。")
    assert await bench.rows("SELECT state FROM cases") == [("new",)]


async def test_in_a_units_group_only_its_members_can_press(config: Config, tmp_path) -> None:
    """The card goes to the unit's group; a non-member's press there is refused."""
    import dataclasses

    from bot.clock import ManualClock
    from bot.emulator.core import Emulator
    from tests.conftest import START

    group_id = -1001234567
    grouped = staffed(config, civil_affairs={"group_chat_id": group_id})
    clock = ManualClock(START)
    emu = Emulator(clock=lambda: clock.now().timestamp())
    bench = Bench(dataclasses.replace(grouped), tmp_path / "g.db", emu, clock)
    await bench.start()
    try:
        group = emu.group(group_id, "县民政局工作群")
        resident = bench.user(RESIDENT, "王秀兰")
        official = bench.user(CIVIL_OFFICIAL, "赵承办")
        outsider = bench.user(STRANGER, "路人")
        await file_suggestion(bench, resident, photo=False)
        assert bench.emu.sent(CIVIL_OFFICIAL) == [], "no private cards: the group has it"
        card = [m for m in emu.sent(group_id) if (m.text or "").startswith("📨")][-1]
        emu.press(outsider, card, "case:1:accept", chat=group)
        await bench.deliver()
        assert emu.callback_answers[-1][1] == NOT_ALLOWED
        emu.press(official, card, "case:1:accept", chat=group)
        await bench.deliver()
        assert await bench.rows("SELECT state FROM cases") == [("accepted",)]
        assert "签收" in (emu.message(group_id, card.message_id).text or "")
        # Answering continues in the official's private chat, not in the group.
        emu.press(official, card, "case:1:answer", chat=group)
        await bench.deliver()
        assert "办理结果是什么" in (emu.sent(CIVIL_OFFICIAL)[-1].text or "")
    finally:
        await bench.stop()
    assert not bench.errors
