"""No import circles in the app or the sandbox.

A circle (a imports b, b imports a, directly or through others) means two modules are really one,
or a shared type lives in the wrong one; it also makes import order matter. The graph is read
with ``ast``, so every import counts: top-level, inside functions, and under ``TYPE_CHECKING``.
An edge goes to the module named (``from pkg import mod`` to ``pkg.mod`` when that is a module);
importing a submodule does not count as importing its package's ``__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rebooter", "orchestrators", "activities", "entities", "starters", "lab/sandbox")


def module_files(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the packages."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def _known(name: str | None, modules: set[str]) -> str | None:
    """The longest prefix of ``name`` that is one of our modules (``pkg.mod.attr`` -> ``pkg.mod``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(files: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module of ours: line of the first such import}."""
    modules = set(files)
    graph: dict[str, dict[str, int]] = {}
    for module, path in files.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_known(alias.name, modules) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                targets = [_known(f"{base}.{alias.name}", modules) or _known(base, modules) for alias in node.names]
            for target in targets:
                if target and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def describe(graph: dict[str, dict[str, int]], component: list[str], files: dict[str, Path]) -> str:
    edges = [f"{a} -> {b} ({files[a].relative_to(ROOT) if files[a].is_relative_to(ROOT) else files[a]}:{line})"
             for a in component for b, line in sorted(graph[a].items()) if b in component]
    return "import circle " + " / ".join(component) + ":\n  " + "\n  ".join(edges)


def test_no_import_circles_in_the_app_or_the_sandbox():
    files = module_files(ROOT, PACKAGES)
    graph = import_graph(files)
    assert any(m.startswith("rebooter.kube.") for m in graph) and any(m.startswith("lab.sandbox.kube.") for m in graph)
    found = cycles(graph)
    assert not found, "\n".join(describe(graph, c, files) for c in found)


def test_the_domain_has_no_circle_of_its_own():
    files = module_files(ROOT, ("rebooter",))
    assert len(files) > 20
    assert cycles(import_graph(files)) == []


def test_a_circle_through_a_function_level_or_type_checking_import_is_found(tmp_path):
    """The check sees imports a circle could hide behind, and names the modules and lines."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.c import g\n    return g\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    (pkg / "d.py").write_text("from pkg import a\n")  # imports into the circle, is not part of it
    files = module_files(tmp_path, ("pkg",))
    graph = import_graph(files)
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    text = describe(graph, ["pkg.a", "pkg.b", "pkg.c"], files)
    assert "pkg.b -> pkg.c" in text and "b.py:2" in text and "pkg.c -> pkg.a" in text
