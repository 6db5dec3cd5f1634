"""Activities for one node (Kubernetes side): cordon, drain, reboot, health, uncordon, describe.

Thin on purpose: validate the payload, get the cluster's ApiClient, call the domain function in
``rebooter``. Each is ``(payload: dict) -> dict`` (JSON in, JSON out), idempotent and short: the
orchestrator repeats calls with durable timers instead of any activity waiting. Real errors
raise an Exception whose message says what failed.

Every payload carries ``"cluster"`` (AKS resource ID) and ``"node"`` (node name).

cordon_node      {cluster, node, owner?="rebooter"}
                 -> {cordonedByUs, alreadyCordoned, unschedulable, owner}
uncordon_node    {cluster, node}
                 -> {uncordoned, unschedulable, reason}   reason: "cordoned by us" |
                    "already schedulable" | "cordoned by someone else" | "node not found"
drain_node       {cluster, node, options?: {drainGracePeriodSeconds, deleteEmptydirData, force,
                  podSelector, skipWaitForDeleteTimeoutSeconds, disableEviction}, forceDelete?=false}
                 -> {status: "done"|"pending"|"error", method: "eviction"|"delete",
                     evicted: [ns/pod], deleted: [ns/pod], blocked: [{pod, reason}],
                     terminating: [ns/pod], errors: [str], warnings: [str],
                     skipped: [{pod, reason}], remaining: int}
reboot_node      {cluster, node, bootId, method?: "pod"|"vmss" (default: the app setting)}
                 -> {status: "rebooted"|"requested", method, bootId, ...details}
check_node_health {cluster, node, bootIdBefore}
                 -> {healthy, pending, ready, bootId, kernel, rebootRequired: bool|null, reasons: [str]}
describe_node    {cluster, node}
                 -> {name, exists, unschedulable, cordonedByUs, cordonedBy, ready, bootId, kernel,
                     labels: {pool, zone, mode, os}, taints: [{key, value, effect}], providerId,
                     rebootState, lastReboot}     ({name, exists: false} when the node is gone)
"""

from __future__ import annotations

from typing import Any

from rebooter import clients, names
from rebooter.cordon import cordon, uncordon
from rebooter.drain import DrainOptions
from rebooter.eviction import drain_pass
from rebooter.health import check_health
from rebooter.nodeinfo import describe_node as describe
from rebooter.reboot import request_reboot


def _target(payload: dict) -> tuple[Any, str]:
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object payload, got {type(payload).__name__}")
    cluster = names.parse_cluster_id(payload.get("cluster")).resource_id
    node = names.check_node_name(payload.get("node"))
    return clients.kube_api(cluster), node


def _flag(payload: dict, *keys: str) -> bool:
    for key in keys:
        if key in payload and payload[key] is not None:
            if not isinstance(payload[key], bool):
                raise ValueError(f"{key}: expected true or false, got {payload[key]!r}")
            return payload[key]
    return False


def cordon_node(payload: dict) -> dict:
    api, node = _target(payload)
    return cordon(api, node, payload.get("owner") or "rebooter")


def uncordon_node(payload: dict) -> dict:
    api, node = _target(payload)
    return uncordon(api, node)


def drain_node(payload: dict) -> dict:
    options = DrainOptions.from_dict(payload.get("options") if isinstance(payload, dict) else None)
    api, node = _target(payload)
    return drain_pass(api, node, options, force_delete=_flag(payload, "forceDelete", "force_delete"))


def reboot_node(payload: dict) -> dict:
    api, node = _target(payload)
    method = payload.get("method") or clients.app_settings()["rebootMethod"]
    return request_reboot(api, node, payload.get("bootId"), method, compute=clients.compute)


def check_node_health(payload: dict) -> dict:
    api, node = _target(payload)
    return check_health(api, node, payload.get("bootIdBefore"))


def describe_node(payload: dict) -> dict:
    api, node = _target(payload)
    return describe(api, node)
