"""The Bot API emulator runs a real, unmodified PTB Application (transport and HTTP)."""

from __future__ import annotations

import html
import warnings
from collections.abc import AsyncIterator
from io import BytesIO

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.emulator import DEFAULT_PNG, Emulator, EmulatorRequest, start_server
from bot.emulator.formatting import FormatError, parse_text

# --- a tiny bot ----------------------------------------------------------------------------


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_user and update.effective_message
    arg = context.args[0] if context.args else "-"
    keyboard = InlineKeyboardMarkup([
        [InlineKeyboardButton("Yes", callback_data="choice:yes")],
        [InlineKeyboardButton("No", callback_data="choice:no")],
    ])
    await update.effective_message.reply_text(
        f"<b>Welcome</b> {html.escape(update.effective_user.first_name)}! arg={arg}",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
    )


async def on_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query and query.data
    await query.answer("noted")
    await query.edit_message_text(f"You chose {query.data.split(':')[1]}")


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message and update.effective_message.text
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message and message.photo
    await message.reply_photo(message.photo[-1].file_id, caption="same photo")


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message and message.contact and message.from_user
    own = message.contact.user_id == message.from_user.id
    await message.reply_text(f"phone {message.contact.phone_number} own={own}")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message and message.document
    tg_file = await message.document.get_file()
    data = await tg_file.download_as_bytearray()
    await message.reply_text(f"got {len(data)} bytes: {bytes(data[:4]).decode()}")


async def on_upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message
    await update.effective_message.reply_document(BytesIO(b"report body"), filename="r.txt",
                                                  caption="your report")


def add_handlers(app: Application) -> Application:
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("upload", on_upload))
    app.add_handler(CallbackQueryHandler(on_choice, pattern=r"^choice:"))
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    app.add_handler(MessageHandler(filters.CONTACT, on_contact))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    return app


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
async def app(emu: Emulator) -> AsyncIterator[Application]:
    application = (
        ApplicationBuilder()
        .token(emu.token)
        .request(EmulatorRequest(emu))
        .get_updates_request(EmulatorRequest(emu))
        .build()
    )
    add_handlers(application)
    async with application:
        yield application


async def pump(app: Application, emu: Emulator) -> int:
    """Feed all pending updates to the application; return how many."""
    updates = emu.take_updates()
    for raw in updates:
        await app.process_update(Update.de_json(raw, app.bot))
    return len(updates)


# --- over the transport --------------------------------------------------------------------


async def test_start_command_and_button_press(app: Application, emu: Emulator) -> None:
    ann = emu.user(1001, "Ann<&>")
    emu.send_text(ann, "/start abc")
    assert await pump(app, emu) == 1
    welcome = emu.last(ann)
    assert welcome is not None
    assert welcome.text == "Welcome Ann<&>! arg=abc"
    assert welcome.source and welcome.source.startswith("<b>Welcome</b> Ann&lt;&amp;&gt;")
    assert welcome.entities == [{"type": "bold", "offset": 0, "length": 7}]
    assert welcome.buttons() == [[("Yes", "choice:yes")], [("No", "choice:no")]]
    assert app.bot.username == "sunbox_bot"

    press = emu.press(ann, welcome, welcome.button("Yes"))
    await pump(app, emu)
    assert welcome.text == "You chose yes"
    assert welcome.edits == ["Welcome Ann<&>! arg=abc"]
    assert welcome.reply_markup is None  # editMessageText without markup drops the keyboard
    assert emu.callback_answer(press) == (press["callback_query"]["id"], "noted", False)
    assert len(emu.sent(ann)) == 1

    with pytest.raises(AssertionError, match="(?i)buttons"):
        welcome.button("Maybe")


async def test_text_photo_contact(app: Application, emu: Emulator) -> None:
    bob = emu.user(1002, "Bob", username="bob")
    emu.send_text(bob, "hello there")
    emu.send_photo(bob, DEFAULT_PNG, caption="look")
    emu.send_contact(bob, "+8613800000000")
    emu.send_contact(bob, "+8613900000000", contact_user_id=None, first_name="Zhang")
    await pump(app, emu)
    texts = [m.text for m in emu.sent(bob)]
    assert texts == [
        "echo: hello there",
        "same photo",
        "phone +8613800000000 own=True",
        "phone +8613900000000 own=False",
    ]
    photo_reply = emu.sent(bob)[1]
    assert photo_reply.kind == "photo" and photo_reply.file_id
    assert emu.file_bytes(photo_reply.file_id) == DEFAULT_PNG
    assert [name for name, _ in emu.calls].count("sendPhoto") == 1


async def test_document_download_and_upload(app: Application, emu: Emulator) -> None:
    cai = emu.user(1003, "Cai")
    emu.send_document(cai, "scan.pdf", b"%PDF-1.4 body")
    emu.send_text(cai, "/upload")
    await pump(app, emu)
    first, second = emu.sent(cai)
    assert first.text == "got 13 bytes: %PDF"
    assert second.kind == "document" and second.text == "your report"
    assert second.file_id and emu.file_bytes(second.file_id) == b"report body"
    assert second.raw["document"]["file_name"] == "r.txt"


