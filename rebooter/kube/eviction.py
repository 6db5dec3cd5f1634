"""One pass of a drain: list the node's pods, decide with kubectl's rules, evict, report.

kubectl drain loops inside one process (retrying 429s every 5 s, polling deletions every
second). Here one call is one pass and the orchestrator loops with durable timers, so a
drain survives a crash or redeploy and never holds an activity for long. A pass is
idempotent: an evicted pod is terminating or gone on the next pass and is not evicted again.

Eviction answers (policy/v1 Eviction subresource): 200/201 evicted; 404 already gone;
429 a PodDisruptionBudget refuses now (PodEviction.REFUSED, listed in the pass's "blocked" with the server's cause, retried by the
orchestrator after its back-off); 500 the pod has several PDBs (an error kubectl does not
retry either); 403 NamespaceTerminating: wait for the namespace to go.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from rebooter.kube.drain import DrainOptions, deleted_longer_than, plan_drain
from rebooter.kube.kubeapi import (
    NOT_RETRIED_FOR_EVICTION,
    KubeError,
    call_json,
    error_message,
    pod_id,
    status_body,
)
from rebooter.kube.nodeinfo import read_node
from rebooter.kube.watching import wait_pods_gone
from rebooter.outcomes import PodEviction

PAGE_SIZE = 500
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def list_node_pods(api: k8s.ApiClient, node: str, pod_selector: str = "") -> list[dict[str, Any]]:
    """Every pod bound to the node, all namespaces, in pages of 500 (kubectl's chunking)."""
    core = k8s.CoreV1Api(api)
    items: list[dict[str, Any]] = []
    token: str | None = None
    restarted = False
    while True:
        kwargs: dict[str, Any] = {"field_selector": f"spec.nodeName={node}", "limit": PAGE_SIZE}
        if pod_selector:
            kwargs["label_selector"] = pod_selector
        if token:
            kwargs["_continue"] = token
        try:
            page = call_json(core.list_pod_for_all_namespaces, **kwargs)
        except ApiException as exc:
            if exc.status == 410 and token and not restarted:  # continue token expired: list again, once
                items, token, restarted = [], None, True
                continue
            raise KubeError(f"list pods on {node}: {error_message(exc)}") from None
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue") or None
        if not token:
            return items


def _daemonset_lookup(api: k8s.ApiClient) -> Any:
    apps = k8s.AppsV1Api(api)
    cache: dict[tuple[str, str], bool] = {}

    def exists(namespace: str, name: str) -> bool:
        key = (namespace, name)
        if key not in cache:
            try:
                call_json(apps.read_namespaced_daemon_set, name, namespace)
                cache[key] = True
            except ApiException as exc:
                if exc.status != 404:
                    raise RuntimeError(error_message(exc)) from None
                cache[key] = False
        return cache[key]

    return exists


def _delete_options(options: DrainOptions) -> dict[str, Any]:
    return {"gracePeriodSeconds": options.grace_period_seconds} if options.grace_period_seconds >= 0 else {}


def blocked_reason(exc: ApiException) -> str:
    """The PDB's own words from a 429: the DisruptionBudget cause, else the Status message."""
    body = status_body(exc)
    for cause in (body.get("details") or {}).get("causes") or []:
        if cause.get("message"):
            return cause["message"]
    return body.get("message") or "eviction refused (429) by a PodDisruptionBudget"


def _has_cause(exc: ApiException, reason: str) -> bool:
    causes = (status_body(exc).get("details") or {}).get("causes") or []
    return any(cause.get("reason") == reason for cause in causes)


def evict_pod(api: k8s.ApiClient, pod: dict[str, Any], options: DrainOptions) -> tuple[PodEviction, str]:
    """Evict one pod. Returns (outcome, reason): evicted | gone | refused | terminating | error."""
    meta = pod["metadata"]
    body: dict[str, Any] = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
    }
    delete_options = _delete_options(options)
    if delete_options:
        body["deleteOptions"] = delete_options
    core = k8s.CoreV1Api(api)
    try:
        call_json(core.create_namespaced_pod_eviction, meta["name"], meta["namespace"], body,
                  retry_on=NOT_RETRIED_FOR_EVICTION)
        return PodEviction.EVICTED, ""
    except ApiException as exc:
        if exc.status == 404:
            return PodEviction.GONE, ""
        if exc.status == 429:
            return PodEviction.REFUSED, blocked_reason(exc)
        if exc.status == 403 and _has_cause(exc, NAMESPACE_TERMINATING_CAUSE):
            state = PodEviction.TERMINATING if meta.get("deletionTimestamp") else PodEviction.REFUSED
            return state, error_message(exc)
        return PodEviction.ERROR, f"error when evicting pods/{meta['name']!r} -n {meta['namespace']!r}: {error_message(exc)}"


