"""The app settings the code reads versus the app settings the Bicep writes (names only).

Code side, for one Durable backend:
  * every ``REBOOTER_*`` name in ``rebooter.config.registry.SETTINGS``;
  * names the deployed Python code (the package: the repository minus .funcignore) reads itself: ``os.environ[...]``, ``os.environ.get(...)``,
    ``os.getenv(...)``, binding expressions ``"%NAME%"`` and ``connection="NAME"`` arguments;
  * names host.json refers to: ``%NAME%`` expressions and ``connectionStringName`` /
    ``connectionName`` values, in the repository's one host.json as the Bicep's
    ``AzureFunctionsJobHost__*`` app settings override it for that backend (the Functions host
    reads such a setting as the host.json value at that path: "Override host.json values",
    learn.microsoft.com/azure/azure-functions/functions-host-json#override-hostjson-values);
  * ``PLATFORM_SETTINGS``: what the Functions host and the Azure SDK read without the code
    naming them.
A connection name ``X`` is met by ``X`` itself or by identity-based ``X__*`` settings.

Bicep side: the keys of the ``properties`` expression of the ``Microsoft.Web/sites/config``
resource named ``appsettings``, evaluated on tree-sitter's syntax tree: object literals,
variables, ``union(...)``, ``loadJsonContent(...)`` and ternaries whose condition depends on
parameters (given values, else their defaults; an undecidable condition keeps both branches).
Object parameters contribute their default keys only (user overrides are not app names).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.checks import INFRA, ROOT, package
from infra.checks.bicep_parse import tree_sitter_tree

FUNCTION_APP_BICEP = INFRA / "app" / "function-app.bicep"
REBOOTER_DEFAULTS_JSON = INFRA / "app" / "rebooter-settings.json"
HOST_JSON = ROOT / "host.json"
BACKENDS = ("durableTaskScheduler", "azureStorage")
# App settings named AzureFunctionsJobHost__a__b override host.json's a.b (read by the host).
HOST_OVERRIDE_PREFIX = "AzureFunctionsJobHost__"

# Read by the platform, not named by the app's code; each is written by the Bicep.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage": "the Functions host's storage (identity-based: __accountName, __credential, __clientId)",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "where the Functions host sends telemetry",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "telemetry authenticated with the managed identity (local auth is off)",
    "AZURE_CLIENT_ID": "azure-identity's DefaultAzureCredential picks the user-assigned identity with it",
}

# Environment variables the platform itself provides on every Function App instance: reading
# them is not reading an app setting, so they are neither expected in the Bicep nor reported.
PROVIDED_BY_PLATFORM_PREFIXES = ("WEBSITE_", "FUNCTIONS_", "AZURE_FUNCTIONS_", "CONTAINER_", "MSI_", "IDENTITY_")
PROVIDED_BY_PLATFORM = {"HOME", "PATH", "TMPDIR", "TEMP", "TZ", "PYTHONPATH"}

_BINDING_EXPRESSION = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")


# ------------------------------------------------------------------------------------------
# Code side
# ------------------------------------------------------------------------------------------


def rebooter_defaults() -> dict[str, str]:
    """``{name: default}`` of every REBOOTER_* setting, in registry order."""
    from rebooter.config.registry import SETTINGS

    return {name: setting.default for name, setting in SETTINGS.items()}


def render_rebooter_defaults() -> str:
    """The content infra/app/rebooter-settings.json must have."""
    return json.dumps(rebooter_defaults(), indent=2) + "\n"


def python_reads(files: Iterable[Path]) -> set[str]:
    """Setting names the given Python files read explicitly."""
    names: set[str] = set()
    for file in files:
        if file.suffix == ".py":
            names |= _names_in_python(ast.parse(file.read_text(encoding="utf-8"), filename=str(file)))
    return names


def _names_in_python(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if match := _BINDING_EXPRESSION.fullmatch(node.value.strip()):
                names.add(match.group(1))
        elif isinstance(node, ast.Subscript) and _is_environ(node.value) and _is_str(node.slice):
            names.add(node.slice.value)
        elif isinstance(node, ast.Call) and node.args and _is_str(node.args[0]):
            func = node.func
            if isinstance(func, ast.Attribute) and (
                (func.attr in ("get", "pop", "setdefault") and _is_environ(func.value)) or func.attr == "getenv"
            ):
                names.add(node.args[0].value)
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "connection" and _is_str(keyword.value) and keyword.value.value:
                    names.add(keyword.value.value)
    return names


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def host_json_with_overrides(settings: Mapping[str, str | None], host_json: Path = HOST_JSON) -> dict:
    """host.json as the host sees it with these app settings: each ``AzureFunctionsJobHost__a__b``
    setting replaces the value at path a.b (a None value, not known before deployment, is kept as None)."""
    data = json.loads(host_json.read_text(encoding="utf-8"))
    for name, value in settings.items():
        if not name.startswith(HOST_OVERRIDE_PREFIX):
            continue
        *parents, leaf = name[len(HOST_OVERRIDE_PREFIX):].split("__")
        node = data
        for part in parents:
            key = next((k for k in node if k.lower() == part.lower()), part)  # configuration keys ignore case
            node = node.setdefault(key, {})
        key = next((k for k in node if k.lower() == leaf.lower()), leaf)
        node[key] = value
    return data


def host_json_reads(host_json: Path | dict) -> set[str]:
    """Names a host.json (a file, or its parsed content) refers to: %NAME% expressions and connection names."""
    names: set[str] = set()

    def visit(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(v, k)
        elif isinstance(value, list):
            for item in value:
                visit(item, key)
        elif isinstance(value, str):
            names.update(_BINDING_EXPRESSION.findall(value))
            if key in ("connectionStringName", "connectionName") and "%" not in value:
                names.add(value)

    visit(host_json if isinstance(host_json, dict) else json.loads(host_json.read_text(encoding="utf-8")))
    return names


def host_json_backend(host_json: Path | dict) -> str:
    """Which Durable backend a host.json configures (azureManaged = Durable Task Scheduler)."""
    data = host_json if isinstance(host_json, dict) else json.loads(host_json.read_text(encoding="utf-8"))
    provider = data.get("extensions", {}).get("durableTask", {}).get("storageProvider", {}) or {}
    kind = str(provider.get("type", "AzureStorage"))
    return "durableTaskScheduler" if kind.lower() == "azuremanaged" else "azureStorage"


def code_reads(backend: str, host_json: Path = HOST_JSON, bicep: Path | None = None) -> set[str]:
    """Every setting name the deployed app needs with this backend (see module docstring)."""
    names = set(rebooter_defaults()) | set(PLATFORM_SETTINGS)
    names |= {
        name for name in python_reads(package.deployed_files())
        if name not in PROVIDED_BY_PLATFORM and not name.startswith(PROVIDED_BY_PLATFORM_PREFIXES)
    }
    if host_json.exists():
        settings = bicep_settings(backend, FUNCTION_APP_BICEP if bicep is None else bicep)
        names |= host_json_reads(host_json_with_overrides(settings, host_json))
    return names


# ------------------------------------------------------------------------------------------
# Bicep side
# ------------------------------------------------------------------------------------------


class BicepEvaluationError(ValueError):
    """The app settings expression uses a construct this evaluator does not follow."""


@dataclass
class _Scope:
    path: Path
    variables: dict[str, object]  # name -> tree-sitter node
    parameters: dict[str, tuple[str, object | None]]  # name -> (type, default node)
    values: Mapping[str, str]


def bicep_writes(backend: str, bicep: Path = FUNCTION_APP_BICEP, params: Mapping[str, str] | None = None) -> set[str]:
    """Names of the app settings ``bicep`` writes for the given Durable backend."""
    return set(bicep_settings(backend, bicep, params))


def bicep_settings(backend: str, bicep: Path = FUNCTION_APP_BICEP,
                   params: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """``{name: value}`` of the app settings ``bicep`` writes for the given Durable backend; the
    value is None where it is only known at deployment (an expression, not a literal)."""
    tree = tree_sitter_tree(bicep.read_bytes())
    scope = _Scope(bicep, {}, {}, {"durableBackend": backend, **(params or {})})
    app_settings = None
    for node in tree.root_node.named_children:
        named = [child for child in node.named_children if child.type not in ("decorators", "decorator")]
        if node.type == "variable_declaration":
            scope.variables[_text(named[0])] = named[-1]
        elif node.type == "parameter_declaration":
            default = named[2] if len(named) > 2 else None
            scope.parameters[_text(named[0])] = (_text(named[1]), default)
        elif node.type == "resource_declaration" and _string(named[1]).startswith("Microsoft.Web/sites/config@"):
            body = named[-1]
            if _property(body, "name") is not None and _string(_property(body, "name")) == "appsettings":
                app_settings = _property(body, "properties")
    if app_settings is None:
        raise BicepEvaluationError(f"{bicep}: no Microsoft.Web/sites/config resource named 'appsettings'")
    return _entries(app_settings, scope)


def _merge(*parts: dict[str, str | None]) -> dict[str, str | None]:
    """Like union(): later objects win."""
    merged: dict[str, str | None] = {}
    for part in parts:
        merged.update(part)
    return merged


def _either(first: dict[str, str | None], second: dict[str, str | None]) -> dict[str, str | None]:
    """Both branches of an undecidable condition: every key, a value only where both agree."""
    return {key: first.get(key) if first.get(key) == second.get(key) and key in first and key in second else None
            for key in {**first, **second}}


def _entries(node, scope: _Scope) -> dict[str, str | None]:
    kind = node.type
    if kind == "object":
        found = {}
        for prop in node.named_children:
            if prop.type == "object_property":
                value = _value(prop.named_children[-1], scope)
                found[_property_name(prop)] = value if isinstance(value, str) else None
        return found
    if kind == "parenthesized_expression":
        return _entries(node.named_children[0], scope)
    if kind == "identifier":
        name = _text(node)
        if name in scope.variables:
            return _entries(scope.variables[name], scope)
        if name in scope.parameters:
            _, default = scope.parameters[name]
            return _entries(default, scope) if default is not None else {}
        raise BicepEvaluationError(f"{scope.path}: unknown name {name!r}")
    if kind == "ternary_expression":
        condition = _truth(node.child_by_field_name("condition"), scope)
        consequence = node.child_by_field_name("consequence")
        alternative = node.child_by_field_name("alternative")
        if condition is None:
            return _either(_entries(consequence, scope), _entries(alternative, scope))
        return _entries(consequence if condition else alternative, scope)
    if kind == "call_expression":
        function = _text(node.child_by_field_name("function"))
        arguments = node.child_by_field_name("arguments").named_children
        if function == "union":
            return _merge(*(_entries(argument, scope) for argument in arguments))
        if function == "loadJsonContent":
            data = json.loads((scope.path.parent / _string(arguments[0])).read_text(encoding="utf-8"))
            return {key: value if isinstance(value, str) else None for key, value in data.items()}
    raise BicepEvaluationError(f"{scope.path}: cannot list the keys of {_text(node)[:80]!r}")


def _truth(node, scope: _Scope) -> bool | None:
    """Value of a condition, or None when it depends on something unknown."""
    value = _value(node, scope)
    return value if isinstance(value, bool) else None


def _value(node, scope: _Scope) -> object:
    kind = node.type
    if kind == "parenthesized_expression":
        return _value(node.named_children[0], scope)
    if kind == "string":
        return _string(node) if not any(c.type == "interpolation" for c in node.named_children) else None
    if kind == "boolean":
        return _text(node) == "true"
    if kind == "identifier":
        name = _text(node)
        if name in scope.values:
            return scope.values[name]
        if name in scope.variables:
            return _value(scope.variables[name], scope)
        if name in scope.parameters and scope.parameters[name][1] is not None:
            return _value(scope.parameters[name][1], scope)
        return None
    if kind == "unary_expression" and _text(node.child_by_field_name("operator")) == "!":
        inner = _value(node.child_by_field_name("argument"), scope)
        return (not inner) if isinstance(inner, bool) else None
    if kind == "binary_expression":
        operator = _text(node.child_by_field_name("operator"))
        left = _value(node.child_by_field_name("left"), scope)
        right = _value(node.child_by_field_name("right"), scope)
        if operator in ("==", "!="):
            if left is None or right is None:
                return None
            return (left == right) == (operator == "==")
        if operator == "&&":
            return False if False in (left, right) else (True if left is True and right is True else None)
        if operator == "||":
            return True if True in (left, right) else (False if left is False and right is False else None)
    return None


def _property(obj, name: str):
    for prop in obj.named_children:
        if prop.type == "object_property" and _property_name(prop) == name:
            return prop.named_children[-1]
    return None


def _property_name(prop) -> str:
    key = prop.named_children[0]
    return _string(key) if key.type == "string" else _text(key)


def _string(node) -> str:
    return "".join(_text(child) for child in node.named_children if child.type == "string_content")


def _text(node) -> str:
    return node.text.decode("utf-8")


# ------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    backend: str
    missing: frozenset[str]  # read by the code, not written by the Bicep
    unread: frozenset[str]  # written by the Bicep, read by nothing

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unread


def compare(reads: set[str], writes: set[str], backend: str) -> Comparison:
    """Match names; a read connection name X is met by written X or X__* names."""

    def met(name: str) -> bool:
        return name in writes or any(written.startswith(name + "__") for written in writes)

    def explained(name: str) -> bool:
        return name in reads or name.split("__", 1)[0] in reads or name.startswith(HOST_OVERRIDE_PREFIX)

    return Comparison(
        backend,
        frozenset(sorted(name for name in reads if not met(name))),
        frozenset(sorted(name for name in writes if not explained(name))),
    )


def compare_backend(backend: str) -> Comparison:
    return compare(code_reads(backend), bicep_writes(backend), backend)
