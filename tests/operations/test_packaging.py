"""A built wheel installs into a fresh virtual environment and runs outside the source tree,
as a service user who cannot write to site-packages: ``sunbox demo --lang en`` as ``nobody``
(root ignores permission bits, so only an unprivileged run would notice a write there), and
site-packages is byte for byte the same afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# what a source checkout holds that is no part of the package
LEFT_OUT = (".git", ".venv", "build", "*.egg-info", "__pycache__", "*.db", "*.db-*", "*.mo",
            ".pytest_cache", ".ruff_cache", ".mypy_cache", "results", "config.toml", "*.env",
            "dist")
PROBE = """
import json, sys
import bot
from bot.config import check_config, default_config_path
from bot.i18n import translator
print(json.dumps({
    "bot": bot.__file__,
    "example": str(default_config_path()),
    "problems": [p.key for p in check_config(default_config_path(), env={})],
    "zh": translator("zh_CN")("the file is not valid UTF-8"),
}))
"""
CHECKOUT_PROBE = """
import bot.i18n
print(bot.i18n.__file__)
print(bot.i18n.translator("zh_CN")("the file is not valid UTF-8"))
"""

pytestmark = [
    pytest.mark.skipif(shutil.which("setpriv") is None,
                       reason="setpriv (util-linux) is needed to run as an unprivileged user"),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="switching to the user nobody with setpriv needs root"),
]


def _as_nobody(argv: list[str], home: Path, timeout: float,
               **env: str) -> subprocess.CompletedProcess[str]:
    nobody = pwd.getpwnam("nobody")
    return subprocess.run(
        ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
         "--", *argv],
        cwd=home, capture_output=True, text=True, timeout=timeout,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
             **env})


def _interpreter(home: Path) -> str:
    """A Python of this minor version that the user nobody can run (this one may live under
    /root), so the fresh environment can use this environment's dependencies."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
                  f"/usr/local/bin/{version}", f"/usr/bin/{version}"]
    for candidate in candidates:
        if Path(candidate).is_file() and _as_nobody(
                [candidate, "-c", "import sys"], home, 60).returncode == 0:
            return candidate
    pytest.fail(f"no {version} that the user nobody may run: tried {candidates}")


def _tree_digest(top: Path) -> dict[str, str]:
    """Every file and folder under ``top``: its mode, and a file's content digest."""
    digest = {}
    for path in sorted(top.rglob("*")):
        info = path.lstat()
        entry = oct(stat.S_IMODE(info.st_mode))
        if path.is_file() and not path.is_symlink():
            entry += " " + hashlib.sha256(path.read_bytes()).hexdigest()
        digest[str(path.relative_to(top))] = entry
    return digest


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder every user may enter (pytest's tmp_path is root's alone)."""
    top = Path(tempfile.mkdtemp(prefix="sunbox-wheel-"))
    top.chmod(0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_the_wheel_runs_the_demo_as_a_user_who_cannot_write_site_packages(place: Path) -> None:
    home = place / "home"
    home.mkdir()
    nobody = pwd.getpwnam("nobody")
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    home.chmod(0o700)

    # Build the wheel from a copy of the tree, as a release would (pip's cache is reused).
    source = place / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    wheels = place / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--disable-pip-version-check", str(source), "-w", str(wheels)],
                   check=True, timeout=600)
    (wheel,) = wheels.glob("sunbox-*.whl")

    # A fresh environment: the wheel, and this environment's dependencies through a .pth
    # (no network, no second download of matplotlib and numpy).
    venv = place / "venv"
    subprocess.run([_interpreter(home), "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    paths = dict.fromkeys(sysconfig.get_paths()[name] for name in ("purelib", "platlib"))
    (site / "sunbox-test-deps.pth").write_text("\n".join(paths) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=300)
    before = _tree_digest(site)

    probe = _as_nobody([str(python), "-c", PROBE], home, 120)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert Path(found["bot"]).is_relative_to(site), found  # the wheel, not the source tree
    assert Path(found["example"]) == site / "bot" / "config.example.toml"
    assert found["problems"] == []
    assert found["zh"] != "the file is not valid UTF-8"  # the compiled catalog is there

    demo = _as_nobody([str(venv / "bin" / "sunbox"), "demo", "--lang", "en"], home, 900)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Traceback" not in demo.stderr, demo.stderr[-3000:]
    assert "Your case number is" in demo.stdout

    assert _tree_digest(site) == before

    # A source checkout the user cannot write compiles its catalogs into their cache.
    checkout = _as_nobody([str(python), "-c", CHECKOUT_PROBE], home, 120,
                          PYTHONPATH=str(source))
    assert checkout.returncode == 0, checkout.stderr
    module, translated = checkout.stdout.splitlines()
    assert Path(module).is_relative_to(source) and translated == found["zh"]
    assert list(home.glob(".cache/sunbox/locales/zh_CN/sunbox-*.mo"))
    assert not list((source / "locales").rglob("*.mo"))
    # ... and in memory when no cache is writable either
    memory = _as_nobody([str(python), "-c", CHECKOUT_PROBE], home, 120,
                        PYTHONPATH=str(source), XDG_CACHE_HOME="/")
    assert memory.returncode == 0, memory.stderr
    assert memory.stdout.splitlines()[1] == found["zh"]
    assert not list((source / "locales").rglob("*.mo"))