async def test_errors_surface_as_ptb_exceptions(app: Application, emu: Emulator) -> None:
    dan = emu.user(1004, "Dan")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await app.bot.send_message(dan.id, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await app.bot.send_message(dan.id, "   ")
    with pytest.raises(BadRequest, match="(?i)unsupported start tag \"br\" at byte offset 1"):
        await app.bot.send_message(dan.id, "a<br>b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await app.bot.send_message(dan.id, "hi", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("long", callback_data="d" * 65)]]))
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await app.bot.send_message(424242, "hi")
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await app.bot.edit_message_text("new", chat_id=dan.id, message_id=999)
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await app.bot.send_photo(dan.id, "AgACnotAFile")

    sent = await app.bot.send_message(dan.id, "same")
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await sent.edit_text("same")

    emu.fail_next("sendMessage", 429, retry_after=3)
    # PTB 22 warns inside RetryAfter.__init__ unless PTB_TIMEDELTA=1 is set
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        with pytest.raises(RetryAfter, match="3"):
            await app.bot.send_message(dan.id, "flood")
    assert (await app.bot.send_message(dan.id, "after flood")).text == "after flood"

    emu.block(dan)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await app.bot.send_message(dan.id, "still there?")
    assert "my_chat_member" in emu.pending_updates()[-1]

    shy = emu.user(1005, "Shy", started=False)
    with pytest.raises(Forbidden, match="(?i)can't initiate conversation"):
        await app.bot.send_message(shy.id, "hello")


async def test_wrong_token_and_unknown_method(emu: Emulator) -> None:
    assert (await emu.call("getMe", {}, token="1:WRONG"))[0] == 401
    status, body = await emu.call("sendDice", {"chat_id": 1})
    assert (status, body["description"]) == (404, "Not Found")
    status, body = await emu.call("GETME", {})
    assert status == 200 and body["result"]["username"] == "sunbox_bot"


async def test_get_updates_confirm_and_duplicate(emu: Emulator) -> None:
    eve = emu.user(1006, "Eve")
    first = emu.send_text(eve, "one")
    emu.send_text(eve, "two")
    status, body = await emu.call("getUpdates", {"offset": "0", "timeout": "0"})
    ids = [u["update_id"] for u in body["result"]]
    assert status == 200 and ids == [first["update_id"], first["update_id"] + 1]
    # confirm both, then re-deliver the first one with the same id
    emu.duplicate(first)
    _, body = await emu.call("getUpdates", {"offset": ids[-1] + 1, "timeout": 0})
    assert [u["update_id"] for u in body["result"]] == [first["update_id"]]
    assert body["result"][0]["message"]["text"] == "one"
    _, body = await emu.call("getUpdates", {"offset": ids[-1] + 1, "timeout": 0})
    assert body["result"] == []
    # take_updates sees duplicates too
    emu.duplicate(first)
    assert [u["update_id"] for u in emu.take_updates()] == [first["update_id"]]
    assert emu.pending_updates() == []


async def test_commands_and_markdown(app: Application, emu: Emulator) -> None:
    await app.bot.set_my_commands([("start", "Start"), ("help", "Help")], language_code="en")
    assert [c["command"] for c in emu.commands[("default", "en")]] == ["start", "help"]
    assert [c.command for c in await app.bot.get_my_commands(language_code="en")] == [
        "start", "help"]
    fay = emu.user(1007, "Fay")
    with pytest.raises(BadRequest, match="(?i)reserved"):
        await app.bot.send_message(fay.id, "Case 1.", parse_mode=ParseMode.MARKDOWN_V2)
    msg = await app.bot.send_message(fay.id, "*Case* 1\\.", parse_mode=ParseMode.MARKDOWN_V2)
    assert msg.text == "Case 1." and msg.entities[0].type == "bold"


async def test_transport_polling_group_and_odd_updates(app: Application, emu: Emulator) -> None:
    han = emu.user(1009, "Han")
    group = emu.group(-1001234, "Village")
    await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]
    await app.start()
    try:
        welcome = await emu.send_and_wait(han, "/start@sunbox_bot g", chat=group)
        assert welcome.chat_id == group.id and welcome.text == "Welcome Han! arg=g"
        emu.click(han, welcome, "Yes")
        await emu.wait_for(group, lambda m: m.text == "You chose yes")
    finally:
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
    stale = Update.de_json(emu.press(han, 999, "forged:data"), app.bot)
    assert stale.callback_query and stale.callback_query.message
    assert not stale.callback_query.message.is_accessible  # date 0, as for stale messages
    emu.block(han)
    kicked = Update.de_json(emu.pending_updates()[-1], app.bot)
    assert kicked.my_chat_member and kicked.my_chat_member.new_chat_member.status == "kicked"


@pytest.mark.parametrize(
    ("source", "mode", "expected"),
    [
        ("<b>a</b> &lt;b&gt; &amp;", "HTML", ("a <b> &", [("bold", 0, 1)])),
        ('<a href="https://x.cn">x</a>', "HTML", ("x", [("text_link", 0, 1)])),
        ("\U0001f600<i>x</i>", "HTML", ("\U0001f600x", [("italic", 2, 1)])),
        ("*b* _i_ \\. `c`", "MarkdownV2", ("b i . c", [("bold", 0, 1), ("italic", 2, 1),
                                                         ("code", 6, 1)])),
        ("plain <b>", None, ("plain <b>", [])),
    ],
)
def test_parse_modes(source: str, mode: str | None, expected: tuple[str, list]) -> None:
    text, entities = parse_text(source, mode)
    assert (text, [(e["type"], e["offset"], e["length"]) for e in entities]) == expected


@pytest.mark.parametrize(
    ("source", "mode"),
    [("1 < 2", "HTML"), ("<b>x</i>", "HTML"), ("<span>x</span>", "HTML"), ("Done!", "MarkdownV2"),
     ("*open", "MarkdownV2"), ("snake_case", "Markdown")],
)
def test_parse_mode_errors(source: str, mode: str) -> None:
    with pytest.raises(FormatError):
        parse_text(source, mode)


# --- over HTTP with real polling -----------------------------------------------------------


async def test_http_polling_end_to_end(emu: Emulator) -> None:
    server = await start_server(emu)
    app = add_handlers(
        ApplicationBuilder()
        .token(emu.token)
        .base_url(server.api_base_url)
        .base_file_url(server.file_base_url)
        .build()
    )
    gus = emu.user(1008, "Gus")
    try:
        await app.initialize()
        await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]
        await app.start()

        emu.send_text(gus, "/start web")
        welcome = await emu.wait_for(gus, lambda m: "Welcome" in (m.text or ""))
        assert welcome.text == "Welcome Gus! arg=web"
        emu.press(gus, welcome, welcome.button("No"))
        await emu.wait_for(gus, lambda m: m.text == "You chose no")

        emu.send_text(gus, "ping")
        assert (await emu.wait_for(gus, count=2)).text == "echo: ping"
        emu.send_document(gus, "a.pdf", b"%PDF over http")
        assert (await emu.wait_for(gus, count=3)).text == "got 14 bytes: %PDF"
        emu.send_text(gus, "/upload")
        upload = await emu.wait_for(gus, count=4)
        assert upload.file_id and emu.file_bytes(upload.file_id) == b"report body"
        emu.send_photo(gus)
        assert (await emu.wait_for(gus, count=5)).kind == "photo"

        with pytest.raises(TimeoutError, match=r"#2 \[text\] \(edited\) 'You chose no'"):
            await emu.wait_for(gus, count=9, timeout=0.05)
    finally:
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
        await app.shutdown()
        await server.stop()
    assert emu.pending_updates() == []


