"""Reading a parsed TOML document: :class:`Reader` takes typed values out of one table and
records a :class:`Problem` (keyed ``units[3].parent``) for each thing wrong, so that every
problem of a file is found in one pass; :class:`ConfigError` carries them all."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config.messages import (
    MSG_ARRAY_OF_TABLES,
    MSG_BOOLEAN,
    MSG_ID_FORMAT,
    MSG_INTEGER,
    MSG_NOT_EMPTY,
    MSG_REQUIRED,
    MSG_STRING,
    MSG_TABLE,
    MSG_UNKNOWN_KEY,
)
from bot.durations import Duration, DurationError, parse_duration

ID_MAX_CHARS = 32
_ID_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration.

    ``message`` is an English msgid (marked with ``N_``) with ``{name}`` placeholders
    filled from ``params`` after translation; ``key`` says where (``units[3].parent``).
    """

    key: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, t: Callable[[str], str] = lambda s: s) -> str:
        """``key: message`` with the message translated by ``t`` and filled in."""
        return f"{self.key}: {t(self.message).format(**self.params)}"

    def __str__(self) -> str:
        return self.render()


class ConfigError(Exception):
    """The configuration has problems; they are all in ``problems``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {problem.render()}" for problem in self.problems)
        super().__init__(f"invalid configuration ({len(self.problems)} problems):\n{lines}")


#: The default of a required value: absent, it is a problem.
MISSING: Any = object()


class Reader:
    """Reads typed values out of one TOML table, recording problems under ``prefix``."""

    def __init__(
        self,
        data: Mapping[str, Any],
        prefix: str,
        problems: list[Problem],
        allowed: tuple[str, ...] | None,
    ) -> None:
        self.data = data
        self.prefix = prefix
        self.problems = problems
        for name in data if allowed is not None else ():
            if allowed is not None and name not in allowed:
                self.problem(name, MSG_UNKNOWN_KEY, allowed=", ".join(allowed))

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, name: str, message: str, /, **params: Any) -> None:
        self.problems.append(Problem(self.key(name), message, params))

    def _absent(self, name: str, default: Any) -> Any:
        """The value for a missing key: ``default``, or ``None`` and a problem if required."""
        if default is MISSING:
            self.problem(name, MSG_REQUIRED)
            return None
        return default

    def string(self, name: str, default: Any = MISSING, *, empty_ok: bool = False) -> Any:
        """A string (stripped); ``default`` if absent, ``None`` after a problem."""
        if name not in self.data:
            return self._absent(name, default)
        value = self.data[name]
        if not isinstance(value, str):
            self.problem(name, MSG_STRING)
            return None
        value = value.strip()
        if not value and not empty_ok:
            self.problem(name, MSG_NOT_EMPTY)
            return None
        return value

    def integer(self, name: str, default: Any = MISSING) -> Any:
        """An integer (not a boolean); ``default`` if absent, ``None`` after a problem."""
        if name not in self.data:
            return self._absent(name, default)
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, MSG_INTEGER)
            return None
        return value

    def boolean(self, name: str, default: Any = MISSING) -> Any:
        """``true``/``false``; ``default`` if absent, ``None`` after a problem."""
        if name not in self.data:
            return self._absent(name, default)
        value = self.data[name]
        if not isinstance(value, bool):
            self.problem(name, MSG_BOOLEAN)
            return None
        return value

    def identifier(self, name: str) -> str | None:
        """A required id: lowercase ASCII, digits, underscores; starts with a letter."""
        value = self.string(name)
        if value is None:
            return None
        if len(value) > ID_MAX_CHARS or not _ID_PATTERN.fullmatch(value):
            self.problem(name, MSG_ID_FORMAT, max=ID_MAX_CHARS)
            return None
        return value

    def duration(self, name: str, default: Duration) -> Duration:
        """A duration string such as ``15wd``; ``default`` if absent or bad."""
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, str):
            self.problem(name, MSG_STRING)
            return default
        try:
            return parse_duration(value)
        except DurationError as error:
            self.problem(name, error.msgid, **error.params)
            return default


def sub_table(reader: Reader, name: str, allowed: tuple[str, ...] | None) -> Reader | None:
    """The reader of table ``name`` inside ``reader`` (an empty one if absent).

    ``allowed`` lists the keys the table may hold (others are reported); ``None`` lets
    the caller check the keys itself.
    """
    value = reader.data.get(name, {})
    if not isinstance(value, dict):
        reader.problem(name, MSG_TABLE)
        return None
    return Reader(value, reader.key(name), reader.problems, allowed)


def array_of_tables(
    reader: Reader, name: str, *, required: bool
) -> list[tuple[str, dict[str, Any]]]:
    """``[(key_prefix, table), ...]`` of the ``[[name]]`` array; bad items are reported."""
    if name not in reader.data:
        if required:
            reader.problem(name, MSG_REQUIRED)
        return []
    value = reader.data[name]
    if not isinstance(value, list):
        reader.problem(name, MSG_ARRAY_OF_TABLES, name=name)
        return []
    items = []
    for index, item in enumerate(value):
        key = f"{reader.key(name)}[{index}]"
        if not isinstance(item, dict):
            reader.problems.append(Problem(key, MSG_TABLE, {}))
            continue
        items.append((key, item))
    return items
