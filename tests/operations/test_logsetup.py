"""``[logging] level`` and ``format``: checked as every key is, and a real ``sunbox run`` in
JSON writes one object per line, without case text, names, the token or APScheduler's
start-up chatter."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.config import LoggingConfig, check_config, default_config_path, load_config
from bot.emulator.core import Emulator
from bot.emulator.server import start_server
from bot.i18n import translator
from bot.logsetup import JsonFormatter, make_handler
from bot.redaction import install

ROOT = Path(__file__).resolve().parents[2]
FINANCE_OFFICIAL = 1001


def _config(tmp_path: Path, level: str, form: str, **replace: str) -> Path:
    text = default_config_path().read_text(encoding="utf-8")
    text = text.replace('\nlevel = "INFO"\n', f'\nlevel = "{level}"\n', 1)
    text = text.replace('\nformat = "text"\n', f'\nformat = "{form}"\n', 1)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_configuration_logs_text_at_info() -> None:
    assert load_config(default_config_path(), env={}).logging == LoggingConfig("INFO", "text")


def test_a_level_in_lower_case_and_json(tmp_path: Path) -> None:
    path = _config(tmp_path, "warning", "json")
    assert load_config(path, env={}).logging == LoggingConfig("WARNING", "json")


@pytest.mark.parametrize(("language", "words"), [("en", "unsupported value"),
                                                 ("zh_CN", "不支持的值")])
def test_a_wrong_level_or_format_is_named_in_the_readers_language(
        tmp_path: Path, language: str, words: str) -> None:
    path = _config(tmp_path, "loud", "xml")
    problems = {p.key: p.render(translator(language)) for p in check_config(path, env={})}
    assert set(problems) == {"logging.level", "logging.format"}
    assert words in problems["logging.level"] and "DEBUG, INFO, WARNING, ERROR" in problems[
        "logging.level"]
    assert "xml" in problems["logging.format"] and "text, json" in problems["logging.format"]


def test_a_json_line_carries_the_traceback_without_the_token() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"
    install(token)
    stream = io.StringIO()
    logger = logging.getLogger("sunbox.test.json")
    logger.propagate = False
    handler = make_handler(LoggingConfig("INFO", "json"), stream)
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"https://api.telegram.org/bot{token}/getUpdates failed")
        except RuntimeError:
            logger.exception("poll failed for %s", f"bot{token}")
    finally:
        logger.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "exception"}
    assert entry["level"] == "ERROR" and entry["logger"] == "sunbox.test.json"
    assert "RuntimeError" in entry["exception"]
    assert token not in line and token.split(":")[1] not in line
    assert isinstance(handler.formatter, JsonFormatter)


async def test_sunbox_run_logs_json_lines_without_what_people_wrote(tmp_path: Path) -> None:
    """A real ``sunbox run`` at DEBUG in JSON: a resident files a named report; every line
    on standard error is a JSON object, none carries the text, the name or the phone."""
    emu = Emulator()
    server = await start_server(emu)
    config = _config(
        tmp_path, "DEBUG", "json",
        **{'token = ""': f'token = "{emu.token}"',
           'api_base_url = "https://api.telegram.org"': f'api_base_url = "{server.base_url}"',
           'database = "sunbox.db"': f'database = "{tmp_path / "sunbox.db"}"'})
    env = {k: v for k, v in os.environ.items() if k not in ("SUNBOX_CRASH_AT", "SUNBOX_TOKEN")}
    log = tmp_path / "stderr.log"
    secret_text = "Zebrafinch granary ledger was never published"
    resident = emu.user(8101, "Quintilian", language_code="en")
    emu.user(FINANCE_OFFICIAL, "Official", language_code="en")
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--config", str(config), cwd=ROOT,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err)
    try:
        async def step(text: str | None, data: str | None, expect: str) -> None:
            before = len(emu.sent(resident.id))
            if text is not None:
                emu.send_text(resident, text)
            else:
                message = next(m for m in reversed(emu.sent(resident.id))
                               if any(d == data for row in m.buttons() for _, d in row))
                before = emu.position(message)
                emu.press(resident, message, data or "")
            await emu.wait_for(resident.id, lambda m: expect in (m.text or ""), after=before,
                               timeout=30)

        await step("/new", None, "What would you like to file?")
        await step(None, "new:kind:suggestion", "Which area")
        await step(None, "new:cat:finance", "It will go to")
        await step(None, "new:unit:ok", "Describe it")
        await step(secret_text, None, "photos")
        await step(None, "new:att:done", "How do you want")
        await step(None, "new:id:anonymous", "Please check your case")
        await step(None, "new:confirm", "Your case number is")
        await emu.wait_for(FINANCE_OFFICIAL, lambda m: secret_text in (m.text or ""),
                           timeout=30)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
        await server.stop()
    assert code == 0
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines, "sunbox run wrote no log"
    entries = [json.loads(line) for line in lines]  # each line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["message"] == "Application started" for e in entries)
    text = "\n".join(lines)
    for secret in (secret_text, "Zebrafinch", "Quintilian", emu.token):
        assert secret not in text, secret
    noisy = [e for e in entries if e["logger"].startswith("apscheduler")
             and e["level"] in ("DEBUG", "INFO")]
    assert not noisy, noisy
