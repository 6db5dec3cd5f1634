"""A tiny scheduler: which node an unbound pod may go to, and which one it goes to.

It applies the filters that matter for draining: the node is schedulable (not cordoned),
Ready, its kubelet is up, its OS is the pod's (Linux unless the pod selects Windows), the pod's nodeSelector and required node affinity match the node's
labels (or fields), and every NoSchedule/NoExecute taint is tolerated. Among fitting nodes it
prefers those without an untolerated PreferNoSchedule taint (a soft preference, as kube-scheduler's
TaintToleration score plugin: kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration,
"PreferNoSchedule is a preference or soft version of NoSchedule"), then spreads: fewest pods of the
same owner first, then fewest pods overall, then name order.
"""

from __future__ import annotations

from collections.abc import Iterable

from lab.sandbox.nodes import ready_status


def _expr_ok(expr: dict, values: dict[str, str]) -> bool:
    key, op, wanted = expr.get("key", ""), expr.get("operator", "In"), expr.get("values") or []
    present = key in values
    if op == "In":
        return present and values[key] in wanted
    if op == "NotIn":
        return not present or values[key] not in wanted
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and wanted:
        try:
            a, b = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def affinity_ok(pod: dict, node: dict) -> bool:
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:  # terms are ORed, expressions inside a term ANDed
        exprs_ok = all(_expr_ok(e, labels) for e in term.get("matchExpressions") or [])
        fields_ok = all(_expr_ok(e, fields) for e in term.get("matchFields") or [])
        if (term.get("matchExpressions") or term.get("matchFields")) and exprs_ok and fields_ok:
            return True
    return False


def _tolerates(tolerations: list[dict], taint: dict) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol.get("key") == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def taints_ok(pod: dict, node: dict) -> bool:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(tolerations, taint):
            return False
    return True


def soft_taints(pod: dict, node: dict) -> int:
    """How many PreferNoSchedule taints of the node the pod does not tolerate (fewer is better)."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    return sum(1 for t in (node.get("spec") or {}).get("taints") or []
               if t.get("effect") == "PreferNoSchedule" and not _tolerates(tolerations, t))


def fits(pod: dict, node: dict, kubelet_up: bool) -> bool:
    if not kubelet_up or (node.get("spec") or {}).get("unschedulable") or ready_status(node) != "True":
        return False
    node_os = (node["metadata"].get("labels") or {}).get("kubernetes.io/os", "linux")
    pod_os = ((pod.get("spec") or {}).get("nodeSelector") or {}).get("kubernetes.io/os", "linux")
    if node_os != pod_os:  # pods are Linux unless they ask for Windows
        return False
    return affinity_ok(pod, node) and taints_ok(pod, node)


def owner_uid(pod: dict) -> str:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return ""


def pod_counts(pods: Iterable[dict], owner: str) -> tuple[dict[str, int], dict[str, int]]:
    """Per node: how many active pods there are, and how many of them belong to ``owner``."""
    total: dict[str, int] = {}
    same: dict[str, int] = {}
    for other in pods:
        node = (other.get("spec") or {}).get("nodeName")
        if not node or (other.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        total[node] = total.get(node, 0) + 1
        if owner and owner_uid(other) == owner and not other["metadata"].get("deletionTimestamp"):
            same[node] = same.get(node, 0) + 1
    return total, same


def choose(pod: dict, nodes: Iterable[dict], up: dict[str, bool], total: dict[str, int],
           same: dict[str, int]) -> str | None:
    """The node the pod goes to, or None when nothing fits (the pod stays Pending)."""
    candidates = [n for n in nodes if fits(pod, n, up.get(n["metadata"]["name"], False))]
    if not candidates:
        return None
    best = min(candidates, key=lambda n: (soft_taints(pod, n), same.get(n["metadata"]["name"], 0),
                                          total.get(n["metadata"]["name"], 0), n["metadata"]["name"]))
    return best["metadata"]["name"]


def unschedulable_message(total: int) -> str:
    return (f"0/{total} nodes are available: {total} node(s) didn't match Pod's node affinity/selector, "
            f"were unschedulable, not ready, or had untolerated taints. preemption: 0/{total} nodes are available.")