def delete_pod(api: k8s.ApiClient, pod: dict[str, Any], options: DrainOptions) -> tuple[PodEviction, str]:
    """DELETE one pod (no PDB check). Returns (outcome, reason): deleted | gone | error (PodEviction)."""
    meta = pod["metadata"]
    core = k8s.CoreV1Api(api)
    body: dict[str, Any] = _delete_options(options)
    # Precondition on the UID: never delete a same-named pod a controller created since we listed.
    if meta.get("uid"):
        body["preconditions"] = {"uid": meta["uid"]}
    try:
        call_json(core.delete_namespaced_pod, meta["name"], meta["namespace"], body=body)
        return PodEviction.DELETED, ""
    except ApiException as exc:
        if exc.status in (404, 409):  # 409: the UID precondition failed, our pod is already gone
            return PodEviction.GONE, ""
        return PodEviction.ERROR, f"error when deleting pods/{meta['name']!r} -n {meta['namespace']!r}: {error_message(exc)}"


def drain_pass(
    api: k8s.ApiClient,
    node: str,
    options: DrainOptions,
    force_delete: bool = False,
    now: datetime | None = None,
    wait_seconds: float = 0.0,
) -> dict[str, Any]:
    """One drain pass over the node. See module doc; the result shape is documented in activities/nodes.py.

    With ``wait_seconds`` > 0, a pass that leaves only terminating pods (nothing refused, no
    error) watches the node's pods until they are gone or ``wait_seconds`` pass
    (rebooter.watching), so the orchestrator learns "done" when it happens instead of at its
    next timer. ``waited`` in the result says the watch ran to its bound without seeing it."""
    now = now or datetime.now(UTC)
    read_node(api, node)  # raises NodeNotFound: a node that is gone cannot be drained
    pods = list_node_pods(api, node, options.pod_selector)
    plan = plan_drain(pods, options, now, _daemonset_lookup(api))
    result: dict[str, Any] = {
        "status": "pending",
        "method": "delete" if (force_delete or options.disable_eviction) else "eviction",
        "evicted": [],
        "deleted": [],
        "blocked": [],
        "terminating": [],
        "errors": list(plan.errors),
        "warnings": list(plan.warnings),
        "skipped": list(plan.skipped),
        "remaining": len(plan.remove),
    }
    if plan.errors:
        result["status"] = "error"
        return result

    acted: set[str] = set()
    for pod in plan.remove:
        name = pod_id(pod)
        if (pod.get("metadata") or {}).get("deletionTimestamp") and not force_delete:
            acted.add(pod["metadata"].get("uid", name))  # already terminating: wait, do not evict again
            continue
        if result["method"] == "delete":
            outcome, reason = delete_pod(api, pod, options)
        else:
            outcome, reason = evict_pod(api, pod, options)
        if outcome in (PodEviction.EVICTED, PodEviction.DELETED):
            result[outcome].append(name)
            acted.add(pod["metadata"].get("uid", name))
        elif outcome == PodEviction.TERMINATING:
            acted.add(pod["metadata"].get("uid", name))
        elif outcome == PodEviction.REFUSED:  # listed under "blocked": refused by a PDB for now
            result["blocked"].append({"pod": name, "reason": reason})
        elif outcome == PodEviction.ERROR:
            result["errors"].append(reason)

    _count_remaining(api, node, options, plan.remove, acted, result, now)
    if wait_seconds > 0 and result["status"] == "pending" and not result["blocked"] and result["terminating"]:
        keys = {pod["metadata"].get("uid", pod_id(pod)) for pod in plan.remove}
        result["waited"] = not wait_pods_gone(api, node, keys, wait_seconds)
        result["terminating"] = []
        _count_remaining(api, node, options, plan.remove, acted, result, now)
    return result


def _count_remaining(api: k8s.ApiClient, node: str, options: DrainOptions, remove: list[dict[str, Any]],
                     acted: set[str], result: dict[str, Any], now: datetime) -> None:
    """Which of the pods that must go are still there; sets remaining, terminating and status."""
    # One more listing tells which of the pods that must go are still there (kubectl polls
    # each pod: gone on 404 or a new UID; terminating past skip-wait counts as gone).
    still_there = {(p.get("metadata") or {}).get("uid", pod_id(p)): p for p in list_node_pods(api, node, options.pod_selector)}
    remaining = 0
    for pod in remove:
        current = still_there.get(pod["metadata"].get("uid", pod_id(pod)))
        if current is None:
            continue
        if deleted_longer_than(current, options.skip_wait_for_delete_timeout_seconds, now):
            continue
        remaining += 1
        if (current.get("metadata") or {}).get("deletionTimestamp") or pod["metadata"].get("uid", pod_id(pod)) in acted:
            result["terminating"].append(pod_id(pod))
    result["remaining"] = remaining
    if result["errors"]:
        result["status"] = "error"
    elif remaining == 0:
        result["status"] = "done"
