"""The simulated kubelets (one per node, in one object) and the node's reboot.

A pod bound to a node starts after the scenario's pod start delay, if the node's kubelet is
up and the node is Ready (otherwise it waits until it is). Two pods are special, as the
contract (rebooter.contract) says:

* a probe pod completes after the probe delay, its log being exactly the line the real probe
  script prints from this node's host facts;
* a reboot pod's command is run for real (sandbox.node_exec: a real shell, only its image's
  executables on PATH, the node's boot ID file); when it asks the host to reboot, the node
  reboots: Ready goes Unknown (NodeStatusUnknown, the unreachable taints) for the reboot
  duration, then True with a new boot ID, the pending kernel running and the sentinel and
  package list gone (unless the scenario says a package sets them again at boot). Its pods
  restart; pods that were evicted are gone. Faults: the node never comes back (stays
  Unknown), comes back NotReady, or starts the finished reboot pod's container again after
  the boot (restartPolicy Never is at least once, kubernetes/kubernetes#83705).

Before any container starts, its image must be known (sandbox.images; else ErrImagePull and
the pod stays Pending) and its command must be in the image (else StartError, exit code 128,
and a Never pod is Failed), as containerd reports them. A pod with activeDeadlineSeconds is
failed (DeadlineExceeded) when it is still active after that long, as the kubelet does.

All work runs on the sandbox scheduler thread; store callbacks only queue it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from lab.sandbox import images
from lab.sandbox import pods as podstatus
from lab.sandbox.kube import ApiError
from lab.sandbox.kube.patching import JSON_PATCH
from lab.sandbox.node_exec import NodeExec, container_env, host_root_mounts
from lab.sandbox.nodes import (
    SimulatedCluster,
    healthy_conditions,
    lifecycle_taints,
    now_iso,
    ready_status,
    unknown_conditions,
)
from lab.sandbox.timeline import acting_as
from rebooter import contract

RERUN_FAULT = "nodeRerunsRebootPod"

class Kubelet:
    def __init__(self, cluster: SimulatedCluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.timings = cluster.scenario.timings
        self._lock = threading.Lock()
        self._queued: set[str] = set()  # pod uids whose start is scheduled
        self._ready = {n["metadata"]["name"]: ready_status(n) == "True" for n in self.store.list("nodes")}
        self.exec = NodeExec()
        self.store.subscribe(self._on_event)

    def close(self) -> None:
        self.store.unsubscribe(self._on_event)
        self.exec.close()

    def _later(self, delay: float, fn: Callable[..., None], *args) -> None:
        self.cluster.scheduler.call_later(delay, lambda: fn(*args))

    # ---- store events (called with the store lock held: only queue work) -------------------

    def _on_event(self, event_type: str, kind: str, obj: dict) -> None:
        if kind == "nodes" and event_type == "MODIFIED":
            name = obj["metadata"]["name"]
            ready = ready_status(obj) == "True"
            if ready and not self._ready.get(name, True):
                self._later(0, self._start_pending, name)
            self._ready[name] = ready
            return
        if kind != "pods":
            return
        meta, spec = obj["metadata"], obj.get("spec") or {}
        if event_type == "DELETED":
            with self._lock:
                self._queued.discard(meta["uid"])
            return
        node = spec.get("nodeName")
        if not node or node not in self.cluster.hosts or meta.get("deletionTimestamp"):
            return
        if (obj.get("status") or {}).get("phase", "Pending") != "Pending" or _backing_off(obj):
            return
        self._queue_start(meta["namespace"], meta["name"], meta["uid"])

    def _queue_start(self, namespace: str, name: str, uid: str) -> None:
        with self._lock:
            if uid in self._queued:
                return
            self._queued.add(uid)
        self._later(self.timings.pod_start_seconds, self._start, namespace, name, uid)

    # ---- pod lifecycle ----------------------------------------------------------------------

    def _pod(self, namespace: str, name: str, uid: str) -> dict | None:
        try:
            pod = self.store.get("pods", name, namespace)
        except ApiError:
            return None
        if pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return None
        return pod

    def _set_status(self, pod: dict, status: dict) -> None:
        meta = pod["metadata"]
        try:
            self.store.patch("pods", meta["name"], [{"op": "add", "path": "/status", "value": status}], JSON_PATCH,
                             meta["namespace"], subresource="status")
        except ApiError:
            pass  # deleted meanwhile

    def _start(self, namespace: str, name: str, uid: str) -> None:
        with self._lock:
            self._queued.discard(uid)
        with acting_as("kubelet"), self.store.lock:
            pod = self._pod(namespace, name, uid)
            if pod is None or (pod.get("status") or {}).get("phase", "Pending") != "Pending":
                return
            node = pod["spec"]["nodeName"]
            if not self.cluster.node_ready(node):
                return  # waits: _start_pending runs when the node is Ready again
            ip = self.cluster.node_ip(node)
            role = (pod["metadata"].get("labels") or {}).get(contract.ROLE_LABEL)
            wants = ((pod["spec"].get("nodeSelector") or {}).get("kubernetes.io/os") or "linux")
            if self.cluster.hosts[node].os_type == "Windows" and wants != "windows":
                message = "Back-off pulling image: no matching manifest for windows/amd64 in the manifest list"
                self._set_status(pod, podstatus.image_pull_backoff(pod, ip, message))
                return
            if not self._can_start(pod, ip):
                return
            self._set_status(pod, podstatus.running(pod, ip, podstatus.restart_count(pod)))
            deadline = pod["spec"].get("activeDeadlineSeconds")
        if deadline:
            self._later(float(deadline), self._deadline, namespace, name, uid)
        if role == contract.ROLE_PROBE:
            self._later(self.timings.probe_completion_seconds, self._finish_probe, namespace, name, uid)
        elif role == contract.ROLE_REBOOT:
            self._later(0.02, self._finish_reboot_pod, namespace, name, uid)

    def _can_start(self, pod: dict, ip: str) -> bool:
        """Pull every image and check every command, as containerd would; set the failure otherwise."""
        for container in podstatus.containers(pod):
            image = images.lookup(container.get("image", ""))
            if image is None:
                self._set_status(pod, podstatus.image_pull_backoff(
                    pod, ip, images.pull_error(container.get("image", "")), reason="ErrImagePull"))
                return False
            why = images.start_error(image, container)
            if why:
                self._set_status(pod, podstatus.start_error(pod, ip, why))
                return False
        return True

    def _deadline(self, namespace: str, name: str, uid: str) -> None:
        """spec.activeDeadlineSeconds passed since the pod started: fail it if it is still active."""
        with acting_as("kubelet"), self.store.lock:
            pod = self._pod(namespace, name, uid)
            if pod is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return
            if not self.cluster.hosts[pod["spec"]["nodeName"]].up:
                return  # the kubelet is down; back up, it fails a pod past its deadline (_rerun_reboot_pods)
            self._set_status(pod, podstatus.deadline_exceeded(pod, self.cluster.node_ip(pod["spec"]["nodeName"])))

    def _start_pending(self, node: str) -> None:
        """The node is Ready again: start what waited, restart what the reboot stopped."""
        if not self.cluster.node_ready(node):
            return
        with acting_as("kubelet"):
            for pod in self.store.list("pods", field_selector=f"spec.nodeName={node}"):
                meta, status = pod["metadata"], pod.get("status") or {}
                if meta.get("deletionTimestamp"):
                    continue
                phase = status.get("phase", "Pending")
                if phase == "Pending":
                    self._queue_start(meta["namespace"], meta["name"], meta["uid"])
                elif phase == "Running" and not _all_ready(pod):
                    self._later(self.timings.pod_start_seconds, self._restart, meta["namespace"], meta["name"],
                                meta["uid"])

    def _restart(self, namespace: str, name: str, uid: str) -> None:
        with acting_as("kubelet"), self.store.lock:
            pod = self._pod(namespace, name, uid)
            if pod is None or (pod.get("status") or {}).get("phase") != "Running" or _all_ready(pod):
                return
            node = pod["spec"]["nodeName"]
            if not self.cluster.node_ready(node):
                return
            ip = self.cluster.node_ip(node)
            if pod["spec"].get("restartPolicy") == "Never":
                self._set_status(pod, podstatus.terminated(pod, ip, 137, "Error"))
            else:
                self._set_status(pod, podstatus.running(pod, ip, podstatus.restart_count(pod) + 1))

    def _finish_probe(self, namespace: str, name: str, uid: str) -> None:
        with acting_as("kubelet"), self.store.lock:
            pod = self._pod(namespace, name, uid)
            if pod is None or (pod.get("status") or {}).get("phase") != "Running":
                return
            node = pod["spec"]["nodeName"]
            host = self.cluster.hosts[node]
            if not host.up:
                return  # the node went down under it; restartPolicy Never fails it when back
            line = contract.probe_line(node, host.sentinel, list(host.packages), host.boot_id, host.kernel)
            self.store.set_pod_log(namespace, name, line + "\n")
            # The probe writes the same line to /dev/termination-log, which the kubelet puts in the
            # container's status, truncating a message longer than 4096 bytes (kubernetes.io, "Determine
            # the Reason for Pod Failure"; kubernetes/website content/en/docs/tasks/debug/
            # debug-application/determine-reason-pod-failure.md). Cut, it is no JSON line any more.
            status = podstatus.terminated(pod, self.cluster.node_ip(node), 0)
            for container in status["containerStatuses"]:
                container["state"]["terminated"]["message"] = line[:4096]
            self._set_status(pod, status)

    def _finish_reboot_pod(self, namespace: str, name: str, uid: str) -> None:
        """Run the reboot pod's command for real; reboot the node only if the command asked for it."""
        with self.store.lock:
            pod = self._pod(namespace, name, uid)
            if pod is None or (pod.get("status") or {}).get("phase") != "Running":
                return
        node = pod["spec"]["nodeName"]
        host = self.cluster.hosts[node]
        container = podstatus.containers(pod)[0]
        image = images.lookup(container.get("image", ""))
        outcome = self.exec.run(node, host.boot_id, image, container, container_env(pod, container),
                                host_root_mounts(pod, container))
        with acting_as("kubelet"), self.store.lock:
            pod = self._pod(namespace, name, uid)
            if pod is None or (pod.get("status") or {}).get("phase") != "Running":
                return
            self.store.set_pod_log(namespace, name, outcome.log)
            self._set_status(pod, podstatus.terminated(pod, self.cluster.node_ip(node), outcome.exit_code))
        self.cluster.timeline.record("reboot_pod", node=node, pod=name, phase="ran", exitCode=outcome.exit_code,
                                     reboot=outcome.reboot, bootID=host.boot_id,
                                     restarts=podstatus.restart_count(pod))
        if outcome.reboot:
            self.reboot(node, via="pod")

    def _rerun_reboot_pods(self, node: str) -> None:
        """Fault nodeRerunsRebootPod: after the boot, start the finished reboot pod's container again
        (kubernetes/kubernetes#83705), unless its active deadline has passed."""
        with acting_as("kubelet"), self.store.lock:
            for pod in self.store.list("pods", field_selector=f"spec.nodeName={node}"):
                meta, status = pod["metadata"], pod.get("status") or {}
                if (meta.get("labels") or {}).get(contract.ROLE_LABEL) != contract.ROLE_REBOOT \
                        or meta.get("deletionTimestamp") or status.get("phase") != "Succeeded":
                    continue
                ip = self.cluster.node_ip(node)
                if _past_deadline(pod):
                    self._set_status(pod, podstatus.deadline_exceeded(pod, ip))
                    continue
                self._set_status(pod, podstatus.running(pod, ip, podstatus.restart_count(pod) + 1))
                self.cluster.timeline.record("reboot_pod", node=node, pod=meta["name"], phase="rerun")
                self._later(0.02, self._finish_reboot_pod, meta["namespace"], meta["name"], meta["uid"])

    # ---- reboot -----------------------------------------------------------------------------

    def reboot(self, node: str, via: str) -> None:
        """Take the node down now and bring it back after the reboot duration (runs on the scheduler)."""
        host = self.cluster.hosts[node]
        with self._lock:
            if host.rebooting or not host.up:
                self.cluster.timeline.record("reboot", node=node, via=via, phase="ignored",
                                             why="already rebooting" if host.rebooting else "node is down")
                return
            host.rebooting, host.up = True, False
            host.via = via
        self.cluster.timeline.record("reboot", node=node, via=via, phase="down", bootID=host.boot_id)
        with acting_as("node-controller"), self.store.lock:
            self._write_node(node, lambda cond, when: unknown_conditions(cond, when), "Unknown")
            for pod in self.store.list("pods", field_selector=f"spec.nodeName={node}"):
                status = pod.get("status") or {}
                if status.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp"):
                    self._set_status(pod, podstatus.mark_not_ready(status))
        self._later(self.timings.reboot_seconds, self._boot, node)

    def _boot(self, node: str) -> None:
        host = self.cluster.hosts[node]
        faults = self.cluster.faults.node_faults(node)
        via = host.via
        host.rebooting = False
        if "nodeNeverReturns" in faults:
            self.cluster.timeline.record("reboot", node=node, via=via, phase="never_back")
            return
        host.boot_id = str(uuid.uuid4())
        self.exec.boot_id_file(node, host.boot_id)
        if host.sentinel_survives:  # a package that asks again at every boot (kured #976)
            host.sentinel = True
            host.packages = list(host.packages_after_reboot or host.packages)
        else:
            host.sentinel = False
            host.packages = []
        if host.pending_kernel:
            host.kernel, host.pending_kernel = host.pending_kernel, ""
        host.up = True
        host.reboots.append(via)
        ready = "nodeReturnsNotReady" not in faults
        with acting_as("kubelet"), self.store.lock:
            self._write_node(node, lambda cond, when: healthy_conditions(ready, when), "True" if ready else "False",
                             {"bootID": host.boot_id, "kernelVersion": host.kernel})
        self.cluster.timeline.record("reboot", node=node, via=via, phase="up", bootID=host.boot_id,
                                     kernel=host.kernel, ready=ready)
        if ready:
            if RERUN_FAULT in faults:
                self._rerun_reboot_pods(node)
            self._start_pending(node)

    def _write_node(self, node: str, conditions, ready: str, node_info: dict | None = None) -> None:
        """Rewrite the node's conditions (and nodeInfo fields), then its lifecycle taints."""
        try:
            obj = self.store.get("nodes", node)
        except ApiError:
            return
        when = now_iso()
        status = dict(obj.get("status") or {})
        status["conditions"] = conditions(status.get("conditions") or [], when)
        if node_info:
            status["nodeInfo"] = {**(status.get("nodeInfo") or {}), **node_info}
        self.store.patch("nodes", node, [{"op": "add", "path": "/status", "value": status}], JSON_PATCH,
                         subresource="status")
        spec = obj.get("spec") or {}
        taints = lifecycle_taints(spec.get("taints") or [], ready, bool(spec.get("unschedulable")), when)
        if taints != (spec.get("taints") or []):
            self.store.patch("nodes", node, [{"op": "add", "path": "/spec/taints", "value": taints}], JSON_PATCH)


def _past_deadline(pod: dict) -> bool:
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    started = (pod.get("status") or {}).get("startTime")
    if not deadline or not started:
        return False
    begun = datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - begun).total_seconds() >= float(deadline)


def _backing_off(pod: dict) -> bool:
    return any(((s.get("state") or {}).get("waiting") or {}).get("reason") in ("ImagePullBackOff", "ErrImagePull",
                                                                             "CrashLoopBackOff")
               for s in (pod.get("status") or {}).get("containerStatuses") or [])


def _all_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])
