"""Server-side printing: the meta.k8s.io/v1 Table that ``kubectl get`` asks for (``Accept: ...;as=Table``).

Columns follow pkg/printers/internalversion/printers.go for the kinds served, so ``kubectl get
nodes`` prints NAME STATUS ROLES AGE VERSION as against a real cluster.
"""

from __future__ import annotations

from collections.abc import Callable

from .kinds import KindInfo
from .objects import is_pod_ready, parse_timestamp


def wants_table(accept: str) -> bool:
    return "as=Table" in (accept or "")


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if h < 24 * 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 365 * 2:
        return f"{d}d"
    y = d // 365
    if y < 8:
        return f"{y}y{d % 365}d" if d % 365 else f"{y}y"
    return f"{y}y"


def _age(obj: dict, now: float) -> str:
    ts = obj["metadata"].get("creationTimestamp")
    if obj.get("kind") == "Event":
        ts = obj.get("lastTimestamp") or obj.get("eventTime") or ts
    return human_duration(now - parse_timestamp(ts[:19] + "Z")) if ts else "<unknown>"


def _node_status(node: dict) -> str:
    ready = next((c.get("status") for c in (node.get("status") or {}).get("conditions") or []
                  if c.get("type") == "Ready"), None)
    out = {"True": "Ready", "False": "NotReady"}.get(ready or "", "Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        out += ",SchedulingDisabled"
    return out


def _node_roles(node: dict) -> str:
    roles = set()
    for key, value in (node["metadata"].get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(r for r in roles if r)) or "<none>"


def _address(node: dict, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address", "<none>")
    return "<none>"


def _pod_status(pod: dict) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if reason == "Succeeded":
        reason = "Completed"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod_ready(pod: dict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    if not statuses and is_pod_ready(pod):
        ready = len(containers)
    return f"{ready}/{len(containers)}"


def _restarts(pod: dict) -> int:
    return sum(int(c.get("restartCount", 0)) for c in (pod.get("status") or {}).get("containerStatuses") or [])


def _st(obj: dict, key: str, default: object = 0) -> object:
    return (obj.get("status") or {}).get(key, default)


def _sp(obj: dict, key: str, default: object = 0) -> object:
    return (obj.get("spec") or {}).get(key, default)


def _AGE(obj: dict) -> str:
    """Placeholder cell: the Age column is computed against the request time in to_table."""
    return ""


Column = tuple[str, str, int, Callable[[dict], object]]  # name, type, priority, cell

def _event_object(e: dict) -> str:
    ref = e.get("involvedObject") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


_COLUMNS: dict[str, list[Column]] = {
    "nodes": [
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _node_roles),
        ("Age", "string", 0, _AGE),
        ("Version", "string", 0, lambda n: (_st(n, "nodeInfo", {}) or {}).get("kubeletVersion", "")),
        ("Internal-IP", "string", 1, lambda n: _address(n, "InternalIP")),
        ("External-IP", "string", 1, lambda n: _address(n, "ExternalIP")),
        ("OS-Image", "string", 1, lambda n: (_st(n, "nodeInfo", {}) or {}).get("osImage", "<unknown>")),
        ("Kernel-Version", "string", 1, lambda n: (_st(n, "nodeInfo", {}) or {}).get("kernelVersion", "<unknown>")),
        ("Container-Runtime", "string", 1,
         lambda n: (_st(n, "nodeInfo", {}) or {}).get("containerRuntimeVersion", "<unknown>")),
    ],
    "pods": [
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "string", 0, lambda p: str(_restarts(p))),
        ("Age", "string", 0, _AGE),
        ("IP", "string", 1, lambda p: _st(p, "podIP", "<none>")),
        ("Node", "string", 1, lambda p: _sp(p, "nodeName", "<none>") or "<none>"),
        ("Nominated Node", "string", 1, lambda p: _st(p, "nominatedNodeName", "<none>")),
        ("Readiness Gates", "string", 1, lambda p: "<none>"),
    ],
    "events": [  # the Last Seen cell is filled in to_table (it needs the request time)
        ("Last Seen", "string", 0, _AGE),
        ("Type", "string", 0, lambda e: e.get("type", "")),
        ("Reason", "string", 0, lambda e: e.get("reason", "")),
        ("Object", "string", 0, _event_object),
        ("Message", "string", 0, lambda e: e.get("message", "")),
    ],
    "namespaces": [("Status", "string", 0, lambda n: _st(n, "phase", "")), ("Age", "string", 0, _AGE)],  # type: ignore[list-item]
    "poddisruptionbudgets": [
        ("Min Available", "string", 0, lambda p: str(_sp(p, "minAvailable", "N/A"))),
        ("Max Unavailable", "string", 0, lambda p: str(_sp(p, "maxUnavailable", "N/A"))),
        ("Allowed Disruptions", "integer", 0, lambda p: _st(p, "disruptionsAllowed")),
        ("Age", "string", 0, _AGE),
    ],
    "deployments": [
        ("Ready", "string", 0, lambda d: f"{_st(d, 'readyReplicas')}/{_sp(d, 'replicas', 1)}"),
        ("Up-to-date", "integer", 0, lambda d: _st(d, "updatedReplicas")),
        ("Available", "integer", 0, lambda d: _st(d, "availableReplicas")),
        ("Age", "string", 0, _AGE),
    ],
    "replicasets": [
        ("Desired", "integer", 0, lambda r: _sp(r, "replicas", 1)),
        ("Current", "integer", 0, lambda r: _st(r, "replicas")),
        ("Ready", "integer", 0, lambda r: _st(r, "readyReplicas")),
        ("Age", "string", 0, _AGE),
    ],
    "statefulsets": [
        ("Ready", "string", 0, lambda s: f"{_st(s, 'readyReplicas')}/{_sp(s, 'replicas', 1)}"),
        ("Age", "string", 0, _AGE),
    ],
    "daemonsets": [
        ("Desired", "integer", 0, lambda d: _st(d, "desiredNumberScheduled")),
        ("Current", "integer", 0, lambda d: _st(d, "currentNumberScheduled")),
        ("Ready", "integer", 0, lambda d: _st(d, "numberReady")),
        ("Up-to-date", "integer", 0, lambda d: _st(d, "updatedNumberScheduled")),
        ("Available", "integer", 0, lambda d: _st(d, "numberAvailable")),
        ("Node Selector", "string", 0,
         lambda d: ",".join(f"{k}={v}" for k, v in sorted(((_sp(d, "template", {}) or {}).get("spec") or {})
                                                           .get("nodeSelector", {}).items())) or "<none>"),
        ("Age", "string", 0, _AGE),
    ],
}


def to_table(info: KindInfo, items: list[dict], list_meta: dict, now: float, include: str = "Metadata") -> dict:
    columns = _COLUMNS.get(info.plural, [("Age", "string", 0, _AGE)])
    name_def = {"name": "Name", "type": "string", "format": "name",
                "description": "Name must be unique within a namespace.", "priority": 0}
    defs = [{"name": name, "type": typ, "format": "", "description": name, "priority": prio}
            for name, typ, prio, _ in columns]
    events = info.plural == "events"  # upstream prints events with Name last, only in -o wide
    defs = defs + [{**name_def, "priority": 1}] if events else [name_def] + defs
    rows = []
    for obj in items:
        cells = [_age(obj, now) if fn is _AGE else fn(obj) for _, _, _, fn in columns]
        cells = cells + [obj["metadata"]["name"]] if events else [obj["metadata"]["name"]] + cells
        if include == "None":
            row_obj = None
        elif include == "Object":
            row_obj = obj
        else:
            row_obj = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": cells, "object": row_obj})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "columnDefinitions": defs,
            "rows": rows}
