"""A compact view of every node, read in one list call, for planning."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from rebooter import contract
from rebooter.contract import QUARANTINE_LABEL
from rebooter.policy import budget

POOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")
ZONE_LABEL = "topology.kubernetes.io/zone"


def node_facts(node: Any, opt_out_label: str = "", pause_label: str = "") -> dict[str, Any]:
    """What planning needs to know about one node (a V1Node)."""
    labels = node.metadata.labels or {}
    annotations = node.metadata.annotations or {}
    ready = "Unknown"
    for condition in (node.status.conditions or []) if node.status else []:
        if condition.type == "Ready":
            ready = condition.status
    info = node.status.node_info if node.status else None
    return {
        "name": node.metadata.name,
        "pool": next((labels[key] for key in POOL_LABELS if key in labels), ""),
        "os": labels.get("kubernetes.io/os", "linux"),
        "zone": labels.get(ZONE_LABEL, ""),
        "unschedulable": bool(node.spec.unschedulable) if node.spec else False,
        "cordonedByUs": contract.CORDONED_BY_US_ANNOTATION in annotations,
        "ready": ready,
        "bootId": info.boot_id if info else "",
        "kernel": info.kernel_version if info else "",
        "taints": sorted({t.key for t in (node.spec.taints or [])}) if node.spec else [],
        "optOut": bool(opt_out_label) and labels.get(opt_out_label, "").lower() == "true",
        "paused": bool(pause_label) and labels.get(pause_label, "").lower() == "true",
        "quarantined": labels.get(QUARANTINE_LABEL, "").lower() == "true",
        "rebootState": annotations.get(contract.REBOOT_STATE_ANNOTATION, ""),
        "rebootFromBootId": annotations.get(contract.REBOOT_FROM_BOOT_ID_ANNOTATION, ""),
        "lastReboot": annotations.get(contract.LAST_REBOOT_ANNOTATION, ""),
        "labels": labels,
    }


def list_nodes(api: k8s.ApiClient, opt_out_label: str = "", pause_label: str = "") -> list[dict[str, Any]]:
    """Every node of the cluster, paged like kubectl (limit 500 + continue)."""
    core = k8s.CoreV1Api(api)
    facts: list[dict[str, Any]] = []
    token = None
    while True:
        page = core.list_node(limit=500, _continue=token) if token else core.list_node(limit=500)
        facts.extend(node_facts(node, opt_out_label, pause_label) for node in page.items)
        token = page.metadata._continue
        if not token:
            return sorted(facts, key=lambda f: f["name"])


def unavailable(facts: list[dict[str, Any]]) -> dict[str, Any]:
    """Every node out of service, whoever did it (rebooter.budget: NotReady, unschedulable,
    quarantined, our cordon; a lock slot never makes a down node count as up). ``out`` goes to
    the lock's acquire, which adds its slots for nodes not out yet."""
    out = budget.world_out(facts)
    by_pool: dict[str, int] = {}
    for entry in out:
        by_pool[entry["pool"]] = by_pool.get(entry["pool"], 0) + 1
    return {"total": len(out), "byPool": by_pool, "nodes": [e["node"] for e in out], "out": out}
