"""The services import one another in one direction only: no circle among the modules of
bot/services, counting the imports made inside functions (a lazy import hides a circle, it
does not remove it). The alarm job, for one, hands ``alarms.fire_due`` the meetings'
firing function (``handlers.jobs.ALARM_SUBJECTS``) instead of alarms importing meetings."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "bot" / "services"


def _module(path: Path) -> str:
    parts = path.relative_to(SERVICES.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def service_imports() -> dict[str, set[str]]:
    """Each module of bot/services with the modules of bot/services it imports."""
    modules = {_module(path): path for path in SERVICES.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of ``graph``: each a path that comes back to where it started."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            if target in path:
                found.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return found


def test_the_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_counts_imports_inside_functions() -> None:
    graph = service_imports()
    # deadlines.recompute_covered and calendar_digest import notify inside the function.
    assert "bot.services.notify" in graph["bot.services.deadlines"]
    assert "bot.services.meetings.schedule" in graph["bot.services.meetings"]


def test_no_circle_among_the_services() -> None:
    assert circles(service_imports()) == []
    graph = service_imports()
    assert "bot.services.meetings" not in graph["bot.services.alarms"]
    assert "bot.services.alarms" not in graph["bot.services.deadlines"]
