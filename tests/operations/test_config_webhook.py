"""Configuration of webhook mode (``[telegram] mode``, ``webhook_url``, ``secret_token``,
``max_connections``) and of the HTTP server (``[http]``), as check-config reports them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import config as cfg
from bot.cli import main
from bot.config import default_config_path, load_config
from tests.operations.test_config import BASE, keyed, problems_of, write

TELEGRAM_URL = "https://sunbox.example.gov.cn{port}/telegram"


def test_the_defaults_poll_and_open_no_port() -> None:
    config = load_config(default_config_path(), env={})
    assert config.telegram.mode == "polling"
    assert config.telegram.webhook_url is None and config.telegram.secret_token is None
    assert config.telegram.max_connections == 40
    assert config.http == cfg.HttpConfig()
    assert (config.http.listen, config.http.port, config.http.configured) == \
        ("127.0.0.1", 8080, False)


def test_webhook_mode_with_its_server(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + """
[telegram]
mode = "webhook"
webhook_url = "https://sunbox.example.gov.cn:8443/telegram/updates"
secret_token = "Abc_123-xyz"
max_connections = 100

[http]
listen = "0.0.0.0"
port = 9000
base_url = "https://sunbox.example.gov.cn"
""")
    config = load_config(path, env={})
    telegram, http = config.telegram, config.http
    assert telegram.mode == "webhook"
    assert telegram.webhook_url == "https://sunbox.example.gov.cn:8443/telegram/updates"
    assert telegram.webhook_path == "/telegram/updates"
    assert telegram.secret_token == "Abc_123-xyz"
    assert telegram.max_connections == 100
    assert http == cfg.HttpConfig(listen="0.0.0.0", port=9000,
                                  base_url="https://sunbox.example.gov.cn", configured=True)


def test_an_empty_http_table_runs_the_server_with_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "\n[http]\n"), env={})
    assert config.http == cfg.HttpConfig(configured=True)
    assert config.telegram.webhook_path == "/"


def test_webhook_mode_needs_a_url(tmp_path: Path) -> None:
    problems = keyed(problems_of(tmp_path, "[telegram]\nmode = 'webhook'\n"))
    assert problems["telegram.webhook_url"].message == cfg.MSG_WEBHOOK_REQUIRED
    # An empty one is none.
    problems = keyed(problems_of(tmp_path, "[telegram]\nmode = 'webhook'\nwebhook_url = ''\n"))
    assert problems["telegram.webhook_url"].message == cfg.MSG_WEBHOOK_REQUIRED


@pytest.mark.parametrize(("url", "ok"), [
    (TELEGRAM_URL.format(port=""), True),
    (TELEGRAM_URL.format(port=":443"), True),
    (TELEGRAM_URL.format(port=":80"), True),
    (TELEGRAM_URL.format(port=":88"), True),
    (TELEGRAM_URL.format(port=":8443"), True),
    (TELEGRAM_URL.format(port=":8080"), False),   # not a port Telegram delivers to
    (TELEGRAM_URL.format(port=":99999"), False),  # not a port at all
    ("http://sunbox.example.gov.cn/telegram", False),  # Telegram delivers over https only
    ("http://sunbox.example.gov.cn:443/telegram", False),
    ("https:///telegram", False),
    ("sunbox.example.gov.cn/telegram", False),
])
def test_telegram_delivers_webhooks_to_https_on_four_ports(
        tmp_path: Path, url: str, ok: bool) -> None:
    head = f"[telegram]\nmode = 'webhook'\nwebhook_url = '{url}'\n"
    problems = keyed(problems_of(tmp_path, head))
    if ok:
        assert problems == {}
    else:
        assert problems["telegram.webhook_url"].message == cfg.MSG_WEBHOOK_URL


def test_the_url_is_checked_in_polling_mode_too(tmp_path: Path) -> None:
    problems = keyed(problems_of(tmp_path, "[telegram]\nwebhook_url = 'http://x.org/t'\n"))
    assert problems["telegram.webhook_url"].message == cfg.MSG_WEBHOOK_URL


@pytest.mark.parametrize(("url", "ok"), [
    ("http://127.0.0.1:8080/telegram", True),
    ("https://bots.example.org:9443/hook", True),
    ("ftp://127.0.0.1/telegram", False),
    ("http://127.0.0.1:99999/telegram", False),
])
def test_a_self_hosted_bot_api_server_also_delivers_to_http_on_any_port(
        tmp_path: Path, url: str, ok: bool) -> None:
    head = (f"[telegram]\napi_base_url = 'http://127.0.0.1:8081'\nmode = 'webhook'\n"
            f"webhook_url = '{url}'\n")
    problems = keyed(problems_of(tmp_path, head))
    if ok:
        assert problems == {}
    else:
        assert problems["telegram.webhook_url"].message == cfg.MSG_URL


@pytest.mark.parametrize(("secret", "ok"), [
    ("a", True),
    ("A-z_0-9", True),
    ("x" * 256, True),
    ("x" * 257, False),
    ("with space", False),
    ("秘密", False),
    ("a+b/c=", False),  # base64's own letters are not Telegram's
])
def test_the_secret_token_is_what_telegram_takes(tmp_path: Path, secret: str, ok: bool) -> None:
    problems = keyed(problems_of(tmp_path, f"[telegram]\nsecret_token = '{secret}'\n"))
    if ok:
        assert problems == {}
    else:
        assert problems["telegram.secret_token"].message == cfg.MSG_SECRET_TOKEN
        assert secret not in problems["telegram.secret_token"].render()


@pytest.mark.parametrize(("head", "key", "message", "params"), [
    ("[telegram]\nmax_connections = 0", "telegram.max_connections", cfg.MSG_DURATION_RANGE,
     {"min": 1, "max": 100}),
    ("[telegram]\nmax_connections = 101", "telegram.max_connections",
     cfg.MSG_DURATION_RANGE, {"min": 1, "max": 100}),
    ("[telegram]\nmax_connections = '40'", "telegram.max_connections", cfg.MSG_INTEGER, {}),
    ("[http]\nport = 0", "http.port", cfg.MSG_DURATION_RANGE, {"min": 1, "max": 65535}),
    ("[http]\nport = 65536", "http.port", cfg.MSG_DURATION_RANGE, {"min": 1, "max": 65535}),
    ("[http]\nport = true", "http.port", cfg.MSG_INTEGER, {}),
    ("[http]\nlisten = 'every where'", "http.listen", cfg.MSG_LISTEN, {}),
    ("[http]\nlisten = ''", "http.listen", cfg.MSG_NOT_EMPTY, {}),
    ("[http]\nbase_url = 'sunbox.example.gov.cn'", "http.base_url", cfg.MSG_URL, {}),
    ("[http]\nhost = '0.0.0.0'", "http.host", cfg.MSG_UNKNOWN_KEY,
     {"allowed": "listen, port, base_url"}),
    ("http = 8080", "http", cfg.MSG_TABLE, {}),
])
def test_each_problem_of_the_new_keys(tmp_path: Path, head: str, key: str, message: str,
                                      params: dict[str, object]) -> None:
    problems = keyed(problems_of(tmp_path, head))
    assert key in problems, problems
    assert problems[key].message == message
    assert problems[key].params == params


@pytest.mark.parametrize("listen", ["127.0.0.1", "0.0.0.0", "::", "[::1]", "localhost",
                                    "sunbox-1.internal"])
def test_addresses_to_listen_on(tmp_path: Path, listen: str) -> None:
    assert problems_of(tmp_path, f"[http]\nlisten = '{listen}'\n") == []


def test_check_config_reports_them_with_their_keys(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[telegram]\nmode = 'webhook'\n"
                           "webhook_url = 'http://sunbox.example.gov.cn:8080/t'\n"
                           "secret_token = 'not secret!'\n" + BASE)
    assert main(["check-config", str(path), "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "telegram.webhook_url: must be an https:// URL on port 443, 80, 88 or 8443" in err
    assert "telegram.secret_token: must be 1 to 256 characters" in err
    assert "2 problems" in err


def test_the_cluster_lease_timeout_is_read_checked_and_reaches_the_runtime(
        tmp_path: Path) -> None:
    """``[cluster] lease_timeout``: a fixed duration from 1 s to 10 min, 15 s by default,
    given to the runtime's leadership (bot.services.leadership)."""
    from bot.app import build_application
    from bot.durations import Duration

    base = default_config_path().read_text(encoding="utf-8")
    assert load_config(default_config_path(), env={}).cluster.lease_timeout == Duration(15, "s")
    good = tmp_path / "good.toml"
    good.write_text(base.replace('lease_timeout = "15s"', 'lease_timeout = "2s"'),
                    encoding="utf-8")
    config = load_config(good, env={})
    assert config.cluster.lease_timeout == Duration(2, "s")
    application = build_application(config, database=str(tmp_path / "t.db"),
                                     outbox_loop=False)
    assert application.bot_data.runtime.lease_timeout == 2.0
    for wrong in ('"0s"', '"1h"', '"2wd"', "15"):
        bad = tmp_path / "bad.toml"
        bad.write_text(base.replace('lease_timeout = "15s"', f"lease_timeout = {wrong}"),
                       encoding="utf-8")
        with pytest.raises(cfg.ConfigError) as raised:
            load_config(bad, env={})
        assert [p.key for p in raised.value.problems] == ["cluster.lease_timeout"], wrong
