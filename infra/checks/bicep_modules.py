"""Module calls checked against the called file's parameters, as the Bicep compiler does.

A module's ``params`` must name only parameters the file declares (a misspelt name is an
error, BCP037) and give every parameter that has no default (BCP035). Reported as
file:line:column like the other checks.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from infra.checks.bicep_parse import tree_sitter_tree
from infra.checks.bicep_types import TypeProblem, _body, _literal_string, _text


def parameters(path: Path) -> dict[str, bool]:
    """``{name: has a default}`` of a Bicep file's parameters."""
    found = {}
    for node in tree_sitter_tree(path.read_bytes()).root_node.named_children:
        if node.type == "parameter_declaration":
            named = node.named_children
            found[_text(named[0])] = len(named) > 2
    return found


def check_file(path: Path) -> list[TypeProblem]:
    problems = []
    for node in tree_sitter_tree(path.read_bytes()).root_node.named_children:
        if node.type != "module_declaration":
            continue
        name, target_node = _text(node.named_children[0]), node.named_children[1]
        target = path.parent / (_literal_string(target_node) or "")
        body = _body(node.named_children[-1])
        if not target.is_file() or body is None:
            continue  # a registry reference, or a missing file (tests/infra/test_infra_layout.py reports that)
        declared = parameters(target)
        params = next((prop.named_children[-1] for prop in body.named_children if prop.type == "object_property"
                       and _text(prop.named_children[0]) == "params"), None)
        given = {}
        if params is not None and params.type == "object":
            for prop in params.named_children:
                if prop.type == "object_property":
                    key = prop.named_children[0]
                    given[_literal_string(key) if key.type == "string" else _text(key)] = key
        for param, key in given.items():
            if param not in declared:
                close = difflib.get_close_matches(param, list(declared), n=1)
                row, column = key.start_point
                problems.append(TypeProblem(path, row + 1, column + 1, (
                    f"module {name}: {target.name} has no parameter {param!r}"
                    + (f"; did you mean {close[0]!r}?" if close else ""))))
        missing = sorted(param for param, has_default in declared.items() if not has_default and param not in given)
        if missing:
            row, column = node.start_point
            problems.append(TypeProblem(path, row + 1, column + 1,
                                        f"module {name}: required parameters of {target.name} not given: {', '.join(missing)}"))
    return problems
