"""A minimal OpenAPI v3 (/openapi/v3 and /openapi/v3/{api|apis/g}/{v}) so kubectl's validation works unchanged.

kubectl ``create -f`` / ``apply -f`` validate by default (``--validate=strict``). kubectl first asks
the OpenAPI v3 document whether the server supports the ``fieldValidation`` query parameter for
the object's GroupVersionKind (it looks for a PATCH operation tagged with
``x-kubernetes-group-version-kind`` that lists the parameter); if so it leaves validation to the
server (``?fieldValidation=Strict``), which the emulator performs (fields.py). Without this
document kubectl falls back to client-side validation, needs /openapi/v2, and stops with
"failed to download openapi". Schemas are not served: ``kubectl explain`` does not work, and
``kubectl apply`` computes its patch from its compiled-in types.
"""

from __future__ import annotations

import hashlib
import json

from .kinds import GROUP_VERSIONS, kinds_in

_QUERY = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
          for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")]


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _op(group: str, version: str, kind: str, action: str, params: list[dict]) -> dict:
    return {
        "description": f"{action} {kind}",
        "operationId": f"{action}{kind}",
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
    }


def group_version_doc(group: str, version: str) -> dict | None:
    if (group, version) not in GROUP_VERSIONS:
        return None
    paths: dict[str, dict] = {}
    base = "/" + _gv_path(group, version)
    for info in kinds_in(group, version):
        prefix = f"{base}/namespaces/{{namespace}}/{info.plural}" if info.namespaced else f"{base}/{info.plural}"
        collection = {"get": _op(group, version, info.kind, "list", _QUERY),
                      "post": _op(group, version, info.kind, "post", _QUERY)}
        item = {verb: _op(group, version, info.kind, action, _QUERY)
                for verb, action in (("get", "get"), ("put", "put"), ("patch", "patch"), ("delete", "delete"))}
        paths[prefix] = collection
        paths[prefix + "/{name}"] = item
        if info.has_status:
            paths[prefix + "/{name}/status"] = {verb: _op(group, version, info.kind, action, _QUERY)
                                                for verb, action in (("get", "get"), ("put", "put"), ("patch", "patch"))}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"}, "paths": paths,
            "components": {"schemas": {}}}


def _hash(doc: dict) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()


def root_doc() -> dict:
    paths = {}
    for group, version in GROUP_VERSIONS:
        doc = group_version_doc(group, version)
        path = _gv_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={_hash(doc or {})}"}
    return {"paths": paths}


def lookup(path: str) -> dict | None:
    """The document for an /openapi/v3... path, or None."""
    p = path.rstrip("/")
    if p == "/openapi/v3":
        return root_doc()
    if not p.startswith("/openapi/v3/"):
        return None
    parts = p[len("/openapi/v3/"):].split("/")
    if parts[0] == "api" and len(parts) == 2:
        return group_version_doc("", parts[1])
    if parts[0] == "apis" and len(parts) == 3:
        return group_version_doc(parts[1], parts[2])
    return None
