"""The "reboot pending" PreferNoSchedule taint (kured's --prefer-no-schedule-taint).

After planning, nodes that will be rebooted get ``contract.PENDING_TAINT_KEY`` with effect
PreferNoSchedule: the scheduler then prefers other nodes for new pods (a soft preference, never a
refusal: kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration), so the drain has
less to move. It is removed once the node is healthy again, or when the cycle ends without
patching it. Only a taint with our key and effect is ever removed; others' taints are kept.

``spec.taints`` has no patch strategy in the Node API (kubernetes/api core/v1/types.go, NodeSpec:
no ``patchStrategy`` tag), so a patch replaces the whole list: the write is guarded by
``metadata.resourceVersion`` so a concurrent change by someone else is never lost (409: re-read).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from rebooter import contract
from rebooter.kube.kubeapi import KubeError, NodeNotFound, call_json, error_message
from rebooter.kube.nodeinfo import read_node

TAINT = {"key": contract.PENDING_TAINT_KEY, "value": "true", "effect": contract.PENDING_TAINT_EFFECT}


def is_ours(taint: dict[str, Any]) -> bool:
    return taint.get("key") == contract.PENDING_TAINT_KEY and taint.get("effect") == contract.PENDING_TAINT_EFFECT


def set_pending(api: k8s.ApiClient, node: str, pending: bool) -> dict[str, Any]:
    """Add (``pending``) or remove our taint; idempotent. Returns {node, tainted, changed, reason}."""
    for attempt in (1, 2):
        try:
            obj = read_node(api, node)
        except NodeNotFound:
            return {"node": node, "tainted": False, "changed": False, "reason": "node not found"}
        taints = (obj.get("spec") or {}).get("taints") or []
        has = any(is_ours(t) for t in taints)
        if has == pending:
            return {"node": node, "tainted": has, "changed": False, "reason": "already so"}
        kept = [t for t in taints if not is_ours(t)]
        body = {"metadata": {"resourceVersion": obj["metadata"].get("resourceVersion")},
                "spec": {"taints": kept + [dict(TAINT)] if pending else kept}}
        try:
            call_json(k8s.CoreV1Api(api).patch_node, node, body)
        except ApiException as exc:
            if exc.status == 409 and attempt == 1:
                continue
            if exc.status == 404:
                return {"node": node, "tainted": False, "changed": False, "reason": "node not found"}
            raise KubeError(f"{'taint' if pending else 'untaint'} {node}: {error_message(exc)}") from None
        return {"node": node, "tainted": pending, "changed": True, "reason": "added" if pending else "removed"}
    raise KubeError(f"taint {node}: the node kept changing under us (409 twice)")
