"""``sunbox invite``, ``sunbox revoke`` and ``sunbox members`` on a configuration's database.

The example configuration makes 1001 an official and 1002 the head of the finance bureau.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import default_config_path


@pytest.fixture(autouse=True)
def _service_key(service_key: Path) -> Path:
    """As after the first start of ``sunbox run``: the administrators' commands find a key."""
    return service_key


LINK = re.compile(r"https://t\.me/(\S+)\?start=(inv_[A-Za-z0-9_-]{16})$", re.MULTILINE)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The example configuration with its database in the test's folder."""
    path = tmp_path / "config.toml"
    text = default_config_path().read_text(encoding="utf-8")
    database = (tmp_path / "roles.db").as_posix()
    path.write_text(text.replace('database = "sunbox.db"', f'database = "{database}"'),
                    encoding="utf-8")
    return path


def rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "roles.db") as conn:
        return [tuple(r) for r in conn.execute(sql)]


def test_invite_prints_a_placeholder_link_and_the_start_message(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["invite", "--config", str(config_file), "--lang", "en",
                 "--role", "supervisor", "--unit", "yizhou_beiguan", "--expires", "48h"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"https://t\.me/<bot>\?start=(inv_[A-Za-z0-9_-]{16}) \(replace <bot>", out)
    assert match, out
    code = match.group(1)
    assert f"/start {code}" in out
    assert "supervisor of Beiguan Village, Yizhou (yizhou_beiguan), valid once" in out
    [(stored, role, unit, created_at, expires_at, used_by)] = rows(
        tmp_path, "SELECT code_hash, role, unit_id, created_at, expires_at, used_by "
                  "FROM invites")
    # Only the code's hash is kept: whoever reads the database cannot use the invite.
    assert (stored, role, unit, used_by) == (
        hashlib.sha256(code.encode()).hexdigest(), "supervisor", "yizhou_beiguan", None)
    assert (datetime.fromisoformat(str(expires_at)) - datetime.fromisoformat(str(created_at))
            ).total_seconds() == 48 * 3600


def test_invite_with_the_bots_username_prints_the_whole_link(
    config_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["invite", "--config", str(config_file), "--lang", "en",
                 "--role", "official", "--unit", "finance", "--bot", "@YiCountySunboxBot"]) == 0
    out = capsys.readouterr().out
    match = LINK.search(out)
    assert match and match.group(1) == "YiCountySunboxBot", out
    assert "/start" not in out


def test_invite_speaks_chinese_by_default(
    config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SUNBOX_LANG", raising=False)
    assert main(["invite", "--config", str(config_file), "--role", "head",
                 "--unit", "finance", "--bot", "sunbox_bot"]) == 0
    assert "县财政局" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "mayor", "--unit", "finance"], 'Unknown role "mayor". The roles are: '
                                                    "official, head, clerk, supervisor"),
        (["--role", "official", "--unit", "atlantis"], 'Unknown unit "atlantis".'),
        (["--role", "official", "--unit", "finance", "--expires", "forever"],
         'invalid duration "forever"'),
        (["--role", "official", "--unit", "finance", "--bot", "t.me/x"],
         '"t.me/x" is not a bot username'),
    ],
)
def test_invite_refuses_bad_input_and_stores_nothing(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    args: list[str], message: str,
) -> None:
    assert main(["invite", "--config", str(config_file), "--lang", "en", *args]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "roles.db").exists()


def test_a_broken_configuration_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["members", "--config", str(tmp_path / "missing.toml"), "--lang", "en"]) == 1
    assert "missing.toml" in capsys.readouterr().err


def test_members_lists_the_configured_roles(
    config_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["members", "--config", str(config_file), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "County Finance Bureau (finance):" in out
    assert ("• unit head: name not known yet (Telegram id 1002, from the configuration file)"
            in out)
    assert "• administrator: name not known yet (Telegram id 1004" in out
    assert main(["members", "--config", str(config_file), "--lang", "en",
                 "--unit", "agriculture"]) == 0
    assert capsys.readouterr().out.strip() == (
        "County Agriculture and Rural Affairs Bureau (agriculture): nobody holds a role.")
    assert main(["members", "--config", str(config_file), "--lang", "en",
                 "--unit", "atlantis"]) == 1
    assert 'Unknown unit "atlantis".' in capsys.readouterr().err


def test_revoke_withdraws_and_warns_when_the_file_grants_the_role(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["revoke", "--config", str(config_file), "--lang", "en",
            "--telegram-id", "1001", "--role", "official", "--unit", "finance"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "✅ 1001 is no longer official of County Finance Bureau (finance)." in out
    assert "granted again whenever Sunbox starts" in out
    assert rows(tmp_path, "SELECT COUNT(*) FROM memberships m JOIN people p ON "
                          "p.id = m.person_id WHERE p.telegram_id = 1001 AND "
                          "m.revoked_at IS NOT NULL") == [(1,)]
    # The person is told, through the outbox the running bot drains.
    assert rows(tmp_path, "SELECT kind FROM outbox WHERE chat_id = 1001") == [("message",)]

    assert main(["revoke", "--config", str(config_file), "--lang", "en",
                 "--telegram-id", "424242", "--role", "head", "--unit", "finance"]) == 1
    assert ("424242 does not hold the role unit head in County Finance Bureau (finance); "
            "nothing has changed.") in capsys.readouterr().err
    assert main(["revoke", "--config", str(config_file), "--lang", "en",
                 "--telegram-id", "1001", "--role", "boss", "--unit", "finance"]) == 1
    assert 'Unknown role "boss"' in capsys.readouterr().err


@pytest.mark.parametrize("command", ["invite", "revoke", "members"])
def test_every_roles_subcommand_has_help(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", command, "--help"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0
    assert "--config" in result.stdout and "--lang" in result.stdout
