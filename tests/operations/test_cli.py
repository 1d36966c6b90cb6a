"""The ``sunbox`` command: check-config, run's refusal, the demo tour, --help everywhere."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import default_config_path
from bot.demo import run_demo

BAD_CONFIG = """
[general]
timezone = "Mars/Olympus"

[[units]]
id = "a"
name_zh = "甲"
name_en = "A"
parent = "b"
supervision = true

[[units]]
id = "b"
name_zh = "乙"
name_en = "B"
parent = "a"

[[categories]]
id = "x"
name_zh = "类"
name_en = "X"
unit = "nowhere"

[deadlines.report]
answer = "thirty days"
"""


def test_check_config_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(default_config_path())]) == 0
    assert "配置有效" in capsys.readouterr().out


def test_check_config_reports_every_problem_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    assert main(["check-config", str(path), "--lang", "en"]) == 1
    err = capsys.readouterr().err
    for key in ("general.timezone", "categories[0].unit", "deadlines.report.answer"):
        assert key in err
    assert "cycle" in err and "problems in" in err


def test_check_config_speaks_chinese_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == 1
    assert "未知单位 nowhere" in capsys.readouterr().err


def test_run_refuses_an_invalid_or_tokenless_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUNBOX_TOKEN", raising=False)
    assert main(["run", "--config", str(default_config_path()), "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "telegram.token" in err and "refusing to start" in err
    missing = tmp_path / "missing.toml"
    assert main(["run", "--config", str(missing)]) == 1
    assert "文件不存在" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "demo", "check-config"])
def test_every_subcommand_has_help_and_config(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", command, "--help"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0
    assert "--config" in result.stdout


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh_CN", [r"✅ 已提交，事项编号 S-\d{4}-00001-\w{3}",
                   r"✅ 已提交，事项编号 R-\d{4}-00001-\w{3}",
                   "易州镇西关村", "办理记录", "👤 李建国: （分享本人联系方式）",
                   "由 周承办 于 .* 签收", r"已同意：S-\d{4}-00001-\w{3} 的答复已发给反映人",
                   "重新交回承办单位", r"谢谢。事项 S-\d{4}-00001-\w{3} 已办结。",
                   r"\[photo: chart\] \d{4}H\d 考核", r"\[document: workbook\] \d{4}H\d 考核"]),
        ("en", [r"✅ Submitted. Your case number is S-\d{4}-00001-\w{3}",
                r"✅ Submitted. Your case number is R-\d{4}-00001-\w{3}", "History:",
                r"\(shares their own contact\)", "Approved: the answer to",
                "has been reopened", r"Thank you. Case S-\d{4}-00001-\w{3} is closed.",
                # the register: posted with its opinion button, answered, corrected
                r"📢 → channel: D-\d{4}-00001", r"\[💬 Give an opinion\]",
                r"Answered 1 opinion", r"Published as D-\d{4}-00002"]),
    ],
)
async def test_the_demo_tour_plays_both_flows(language: str, expected: list[str]) -> None:
    lines: list[str] = []
    assert await run_demo(None, language, out=lines.append) == 0
    transcript = "\n".join(lines)
    for pattern in expected:
        assert re.search(pattern, transcript), pattern


async def test_the_fast_demo_shows_deadlines_and_a_meeting_at_work() -> None:
    """About five minutes of real time: reminder, breach, escalation, extension; then a
    supervisors' meeting: reminder, two answers, minutes, an issue filed as a case."""
    lines: list[str] = []
    assert await run_demo(None, "en", out=lines.append, fast=True) == 0
    transcript = "\n".join(lines)
    for pattern in (r"⏰ Reminder: the acceptance deadline of S-\d{4}-00002-\w{3}",
                    r"⚠ S-\d{4}-00002-\w{3} at County Organization Department is overdue",
                    r"🚨 Escalated: S-\d{4}-00002-\w{3}",
                    r"Your case S-\d{4}-00002-\w{3} is overdue",
                    r"has been extended to \d{4}-\d\d-\d\d 23:59",
                    r"📅 Reminder: the monthly supervisors' meeting",
                    r"Noted: you will attend", r"Noted: you cannot attend",
                    r"is recorded as held",
                    r"Filed as S-\d{4}-00003-\w{3} .* with Supervisor Zhao",
                    # the register: a draft for comment, its opinion ruled on, the final
                    # version linking the rulings
                    r"📢 → channel: D-\d{4}-00003 .*", r"How the opinions on the draft",
                    r"D-\d{4}-00004"):
        assert re.search(pattern, transcript), pattern
    _assert_clean(transcript)


