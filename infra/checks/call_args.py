"""Follow a Python expression back to a constant string, inside one module (static, no import
of the module itself): used by infra/checks/permissions.py to tell which namespace a
Kubernetes call touches.

Followed: a literal; ``module.NAME`` or an imported ``NAME`` (the imported module's value); a
local or module-level assignment, also tuple assignments; a parameter of the enclosing
function, through the same argument at every call of that function in the module. Anything
else (loop variables, subscripts, calls) is not constant: None.
"""

from __future__ import annotations

import ast
import importlib


class Resolver:
    """Follows an expression back to a constant string inside one module (see module docstring)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.imports: dict[str, str] = {}  # local name -> module or module.attribute
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = alias.name

    def arguments_of(self, method_ref: ast.Attribute) -> tuple[list[ast.expr], list[ast.keyword]]:
        """The arguments the referenced method is called with: directly, or via a helper
        that takes it first (``call_json(core.read_namespaced_pod, name, namespace)``)."""
        parent = self.parents.get(method_ref)
        if isinstance(parent, ast.Call):
            if parent.func is method_ref:
                return list(parent.args), list(parent.keywords)
            if method_ref in parent.args:
                return list(parent.args[parent.args.index(method_ref) + 1:]), list(parent.keywords)
        return [], []

    def _function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None

    def constant(self, expr: ast.expr, at: ast.AST, depth: int = 0) -> str | None:
        if depth > 5:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in self.imports:
            return self._imported(f"{self.imports[expr.value.id]}.{expr.attr}")
        if not isinstance(expr, ast.Name):
            return None
        function = self._function_of(at)
        scope = function if function is not None else self.tree
        values = [value for target, value in _assignments(scope) if target == expr.id]
        if values:
            found = {self.constant(value, value, depth + 1) for value in values}
            return found.pop() if len(found) == 1 else None
        if function is not None and expr.id in [a.arg for a in function.args.args]:
            return self._parameter(function, expr.id, depth)
        if expr.id in self.imports:
            return self._imported(self.imports[expr.id])
        if function is not None:
            return self.constant(expr, self.tree, depth + 1) if any(
                t == expr.id for t, _ in _assignments(self.tree)) else None
        return None

    def _parameter(self, function: ast.FunctionDef, name: str, depth: int) -> str | None:
        index = [a.arg for a in function.args.args].index(name)
        found: set[str | None] = set()
        for call in ast.walk(self.tree):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == function.name:
                given = next((k.value for k in call.keywords if k.arg == name), None)
                if given is None and index < len(call.args):
                    given = call.args[index]
                found.add(self.constant(given, call, depth + 1) if given is not None else None)
        return found.pop() if len(found) == 1 else None

    @staticmethod
    def _imported(dotted: str) -> str | None:
        module, _, attribute = dotted.rpartition(".")
        try:
            value = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError, ValueError):
            return None
        return value if isinstance(value, str) else None


def _assignments(scope: ast.AST) -> list[tuple[str, ast.expr]]:
    """(name, value) of plain and tuple assignments directly in ``scope`` (not nested functions)."""
    found = []
    body = list(ast.iter_child_nodes(scope))
    while body:
        node = body.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.append((target.id, node.value))
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    found += [(t.id, v) for t, v in zip(target.elts, node.value.elts, strict=False) if isinstance(t, ast.Name)]
                elif isinstance(target, ast.Tuple):
                    found += [(t.id, target) for t in target.elts if isinstance(t, ast.Name)]  # unknown value
        elif isinstance(node, (ast.For, ast.comprehension)):
            targets = [node.target] if not isinstance(node.target, ast.Tuple) else node.target.elts
            found += [(t.id, node.target) for t in targets if isinstance(t, ast.Name)]  # loop variable: unknown
        body.extend(ast.iter_child_nodes(node))
    return found
