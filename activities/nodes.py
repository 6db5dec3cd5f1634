"""Activities for one node (Kubernetes side): cordon, drain, reboot, health, uncordon, taint.

Thin on purpose: validate the payload, get the cluster's ApiClient, call the domain function in
``rebooter``. Each is ``(payload: dict) -> dict`` (JSON in, JSON out), idempotent and short. Two
may wait on an event, within ``waitSeconds`` (REBOOTER_WATCH_SECONDS, at most
rebooter.watching.MAX_WATCH_SECONDS): drain_node (its pods gone) and check_node_health (Ready
with a new boot ID, then the verification pod); they watch the API and return as soon as it
happens, or at the bound with ``waited: true``. Longer waits stay durable timers. Real errors
raise an Exception whose message says what failed.

Every payload carries ``"cluster"`` (AKS resource ID), ``"node"`` (node name) and ``"settings"``
(rebooter.settings.activity_settings: the cluster's credential, Kubernetes auth and reboot method;
activities never read them from the environment).

cordon_node      {cluster, node, owner?="rebooter"}
                 -> {cordonedByUs, alreadyCordoned, unschedulable, owner}
uncordon_node    {cluster, node}
                 -> {uncordoned, unschedulable, reason}   reason: "cordoned by us" |
                    "already schedulable" | "cordoned by someone else" | "node not found"
drain_node       {cluster, node, waitSeconds?=0, options?: {drainGracePeriodSeconds, deleteEmptydirData, force,
                  drainPodSelector, skipWaitForDeleteTimeoutSeconds, disableEviction}, forceDelete?=false,
                  cordonOwner?: cordon first, as cordon_node with this owner,
                  rebootAfter?: {bootId, method?}: once the drain is done, reboot_node in the same call}
                 -> {status: "done"|"pending"|"error"|"not ours", method: "eviction"|"delete", cordon?,
                     evicted: [ns/pod], deleted: [ns/pod], blocked: [{pod, reason}],
                     terminating: [ns/pod], errors: [str], warnings: [str],
                     skipped: [{pod, reason}], remaining: int, waited?: bool,
                     reboot?: <reboot_node's answer> | {error}}
reboot_node      {cluster, node, bootId, method?: "pod"|"vmss" (default: settings.rebootMethod)}
                 -> {status: "rebooted"|"requested", method, bootId, ...details}
check_node_health {cluster, node, bootIdBefore, waitSeconds?=0, finish?: finish_node's fields (labels?,
                  annotations?, untaint?, next?, settings?): once healthy, finish_node in the same call, with
                  stillRequired from this check}
                 -> {healthy, pending, ready, bootId, kernel, rebootRequired: bool|null, packages?: [str],
                     reasons: [str], waited?: bool, finish?: <finish_node's answer> | {error}}   healthy with
                     rebootRequired true: rebooted, but the sentinel is back (packages: its .pkgs); the node
                     is marked "still-required"
finish_node      {cluster, node, labels?, annotations?, untaint?=false, stillRequired?=false (the last-result
                  annotation, if asked for, then says patched-still-required), next?: node name (then settings:
                  the node's whole settings, as preflight_node takes them)}
                 -> {uncordon: <uncordon_node's answer>, marks?: <mark_node's answer>, taint?: {..} | {error},
                     next?: <preflight_node's answer for the next node> | {node, error}}
                 after a healthy reboot, in one call: marks, our uncordon, the pending taint off, and the
                 next node's preflight (its blockers and the nodes out, counted after our uncordon)
set_pending_taint {cluster, settings, nodes: [node], pending: bool}
                 -> {results: [{node, tainted, changed, reason}]}   (our PreferNoSchedule taint only)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from rebooter.arm import clients
from rebooter.config import names
from rebooter.contract import LAST_RESULT_ANNOTATION
from rebooter.kube import marks, taint
from rebooter.kube.cordon import cordon, uncordon
from rebooter.kube.drain import DrainOptions
from rebooter.kube.eviction import drain_pass
from rebooter.kube.health import check_health
from rebooter.kube.kubeapi import KubeError, error_message
from rebooter.kube.reboot import request_reboot
from rebooter.kube.watching import MAX_WATCH_SECONDS
from rebooter.outcomes import PATCHED_STILL_REQUIRED


def _target(payload: dict) -> tuple[Any, str]:
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object payload, got {type(payload).__name__}")
    cluster = names.parse_cluster_id(payload.get("cluster")).resource_id
    node = names.check_node_name(payload.get("node"))
    return clients.kube_api(cluster, clients.access_of(payload)), node


@contextlib.contextmanager
def _api_errors(action: str, node: str) -> Iterator[None]:
    """Turn a raw client error into one clear line (the orchestrator sees only the message)."""
    try:
        yield
    except ApiException as exc:
        raise KubeError(f"{action} {node}: {error_message(exc)}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise KubeError(f"{action} {node}: Kubernetes API unreachable: {error_message(exc)}") from None


def _flag(payload: dict, key: str) -> bool:
    """An optional boolean field (absent or null: false)."""
    value = payload.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def cordon_node(payload: dict) -> dict:
    api, node = _target(payload)
    with _api_errors("cordon", node):
        return cordon(api, node, payload.get("owner") or "rebooter")


def uncordon_node(payload: dict) -> dict:
    api, node = _target(payload)
    with _api_errors("uncordon", node):
        return uncordon(api, node)


def _wait_seconds(payload: dict) -> float:
    """How long the activity may watch for its event (0 = answer at once); bounded."""
    value = payload.get("waitSeconds", 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_WATCH_SECONDS:
        raise ValueError(f"waitSeconds: expected a number of seconds from 0 to {MAX_WATCH_SECONDS}, got {value!r}")
    return float(value)


def drain_node(payload: dict) -> dict:
    """One drain pass; with ``cordonOwner`` the cordon first, in the same call (cordon + first
    pass: one round trip). A node someone else cordoned is not drained: the answer is
    ``{status: "not ours", cordon}`` and the orchestrator leaves it alone."""
    options = DrainOptions.from_dict(payload.get("options") if isinstance(payload, dict) else None)
    api, node = _target(payload)
    wait = _wait_seconds(payload)
    cordoned = None
    if payload.get("cordonOwner") is not None:
        with _api_errors("cordon", node):
            cordoned = cordon(api, node, payload["cordonOwner"])
        if cordoned["alreadyCordoned"] and not cordoned["cordonedByUs"]:
            return {"status": "not ours", "cordon": cordoned}
    reboot_after = _part(payload, "rebootAfter")
    with _api_errors("drain", node):
        drained = drain_pass(api, node, options, force_delete=_flag(payload, "forceDelete"), wait_seconds=wait)
    if cordoned is not None:
        drained = {**drained, "cordon": cordoned}
    if reboot_after is not None and drained.get("status") == "done":
        # The drain is done and nothing comes between it and the reboot (no pre-reboot labels, no
        # reboot delay): ask now, one round trip less. A failure here is handed back, not raised:
        # the drain stands, and the orchestrator asks again with reboot_node and its retries.
        asked = {**payload, "bootId": reboot_after.get("bootId"), "method": reboot_after.get("method")}
        drained["reboot"] = _answer_or_error(lambda: _reboot(api, node, asked))
    return drained


def reboot_node(payload: dict) -> dict:
    api, node = _target(payload)
    return _reboot(api, node, payload)


def _reboot(api: Any, node: str, payload: dict) -> dict:
    method = payload.get("method") or payload["settings"].get("rebootMethod")
    if method not in ("pod", "vmss"):
        raise ValueError(f"method: expected a reboot method, pod or vmss (or settings.rebootMethod), got {method!r}")
    kind = clients.access_of(payload)["credential"]
    with _api_errors("reboot", node):
        return request_reboot(api, node, payload.get("bootId"), method,
                              compute=lambda subscription_id: clients.compute(subscription_id, kind))


def check_node_health(payload: dict) -> dict:
    """Health, watched up to ``waitSeconds``; with ``finish``, a healthy node is finished in the
    same call (marks, our uncordon, the taint off, the next node's preflight: finish_node)."""
    api, node = _target(payload)
    wait = _wait_seconds(payload)
    finish = _part(payload, "finish")
    with _api_errors("check health of", node):
        health = check_health(api, node, payload.get("bootIdBefore"), wait_seconds=wait)
    if finish is not None and health.get("healthy"):
        fields = {k: finish[k] for k in FINISH_FIELDS if k in finish}
        asked = {**payload, **fields, "stillRequired": bool(health.get("rebootRequired"))}
        health["finish"] = _answer_or_error(lambda: _finish(api, node, asked))
    return health


# What check_node_health's ``finish`` may carry: finish_node's own fields, nothing that would
# redirect the call (cluster, node).
FINISH_FIELDS = ("labels", "annotations", "untaint", "next", "settings")


def _part(payload: dict, key: str) -> dict | None:
    """An optional object field of the payload (absent or null: None)."""
    value = payload.get(key)
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"{key}: expected a JSON object or null, got {type(value).__name__}")
    return value


