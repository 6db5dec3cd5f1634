"""Plain API-JSON builders for the safety tests (pods, PDBs with a status, owners)."""

from __future__ import annotations

from typing import Any


def owner(kind: str = "ReplicaSet", name: str = "web-abc") -> dict[str, Any]:
    api = "apps/v1" if kind in ("ReplicaSet", "StatefulSet", "DaemonSet") else "v1"
    return {"apiVersion": api, "kind": kind, "name": name, "uid": f"uid-{name}", "controller": True}


def pod(name: str, node: str = "n1", namespace: str = "shop", labels: dict | None = None, phase: str = "Running",
        ready: bool = True, controller: dict | None | bool = True, deleting: bool = False,
        empty_dir: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if controller is True:
        controller = owner()
    if controller:
        meta["ownerReferences"] = [controller]
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T00:00:00Z"
    spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}
    if empty_dir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    return {"metadata": meta, "spec": spec,
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(name: str, labels: dict | None, namespace: str = "shop", min_available: int | str | None = None,
        max_unavailable: int | str | None = None, allowed: int = 1, current: int = 3, desired: int = 2,
        expected: int = 3, policy: str | None = None, generation: int = 1, observed: int = 1,
        sync_failed: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if labels is not None:
        spec["selector"] = {"matchLabels": labels}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    status: dict[str, Any] = {"disruptionsAllowed": allowed, "currentHealthy": current, "desiredHealthy": desired,
                              "expectedPods": expected, "observedGeneration": observed}
    if sync_failed:
        status["conditions"] = [{"type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed",
                                 "message": sync_failed}]
    return {"metadata": {"name": name, "namespace": namespace, "generation": generation}, "spec": spec, "status": status}
