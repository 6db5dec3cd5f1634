"""Object builders for the emulator tests (plain dicts, as a client would send them)."""

from __future__ import annotations

from lab.sandbox.kube.store import Store


def node_info(name: str) -> dict:
    """Every field the API marks required (the pydantic-based client refuses a NodeSystemInfo without them)."""
    return {"architecture": "amd64", "bootID": f"boot-{name}", "containerRuntimeVersion": "containerd://1.7.27",
            "kernelVersion": "5.15.0-1089-azure", "kubeProxyVersion": "", "kubeletVersion": "v1.33.2",
            "machineID": f"machine-{name}", "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS",
            "systemUUID": f"uuid-{name}"}


def node(name: str, ready: bool = True, labels: dict | None = None, unschedulable: bool = False) -> dict:
    obj = {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady"}],
            "nodeInfo": node_info(name),
        },
    }
    if unschedulable:
        obj["spec"]["unschedulable"] = True
    return obj


def pod(name: str, node_name: str | None = "n1", labels: dict | None = None, owner: dict | None = None,
        ready: bool = True, phase: str = "Running", volumes: list | None = None) -> dict:
    obj: dict = {
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }
    if node_name:
        obj["spec"]["nodeName"] = node_name
    if owner:
        obj["metadata"]["ownerReferences"] = [owner]
    if volumes:
        obj["spec"]["volumes"] = volumes
    return obj


def owner_ref(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def replicaset(store: Store, name: str, replicas: int, labels: dict, namespace: str = "default") -> dict:
    return store.create("replicasets", {
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "busybox"}]}}},
    }, namespace)


def pdb(name: str, labels: dict, min_available: int | str | None = None, max_unavailable: int | str | None = None,
        policy: str | None = None) -> dict:
    spec: dict = {"selector": {"matchLabels": labels}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": spec}


def set_ready(store: Store, name: str, ready: bool, namespace: str = "default") -> dict:
    """What a kubelet does: a strategic merge of the Ready condition through /status."""
    return store.patch("pods", name, {"status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}},
                       "application/strategic-merge-patch+json", namespace, subresource="status")
