"""deploy/: the systemd unit's keys (and ``systemd-analyze verify`` where it exists), and the
Dockerfile and compose.yaml checked against the package's entry point and the repository
(``docker build`` cannot run on every machine)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ("sunbox.service", "sunbox-backup.service", "sunbox-backup.timer")


def _unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as ``{section: {key: [values in order]}}`` (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{name}: {raw!r}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _one(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key)
    assert values and len(values) == 1, f"{key}: {values}"
    return values[0]


def _script_name() -> str:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["scripts"]
    assert scripts == {"sunbox": "bot.cli:main"}
    return "sunbox"


def test_the_unit_runs_sunbox_as_its_own_user_and_never_restarts_a_rejected_token() -> None:
    service = _unit("sunbox.service")["Service"]
    assert _one(service, "User") == "sunbox" and _one(service, "Group") == "sunbox"
    assert _one(service, "EnvironmentFile").startswith("/etc/")
    assert _one(service, "Restart") == "on-failure"
    assert "2" in _one(service, "RestartPreventExitStatus").split()
    argv = shlex.split(_one(service, "ExecStart"))
    assert argv[0].startswith("/") and Path(argv[0]).name == _script_name()
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run" and args.config and args.config.startswith("/etc/")
    assert _one(service, "KillSignal") == "SIGTERM"  # what `sunbox run` stops cleanly on
    assert _unit("sunbox.service")["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_unit_is_hardened_and_writes_only_its_data_directory() -> None:
    service = _unit("sunbox.service")["Service"]
    expected = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "UMask": "0077",
        "CapabilityBoundingSet": "",
    }
    assert {key: _one(service, key) for key in expected} == expected
    data = "/var/lib/" + _one(service, "StateDirectory")
    assert _one(service, "ReadWritePaths").split() == [data]
    assert _one(service, "WorkingDirectory") == data
    # the seal key is kept outside the data directory, where the service cannot write
    text = (DEPLOY / "sunbox.service").read_text(encoding="utf-8")
    assert 'seal_key_file = "/etc/sunbox/seal.key"' in text and not data.startswith("/etc")


def test_the_backup_unit_runs_sunbox_backup_into_the_data_directory() -> None:
    service = _unit("sunbox-backup.service")["Service"]
    assert _one(service, "User") == "sunbox" and _one(service, "Type") == "oneshot"
    shell = shlex.split(_one(service, "ExecStart"))
    assert shell[:2] == ["/bin/sh", "-c"]
    argv = shlex.split(shell[2].replace("%%", "%"))
    assert argv[0] == "exec" and Path(argv[1]).name == _script_name()
    args = build_parser().parse_args(argv[2:])
    assert args.command == "backup" and args.file.startswith(
        _one(service, "ReadWritePaths") + "/backups/")
    assert _unit("sunbox-backup.timer")["Timer"]["Persistent"] == ["true"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_finds_no_syntax_error(tmp_path: Path) -> None:
    """On copies whose programs exist here; only the file's own diagnostics
    (``FILE:LINE: ...``) fail, not the user or paths missing on this machine."""
    fake = tmp_path / "sunbox"
    fake.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    fake.chmod(0o755)
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/sunbox/bin/sunbox", str(fake)),
                                     encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    syntax = [line for line in output.splitlines()
              if re.match(rf"{re.escape(str(tmp_path))}/[^:]+:\d+:", line)]
    assert not syntax, output


def test_the_check_itself_catches_a_syntax_error(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze")
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=/bin/true\nRestart=sometimes\n", encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert re.search(rf"{re.escape(str(bad))}:3:", done.stdout + done.stderr)


def _dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        instruction, _, arguments = (pending + line).partition(" ")
        steps.append((instruction.upper(), arguments.strip()))
        pending = ""
    return steps


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, arguments in _dockerfile():
        if instruction == "FROM":
            stages.append([])
        stages[-1].append((instruction, arguments))
    return stages


def test_the_image_is_built_from_the_wheel_and_runs_the_console_script() -> None:
    build, final = _stages()
    # the build stage copies what building the wheel needs, all of it present here
    copied = [a.split()[:-1] for i, a in build if i == "COPY"]
    sources = {source for sources in copied for source in sources}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {"pyproject.toml", "setup.py", "README.md", "config.example.toml", "locales",
              *(p.rstrip("*") for p in packages)}
    assert needed <= sources, needed - sources
    assert all((ROOT / source).exists() for source in sources), sources
    assert any(i == "RUN" and "pip wheel" in a for i, a in build)
    # the final stage installs that wheel and nothing from the source tree
    assert not [a for i, a in final if i == "COPY" and "--from=" not in a]
    assert any(i == "RUN" and re.search(r"pip install .*/wheels/\*\.whl", a) for i, a in final)
    user = [a for i, a in final if i == "USER"]
    assert user and user[-1] not in ("root", "0")
    entrypoint = json.loads(next(a for i, a in final if i == "ENTRYPOINT"))
    assert entrypoint == [_script_name()]
    command = json.loads(next(a for i, a in final if i == "CMD"))
    args = build_parser().parse_args(command)
    assert args.command == "run" and args.config == "/etc/sunbox/config.toml"
    assert json.loads(next(a for i, a in final if i == "VOLUME")) == ["/data"]


def test_compose_builds_that_image_with_data_and_key_on_volumes() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    service = compose["services"]["sunbox"]
    context = (DEPLOY / service["build"]["context"]).resolve()
    assert context == ROOT and (context / service["build"]["dockerfile"]) == (
        DEPLOY / "Dockerfile")
    args = build_parser().parse_args(service["command"])
    assert args.command == "run"
    mounts = {}
    for volume in service["volumes"]:
        source, target, *mode = volume.split(":")
        mounts[target] = (source, mode)
    assert mounts[args.config] == ("./config.toml", ["ro"])
    named = set(compose["volumes"])
    assert mounts["/data"][0] in named  # the Dockerfile's VOLUME
    assert mounts["/home/sunbox/.config/sunbox"][0] in named - {mounts["/data"][0]}
    assert service["env_file"] == "sunbox.env"
    # a restart cannot fix a rejected token (exit 2) or a wrong file: give up eventually
    assert re.fullmatch(r"on-failure:\d+", service["restart"])
    assert service["read_only"] is True and "no-new-privileges:true" in service["security_opt"]
    assert service["stop_signal"] == "SIGTERM"
    assert "user" not in service or service["user"] not in ("root", "0")
    assert service["logging"]["options"]["max-size"]


def _compose_cli() -> bool:
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
    return done.returncode == 0


@pytest.mark.skipif(not _compose_cli(), reason="no docker compose")
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    """``docker compose config`` (no daemon needed) on a copy with the two files it names."""
    copy = tmp_path / "deploy"
    copy.mkdir()
    shutil.copy(DEPLOY / "compose.yaml", copy)
    shutil.copy(DEPLOY / "Dockerfile", copy)
    (copy / "sunbox.env").write_text("SUNBOX_TOKEN=1:x\n", encoding="utf-8")
    (copy / "config.toml").write_text("", encoding="utf-8")
    done = subprocess.run(["docker", "compose", "-f", str(copy / "compose.yaml"), "config",
                           "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_cluster_file_runs_two_instances_of_one_image_behind_tls() -> None:
    """deploy/compose.postgres.yaml: PostgreSQL, two identical Sunbox instances checked on
    /healthz, and nginx terminating TLS in front of the webhook path, whose upstreams are
    those two instances."""
    compose = yaml.safe_load((DEPLOY / "compose.postgres.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "sunbox-a", "sunbox-b", "nginx"}
    first, second = services["sunbox-a"], services["sunbox-b"]
    assert first == second and first["image"] == "sunbox:latest"
    assert first["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(first["healthcheck"]["test"])
    assert "/files" in " ".join(first["volumes"])  # one file store for every instance
    assert services["nginx"]["ports"] == ["443:443"]
    conf = (DEPLOY / "nginx" / "sunbox.conf").read_text(encoding="utf-8")
    assert "server sunbox-a:8080" in conf and "server sunbox-b:8080" in conf
    assert "listen 443 ssl" in conf and "location = /telegram" in conf
    assert "/metrics" not in conf.split("location = /telegram")[1].split("}")[0]
