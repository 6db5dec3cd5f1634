"""Blockers: reasons not to take a node (or any node) out right now, checked before the cluster
lock is taken and again before each node is cordoned.

Three checks, combined by :func:`check_blockers`:

* **alerts** (rebooter.alerts): active Prometheus alerts, kured's ``--prometheus-url``;
* **blocking pods** (kured's ``--blocking-pod-selector``): while a pod matching one of the
  selectors runs on the node (or, with no node, anywhere in the cluster), wait;
* **drain prediction** (not in kured): before cordoning, predict a drain that cannot finish
  because of PodDisruptionBudgets or kubectl's pod rules, so a node is never cordoned only to
  be stuck (kured #82, #145). :func:`predict_drain` is pure and explains every verdict.

A check that cannot be answered (API or query error) blocks, with the reason: "cannot tell" is
never "all clear".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rebooter.kube.drain import DrainOptions, controller_of, plan_drain
from rebooter.kube.kubeapi import pod_id
from rebooter.outcomes import Verdict
from rebooter.policy import alerts, labelselector

MAX_LISTED = 10  # pods named in one reason
PAGE_SIZE = 500
FINISHED = ("Succeeded", "Failed")


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


# ---- blocking pods ----------------------------------------------------------------------------


def is_running(pod: Mapping[str, Any]) -> bool:
    """kured's rule: any pod that has not finished blocks (Pending and Unknown included)."""
    return (pod.get("status") or {}).get("phase") not in FINISHED


def blocking_pods(pods: Iterable[Mapping[str, Any]], selectors: Iterable[str], node: str | None = None) -> list[str]:
    """``ns/name`` of pods that block: matching any selector, not finished, on ``node`` when given."""
    parsed = [labelselector.parse(s) for s in selectors]
    out = []
    for pod in pods:
        if node is not None and (pod.get("spec") or {}).get("nodeName") != node:
            continue
        if not is_running(pod):
            continue
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if any(sel and labelselector.matches(sel, labels) for sel in parsed):
            out.append(pod_id(pod))  # type: ignore[arg-type]
    return sorted(set(out))


def pod_reasons(blocking: list[str], node: str | None) -> list[str]:
    if not blocking:
        return []
    where = f"on node {node}" if node else "in the cluster"
    noun = "pod" if len(blocking) == 1 else "pods"
    return [f"blocking {noun} running {where}: {_listed(blocking)} (REBOOTER_BLOCKING_POD_SELECTORS)"]


# ---- drain prediction -------------------------------------------------------------------------


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def ignores_pdb(pod: Mapping[str, Any]) -> bool:
    """The eviction API's canIgnorePDB: finished, pending or terminating pods are evicted freely."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def covering_pdbs(pod: Mapping[str, Any], pdbs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """PDBs of the pod's namespace whose selector matches it (a PDB without selector matches nothing)."""
    meta = pod.get("metadata") or {}
    out = []
    for pdb in pdbs:
        if (pdb.get("metadata") or {}).get("namespace") != meta.get("namespace"):
            continue
        try:
            selector = labelselector.from_object((pdb.get("spec") or {}).get("selector"))
        except ValueError:
            continue
        if selector is not None and labelselector.matches(selector, meta.get("labels") or {}):
            out.append(pdb)
    return out


def _pdb_name(pdb: Mapping[str, Any]) -> str:
    meta = pdb.get("metadata") or {}
    return f"PDB {meta.get('namespace', '')}/{meta.get('name', '')}"


def _budget(pdb: Mapping[str, Any], expected: int) -> str:
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        return f"maxUnavailable {spec['maxUnavailable']} of {expected} pods"
    if spec.get("minAvailable") is not None:
        return f"minAvailable {spec['minAvailable']} of {expected} pods"
    return f"no minAvailable or maxUnavailable, {expected} pods"


