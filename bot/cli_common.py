"""What every ``sunbox`` command shares: its language, the configuration it reads (its
problems printed when it has any) and a database opened for the length of one action."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from bot.clock import SystemClock
from bot.config import Config, ConfigError, Problem, load_config
from bot.i18n import Translate, normalize_language, translator
from storage.sql import DatabaseError

if TYPE_CHECKING:
    from bot.runtime import Runtime

T = TypeVar("T")

DEFAULT_CONFIG = "config.toml"



def command_language(args: argparse.Namespace) -> str:
    """The language of a command's output: ``--lang``, then ``SUNBOX_LANG``, then Chinese."""
    return (normalize_language(getattr(args, "lang", None))
            or normalize_language(os.environ.get("SUNBOX_LANG")) or "zh_CN")


def print_problems(problems: Sequence[Problem], language: str) -> None:
    """The configuration's problems, one a line, on standard error."""
    t = translator(language)
    for problem in problems:
        print(problem.render(t), file=sys.stderr)


def load_for_command(args: argparse.Namespace, language: str) -> Config | None:
    """The configuration (a token is not needed), or None after printing its problems."""
    try:
        return load_config(args.config or DEFAULT_CONFIG)
    except ConfigError as error:
        print_problems(error.problems, language)
        return None


def with_runtime(
    config: Config, t: Translate, action: Callable[[Runtime], Awaitable[T]]
) -> T | None:
    """Open the configuration's database, run ``action`` on it, close it.

    None after printing why the database could not be opened.
    """
    from bot.runtime import Runtime
    from bot.seal import SealError
    from storage.migrations import SchemaTooNew

    async def run() -> T:
        runtime = Runtime(config, SystemClock(), config.general.database, create_key=False)
        await runtime.open()
        try:
            return await action(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(run())
    except SealError as error:
        print(t("{path}: cannot open the database: {error}").format(
            path=config.general.database, error=error.render(t)), file=sys.stderr)
        return None
    except (OSError, SchemaTooNew, *DatabaseError) as error:  # type: ignore[misc]
        print(t("{path}: cannot open the database: {error}").format(
            path=config.general.database, error=error), file=sys.stderr)
        return None
