"""Is the node healthy after its reboot? Ready, a new boot ID, and what the sentinel says.

kured releases its lock without checking any of this; we check all three. Ready and the boot
ID come from the Node object. The sentinel file can only be seen from the node, so a probe pod
(the same manifest the run-command probe uses, ``rebooter.arm.probe_pod``) runs there once the node
is back; its name is deterministic, so each call either creates it (409 = already there) or
reads where it is. Without ``wait_seconds`` one call never waits: it answers ``pending`` and the
orchestrator calls again after a durable timer; with it, the call watches the API (bounded) for
the node's return and then for the probe pod (rebooter.watching), so the verification starts the
moment the node is Ready with its new boot ID.

When the node is healthy the reboot pod is deleted and the node annotated (last reboot time,
state "done", and the boot ID that passed), so calling again answers "healthy" from the node's
own marks without another probe.

A node whose ``/var/run/reboot-required`` is there again right after a good reboot (a package
that asks at every boot) is still healthy: it rebooted into its new boot and can go back into
service. The answer says ``rebootRequired: true`` with the packages, and the node is annotated
with state ``still-required`` and those packages, so planning leaves it alone for the reboot-loop
cooldown instead of rebooting it again every cycle (what kured does: kured#976).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from rebooter import contract
from rebooter.arm.probe_pod import parse_probe_output, probe_pod_manifest
from rebooter.contract import VERIFIED_BOOT_ID_ANNOTATION, probe_pod_name
from rebooter.kube.kubeapi import KubeError, call, call_json, error_message, format_time
from rebooter.kube.nodeinfo import (
    annotations,
    boot_id,
    is_ready,
    kernel,
    read_node,
    ready_condition,
)
from rebooter.kube.watching import node_back, wait_node_back, wait_node_down_or_back, wait_pod_finished

VERIFY_RUN_ID = "verify"


def verify_pod_name(node: str) -> str:
    return probe_pod_name(node, VERIFY_RUN_ID)


def _delete_pod(core: k8s.CoreV1Api, name: str, namespace: str) -> None:
    try:
        call_json(core.delete_namespaced_pod, name, namespace, body={"gracePeriodSeconds": 0})
    except ApiException as exc:
        if exc.status != 404:
            raise KubeError(f"delete pod {namespace}/{name}: {error_message(exc)}") from None


def _pod_failure(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        terminated = (container.get("state") or {}).get("terminated") or {}
        if terminated:
            return f"exit code {terminated.get('exitCode')} {terminated.get('reason', '')}".strip()
    return status.get("reason") or status.get("message") or "no reason given"


def _run_probe(core: k8s.CoreV1Api, node: str) -> tuple[dict[str, Any] | None, str]:
    """Create or read the verification probe. Returns (probe line, "") when it finished, else (None, why)."""
    name, namespace = verify_pod_name(node), contract.PROBE_NAMESPACE
    try:
        pod = call_json(core.create_namespaced_pod, namespace, probe_pod_manifest(node, VERIFY_RUN_ID, False))
    except ApiException as exc:
        if exc.status != 409:
            raise KubeError(f"create probe pod {namespace}/{name}: {error_message(exc)}") from None
        try:
            pod = call_json(core.read_namespaced_pod, name, namespace)
        except ApiException as exc2:
            if exc2.status == 404:
                return None, f"probe pod {name} is being replaced"
            raise KubeError(f"read probe pod {namespace}/{name}: {error_message(exc2)}") from None
    phase = (pod.get("status") or {}).get("phase") or "Pending"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None, f"probe pod {name} is terminating"
    if phase == "Failed":
        _delete_pod(core, name, namespace)
        return None, f"probe pod {name} failed ({_pod_failure(pod)}); it will be created again"
    if phase != "Succeeded":
        return None, f"probe pod {name} is {phase}"
    try:  # the probe's line is its termination message: no log request (the log when it is cut)
        answer = parse_probe_output(_termination_message(pod))
    except ValueError:
        try:
            log = call(core.read_namespaced_pod_log, name, namespace, container="probe")
        except ApiException as exc:
            raise KubeError(f"read log of probe pod {namespace}/{name}: {error_message(exc)}") from None
        try:
            answer = parse_probe_output(log if isinstance(log, str) else str(log))
        except ValueError as exc:
            _delete_pod(core, name, namespace)
            return None, f"probe pod {name}: {exc}; it will be created again"
    _delete_pod(core, name, namespace)
    return answer, ""


def _termination_message(pod: dict[str, Any]) -> str:
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        message = ((container.get("state") or {}).get("terminated") or {}).get("message")
        if message:
            return str(message)
    return ""


def _start_probe_early(core: k8s.CoreV1Api, node: str) -> None:
    """The node is down for its reboot: create the verification pod now, bound to it, so its
    kubelet runs it as soon as it is back instead of after a watch event and a create. The
    kubelet runs the pods bound to its node when it starts (a pod created while the node is
    down waits for it); the probe tolerates every taint, so the node's unreachable and
    not-ready taints do not evict it. Created before the reboot really took the old kubelet
    down, it would answer the old boot ID: the health check sees that, deletes it and probes
    again. Best effort: on any error the check creates it after the node is back, as before."""
    try:
        call_json(core.create_namespaced_pod, contract.PROBE_NAMESPACE, probe_pod_manifest(node, VERIFY_RUN_ID, False))
    except (ApiException, urllib3.exceptions.HTTPError):  # 409: already there; anything else: created later
        pass


def check_health(
    api: k8s.ApiClient, node: str, boot_id_before: str, now: datetime | None = None, wait_seconds: float = 0.0
) -> dict[str, Any]:
    """One health check; the result shape is documented in activities/nodes.py.

    With ``wait_seconds`` > 0 the check waits on the API for what it lacks, within that bound:
    first for the node to be Ready with a new boot ID (a watch on the node), then at once for the
    verification pod to finish (a watch on the pod). ``waited`` in the result says the bound was
    reached without an answer, so the orchestrator can call again without a timer."""
    if not isinstance(boot_id_before, str) or not boot_id_before:
        raise ValueError(f"expected the boot ID before the reboot (bootIdBefore), got {boot_id_before!r}")
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    if wait_seconds > 0 and not node_back(read_node(api, node), boot_id_before):
        if wait_node_down_or_back(api, node, boot_id_before, wait_seconds) == "down":
            _start_probe_early(k8s.CoreV1Api(api), node)
            wait_node_back(api, node, boot_id_before, deadline - time.monotonic())
    result = _check(api, node, boot_id_before, now)
    left = deadline - time.monotonic()
    if result["pending"] and not result["healthy"] and left >= 1.0 and result["ready"] \
            and result["bootId"] != boot_id_before:
        wait_pod_finished(api, contract.PROBE_NAMESPACE, verify_pod_name(node), left)
        result = _check(api, node, boot_id_before, now)
    if wait_seconds > 0 and result["pending"] and not result["healthy"]:
        result["waited"] = time.monotonic() >= deadline - 1.0
    return result


def _check(api: k8s.ApiClient, node: str, boot_id_before: str, now: datetime | None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    core = k8s.CoreV1Api(api)
    obj = read_node(api, node)
    current, ready = boot_id(obj), is_ready(obj)
    result: dict[str, Any] = {
        "healthy": False,
        "pending": True,
        "ready": ready,
        "bootId": current,
        "kernel": kernel(obj),
        "rebootRequired": None,
        "reasons": [],
    }
    if not ready:
        condition = ready_condition(obj)
        detail = f"Ready={condition.get('status', 'missing')}"
        if condition.get("reason"):
            detail += f", {condition['reason']}"
        result["reasons"].append(f"node is not Ready ({detail})")
    if current == boot_id_before:
        result["reasons"].append("boot ID unchanged: the node has not rebooted yet")
    if result["reasons"]:
        return result

    notes = annotations(obj)
    if notes.get(VERIFIED_BOOT_ID_ANNOTATION) == current:
        still = notes.get(contract.REBOOT_STATE_ANNOTATION) == contract.REBOOT_STATE_STILL_REQUIRED
        packages = [p for p in notes.get(contract.STILL_REQUIRED_PACKAGES_ANNOTATION, "").split(",") if p] if still else []
        result.update(healthy=True, pending=False, rebootRequired=still, packages=packages)
        return result

    probe, why = _run_probe(core, node)
    if probe is None:
        result["reasons"].append(why)
        return result
    if probe.get("bootId") != current:
        result["reasons"].append(
            f"probe answered for boot ID {probe.get('bootId')!r}, the node now has {current!r}; probing again"
        )
        return result
    still = bool(probe.get("rebootRequired"))
    packages = [str(p) for p in probe.get("packages") or []] if still else []
    result.update(healthy=True, pending=False, rebootRequired=still, packages=packages)
    _delete_pod(core, contract.reboot_pod_name(node), contract.REBOOT_NAMESPACE)
    patch = {"metadata": {"annotations": {
        contract.LAST_REBOOT_ANNOTATION: format_time(now),
        contract.REBOOT_STATE_ANNOTATION: contract.REBOOT_STATE_STILL_REQUIRED if still else "done",
        contract.STILL_REQUIRED_PACKAGES_ANNOTATION: ",".join(packages)[:1000] if still else None,
        VERIFIED_BOOT_ID_ANNOTATION: current,
    }}}
    try:
        call_json(core.patch_node, node, patch)
    except ApiException as exc:
        raise KubeError(f"annotate {node} as rebooted: {error_message(exc)}") from None
    return result