def _jpeg_with_exif() -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position (made with Pillow)."""
    from PIL import Image

    image = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x0110] = "Phone X1"  # Model
    exif[0x8825] = {1: "N", 2: (39.0, 21.0, 0.0), 3: "E", 4: (115.0, 30.0, 0.0)}  # GPS
    out = BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def test_http_multipart_upload_keeps_bytes_and_name_and_get_file_downloads_them(
    emu: Emulator,
) -> None:
    """PTB uploads an InputFile as multipart; the emulator keeps the exact bytes (EXIF and
    all) and the name, and getFile + the file URL give them back, over real HTTP."""
    server = await start_server(emu)
    app = (ApplicationBuilder().token(emu.token).base_url(server.api_base_url)
           .base_file_url(server.file_base_url).build())
    hal = emu.user(1009, "Hal")
    jpeg = _jpeg_with_exif()
    try:
        await app.initialize()
        photo = await app.bot.send_photo(hal.id, jpeg, filename="S-2026-00001-1.jpg")
        document = await app.bot.send_document(hal.id, b"%PDF-1.4 x", filename="S-1-2.pdf")
        file_id = photo.photo[-1].file_id
        assert emu.files[file_id].file_name == "S-2026-00001-1.jpg"
        assert emu.file_bytes(file_id) == jpeg
        assert document.document is not None and document.document.file_name == "S-1-2.pdf"
        found = await app.bot.get_file(file_id)
        assert found.file_path and bytes(await found.download_as_bytearray()) == jpeg
        emu.send_document(hal, "王秀兰_低保申请表.jpg", jpeg, "image/jpeg")
        [update] = emu.take_updates()
        sent = update["message"]["document"]
        assert sent["file_name"] == "王秀兰_低保申请表.jpg"
        got = await app.bot.get_file(sent["file_id"])
        assert bytes(await got.download_as_bytearray()) == jpeg
        with pytest.raises(BadRequest, match="(?i)wrong file_id"):
            await app.bot.get_file("no-such-file")
    finally:
        await app.shutdown()
        await server.stop()