def _answer_or_error(call: Any) -> dict:
    """The answer of the folded second step, or its error as ``{error}``: the first step's answer
    stands, and the orchestrator runs the second step again as its own activity, with retries."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - handed back to the orchestrator, which decides
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}


def set_pending_taint(payload: dict) -> dict:
    """Add or remove the reboot-pending taint on several nodes in one call (one per cycle after
    planning, one per node once it is healthy); each node is idempotent on its own."""
    if not isinstance(payload, dict) or not isinstance(payload.get("pending"), bool):
        raise ValueError("expected {cluster, settings, nodes: [node names], pending: true|false}")
    nodes = payload.get("nodes")
    if not isinstance(nodes, list):
        raise ValueError(f"nodes: expected a list of node names, got {nodes!r}")
    cluster = names.parse_cluster_id(payload.get("cluster")).resource_id
    checked = [names.check_node_name(n) for n in nodes]
    api = clients.kube_api(cluster, clients.access_of(payload))
    results = []
    for node in checked:
        with _api_errors("taint" if payload["pending"] else "untaint", node):
            results.append(taint.set_pending(api, node, payload["pending"]))
    return {"results": results}


def finish_node(payload: dict) -> dict:
    """The end of a patched node in one round trip: labels and annotations, our uncordon (only a
    cordon that carries our mark), the reboot-pending taint removed, and the preflight of the
    node that comes next. Each part is idempotent on its own, so the whole call is: a second run
    finds the marks set, the node schedulable ("already schedulable") and the taint gone.

    The taint and the next preflight are courtesies: a failure there is reported in the answer
    (the next node then runs its own preflight), never the node's failure. Marks and uncordon
    raise like mark_node and uncordon_node do."""
    api, node = _target(payload)
    return _finish(api, node, payload)


def _finish(api: Any, node: str, payload: dict) -> dict:
    answer: dict[str, Any] = {}
    labels, notes = payload.get("labels"), payload.get("annotations")
    if notes and LAST_RESULT_ANNOTATION in notes and _flag(payload, "stillRequired"):
        notes = {**notes, LAST_RESULT_ANNOTATION: PATCHED_STILL_REQUIRED}  # back, but the sentinel is set again
    if labels or notes:
        with _api_errors("mark", node):
            answer["marks"] = marks.mark(api, node, labels, notes)
    with _api_errors("uncordon", node):
        answer["uncordon"] = uncordon(api, node)
    if _flag(payload, "untaint"):
        try:
            with _api_errors("untaint", node):
                answer["taint"] = taint.set_pending(api, node, False)
        except KubeError as exc:
            answer["taint"] = {"node": node, "error": str(exc)}
    following = payload.get("next")
    if following is not None:
        from activities.cluster import preflight_node

        try:
            answer["next"] = preflight_node({**payload, "node": names.check_node_name(following)})
        except Exception as exc:  # noqa: BLE001 - the next node checks for itself
            answer["next"] = {"node": str(following)[:253], "error": f"{type(exc).__name__}: {exc}"[:500]}
    return answer
