"""Resource bodies checked against Azure's own type definitions (Azure/bicep-types-az).

The Bicep compiler type-checks a resource body against the definitions generated from the
Azure REST API specs in github.com/Azure/bicep-types-az (``generated/<provider>/<namespace>/
<api-version>/types.json``). It cannot be installed here, so this module does the part of
that check that catches real mistakes, on the same data:

* the resource type and API version exist;
* every property path written exists (unknown names and wrong casing are reported, with the
  closest known name), and read-only properties are not written;
* literal values have the right kind (string, integer, boolean, object, array), integer
  bounds and string lengths hold, and a literal (or each ``@allowed`` value of a parameter
  used directly) is one of the values an enum allows. For an extensible enum (known values
  plus any string) this is stricter than the compiler, which accepts any string: a value the
  API version does not document fails here, so a typo such as 'Consumptio' cannot pass;
* an object literal carries the properties its type requires.

Expressions the checker cannot evaluate (function calls, member access, interpolation) are
accepted, as the compiler accepts them until deployment. Ternaries are checked branch by
branch, variables through their value, loops through their body.

The definitions of only the types and versions the templates use are kept in
``infra/checks/types/types.json`` (descriptions dropped), extracted from a named commit of
bicep-types-az by ``infra/checks/bicep_types_sync.py`` (``python infra/check.py types-sync <git dir>``).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from infra.checks import INFRA
from infra.checks.bicep_parse import tree_sitter_tree

TYPES_JSON = INFRA / "checks" / "types" / "types.json"
REQUIRED, READ_ONLY = 1, 2  # bicep-types ObjectTypePropertyFlags
BICEP_KEYWORDS = {"parent", "scope", "dependsOn"}  # resource-body keys of Bicep itself, not of the type


@dataclass(frozen=True)
class TypeProblem:
    path: Path
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: bicep-types: {self.message}"


# ------------------------------------------------------------------------------------------
# Templates
# ------------------------------------------------------------------------------------------


def _text(node) -> str:
    return node.text.decode("utf-8")


_ESCAPES = {"\\'": "'", "\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\$": "$"}


def _literal_string(node) -> str | None:
    """Value of a string without interpolation, else None."""
    parts = []
    for child in node.named_children:
        if child.type == "string_content":
            parts.append(_text(child))
        elif child.type == "escape_sequence":
            parts.append(_ESCAPES.get(_text(child), _text(child)))
        else:
            return None
    return "".join(parts)


def _declarations(root) -> tuple[dict, dict]:
    """Variables {name: value node} and parameters {name: (type text, @allowed nodes or None)}."""
    variables, parameters = {}, {}
    previous = None
    for node in root.named_children:
        named = node.named_children
        if node.type == "variable_declaration":
            variables[_text(named[0])] = named[-1]
        elif node.type == "parameter_declaration":
            allowed = None
            if previous is not None and previous.type == "decorators":
                for decorator in previous.named_children:
                    call = decorator.named_children[0] if decorator.named_children else None
                    if call is not None and call.type == "call_expression" and _text(call.named_children[0]) == "allowed":
                        array = call.named_children[1].named_children[0]
                        allowed = [item for item in array.named_children if item.type != "comment"]
            parameters[_text(named[0])] = (_text(named[1]), allowed)
        previous = node
    return variables, parameters


def resource_declarations(path: Path) -> list[tuple[str, object, bool]]:
    """(type@version, body object node or None, existing) of every resource in a file."""
    tree = tree_sitter_tree(path.read_bytes())
    found = []
    for node in tree.root_node.named_children:
        if node.type != "resource_declaration":
            continue
        type_node = node.named_children[1]
        existing = any(child.type == "existing" or _text(child) == "existing" for child in node.children
                       if not child.is_named)
        found.append((_literal_string(type_node) or "", type_node, _body(node.named_children[-1]), existing))
    return found


def _body(node):
    """The object of a resource value: plain, ``if (...) {}``, ``[for ...: {}]``, ``[for ...: if () {}]``."""
    while node is not None and node.type in ("if_statement", "for_statement"):
        node = node.named_children[-1]
    return node if node is not None and node.type == "object" else None


def used_types(paths: list[Path]) -> set[str]:
    return {type_version for path in paths for type_version, *_ in resource_declarations(path)}


# ------------------------------------------------------------------------------------------
# Type data
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_types(path: Path = TYPES_JSON) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _resource_key(data: dict, type_version: str) -> str | None:
    wanted = type_version.lower()
    return next((key for key in data["resources"] if key.lower() == wanted), None)


# ------------------------------------------------------------------------------------------
# Checking
# ------------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, path: Path, types: list[dict], variables: dict, parameters: dict) -> None:
        self.path, self.types, self.variables, self.parameters = path, types, variables, parameters
        self.problems: list[TypeProblem] = []
        self._following: set[str] = set()

    def type(self, ref: dict) -> dict:
        return self.types[int(ref["$ref"].split("/")[-1])]

    def report(self, node, message: str) -> None:
        row, column = node.start_point
        self.problems.append(TypeProblem(self.path, row + 1, column + 1, message))

    # --- values -------------------------------------------------------------------------

    def value(self, node, ref: dict, where: str) -> None:
        kind = node.type
        if kind == "parenthesized_expression":
            return self.value(node.named_children[0], ref, where)
        if kind == "ternary_expression":
            for branch in node.named_children[1:]:
                self.value(branch, ref, where)
            return None
        if kind == "null":
            return None
        if kind == "identifier":
            return self.identifier(node, ref, where)
        expected = self.type(ref)
        if expected["$type"] == "AnyType":
            return None
        if kind == "object":
            return self.object(node, ref, where)
        if kind in ("array", "for_statement"):
            arrays = [t for t in self.flatten(ref) if t["$type"] == "ArrayType"]
            if not arrays:
                return self.report(node, f"{where}: expected {self.describe(ref)}, got an array")
            items = [item for item in node.named_children if item.type != "comment"] if kind == "array" else [
                _loop_body(node)]
            for item in items:
                if item is not None:
                    self.value(item, arrays[0]["itemType"], f"{where}[]")
            return None
        literal = self.literal(node)
        if literal is not _UNKNOWN and not self.accepts(ref, literal):
            self.report(node, f"{where}: {json.dumps(literal)} is not allowed; expected {self.describe(ref)}")
        return None

    def identifier(self, node, ref: dict, where: str) -> None:
        name = _text(node)
        if name in self.variables and name not in self._following:
            self._following.add(name)
            try:
                self.value(self.variables[name], ref, where)
            finally:
                self._following.discard(name)
        elif name in self.parameters:
            primitive, allowed = self.parameters[name]
            for item in allowed or []:
                literal = self.literal(item)
                if literal is not _UNKNOWN and not self.accepts(ref, literal):
                    self.report(item, f"{where}: parameter {name} allows {json.dumps(literal)}, which is not "
                                      f"allowed; expected {self.describe(ref)}")
            sample = {"string": "", "int": 0, "bool": False}.get(primitive, _UNKNOWN)
            if not allowed and sample is not _UNKNOWN and not any(self.accepts_kind(t, sample) for t in self.flatten(ref)):
                self.report(node, f"{where}: parameter {name} is {primitive}; expected {self.describe(ref)}")

    def literal(self, node):
        if node.type == "string":
            value = _literal_string(node)
            return _UNKNOWN if value is None else value
        if node.type == "number":
            return int(_text(node))
        if node.type == "unary_expression" and _text(node).lstrip("-").isdigit():
            return int(_text(node))
        if node.type == "boolean":
            return _text(node) == "true"
        return _UNKNOWN

    def flatten(self, ref: dict) -> list[dict]:
        expected = self.type(ref)
        if expected["$type"] == "UnionType":
            return [t for element in expected["elements"] for t in self.flatten(element)]
        return [expected]

    def accepts(self, ref: dict, literal) -> bool:
        options = self.flatten(ref)
        if isinstance(literal, str) and any(t["$type"] == "StringLiteralType" for t in options):
            # An extensible enum (known values plus any string): the compiler accepts any string,
            # this check only the values the API version documents, so a typo cannot pass.
            options = [t for t in options if t["$type"] != "StringType"]
        return any(self.accepts_kind(t, literal, exact=True) for t in options)

    @staticmethod
    def accepts_kind(expected: dict, literal, exact: bool = False) -> bool:
        kind = expected["$type"]
        if kind == "AnyType":
            return True
        if isinstance(literal, bool):
            return kind == "BooleanType"
        if isinstance(literal, int):
            return kind == "IntegerType" and (not exact or (
                literal >= expected.get("minValue", literal) and literal <= expected.get("maxValue", literal)))
        if isinstance(literal, str):
            if kind == "StringLiteralType":
                return not exact or literal == expected["value"]
            return kind == "StringType" and (not exact or (
                len(literal) >= expected.get("minLength", 0) and len(literal) <= expected.get("maxLength", len(literal))))
        return False

    def describe(self, ref: dict) -> str:
        names = []
        for t in self.flatten(ref):
            kind = t["$type"]
            names.append(json.dumps(t["value"]) if kind == "StringLiteralType" else {
                "StringType": "string", "IntegerType": "int", "BooleanType": "bool", "ArrayType": "array",
                "ObjectType": f"object {t.get('name', '')}".strip(), "DiscriminatedObjectType": "object",
            }.get(kind, kind))
        return " | ".join(dict.fromkeys(names))

    # --- objects ------------------------------------------------------------------------

    def object(self, node, ref: dict, where: str, resource_body: bool = False) -> None:
        candidates = [t for t in self.flatten(ref) if t["$type"] in ("ObjectType", "DiscriminatedObjectType")]
        if not candidates:
            return self.report(node, f"{where}: expected {self.describe(ref)}, got an object")
        entries = {}
        for prop in node.named_children:
            if prop.type != "object_property":
                continue
            key = prop.named_children[0]
            name = _literal_string(key) if key.type == "string" else _text(key)
            entries[name] = (key, prop.named_children[-1])
        expected = candidates[0]
        properties, additional = self.properties(expected, entries)
        for name, (key, value) in entries.items():
            if resource_body and name in BICEP_KEYWORDS:
                continue
            path = f"{where}.{name}" if where else name
            if name in properties:
                flags = properties[name].get("flags", 0)
                if flags & READ_ONLY and not flags & REQUIRED:
                    self.report(key, f"{path}: read-only property")
                    continue
                self.value(value, properties[name]["type"], path)
            elif additional is not None:
                self.value(value, additional, path)
            else:
                same = [known for known in properties if known.lower() == name.lower()]
                close = same or difflib.get_close_matches(name, list(properties), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                owner = expected.get("name", "the object")
                self.report(key, f"{path}: property {name!r} does not exist on {owner}{hint}")
        for name, prop in properties.items():
            flags = prop.get("flags", 0)
            if flags & REQUIRED and not flags & READ_ONLY and name not in entries:
                self.report(node, f"{where or 'resource'}: required property {name!r} is missing")
        return None

    def properties(self, expected: dict, entries: dict) -> tuple[dict, dict | None]:
        if expected["$type"] == "ObjectType":
            return expected.get("properties", {}), expected.get("additionalProperties")
        discriminator = expected["discriminator"]
        properties = dict(expected.get("baseProperties", {}))
        chosen = None
        if discriminator in entries:
            chosen = self.literal(entries[discriminator][1])
        elements = expected["elements"]
        if isinstance(chosen, str):
            match = next((key for key in elements if key.lower() == chosen.lower()), None)
            if match is None:
                self.report(entries[discriminator][1], f"{discriminator}: {chosen!r} is not one of {sorted(elements)}")
                return properties, None
            properties.update(self.type(elements[match]).get("properties", {}))
        else:  # unknown discriminator: any element's properties
            for ref in elements.values():
                properties.update(self.type(ref).get("properties", {}))
        return properties, None


_UNKNOWN = object()


def _loop_body(node):
    body = node.named_children[-1]
    while body is not None and body.type == "if_statement":
        body = body.named_children[-1]
    return body


def check_file(path: Path, data: dict | None = None) -> list[TypeProblem]:
    data = load_types() if data is None else data
    tree = tree_sitter_tree(path.read_bytes())
    variables, parameters = _declarations(tree.root_node)
    problems: list[TypeProblem] = []
    for type_version, type_node, body, existing in resource_declarations(path):
        key = _resource_key(data, type_version)
        row, column = type_node.start_point
        if key is None:
            problems.append(TypeProblem(path, row + 1, column + 1, (
                f"{type_version}: no such resource type and API version in {TYPES_JSON.relative_to(INFRA.parent)} "
                f"(bicep-types-az {data['source']['commit'][:12]}); add it with python infra/check.py types-sync "
                "<bicep-types-az git dir>, which fails if Azure does not define it")))
            continue
        if existing or body is None:
            continue
        entry = data["resources"][key]
        checker = _Checker(path, entry["types"], variables, parameters)
        checker.object(body, {"$ref": f"#/{entry['body']}"}, "", resource_body=True)
        problems += checker.problems
    return problems


def check_files(paths: list[Path], data: dict | None = None) -> list[TypeProblem]:
    return [problem for path in paths for problem in check_file(path, data)]