def judge_pdb(pdb: Mapping[str, Any], pods_here: list[Mapping[str, Any]]) -> tuple[str, str]:
    """Verdict (ok | wait | undrainable, rebooter.outcomes.Verdict) and reason for one PDB and the pods of this node it covers.

    * undrainable: the budget can never allow an eviction by itself (desiredHealthy >= expectedPods:
      minAvailable equal to the replicas, maxUnavailable 0, ...), the disruption controller cannot
      compute it, or this node holds more of its pods than it can ever lose while no controller
      replaces them;
    * wait: no disruption allowed now because pods are unhealthy (or an eviction is in flight, or
      the controller has not processed the PDB yet): it will allow one when they recover;
    * ok: the next eviction is allowed (replaced pods let the later ones through).
    """
    name = _pdb_name(pdb)
    here = ", ".join(pod_id(p) for p in pods_here)  # type: ignore[arg-type]
    status = pdb.get("status") or {}
    meta = pdb.get("metadata") or {}
    if not status or int(status.get("observedGeneration", 0)) < int(meta.get("generation", 1)):
        return Verdict.WAIT, f"{name} has not been processed by the disruption controller yet (covers {here})"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "DisruptionAllowed" and condition.get("reason") == "SyncFailed":
            return Verdict.UNDRAINABLE, (f"cannot drain: {name} cannot be evaluated by the disruption controller: "
                               f"{condition.get('message', '')} (covers {here})")
    allowed = int(status.get("disruptionsAllowed", 0))
    current = int(status.get("currentHealthy", 0))
    desired = int(status.get("desiredHealthy", 0))
    expected = int(status.get("expectedPods", 0))
    policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
    # Unready pods are evicted without spending budget when the PDB is otherwise satisfied.
    free_unhealthy = policy == "AlwaysAllow" or (current >= desired > 0)
    needing = [p for p in pods_here if is_pod_ready(p) or not free_unhealthy]
    if not needing:
        return Verdict.OK, ""
    here = ", ".join(pod_id(p) for p in needing)  # type: ignore[arg-type]
    if expected > 0 and desired >= expected:
        return Verdict.UNDRAINABLE, (f"cannot drain: {name} allows no disruption ({_budget(pdb, expected)}); "
                           f"it covers {here} on this node")
    can_lose = max(0, expected - desired)
    unreplaced = [p for p in needing if controller_of(dict(p)) is None]
    if len(unreplaced) > can_lose:
        return Verdict.UNDRAINABLE, (f"cannot drain: {name} can lose at most {can_lose} of its {expected} pods "
                           f"({_budget(pdb, expected)}) and this node holds {len(unreplaced)} that no controller "
                           f"replaces: {', '.join(pod_id(p) for p in unreplaced)}")  # type: ignore[arg-type]
    if allowed <= 0:
        if current < desired or current < expected:
            why = f"only {current} of its {expected} pods are healthy and it must keep {desired}"
        elif expected == 0:
            why = "it expects no pods (its controller may be scaling)"
        else:
            why = f"a disruption is already in progress ({current} healthy, needs {desired})"
        return Verdict.WAIT, f"{name} allows no disruption now: {why} (covers {here}); waiting for its pods to recover"
    return Verdict.OK, ""


def predict_drain(
    pods_on_node: list[Mapping[str, Any]],
    pdbs: list[Mapping[str, Any]],
    options: DrainOptions | None = None,
    now: datetime | None = None,
    daemonset_exists: Callable[[str, str], bool] | None = None,
) -> dict[str, Any]:
    """Predict whether draining a node can finish, before cordoning it.

    ``pods_on_node``: the node's pods (API JSON); ``pdbs``: PodDisruptionBudgets of (at least)
    their namespaces, with status. The pods a drain would evict are chosen with kubectl's rules
    (rebooter.drain); each is checked against the PDBs covering it (see :func:`judge_pdb`).
    Returns ``{"verdict": "ok" | "wait" | "undrainable", "reasons": [str], "evict": int}``.
    """
    options = options or DrainOptions()
    plan = plan_drain([dict(p) for p in pods_on_node], options, now or datetime.now(UTC), daemonset_exists)
    blocked = [f"cannot drain: {error}" for error in plan.errors]
    waits: list[str] = []
    evicted = [pod for pod, verdict in zip(pods_on_node, plan.verdicts, strict=True) if verdict.removes]
    if not options.disable_eviction:
        groups: dict[tuple[str, str], tuple[Mapping[str, Any], list[Mapping[str, Any]]]] = {}
        for pod in evicted:
            if ignores_pdb(pod):
                continue
            covering = covering_pdbs(pod, pdbs)
            if len(covering) > 1:
                names = ", ".join(_pdb_name(p).removeprefix("PDB ") for p in covering)
                blocked.append(f"cannot drain: pod {pod_id(pod)} is covered by {len(covering)} PDBs ({names}); "  # type: ignore[arg-type]
                               "the eviction API refuses such pods")
            elif covering:
                meta = covering[0].get("metadata") or {}
                groups.setdefault((meta.get("namespace", ""), meta.get("name", "")), (covering[0], []))[1].append(pod)
        for key in sorted(groups):
            pdb, pods_here = groups[key]
            verdict, reason = judge_pdb(pdb, pods_here)
            if verdict == Verdict.UNDRAINABLE:
                blocked.append(reason)
            elif verdict == Verdict.WAIT:
                waits.append(reason)
    verdict = Verdict.UNDRAINABLE if blocked else Verdict.WAIT if waits else Verdict.OK
    return {"verdict": verdict, "reasons": blocked + waits, "evict": len(evicted)}


