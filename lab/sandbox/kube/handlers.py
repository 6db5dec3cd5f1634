"""The REST verbs on a resource path, as plain functions over the Store (run off the event loop).

Each returns a Reply; ApiError propagates to the server, which answers with its Status.
Wire details kept from the real server: list items carry no apiVersion/kind (only the
``XList`` does), create answers 201, eviction 201 with a Success Status, pod logs are
text/plain, list paging uses ``limit`` + an opaque ``continue`` token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ApiError, bad_request, conflict
from .patching import PATCH_TYPES, apply_patch
from .routing import Target
from .store import Store
from .tables import to_table, wants_table


@dataclass
class Reply:
    status: int
    body: Any  # dict (JSON) or str (text/plain)
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def decode_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw.decode())
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as err:
        raise bad_request(f"error decoding request body: {err}") from None


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'invalid value for {name}: "{value}"') from None


def _no_dry_run(query: Mapping[str, str]) -> None:
    if query.get("dryRun"):
        raise bad_request("dryRun is not supported by this emulator")


def _directive(query: Mapping[str, str]) -> str:
    """fieldValidation: Strict, Warn (the server's default) or Ignore."""
    value = query.get("fieldValidation") or "Warn"
    if value not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f'fieldValidation parameter unsupported: "{value}"')
    return value