def _known_ids() -> set[int]:
    """The members the tour plays: they write to the bot, so it knows their names."""
    from bot.config import load_config
    from bot.demo import FAST_SUPERVISORS, FAST_UNIT_STAFF, _staffed_unit, _supervision_member

    config = load_config(default_config_path())
    played = set(_staffed_unit(config) or ()) | {_supervision_member(config) or 0}
    return played | set(FAST_SUPERVISORS) | set(FAST_UNIT_STAFF)


def _assert_clean(transcript: str) -> None:
    """What a demo transcript must not show: photos mislabelled, sections out of order,
    log lines, members the bot knows by name shown by their id."""
    for line in transcript.splitlines():
        if "[photo: chart]" in line:
            assert re.search(r"\[photo: chart\] .*\d{4}H\d", line), line
    numbers = [int(n) for n in re.findall(r"^== (\d+)\. ", transcript, re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert "refused" not in transcript and "WARNING" not in transcript
    for member_id in _known_ids():
        assert f"#{member_id}" not in transcript, member_id


@pytest.mark.parametrize(("language", "cleaned", "route_up"), [
    ("en", "[photo: cleaned copy] 📎 S-", "nobody at Xiguan Village, Yizhou uses Sunbox yet"),
    ("zh_CN", "[photo: cleaned copy] 📎 S-", "易州镇西关村还没有人使用阳光信箱"),
])
async def test_the_demo_transcript_labels_photos_numbers_sections_and_keeps_logs_out(
    language: str, cleaned: str, route_up: str, caplog: pytest.LogCaptureFixture
) -> None:
    lines: list[str] = []
    with caplog.at_level(logging.WARNING):
        assert await run_demo(None, language, out=lines.append) == 0
    transcript = "\n".join(lines)
    _assert_clean(transcript)
    assert cleaned in transcript  # the resident's photo reaches the unit as a cleaned copy
    assert route_up in transcript  # the 西关村 case goes up the tree, and the tour says so
    assert re.search(r"^== 5\. ", transcript, re.MULTILINE)  # 1..5, the assessment last
    # Every member has a chat: nothing the bot sends is refused (it was logged, and shown).
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


@pytest.mark.parametrize(("language", "description", "demo_help"), [
    ("en", "the county's open-affairs mailbox", "about three and a half minutes"),
    ("zh_CN", "县里的政务公开信箱", "约三分半钟"),
])
def test_help_has_a_description_in_the_chosen_language(
    language: str, description: str, demo_help: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help", "--lang", language])
    assert done.value.code == 0
    assert description in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["demo", "--help", f"--lang={language}"])
    out = capsys.readouterr().out
    assert demo_help in out
    for command in ("assess", "backup"):
        with pytest.raises(SystemExit):
            main([command, "--help", "--lang", language])
        usage, _, rest = capsys.readouterr().out.partition("\n\n")
        description_line = rest.strip().split("\n\n")[0]
        assert description_line and not description_line.startswith("options"), rest
        chinese = re.search(r"[\u4e00-\u9fff]", description_line) is not None
        assert chinese == (language == "zh_CN"), description_line


def test_readme_and_help_agree_on_how_long_the_fast_demo_takes(
    capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["demo", "--help", "--lang", "en"])
    assert "about three and a half minutes" in capsys.readouterr().out
    assert "about three and a half minutes" in readme


@pytest.mark.parametrize(("out", "chart"), [("x.csv", None), ("x.xlsx", "x.jpg")])
def test_assess_refuses_a_file_kind_it_will_not_write(
    out: str, chart: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["assess", "--out", str(tmp_path / out), "--lang", "en",
            "--config", str(default_config_path())]
    if chart:
        argv += ["--chart", str(tmp_path / chart)]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "cannot write this kind of file" in err
    assert (".png" if chart else ".xlsx") in err
    assert not list(tmp_path.iterdir())
