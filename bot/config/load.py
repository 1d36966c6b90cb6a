"""Reading the configuration file: :func:`load_config` (raises :class:`ConfigError` with
every problem), :func:`check_config` (lists them) and the example configuration's path."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config.messages import MSG_NOT_FOUND, MSG_NOT_UTF8, MSG_TOML, MSG_UNREADABLE
from bot.config.model import Config
from bot.config.parse import parse_config
from bot.config.reader import ConfigError, Problem

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")


def _read(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Read and decode a TOML file; problems are keyed by the file's path."""
    key = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(key, MSG_NOT_FOUND, {})]
    except OSError as error:
        return None, [Problem(key, MSG_UNREADABLE, {"error": error.strerror or str(error)})]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [Problem(key, MSG_NOT_UTF8, {})]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line, column = 0, 0
        if match := _TOML_POSITION.search(message):
            line, column = int(match.group(1)), int(match.group(2))
            message = message[: match.start()]
        elif match := _TOML_END.search(message):
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
            message = message[: match.start()]
        params = {"line": line, "column": column, "error": message}
        return None, [Problem(key, MSG_TOML, params)]


def _load(
    path: str | os.PathLike[str], for_run: bool, env: Mapping[str, str],
    check_token: bool = False,
) -> tuple[Config | None, list[Problem]]:
    path = Path(path).expanduser()
    data, problems = _read(path)
    if data is None:
        return None, problems
    absolute = path.resolve()
    return parse_config(
        data, env=env, base_dir=absolute.parent, for_run=for_run, source=str(absolute),
        check_token=check_token,
    )


def load_config(
    path: str | os.PathLike[str], *, for_run: bool = False, env: Mapping[str, str] = os.environ
) -> Config:
    """Read and check the TOML file at ``path``; :class:`ConfigError` lists all problems.

    With ``for_run`` a bot token is required (from the file or ``SUNBOX_TOKEN``).
    """
    config, problems = _load(path, for_run, env)
    if config is None:
        raise ConfigError(problems)
    return config


def check_config(
    path: str | os.PathLike[str], *, for_run: bool = False, env: Mapping[str, str] = os.environ
) -> list[Problem]:
    """Every problem of the file at ``path`` (empty if it is fine); with ``for_run`` also
    a token that does not look like one (``sunbox run`` lets Telegram judge it instead)."""
    return _load(path, for_run, env, check_token=for_run)[1]


def default_config_path() -> Path:
    """``config.example.toml``: the demo runs on it. An installed wheel carries it inside
    the ``bot`` package (setup.py); a source checkout has it at the top."""
    packaged = Path(__file__).resolve().parent.parent / "config.example.toml"
    return packaged if packaged.is_file() else packaged.parent.parent / packaged.name
