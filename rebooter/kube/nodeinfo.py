"""Reading a node: the facts the orchestrator checks before and after touching it.

Everything here works on the Node as the API returns it (JSON dict), read with one GET.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from rebooter import contract
from rebooter.kube.kubeapi import KubeError, NodeNotFound, call_json, error_message

POOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")
ZONE_LABEL = "topology.kubernetes.io/zone"
MODE_LABEL = "kubernetes.azure.com/mode"
OS_LABEL = "kubernetes.io/os"


def read_node(api: k8s.ApiClient, node: str) -> dict[str, Any]:
    """GET the node; a missing node raises NodeNotFound (its message names the node)."""
    try:
        return call_json(k8s.CoreV1Api(api).read_node, node)
    except ApiException as exc:
        if exc.status == 404:
            raise NodeNotFound(f"node {node!r} not found in the cluster") from None
        raise KubeError(f"read node {node}: {error_message(exc)}") from None


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def is_unschedulable(obj: dict[str, Any]) -> bool:
    return bool((obj.get("spec") or {}).get("unschedulable"))


def ready_condition(obj: dict[str, Any]) -> dict[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return {}


def is_ready(obj: dict[str, Any]) -> bool:
    return ready_condition(obj).get("status") == "True"


def node_info(obj: dict[str, Any]) -> dict[str, Any]:
    return (obj.get("status") or {}).get("nodeInfo") or {}


def boot_id(obj: dict[str, Any]) -> str:
    return node_info(obj).get("bootID", "")


def kernel(obj: dict[str, Any]) -> str:
    return node_info(obj).get("kernelVersion", "")


def facts(obj: dict[str, Any]) -> dict[str, Any]:
    """The node's state as the orchestrator sees it (see :func:`describe_node`)."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    notes = annotations(obj)
    pool = next((labels[key] for key in POOL_LABELS if labels.get(key)), "")
    return {
        "name": meta.get("name", ""),
        "exists": True,
        "unschedulable": is_unschedulable(obj),
        "cordonedByUs": contract.CORDONED_BY_US_ANNOTATION in notes,
        "cordonedBy": notes.get(contract.CORDONED_BY_US_ANNOTATION, ""),
        "ready": is_ready(obj),
        "bootId": boot_id(obj),
        "kernel": kernel(obj),
        "labels": {
            "pool": pool,
            "zone": labels.get(ZONE_LABEL, ""),
            "mode": labels.get(MODE_LABEL, ""),
            "os": labels.get(OS_LABEL, ""),
        },
        "taints": [
            {"key": t.get("key", ""), "value": t.get("value", ""), "effect": t.get("effect", "")}
            for t in (obj.get("spec") or {}).get("taints") or []
        ],
        "providerId": (obj.get("spec") or {}).get("providerID", ""),
        "rebootState": notes.get(contract.REBOOT_STATE_ANNOTATION, ""),
        "lastReboot": notes.get(contract.LAST_REBOOT_ANNOTATION, ""),
    }


def describe_node(api: k8s.ApiClient, node: str) -> dict[str, Any]:
    """Facts about one node; ``{"name", "exists": False}`` when it is gone (not an error here)."""
    try:
        return facts(read_node(api, node))
    except NodeNotFound:
        return {"name": node, "exists": False}
