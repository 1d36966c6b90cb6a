"""The benchmark-only switch ``SUNBOX_ABLATE`` (bot/ablation.py): unset means every
mechanism on, an unknown name is refused, and the places that consult it obey it."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from telegram.request import HTTPXRequest

from bot import ablation
from bot.app import build_application
from bot.cli import run_loop, settle_collector
from bot.config import Config
from bot.telegram.http import AiohttpRequest


def test_unset_or_empty_means_every_mechanism_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ablation.VARIABLE, raising=False)
    assert not any(ablation.off(name) for name in ablation.MECHANISMS)
    monkeypatch.setenv(ablation.VARIABLE, " , ")
    assert not any(ablation.off(name) for name in ablation.MECHANISMS)


def test_named_mechanisms_are_off_and_only_those(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ablation.VARIABLE, " gc")
    assert [name for name in ablation.MECHANISMS if ablation.off(name)] == ["gc"]
    monkeypatch.setenv(ablation.VARIABLE, "gc, aiohttp")
    assert [name for name in ablation.MECHANISMS if ablation.off(name)] == ["aiohttp", "gc"]


def test_an_unknown_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ablation.VARIABLE, "gc,reader")  # measured, then removed
    with pytest.raises(ablation.UnknownMechanism, match="reader"):
        ablation.off("gc")
    monkeypatch.delenv(ablation.VARIABLE)
    with pytest.raises(ablation.UnknownMechanism, match="aiohtp"):
        ablation.off("aiohtp")  # a typo in the code asking is refused too


def _loop_kind() -> str:
    async def kind() -> str:
        return type(asyncio.get_running_loop()).__module__.split(".")[0]

    return run_loop(kind())


def test_uvloop_off_runs_asyncios_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv(ablation.VARIABLE, raising=False)
    assert _loop_kind() == "uvloop"
    monkeypatch.setenv(ablation.VARIABLE, "uvloop")
    assert _loop_kind() == "asyncio"


def test_gc_off_leaves_pythons_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    threshold = gc.get_threshold()
    try:
        gc.unfreeze()
        monkeypatch.setenv(ablation.VARIABLE, "gc")
        settle_collector()
        assert gc.get_threshold() == threshold
        assert gc.get_freeze_count() == 0
        monkeypatch.delenv(ablation.VARIABLE)
        settle_collector()
        assert gc.get_threshold()[0] == 10_000
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _transport(config: Config, tmp_path: Path) -> type:
    """The class of the transport ``build_application`` gives the bot (in its DurableRequest)."""
    application = build_application(config, database=str(tmp_path / "t.db"),
                                     outbox_loop=False)
    return type(application.bot.request._inner)  # type: ignore[attr-defined]  # noqa: SLF001


def test_aiohttp_off_builds_ptbs_default_transport(
        config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ablation.VARIABLE, raising=False)
    assert _transport(config, tmp_path) is AiohttpRequest
    monkeypatch.setenv(ablation.VARIABLE, "aiohttp")
    assert _transport(config, tmp_path) is HTTPXRequest
