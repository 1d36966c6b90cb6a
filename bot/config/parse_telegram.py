"""``[telegram]``: the bot token (``SUNBOX_TOKEN`` wins), the Bot API's URL, the mode (with
the webhook's URL, secret and connections) and the proxy; ``[http]``: Sunbox's HTTP server.

Telegram's own servers deliver webhooks only to https on ports 443, 80, 88 and 8443, so a
``webhook_url`` for them is checked against that; a self-hosted Bot API server (and the
emulator) also delivers to plain http on any port, as tests do."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping

from bot.config.messages import (
    MSG_DURATION_RANGE,
    MSG_LISTEN,
    MSG_MODE,
    MSG_PROXY,
    MSG_PROXY_ENV,
    MSG_SECRET_TOKEN,
    MSG_TOKEN,
    MSG_TOKEN_FORMAT,
    MSG_URL,
    MSG_WEBHOOK_REQUIRED,
    MSG_WEBHOOK_URL,
)
from bot.config.proxy import proxy_from_env, redact_proxy, valid_proxy
from bot.config.reader import Problem, Reader, sub_table
from bot.config.sections import HttpConfig, TelegramConfig

MODES = ("polling", "webhook")
TOKEN_ENV = "SUNBOX_TOKEN"
#: What a bot token from @BotFather looks like: the bot's id, a colon, a 35-character secret.
TOKEN_FORMAT = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,}")
#: What Telegram takes as a webhook's secret token (setWebhook's ``secret_token``).
SECRET_TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: The ports Telegram's servers deliver webhooks to.
WEBHOOK_PORTS = (443, 80, 88, 8443)
#: setWebhook's ``max_connections`` (Telegram's bounds).
MAX_CONNECTIONS = (1, 100)
_URL = re.compile(r"https?://[^/\s]+\S*")
_HOST = re.compile(r"[A-Za-z0-9._:-]+|\[[0-9A-Fa-f:.]+\]")


def parse_telegram(root: Reader, env: Mapping[str, str], for_run: bool,
                   check_token: bool = False) -> TelegramConfig:
    table = sub_table(root, "telegram", ("token", "api_base_url", "mode", "proxy",
                                         "webhook_url", "secret_token", "max_connections"))
    default = TelegramConfig()
    proxy: str | None = None
    webhook: tuple[str | None, str | None, int] = (None, None, default.max_connections)
    if table is None:
        token = None
        url, mode = default.api_base_url, default.mode
    else:
        proxy = table.string("proxy", "", empty_ok=True) or None
        if proxy is not None and not valid_proxy(proxy):
            table.problem("proxy", MSG_PROXY)
        token = table.string("token", "", empty_ok=True) or None
        url = table.string("api_base_url", default.api_base_url)
        if url is not None and not re.match(r"https?://[^/\s]+", url):
            table.problem("api_base_url", MSG_URL)
        mode = table.string("mode", default.mode)
        if mode is not None and mode not in MODES:
            table.problem("mode", MSG_MODE, value=mode, allowed=", ".join(MODES))
        webhook = _webhook(table, mode, url or default.api_base_url)
    env_token = (env.get(TOKEN_ENV) or "").strip()
    if env_token:
        token = env_token
    if for_run and not token:
        root.problems.append(Problem("telegram.token", MSG_TOKEN, {}))
    elif check_token and token and not TOKEN_FORMAT.fullmatch(token):
        key = TOKEN_ENV if env_token else "telegram.token"
        root.problems.append(Problem(key, MSG_TOKEN_FORMAT, {}))
    api_base_url = url or default.api_base_url
    if proxy is None:  # unset or empty: the environment's, as curl and pip take it
        found = proxy_from_env(env, api_base_url)
        if found is not None and not valid_proxy(found[1]):
            # Only where it would be used: the demo and the administrators' commands never
            # reach Telegram, so a desktop's odd ALL_PROXY must not stop them.
            if for_run:
                root.problems.append(Problem("telegram.proxy", MSG_PROXY_ENV,
                                             {"name": found[0],
                                              "value": redact_proxy(found[1])}))
        elif found is not None:
            proxy = found[1]
    return TelegramConfig(
        token=token,
        api_base_url=api_base_url,
        mode=mode or default.mode,
        proxy=proxy,
        webhook_url=webhook[0],
        secret_token=webhook[1],
        max_connections=webhook[2],
    )


def _webhook(table: Reader, mode: str | None, api_base_url: str
             ) -> tuple[str | None, str | None, int]:
    """``webhook_url``, ``secret_token`` and ``max_connections``, checked as Telegram's
    setWebhook would check them (the URL: only against Telegram's own servers)."""
    default = TelegramConfig()
    url = table.string("webhook_url", "", empty_ok=True) or None
    if url is None and mode == "webhook":
        table.problem("webhook_url", MSG_WEBHOOK_REQUIRED)
    elif url is not None:
        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if TelegramConfig(api_base_url=api_base_url).telegram_servers:
            if parts.scheme != "https" or not parts.hostname or \
                    (port if port is not None else 443) not in WEBHOOK_PORTS:
                table.problem("webhook_url", MSG_WEBHOOK_URL)
        elif not _URL.fullmatch(url) or port == -1:
            table.problem("webhook_url", MSG_URL)
    secret = table.string("secret_token", "", empty_ok=True) or None
    if secret is not None and not SECRET_TOKEN_FORMAT.fullmatch(secret):
        table.problem("secret_token", MSG_SECRET_TOKEN)
    connections = table.integer("max_connections", default.max_connections)
    low, high = MAX_CONNECTIONS
    if connections is not None and not low <= connections <= high:
        table.problem("max_connections", MSG_DURATION_RANGE, min=low, max=high)
    return url, secret, connections or default.max_connections


def parse_http(root: Reader) -> HttpConfig:
    """``[http]``: where the server listens and the address it is published at."""
    default = HttpConfig()
    if "http" not in root.data:
        return default
    table = sub_table(root, "http", ("listen", "port", "base_url"))
    if table is None:
        return default
    listen = table.string("listen", default.listen)
    if listen is not None and not _HOST.fullmatch(listen):
        table.problem("listen", MSG_LISTEN)
    port = table.integer("port", default.port)
    if port is not None and not 1 <= port <= 65535:
        table.problem("port", MSG_DURATION_RANGE, min=1, max=65535)
    base_url = table.string("base_url", "", empty_ok=True) or None
    if base_url is not None and not _URL.fullmatch(base_url):
        table.problem("base_url", MSG_URL)
    return HttpConfig(listen=listen or default.listen, port=port or default.port,
                      base_url=base_url, configured=True)
