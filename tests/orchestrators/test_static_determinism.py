"""Orchestrators are replayed: a static scan fails on clock, randomness, environment or I/O use.

The replay tests catch what actually diverges; this catches what could, before it ships.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_MODULES = {"random", "uuid", "time", "os", "socket", "subprocess", "requests", "urllib", "http",
                     "aiohttp", "kubernetes", "azure.identity", "azure.mgmt", "rebooter.arm.clients", "threading",
                     "secrets", "asyncio", "rebooter.arm.aks", "rebooter.arm.probe", "rebooter.kube.inventory"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "getenv", "sleep", "input", "print"}


def orchestrator_sources():
    files = sorted((ROOT / "orchestrators").glob("*.py"))
    assert files
    return files


def imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def test_orchestrators_import_nothing_nondeterministic():
    problems = []
    for path in orchestrator_sources():
        for module in imported_modules(ast.parse(path.read_text())):
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                problems.append(f"{path.name}: imports {module}")
    assert not problems, problems


def test_orchestrators_call_no_clock_env_or_io():
    problems = []
    for path in orchestrator_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in FORBIDDEN_CALLS:
                    problems.append(f"{path.name}:{node.lineno}: calls {name}()")
            if isinstance(node, ast.Attribute) and node.attr == "environ":
                problems.append(f"{path.name}:{node.lineno}: reads os.environ")
    assert not problems, problems


def test_domain_modules_used_by_orchestrators_are_pure():
    """plan/names are imported by orchestrators; they must not do I/O either."""
    for module in ("policy/plan", "config/names"):
        tree = ast.parse((ROOT / "rebooter" / f"{module}.py").read_text())
        for imported in imported_modules(tree):
            assert not any(imported == bad or imported.startswith(bad + ".") for bad in FORBIDDEN_MODULES), imported
