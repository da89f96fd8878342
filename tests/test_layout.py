"""The integration's layout keeps its promises: no import loop (type-checking imports
included), a protocol package that never imports Home Assistant, transports that shared code
does not ask about, and modules small enough to read."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

INTEGRATION: Final = Path(__file__).resolve().parents[1] / "custom_components" / "rlink"
PACKAGE: Final = "custom_components.rlink"
LONGEST: Final = 420
"""Lines a module may have; a longer one must say why in `LONG_MODULES`."""
LONG_MODULES: Final[dict[str, str]] = {
    "protocol/model.py": "the object model: every data type's parsing, check and encoding",
    "protocol/responder.py": "one answer per device event of the spec, kept side by side",
    "protocol/session.py": "one MQTT client session: connect, subscribe, request and reconnect",
    "protocol/server/connection.py": "one MQTT connection: a handler per packet type",
}
SHARED: Final = frozenset(
    p.stem
    for p in INTEGRATION.glob("*.py")
    if p.stem not in {"__init__", "config_flow", "data"}  # they choose the transport
)
"""Modules both modes use: they must not import a transport's package."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(INTEGRATION).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _imports(path: Path) -> Iterator[str]:
    """Every module of the package this file imports, at run time or for type checking."""
    tree = ast.parse(path.read_text())
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = [*base, *(node.module.split(".") if node.module else [])]
            if node.level == 0:
                target = node.module.split(".") if node.module else []
            name = ".".join(target)
            if not name.startswith(PACKAGE):
                continue
            for alias in node.names:  # `from . import gateway_data` names a module
                candidate = f"{name}.{alias.name}"
                yield candidate if _exists(candidate) else name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE):
                    yield alias.name


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[2:])
    return (INTEGRATION / relative).with_suffix(".py").exists() or (
        INTEGRATION / relative / "__init__.py"
    ).exists()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in INTEGRATION.rglob("*.py"):
        name = _module_name(path)
        graph[name] = {m for m in _imports(path) if m != name and _exists(m)}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_loop() -> None:
    graph = _graph()
    assert f"{PACKAGE}.coordinator" in graph  # the walk found the modules
    # A package's __init__ importing its own modules is how packages work, not a loop.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    assert _cycles(graph) == []


def test_the_protocol_never_imports_home_assistant() -> None:
    for path in (INTEGRATION / "protocol").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            assert not any(n.split(".")[0] == "homeassistant" for n in names), path


def test_shared_code_does_not_reach_into_a_transport() -> None:
    """Entities, services and diagnostics use the coordinator and the transport interface;
    what only one transport has lives in its package."""
    graph = _graph()
    allowed = {  # services are registered in one place for both modes
        "services": {f"{PACKAGE}.cloud.services"},
    }
    for stem in SHARED:
        reaches = {
            m
            for m in graph[f"{PACKAGE}.{stem}"]
            if m.startswith((f"{PACKAGE}.local", f"{PACKAGE}.cloud"))
        }
        assert reaches <= allowed.get(stem, set()), stem


def test_modules_are_small_enough_to_read() -> None:
    long = {
        str(path.relative_to(INTEGRATION)): lines
        for path in INTEGRATION.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > LONGEST
    }
    assert {k: v for k, v in long.items() if k not in LONG_MODULES} == {}