# ---- against the cluster ----------------------------------------------------------------------


def _list_all(list_fn: Callable[..., Any], limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a list call, in pages of 500 (stops early once ``limit`` items are read)."""
    from rebooter.kube.kubeapi import call_json

    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = call_json(list_fn, limit=PAGE_SIZE, **({"_continue": token} if token else {}), **kwargs)
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue") or None
        if not token or (limit is not None and len(items) >= limit):
            return items


def find_blocking_pods(api: Any, selectors: list[str], node: str | None) -> list[str]:
    """Ask the API server for pods matching each selector (on the node, when given)."""
    from kubernetes import client as k8s

    core = k8s.CoreV1Api(api)
    found: list[str] = []
    fields = "status.phase!=Succeeded,status.phase!=Failed" + (f",spec.nodeName={node}" if node else "")
    for selector in selectors:
        pods = _list_all(core.list_pod_for_all_namespaces, limit=MAX_LISTED * 5, label_selector=selector,
                         field_selector=fields)
        found.extend(blocking_pods(pods, [selector], node))
    return sorted(set(found))


def predict_node_drain(api: Any, node: str, options: DrainOptions, now: datetime) -> dict[str, Any]:
    """List the node's pods and the PDBs of their namespaces, then :func:`predict_drain`."""
    from kubernetes import client as k8s

    from rebooter.kube.eviction import list_node_pods

    pods = list_node_pods(api, node, options.pod_selector)
    policy = k8s.PolicyV1Api(api)
    namespaces = sorted({(p.get("metadata") or {}).get("namespace", "") for p in pods})
    pdbs: list[dict[str, Any]] = []
    for namespace in namespaces:
        pdbs.extend(_list_all(policy.list_namespaced_pod_disruption_budget, namespace=namespace))
    # DaemonSet pods are assumed to have their DaemonSet (skipped, as with ignore-daemonsets).
    return predict_drain(pods, pdbs, options, now)


def check_blockers(
    api: Any,
    values: Mapping[str, Any],
    node: str | None = None,
    now: datetime | None = None,
    token: Callable[[], str] | None = None,
    http: Any = None,
    alert_timeout: float | tuple[float, float] = alerts.TIMEOUT,
) -> dict[str, Any]:
    """Run every configured check; see activities/safety.py for the result's shape."""
    from rebooter.kube.kubeapi import error_message

    now = now or datetime.now(UTC)
    alert_reasons = alerts.alert_reasons(alerts.from_settings(values), token, http, alert_timeout)
    selectors = list(values.get("blockingPodSelectors") or [])
    pod_problems: list[str] = []
    if selectors:
        try:
            pod_problems = pod_reasons(find_blocking_pods(api, selectors, node), node)
        except Exception as exc:  # noqa: BLE001 - cannot tell: block, with the reason
            pod_problems = [f"cannot list blocking pods, so reboots wait: {error_message(exc)}"]
    drain: dict[str, Any] | None = None
    if node:
        try:
            drain = predict_node_drain(api, node, DrainOptions.from_dict(values), now)
        except Exception as exc:  # noqa: BLE001 - cannot tell: wait, with the reason
            drain = {"verdict": Verdict.WAIT, "reasons": [f"cannot predict the drain of {node}: {error_message(exc)}"],
                     "evict": 0}
    reasons = alert_reasons + pod_problems + (drain["reasons"] if drain else [])
    verdict = Verdict.OK
    if drain and drain["verdict"] == Verdict.UNDRAINABLE:
        verdict = Verdict.UNDRAINABLE
    elif reasons:
        verdict = Verdict.WAIT
    return {
        "blocked": bool(reasons),
        "verdict": verdict,
        "reasons": reasons,
        "alerts": alert_reasons,
        "pods": pod_problems,
        "drain": drain,
    }
