"""Workload status as the controllers write it, so ``kubectl get deploy,rs,sts,ds`` and clients
that wait for workloads to be ready (between two nodes) see real numbers."""

from __future__ import annotations

from lab.sandbox.kube import ApiError, Store
from lab.sandbox.kube.patching import JSON_PATCH
from lab.sandbox.nodes import now_iso


def _ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _owned(store: Store, owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    pods, _ = store.list_raw("pods", owner["metadata"]["namespace"])
    return [p for p in pods if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def _write(store: Store, kind: str, obj: dict, status: dict) -> None:
    old = obj.get("status") or {}
    if {k: v for k, v in old.items() if k != "conditions"} == {k: v for k, v in status.items() if k != "conditions"}:
        return
    try:
        store.patch(kind, obj["metadata"]["name"], [{"op": "add", "path": "/status", "value": status}], JSON_PATCH,
                    obj["metadata"]["namespace"], subresource="status")
    except ApiError:
        pass


def sync(store: Store, kind: str, ns: str, name: str) -> None:
    """Recompute the status of one ReplicaSet (and its Deployment), StatefulSet or DaemonSet."""
    plural = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}[kind]
    with store.lock:
        try:
            obj = store.get(plural, name, ns)
        except ApiError:
            return
        pods = _owned(store, obj)
        ready = sum(1 for p in pods if _ready(p))
        generation = int(obj["metadata"].get("generation", 1))
        if kind == "DaemonSet":
            scheduled = sum(1 for p in pods if not p["metadata"].get("deletionTimestamp"))
            _write(store, plural, obj, {
                "currentNumberScheduled": scheduled, "desiredNumberScheduled": scheduled, "numberMisscheduled": 0,
                "numberReady": ready, "numberAvailable": ready, "numberUnavailable": scheduled - ready,
                "updatedNumberScheduled": scheduled, "observedGeneration": generation})
            return
        status = {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                  "observedGeneration": generation}
        if kind == "StatefulSet":
            status.update(currentReplicas=len(pods), updatedReplicas=len(pods))
        else:
            status["fullyLabeledReplicas"] = len(pods)
        _write(store, plural, obj, status)
        if kind == "ReplicaSet":
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == "Deployment":
                    _sync_deployment(store, ns, ref["name"], status)


def _sync_deployment(store: Store, ns: str, name: str, rs_status: dict) -> None:
    try:
        deploy = store.get("deployments", name, ns)
    except ApiError:
        return
    replicas = int(deploy["spec"].get("replicas", 1))
    ready = rs_status["readyReplicas"]
    when = now_iso()
    available = "True" if ready >= max(0, replicas - 1) or replicas == 0 else "False"
    status = {
        "replicas": rs_status["replicas"], "updatedReplicas": rs_status["replicas"], "readyReplicas": ready,
        "availableReplicas": ready, "unavailableReplicas": max(0, replicas - ready),
        "observedGeneration": int(deploy["metadata"].get("generation", 1)),
        "conditions": [
            {"type": "Available", "status": available,
             "reason": "MinimumReplicasAvailable" if available == "True" else "MinimumReplicasUnavailable",
             "message": "Deployment has minimum availability." if available == "True"
             else "Deployment does not have minimum availability.", "lastUpdateTime": when,
             "lastTransitionTime": when},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": f'ReplicaSet "{name}" has successfully progressed.', "lastUpdateTime": when,
             "lastTransitionTime": when},
        ],
    }
    if not status["unavailableReplicas"]:
        del status["unavailableReplicas"]
    _write(store, "deployments", deploy, status)
