"""A button step's next question replaces the message pressed: one Bot API call instead of
two (take the buttons off, send a new message), and one message less in a resident's chat.
Where that message can no longer be edited, the question comes as a new message."""

from __future__ import annotations

from tests.conftest import Bench


async def test_the_next_question_replaces_the_pressed_message(bench: Bench) -> None:
    resident = bench.user(2001, "王秀兰", language="en")
    [prompt] = await bench.say(resident, "/new")
    assert "What would you like to file?" in (prompt.text or "")
    calls = len(bench.emu.calls)
    replies = await bench.press_data(resident, prompt, "new:kind:suggestion")
    assert replies == [prompt]  # no new message: the pressed one now asks the next question
    assert "Which area does it concern?" in (prompt.text or "")
    assert any(d.startswith("new:cat:") for row in prompt.buttons() for _, d in row)
    made = [name for name, _ in bench.emu.calls[calls:] if name != "getUpdates"]
    assert sorted(made) == ["answerCallbackQuery", "editMessageText"]


async def test_a_message_that_cannot_be_edited_gets_the_question_as_a_new_one(
        bench: Bench) -> None:
    resident = bench.user(2002, "王秀兰", language="en")
    [prompt] = await bench.say(resident, "/new")
    bench.emu.fail_next("editMessageText", 400,
                        description="Bad Request: message can't be edited")
    replies = await bench.press_data(resident, prompt, "new:kind:suggestion")
    [question] = [m for m in replies if m is not prompt]
    assert "Which area does it concern?" in (question.text or "")
    assert "What would you like to file?" in (prompt.text or "")
    # The conversation goes on from the new question.
    category = next(d for m in replies for row in m.buttons() for _, d in row
                    if d.startswith("new:cat:"))
    await bench.tap(resident, category)
    assert "It will go to" in (bench.emu.sent(resident.id)[-1].text or "")


async def test_an_answer_that_needs_a_reply_keyboard_comes_as_a_new_message(
        bench: Bench) -> None:
    """Cancel takes away any reply keyboard (``ReplyKeyboardRemove``), which an edit cannot
    carry: the pressed message loses its buttons and the answer comes new."""
    resident = bench.user(2003, "王秀兰", language="en")
    [prompt] = await bench.say(resident, "/new")
    replies = await bench.press_data(resident, prompt, "new:cancel")
    assert "What would you like to file?" in (prompt.text or "")
    assert prompt.buttons() == []
    [cancelled] = [m for m in replies if m is not prompt]
    assert (cancelled.text or "").startswith("Cancelled.")
    assert cancelled.reply_markup == {"remove_keyboard": True}