def _strip_kind(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def do_list(store: Store, t: Target, query: Mapping[str, str], accept: str) -> Reply:
    items, rv = store.list_raw(t.info.plural, t.namespace, query.get("labelSelector"), query.get("fieldSelector"))
    limit = _int_param(query, "limit") or 0
    token = query.get("continue")
    meta: dict = {"resourceVersion": str(rv)}
    if token:
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode()))
            start, meta["resourceVersion"] = tuple(state["start"]), str(state["rv"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion") from None
        items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start]
    if limit > 0 and len(items) > limit:
        last = items[limit - 1]["metadata"]
        meta["remainingItemCount"] = len(items) - limit
        state = {"rv": int(meta["resourceVersion"]), "start": [last.get("namespace", ""), last["name"]]}
        meta["continue"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        items = items[:limit]
    if wants_table(accept):
        return Reply(200, to_table(t.info, items, meta, store.clock(), query.get("includeObject") or "Metadata"))
    return Reply(200, {"kind": f"{t.info.kind}List", "apiVersion": t.info.api_version, "metadata": meta,
                       "items": [_strip_kind(o) for o in items]})


def do_get(store: Store, t: Target, accept: str, query: Mapping[str, str]) -> Reply:
    obj = store.get(t.info.plural, t.name or "", t.namespace)
    if t.sub == "scale":
        return Reply(200, _scale(obj))
    if wants_table(accept):
        meta = {"resourceVersion": obj["metadata"]["resourceVersion"]}
        return Reply(200, to_table(t.info, [obj], meta, store.clock(), query.get("includeObject") or "Metadata"))
    return Reply(200, obj)


def do_create(store: Store, t: Target, body: Any, query: Mapping[str, str]) -> Reply:
    _no_dry_run(query)
    if not isinstance(body, dict):
        raise bad_request("the body of the request must be an object")
    warnings: list[str] = []
    obj = store.create(t.info.plural, body, t.namespace, False, _directive(query), warnings)
    return Reply(201, obj, warnings=warnings)


def do_replace(store: Store, t: Target, body: Any, query: Mapping[str, str]) -> Reply:
    _no_dry_run(query)
    if not isinstance(body, dict):
        raise bad_request("the body of the request must be an object")
    meta = body.setdefault("metadata", {})
    meta.setdefault("name", t.name)
    if meta["name"] != t.name:
        raise bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({t.name})")
    if t.namespace and meta.get("namespace") and meta["namespace"] != t.namespace:
        raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
    if t.sub == "scale":
        return _update_scale(store, t, body)
    warnings: list[str] = []
    obj = store.replace(t.info.plural, body, t.namespace, t.sub, _directive(query), warnings)
    return Reply(200, obj, warnings=warnings)


def do_patch(store: Store, t: Target, body: Any, content_type: str, query: Mapping[str, str]) -> Reply:
    _no_dry_run(query)
    patch_type = content_type.split(";")[0].strip()
    if patch_type not in PATCH_TYPES:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}")
    if t.sub == "scale":
        current = _scale(store.get(t.info.plural, t.name or "", t.namespace))
        return _update_scale(store, t, apply_patch("scale", current, body, patch_type))
    warnings: list[str] = []
    obj = store.patch(t.info.plural, t.name or "", body, patch_type, t.namespace, t.sub, _directive(query), warnings)
    return Reply(200, obj, warnings=warnings)


def _delete_options(body: Any, query: Mapping[str, str]) -> dict:
    options = dict(body) if isinstance(body, dict) else {}
    grace = _int_param(query, "gracePeriodSeconds")
    if grace is not None and options.get("gracePeriodSeconds") is None:
        options["gracePeriodSeconds"] = grace
    if query.get("propagationPolicy") and not options.get("propagationPolicy"):
        options["propagationPolicy"] = query["propagationPolicy"]
    if options.get("orphanDependents") is True and not options.get("propagationPolicy"):
        options["propagationPolicy"] = "Orphan"
    if options.get("dryRun") or query.get("dryRun"):
        raise bad_request("dryRun is not supported by this emulator")
    return options


def do_delete(store: Store, t: Target, body: Any, query: Mapping[str, str]) -> Reply:
    options = _delete_options(body, query)
    obj = store.delete(t.info.plural, t.name or "", t.namespace, options.get("gracePeriodSeconds"),
                       options.get("preconditions"), options.get("propagationPolicy"))
    return Reply(200, obj)


def do_delete_collection(store: Store, t: Target, body: Any, query: Mapping[str, str]) -> Reply:
    options = _delete_options(body, query)
    items, _ = store.list_raw(t.info.plural, t.namespace, query.get("labelSelector"), query.get("fieldSelector"))
    deleted = []
    for obj in items:
        meta = obj["metadata"]
        try:
            deleted.append(store.delete(t.info.plural, meta["name"], meta.get("namespace"),
                                        options.get("gracePeriodSeconds"), None, options.get("propagationPolicy")))
        except ApiError as err:
            if err.code != 404:
                raise
    return Reply(200, {"kind": f"{t.info.kind}List", "apiVersion": t.info.api_version,
                       "metadata": {"resourceVersion": str(store.resource_version)},
                       "items": [_strip_kind(o) for o in deleted]})


def do_evict(store: Store, t: Target, body: Any) -> Reply:
    if body is not None and not isinstance(body, dict):
        raise bad_request("the body of the request must be an Eviction object")
    return Reply(201, store.evict(t.name or "", t.namespace or "default", body or {}))


def do_binding(store: Store, t: Target, body: Any) -> Reply:
    """pods/binding, as the scheduler uses it: sets spec.nodeName once."""
    node = ((body or {}).get("target") or {}).get("name")
    if not node:
        raise ApiError(422, "Invalid", "Binding target name is required")
    with store.lock:
        pod = store.get("pods", t.name or "", t.namespace)
        if pod["spec"].get("nodeName"):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on pods/binding "{t.name}": '
                                            f'pod {t.name} is already assigned to node "{pod["spec"]["nodeName"]}"')
        pod["spec"]["nodeName"] = node
        store.replace("pods", pod, t.namespace)
    return Reply(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


def do_log(store: Store, t: Target, query: Mapping[str, str]) -> Reply:
    pod = store.get("pods", t.name or "", t.namespace)
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    container = query.get("container") or (containers[0] if len(containers) == 1 else None)
    if container is None and containers:
        raise bad_request(f"a container name must be specified for pod {t.name}, choose one of: [{' '.join(containers)}]")
    if container not in containers:
        raise bad_request(f"container {container} is not valid for pod {t.name}")
    if (pod.get("status") or {}).get("phase", "Pending") == "Pending":
        raise bad_request(f'container "{container}" in pod "{t.name}" is waiting to start: ContainerCreating')
    text = store.pod_log(t.namespace or "default", t.name or "")
    tail = _int_param(query, "tailLines")
    if tail is not None:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[-tail:]) if tail > 0 else ""
    limit = _int_param(query, "limitBytes")
    if limit is not None and limit > 0:
        text = text.encode()[:limit].decode(errors="ignore")
    return Reply(200, text)


def _scale(obj: dict) -> dict:
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))},
    }


def _update_scale(store: Store, t: Target, scale: dict) -> Reply:
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise ApiError(422, "Invalid", f'Scale.autoscaling "{t.name}" is invalid: spec.replicas: must be greater than or equal to 0')
    with store.lock:
        obj = store.get(t.info.plural, t.name or "", t.namespace)
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != obj["metadata"]["resourceVersion"]:
            raise conflict(t.info.plural, t.name or "")
        obj["spec"]["replicas"] = replicas
        return Reply(200, _scale(store.replace(t.info.plural, obj, t.namespace)))

