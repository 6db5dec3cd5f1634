"""Property reads checked like writes: ``symbol.properties.a.b`` of a resource must be a path its
type defines (infra/checks/types), and ``module.outputs.x`` an output the module's file declares.

The compiler reports both (BCP053, BCP083); an output or a setting reading a misspelt property
would otherwise fail only at deployment. Reads through a loop index (``zones[i].id``) and
through array elements (``subnets[0].name``) follow the array's item type; a path below an
``any`` or a free-form map (tags, additionalProperties) is not checked further.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from infra.checks.bicep_parse import tree_sitter_tree
from infra.checks.bicep_types import TypeProblem, _literal_string, _resource_key, _text, load_types


def _chain(node) -> list[str] | None:
    """``a.b[0].c`` -> ['a', 'b', '[]', 'c']; None when the root is not a plain name."""
    if node.type == "identifier":
        return [_text(node)]
    if node.type == "member_expression":
        inner = _chain(node.named_children[0])
        return None if inner is None else [*inner, _text(node.named_children[-1])]
    if node.type == "subscript_expression":
        inner = _chain(node.named_children[0])
        return None if inner is None else [*inner, "[]"]
    return None


def _outputs(path: Path) -> set[str]:
    root = tree_sitter_tree(path.read_bytes()).root_node
    return {_text(node.named_children[0]) for node in root.named_children if node.type == "output_declaration"}


def check_file(path: Path, data: dict | None = None) -> list[TypeProblem]:
    data = load_types() if data is None else data
    root = tree_sitter_tree(path.read_bytes()).root_node
    resources, modules = {}, {}
    for node in root.named_children:
        if node.type == "resource_declaration":
            key = _resource_key(data, _literal_string(node.named_children[1]) or "")
            if key is not None:
                resources[_text(node.named_children[0])] = data["resources"][key]
        elif node.type == "module_declaration":
            target = path.parent / (_literal_string(node.named_children[1]) or "")
            if target.is_file():
                modules[_text(node.named_children[0])] = target
    problems: list[TypeProblem] = []

    def report(node, message: str) -> None:
        row, column = node.start_point
        problems.append(TypeProblem(path, row + 1, column + 1, message))

    def visit(node) -> None:
        if node.type in ("member_expression", "subscript_expression") and node.parent is not None \
                and not (node.parent.type in ("member_expression", "subscript_expression")
                         and node.parent.named_children[0] == node):
            chain = _chain(node)
            if chain and chain[0] in resources:
                _check_read(resources[chain[0]], [part for part in chain[1:]], node, report)
            elif chain and chain[0] in modules and len(chain) > 2 and chain[1] == "outputs":
                outputs = _outputs(modules[chain[0]])
                if chain[2] not in outputs:
                    close = difflib.get_close_matches(chain[2], sorted(outputs), n=1)
                    report(node, f"{'.'.join(chain[:3])}: {modules[chain[0]].name} has no output {chain[2]!r}"
                                 + (f"; did you mean {close[0]!r}?" if close else ""))
        for child in node.named_children:
            visit(child)

    visit(root)
    return problems


def _check_read(entry: dict, parts: list[str], node, report) -> None:
    types = entry["types"]

    def resolve(ref: dict) -> list[dict]:
        found = types[int(ref["$ref"].split("/")[-1])]
        if found["$type"] == "UnionType":
            return [t for element in found["elements"] for t in resolve(element)]
        return [found]

    current = resolve({"$ref": f"#/{entry['body']}"})
    if parts and parts[0] == "[]":  # a resource loop's element
        parts = parts[1:]
    walked = []
    for part in parts:
        walked.append(part)
        if part == "[]":
            current = [t for c in current if c["$type"] == "ArrayType" for t in resolve(c["itemType"])]
        else:
            properties: dict = {}
            open_ended = False
            for candidate in current:
                if candidate["$type"] == "ObjectType":
                    properties.update(candidate.get("properties", {}))
                    open_ended = open_ended or "additionalProperties" in candidate
                elif candidate["$type"] == "DiscriminatedObjectType":
                    properties.update(candidate.get("baseProperties", {}))
                    for ref in candidate["elements"].values():
                        properties.update(types[int(ref["$ref"].split("/")[-1])].get("properties", {}))
                else:
                    open_ended = True
            if part in properties:
                current = resolve(properties[part]["type"])
            elif open_ended or not current:
                return
            else:
                close = difflib.get_close_matches(part, sorted(properties), n=1)
                report(node, f"{'.'.join(walked)}: property {part!r} does not exist when reading "
                             f"{entry['types'][entry['body']].get('name', 'the resource')}"
                             + (f"; did you mean {close[0]!r}?" if close else ""))
                return
        if not current:
            return
