"""Extract the type definitions the templates use from a clone of Azure/bicep-types-az.

``extract`` finds each ``Type@version`` in ``generated/<provider>/<namespace>/<version>/types.json``
at one commit, keeps only the types its resource body reaches (renumbered, descriptions dropped)
and records the source file and commit; infra/checks/bicep_types.py checks templates against it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True).stdout


def extract(git_dir: Path, wanted: set[str], commit: str = "HEAD") -> dict:
    """The definitions of ``wanted`` types (``Type@version``), trimmed to what their bodies reach."""
    commit = _git(git_dir, "rev-parse", commit).strip()
    files = [line for line in _git(git_dir, "ls-tree", "-r", "--name-only", commit, "generated/").splitlines()
             if line.endswith("/types.json")]
    resources = {}
    for type_version in sorted(wanted):
        resource_type, version = type_version.split("@")
        namespace = resource_type.split("/")[0].lower()
        found = None
        for file in (f for f in files if f.lower().endswith(f"/{namespace}/{version.lower()}/types.json")):
            types = json.loads(_git(git_dir, "show", f"{commit}:{file}"))
            index = next((i for i, t in enumerate(types) if t.get("$type") == "ResourceType"
                          and t["name"].lower() == type_version.lower()), None)
            if index is not None:
                found = (file, types, index)
                break
        if found is None:
            raise LookupError(f"{type_version}: not defined in Azure/bicep-types-az at {commit}")
        file, types, index = found
        resources[types[index]["name"]] = {"file": file, **_trim(types, types[index]["body"])}
    return {"source": {"repository": "Azure/bicep-types-az", "commit": commit}, "resources": resources}


def _trim(types: list[dict], body: dict) -> dict:
    """The types reachable from ``body``, renumbered, without descriptions."""
    order: dict[int, int] = {}

    def visit(index: int) -> None:
        if index in order:
            return
        order[index] = len(order)
        for ref in _refs(types[index]):
            visit(ref)

    start = int(body["$ref"].split("/")[-1])
    visit(start)

    def rewrite(value):
        if isinstance(value, dict):
            if set(value) == {"$ref"}:
                return {"$ref": f"#/{order[int(value['$ref'].split('/')[-1])]}"}
            # a type's or a property's own description goes; a property *named* description stays
            described = "$type" in value or {"type", "flags"} <= set(value)
            return {k: rewrite(v) for k, v in value.items()
                    if not (described and k == "description" and isinstance(v, str))}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    trimmed = [None] * len(order)
    for old, new in order.items():
        trimmed[new] = rewrite(types[old])
    return {"body": order[start], "types": trimmed}


def _refs(value) -> list[int]:
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            return [int(value["$ref"].split("/")[-1])]
        return [ref for v in value.values() for ref in _refs(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _refs(v)]
    return []
