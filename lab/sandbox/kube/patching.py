"""The three PATCH formats of the API server: strategic merge, JSON merge (RFC 7386), JSON patch (RFC 6902).

Strategic merge follows k8s.io/apimachinery/pkg/util/strategicpatch with the patch strategies
and merge keys of the Go types this emulator serves (``patchStrategy:"merge"`` +
``patchMergeKey``). A list without a strategy (``spec.taints``, ``containerStatuses``, ...) is
replaced whole, exactly as upstream. Directives: ``$patch: replace|delete|merge``, ``null``
deletes a key, ``$retainKeys``, ``$deleteFromPrimitiveList/<f>``, ``$setElementOrder/<f>``.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (STRATEGIC, MERGE, JSON_PATCH, APPLY)

PRIMITIVE = ""  # merge strategy for a list of scalars: union

_CONTAINER = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}
_POD_SPEC = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "imagePullSecrets": "name", "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
    "schedulingGates": "name", "resourceClaims": "name",
}
_POD_STATUS = {"conditions": "type", "podIPs": "ip", "hostIPs": "ip", "resourceClaimStatuses": "name"}
_CONDITIONS = {"conditions": "type"}
_METADATA = {"ownerReferences": "uid", "finalizers": PRIMITIVE}


def _pod_spec_rules(prefix: tuple[str, ...]) -> dict[tuple[str, ...], str]:
    rules = {prefix + (k,): v for k, v in _POD_SPEC.items()}
    for c in ("containers", "initContainers", "ephemeralContainers"):
        rules.update({prefix + (c, k): v for k, v in _CONTAINER.items()})
    return rules


_RULES: dict[str, dict[tuple[str, ...], str]] = {
    "pods": {**_pod_spec_rules(("spec",)), **{("status", k): v for k, v in _POD_STATUS.items()}},
    "nodes": {("spec", "podCIDRs"): PRIMITIVE, ("status", "conditions"): "type", ("status", "addresses"): "type"},
    "namespaces": {("status", "conditions"): "type"},
    "poddisruptionbudgets": {("status", "conditions"): "type"},
}
for _apps in ("daemonsets", "replicasets", "statefulsets", "deployments"):
    _RULES[_apps] = {**_pod_spec_rules(("spec", "template", "spec")), ("status", "conditions"): "type"}
for _kind in list(_RULES) + ["events"]:
    _RULES.setdefault(_kind, {}).update({("metadata", k): v for k, v in _METADATA.items()})
    _RULES[_kind].update({("spec", "template", "metadata", k): v for k, v in _METADATA.items()})


def list_merge_key(kind: str, path: tuple[str, ...]) -> str | None:
    """The merge key of the list at path (PRIMITIVE for a set of scalars), or None if the list is replaced."""
    return _RULES.get(kind, {}).get(path)


def _bad(msg: str) -> ApiError:
    return ApiError(400, "BadRequest", msg)


_DELETE = object()


def strategic_merge(kind: str, original: dict, patch: Any) -> dict:
    """Apply a strategic merge patch to a copy of original."""
    if not isinstance(patch, dict):
        raise _bad("json: cannot unmarshal into Go value of type map[string]interface {}")
    result = _merge_map(kind, copy.deepcopy(original), patch, ())
    return {} if result is _DELETE else result


def _merge_map(kind: str, original: dict, patch: dict, path: tuple[str, ...]) -> Any:
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return _DELETE
    if directive not in (None, "merge"):
        raise _bad(f"Unknown patch type: {directive}")
    result = original if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(kind, result.get(key) if isinstance(result.get(key), dict) else {}, value, path + (key,))
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            base = result.get(key) if isinstance(result.get(key), list) else []
            result[key] = _merge_list(kind, base, value, path + (key,))
        else:
            result[key] = value
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = _reorder(result[field], value, list_merge_key(kind, path + (field,)))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for key in list(result):
            if key not in retain:
                del result[key]
    return result


def _merge_list(kind: str, original: list, patch: list, path: tuple[str, ...]) -> list:
    key = list_merge_key(kind, path)
    if key is None:
        return [_strip(v) for v in patch]
    if key == PRIMITIVE:
        if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
            return [v for v in patch if not isinstance(v, dict)]
        return list(original) + [v for v in patch if v not in original and not isinstance(v, dict)]
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [_strip(v) for v in patch if not (isinstance(v, dict) and v.get("$patch") == "replace")]
    result = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise _bad(f"patch item {item!r} of {'.'.join(path)} is not a map, but the list merges by {key}")
        if key not in item:
            raise _bad(f"map: {item} does not contain declared merge key: {key}")
        idx = next((i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            result = [o for o in result if not (isinstance(o, dict) and o.get(key) == item[key])]
        elif idx is None:
            merged = _merge_map(kind, {}, item, path)
            if merged is not _DELETE:
                result.append(merged)
        else:
            merged = _merge_map(kind, copy.deepcopy(result[idx]), item, path)
            if merged is _DELETE:
                del result[idx]
            else:
                result[idx] = merged
    return result


def _reorder(items: list, order: list, key: str | None) -> list:
    def ident(v: Any) -> Any:
        return v.get(key) if key and isinstance(v, dict) else v

    wanted = [ident(o) for o in order]
    first = sorted((v for v in items if ident(v) in wanted), key=lambda v: wanted.index(ident(v)))
    return first + [v for v in items if ident(v) not in wanted]


def _strip(value: Any) -> Any:
    """Remove strategic-merge directives from a value that is taken whole."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


# ---- RFC 7386 --------------------------------------------------------------------------------


def merge_patch(original: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---- RFC 6902 --------------------------------------------------------------------------------


def _unprocessable(msg: str) -> ApiError:
    return ApiError(422, "Invalid", msg)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _unprocessable(f'the server rejected our request due to an error in our request: invalid path "{path}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise _unprocessable(f"jsonpatch: path {path!r} not found")
    return cur


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _unprocessable(f"jsonpatch add operation: index out of bounds in {path!r}")
    else:
        raise _unprocessable(f"jsonpatch: path {path!r} not found")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise _unprocessable(f"jsonpatch remove operation does not apply: doc is missing path: {path!r}")


def json_patch(original: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise _bad("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(original)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise _unprocessable(f"jsonpatch: invalid operation {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _walk(doc, _pointer(path), path)
            if _pointer(path):
                _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            src = op.get("from", "")
            value = _remove(doc, src) if kind == "move" else copy.deepcopy(_walk(doc, _pointer(src), src))
            doc = _add(doc, path, value)
        elif kind == "test":
            if _walk(doc, _pointer(path), path) != op.get("value"):
                raise _unprocessable(f"the server rejected our request due to an error in our request: testing value {path} failed")
        else:
            raise _unprocessable(f"Unexpected kind: {kind}")
    return doc


def apply_patch(kind: str, original: dict, patch: Any, patch_type: str) -> dict:
    """Dispatch on the Content-Type of a PATCH request."""
    if patch_type == STRATEGIC:
        return strategic_merge(kind, original, patch)
    if patch_type == MERGE:
        result = merge_patch(original, patch)
        if not isinstance(result, dict):
            raise _bad("merge patch did not produce an object")
        return result
    if patch_type == JSON_PATCH:
        result = json_patch(original, patch)
        if not isinstance(result, dict):
            raise _unprocessable("json patch did not produce an object")
        return result
    if patch_type == APPLY:
        # Server-side apply without field ownership: the applied config is merged strategically.
        return strategic_merge(kind, original, patch)
    raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}")
