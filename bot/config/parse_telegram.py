"""``[telegram]``: the bot token (``SUNBOX_TOKEN`` wins), the Bot API's URL, the mode and
the proxy."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.config.messages import (
    MSG_MODE,
    MSG_PROXY,
    MSG_PROXY_ENV,
    MSG_TOKEN,
    MSG_TOKEN_FORMAT,
    MSG_URL,
)
from bot.config.proxy import proxy_from_env, redact_proxy, valid_proxy
from bot.config.reader import Problem, Reader, sub_table
from bot.config.sections import TelegramConfig

MODES = ("polling",)
TOKEN_ENV = "SUNBOX_TOKEN"
#: What a bot token from @BotFather looks like: the bot's id, a colon, a 35-character secret.
TOKEN_FORMAT = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,}")


def parse_telegram(root: Reader, env: Mapping[str, str], for_run: bool,
                   check_token: bool = False) -> TelegramConfig:
    table = sub_table(root, "telegram", ("token", "api_base_url", "mode", "proxy"))
    default = TelegramConfig()
    proxy: str | None = None
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
    )
