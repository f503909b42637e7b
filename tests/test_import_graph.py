"""No import circle inside `core/`: every module's imports (at the top or inside functions) form a DAG.

Parses the source with `ast`, so it sees imports a running test never triggers; `if TYPE_CHECKING:` blocks
are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(source: str, name: str, modules: set[str], *, is_package: bool = False) -> set[str]:
    """The `core` modules the module `name` (its `source`) imports anywhere in its body, except under
    `if TYPE_CHECKING:`."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source, name))
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    """Module -> the core modules it imports."""
    paths = sorted(CORE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported(p.read_text(), module_name(p), modules, is_package=p.name == "__init__.py")
            for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)):
            return cycle
    return None


def test_core_has_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle in core/: " + " -> ".join(cycle)


def test_the_check_finds_a_circle_and_names_it():
    graph = {"core.a": {"core.b"}, "core.b": {"core.c"}, "core.c": {"core.a"}, "core.d": set()}
    assert find_cycle(graph) == ["core.a", "core.b", "core.c", "core.a"]
    assert find_cycle({"core.a": {"core.b"}, "core.b": set()}) is None


def test_imports_inside_functions_count_and_type_checking_blocks_do_not():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core import b\n"
              "def f():\n    from core.services import c\n    from . import d\n")
    modules = {"core", "core.b", "core.services", "core.services.c", "core.services.d"}
    assert imported(source, "core.services.probe", modules) == {
        "core.services", "core.services.c", "core.services.d"}
