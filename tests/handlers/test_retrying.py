"""A 5xx or a lost answer on a call that is harmless to repeat (answering a button press,
editing the pressed message into the next question or taking its buttons off) is retried at
once, so the person's step still works; a send is not retried (it may have arrived), and
nothing Telegram refused (a 400) is tried again."""

from __future__ import annotations

from tests.conftest import Bench
from tests.handlers.flows import file_suggestion, to_text_step

RESIDENT = 40_001
SORRY = "Sorry, something went wrong"


async def test_a_failed_answer_and_edit_are_retried_and_the_case_is_filed(bench: Bench
                                                                          ) -> None:
    resident = bench.user(RESIDENT, "王秀兰", language="en")
    await to_text_step(bench, resident)
    await bench.say(resident, "村里的低保名单没有公示。")
    bench.emu.fail_next("answerCallbackQuery", 502)
    bench.emu.fail_next("editMessageText", 500)
    await bench.tap(resident, "new:att:done")
    bench.emu.lose_answer_next("answerCallbackQuery")
    bench.emu.lose_answer_next("editMessageText")  # done; its repeat is "not modified"
    await bench.tap(resident, "new:id:anonymous")
    bench.emu.fail_next("editMessageReplyMarkup", 500)  # the summary's buttons, at confirm
    replies = await bench.tap(resident, "new:confirm")
    assert Bench.number_in(replies)
    assert not bench.errors, bench.errors
    assert not [m for m in bench.emu.sent(resident.id) if SORRY in (m.text or "")]
    assert not bench.emu.faults


async def test_a_failed_send_is_not_repeated(bench: Bench) -> None:
    resident = bench.user(RESIDENT, "王秀兰", language="en")
    await file_suggestion(bench, resident, photo=False)
    before = len(bench.emu.sent(resident.id))
    bench.emu.fail_next("sendMessage", 502)
    await bench.say(resident, "/help")
    texts = [m.text or "" for m in bench.emu.sent(resident.id)[before:]]
    errors = list(bench.errors)
    bench.errors.clear()
    assert len(errors) == 1, errors
    assert len(texts) == 1 and "/cancel" in texts[0], texts  # told; the help was not resent


async def test_a_failed_prompt_is_sent_again_and_the_filing_goes_on(bench: Bench) -> None:
    """The step took the buttons off; had the next question been lost, the resident would
    have had nothing to press."""
    resident = bench.user(RESIDENT, "王秀兰", language="en")
    await to_text_step(bench, resident)
    bench.emu.fail_next("sendMessage", 502)
    replies = await bench.say(resident, "村里的低保名单没有公示。")
    assert not bench.errors, bench.errors
    assert [data for m in replies for row in m.buttons() for _, data in row
            if data == "new:att:done"] == ["new:att:done"]
    await bench.tap(resident, "new:att:done")
    await bench.tap(resident, "new:id:anonymous")
    assert Bench.number_in(await bench.tap(resident, "new:confirm"))


async def test_a_refused_prompt_is_not_sent_again(bench: Bench) -> None:
    """PTB raises a 400 as ``BadRequest``, a kind of ``NetworkError``: it must not be taken
    for a fault and repeated."""
    resident = bench.user(RESIDENT, "王秀兰", language="en")
    await to_text_step(bench, resident)
    calls = len(bench.emu.calls)
    bench.emu.fail_next("sendMessage", 400, description="Bad Request: text is too long")
    await bench.say(resident, "村里的低保名单没有公示。")
    sends = [p for name, p in bench.emu.calls[calls:] if name == "sendMessage"]
    errors = list(bench.errors)
    bench.errors.clear()
    assert len(errors) == 1, errors
    assert [SORRY in str(p.get("text")) for p in sends] == [False, True], sends  # once, then told
