"""Cordon and uncordon, remembering on the node itself whether the cordon is ours.

"Only undo what we did": a node that was unschedulable before we came is left cordoned, on
every path. Our cordon carries ``contract.CORDONED_BY_US_ANNOTATION`` (value: the owner, e.g.
the orchestration instance ID), written in the same patch as ``spec.unschedulable`` and guarded
by ``metadata.resourceVersion``, so a concurrent cordon by someone else is never mistaken for
ours: on a conflict (409) we re-read and decide again, once.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from rebooter import contract
from rebooter.kube.kubeapi import KubeError, NodeNotFound, call_json, error_message
from rebooter.kube.nodeinfo import annotations, is_unschedulable, read_node

ANNOTATION = contract.CORDONED_BY_US_ANNOTATION


def check_owner(owner: object) -> str:
    if not isinstance(owner, str) or not owner or len(owner) > 256 or not owner.isprintable():
        raise ValueError(f"expected an owner (printable text, 1-256 characters, e.g. the instance ID), got {owner!r}")
    return owner


def _patch(api: k8s.ApiClient, node: str, body: dict[str, Any]) -> dict[str, Any]:
    return call_json(k8s.CoreV1Api(api).patch_node, node, body)


def cordon(api: k8s.ApiClient, node: str, owner: str) -> dict[str, Any]:
    """Make the node unschedulable and mark the cordon as ours, unless someone else cordoned it.

    Returns ``{"cordonedByUs", "alreadyCordoned", "unschedulable", "owner"}``; ``alreadyCordoned``
    means "cordoned by someone else before us" (then ``cordonedByUs`` is false and nothing was
    changed). Calling it again returns the same answer.
    """
    check_owner(owner)
    for attempt in (1, 2):
        obj = read_node(api, node)
        notes = annotations(obj)
        if is_unschedulable(obj):
            ours = ANNOTATION in notes
            return {
                "cordonedByUs": ours,
                "alreadyCordoned": not ours,
                "unschedulable": True,
                "owner": notes.get(ANNOTATION, ""),
            }
        body = {
            "metadata": {"resourceVersion": obj["metadata"].get("resourceVersion"), "annotations": {ANNOTATION: owner}},
            "spec": {"unschedulable": True},
        }
        try:
            patched = _patch(api, node, body)
        except ApiException as exc:
            if exc.status == 409 and attempt == 1:
                continue
            if exc.status == 404:
                raise NodeNotFound(f"node {node!r} not found in the cluster") from None
            raise KubeError(f"cordon {node}: {error_message(exc)}") from None
        return {
            "cordonedByUs": True,
            "alreadyCordoned": False,
            "unschedulable": is_unschedulable(patched),
            "owner": annotations(patched).get(ANNOTATION, owner),
        }
    raise KubeError(f"cordon {node}: the node kept changing under us (409 twice)")


def uncordon(api: k8s.ApiClient, node: str) -> dict[str, Any]:
    """Undo our cordon: only when the node carries our annotation.

    Returns ``{"uncordoned", "unschedulable", "reason"}``. A node cordoned by someone else is
    never touched (``uncordoned`` false, reason "cordoned by someone else"); a schedulable node
    without our mark is already in the wanted state (``uncordoned`` true); a node that no
    longer exists has nothing to undo (``uncordoned`` false, reason "node not found").
    """
    for attempt in (1, 2):
        try:
            obj = read_node(api, node)
        except NodeNotFound:
            return {"uncordoned": False, "unschedulable": False, "reason": "node not found"}
        notes = annotations(obj)
        if ANNOTATION not in notes:
            if is_unschedulable(obj):
                return {"uncordoned": False, "unschedulable": True, "reason": "cordoned by someone else"}
            return {"uncordoned": True, "unschedulable": False, "reason": "already schedulable"}
        body = {
            "metadata": {"resourceVersion": obj["metadata"].get("resourceVersion"), "annotations": {ANNOTATION: None}},
            "spec": {"unschedulable": None},
        }
        try:
            patched = _patch(api, node, body)
        except ApiException as exc:
            if exc.status == 409 and attempt == 1:
                continue
            if exc.status == 404:
                return {"uncordoned": False, "unschedulable": False, "reason": "node not found"}
            raise KubeError(f"uncordon {node}: {error_message(exc)}") from None
        return {"uncordoned": True, "unschedulable": is_unschedulable(patched), "reason": "cordoned by us"}
    raise KubeError(f"uncordon {node}: the node kept changing under us (409 twice)")
