"""Labels and annotations the app puts on a node (kured's annotate-nodes, pre/post-reboot
labels, the quarantine label; their keys are in rebooter.contract). One merge patch; setting a value twice is a no-op, so the
activity is idempotent. ``None`` removes a key.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from rebooter.kube import kubeapi


def mark(api: k8s.ApiClient, node: str, labels: dict[str, str | None] | None = None,
         annotations: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Apply the labels and annotations; return what the node carries afterwards (for those keys)."""
    patch: dict[str, Any] = {"metadata": {}}
    if labels:
        patch["metadata"]["labels"] = labels
    if annotations:
        patch["metadata"]["annotations"] = {k: (v[:1000] if isinstance(v, str) else v) for k, v in annotations.items()}
    if not patch["metadata"]:
        return {"node": node, "labels": {}, "annotations": {}}
    core = k8s.CoreV1Api(api)
    result = kubeapi.call_json(core.patch_node, node, patch, _content_type="application/merge-patch+json")
    meta = result.get("metadata", {})
    return {
        "node": node,
        "labels": {k: (meta.get("labels") or {}).get(k) for k in (labels or {})},
        "annotations": {k: (meta.get("annotations") or {}).get(k) for k in (annotations or {})},
    }
