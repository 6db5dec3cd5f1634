"""Just enough of kube-controller-manager and kube-scheduler for drains to behave as on AKS.

* scheduler: an unbound pod goes to a fitting node (sandbox.placement), or stays Pending
  (Unschedulable) and is retried whenever a node changes;
* Deployment -> ReplicaSet -> pods, StatefulSet -> ordinal pods: a pod that is deleted or
  evicted is replaced after the scenario's re-create delay, the replacement being scheduled
  on another schedulable node, so PDB budgets refill as on a real cluster;
* DaemonSet: one pod per matching Linux node (re-created even on a cordoned node, as the
  real controller tolerates unschedulable);
* node lifecycle: the ``node.kubernetes.io/unschedulable`` taint follows spec.unschedulable;
* workload status (replicas, readyReplicas, ...) follows the pods (sandbox.controller_status).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lab.sandbox import controller_status, placement
from lab.sandbox import pods as podstatus
from lab.sandbox.kube import ApiError
from lab.sandbox.kube.patching import JSON_PATCH, MERGE
from lab.sandbox.nodes import SimulatedCluster, lifecycle_taints, now_iso, ready_status
from lab.sandbox.timeline import acting_as
from lab.sandbox.workloads import controlled_pod

OWNED_KINDS = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


def selector_string(obj: dict) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def owned(pods: list[dict], owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    return [p for p in pods if any(r.get("uid") == uid and r.get("controller")
                                   for r in p["metadata"].get("ownerReferences") or [])]


def active(pod: dict) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


class Controllers:
    def __init__(self, cluster: SimulatedCluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.delay = cluster.scenario.timings.recreate_delay_seconds
        self._lock = threading.Lock()
        self._queued: set[tuple] = set()
        self.store.subscribe(self._on_event)
        self._queue(("unbound",), 0, self._bind_all)

    def close(self) -> None:
        self.store.unsubscribe(self._on_event)

    def _queue(self, key: tuple, delay: float, fn: Callable[[], None]) -> None:
        """Run fn once after delay, however many times it is asked for meanwhile."""
        with self._lock:
            if key in self._queued:
                return
            self._queued.add(key)

        def run() -> None:
            with self._lock:
                self._queued.discard(key)
            with acting_as("controller-manager"):
                fn()

        self.cluster.scheduler.call_later(delay, run)

    # ---- store events (store lock held: only queue work) ------------------------------------

    def _on_event(self, event_type: str, kind: str, obj: dict) -> None:
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        if kind == "pods":
            self._on_pod(event_type, obj)
        elif kind == "nodes":
            self._queue(("taints", name), 0, lambda: self._sync_taints(name))
            self._queue(("unbound",), 0.05, self._bind_all)
            if event_type == "ADDED":
                for ds in self.store.list("daemonsets"):
                    self._reconcile_later("DaemonSet", ds["metadata"]["namespace"], ds["metadata"]["name"], 0)
        elif kind in ("replicasets", "statefulsets", "daemonsets", "deployments") and event_type != "DELETED":
            kind_name = {"replicasets": "ReplicaSet", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
                         "deployments": "Deployment"}[kind]
            if event_type == "ADDED" or not _status_only(obj):
                self._reconcile_later(kind_name, ns, name, 0)

    def _on_pod(self, event_type: str, pod: dict) -> None:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        ns = meta.get("namespace", "")
        if event_type != "DELETED" and not spec.get("nodeName") and not meta.get("deletionTimestamp"):
            self._queue(("bind", ns, meta["name"]), 0, lambda: self._bind(ns, meta["name"]))
        for ref in meta.get("ownerReferences") or []:
            kind = ref.get("kind")
            if not ref.get("controller") or kind not in OWNED_KINDS:
                continue
            gone = event_type == "DELETED" or meta.get("deletionTimestamp") or \
                (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if gone:
                self._reconcile_later(kind, ns, ref["name"], self.delay)
            self._queue(("status", kind, ns, ref["name"]), 0.05,
                        lambda k=kind, n=ref["name"]: controller_status.sync(self.store, k, ns, n))

    def _reconcile_later(self, kind: str, ns: str, name: str, delay: float) -> None:
        fn = {"ReplicaSet": self._replicaset, "StatefulSet": self._statefulset, "DaemonSet": self._daemonset,
              "Deployment": self._deployment}[kind]
        self._queue(("reconcile", kind, ns, name), delay, lambda: fn(ns, name))

    # ---- scheduler --------------------------------------------------------------------------

    def _bind_all(self) -> None:
        for pod in self.store.list("pods", field_selector="spec.nodeName="):
            if not pod["metadata"].get("deletionTimestamp"):
                self._bind(pod["metadata"]["namespace"], pod["metadata"]["name"])

    def _bind(self, ns: str, name: str) -> None:
        with self.store.lock:
            try:
                pod = self.store.get("pods", name, ns)
            except ApiError:
                return
            if (pod.get("spec") or {}).get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                return
            nodes, _ = self.store.list_raw("nodes")
            pods, _ = self.store.list_raw("pods")
            total, same = placement.pod_counts(pods, placement.owner_uid(pod))
            up = {n: h.up for n, h in self.cluster.hosts.items()}
            node = placement.choose(pod, nodes, up, total, same)
            if node is None:
                conditions = (pod.get("status") or {}).get("conditions") or []
                if not any(c.get("reason") == "Unschedulable" for c in conditions):
                    status = podstatus.pending_unschedulable(placement.unschedulable_message(len(nodes)))
                    self.store.patch("pods", name, [{"op": "add", "path": "/status", "value": status}], JSON_PATCH,
                                     ns, subresource="status")
                return
            self.store.patch("pods", name, {"spec": {"nodeName": node}}, MERGE, ns)

    # ---- workload controllers ---------------------------------------------------------------

    def _get(self, kind: str, ns: str, name: str) -> dict | None:
        try:
            obj = self.store.get(kind, name, ns)
        except ApiError:
            return None
        return None if obj["metadata"].get("deletionTimestamp") else obj

    def _deployment(self, ns: str, name: str) -> None:
        from lab.sandbox.workloads import owner

        deploy = self._get("deployments", ns, name)
        if deploy is None:
            return
        replicas = int(deploy["spec"].get("replicas", 1))
        sets = owned(self.store.list("replicasets", ns), deploy)
        if not sets:
            template = deploy["spec"]["template"]
            rs = {"metadata": {"generateName": f"{name}-", "namespace": ns, "ownerReferences": [owner(deploy)],
                               "labels": dict(template["metadata"].get("labels") or {})},
                  "spec": {"replicas": replicas, "selector": deploy["spec"]["selector"], "template": template}}
            self.store.create("replicasets", rs)
        elif int(sets[0]["spec"].get("replicas", 1)) != replicas:
            self.store.patch("replicasets", sets[0]["metadata"]["name"], {"spec": {"replicas": replicas}}, MERGE, ns)

    def _replicaset(self, ns: str, name: str) -> None:
        rs = self._get("replicasets", ns, name)
        if rs is None:
            return
        pods = [p for p in owned(self.store.list("pods", ns, selector_string(rs)), rs) if active(p)]
        missing = int(rs["spec"].get("replicas", 1)) - len(pods)
        for _ in range(max(0, missing)):
            self.store.create("pods", controlled_pod(rs["spec"]["template"], rs, generate=f"{name}-"))
        if missing < 0:  # scale down: unscheduled first, then the newest
            pods.sort(key=lambda p: (bool(p["spec"].get("nodeName")), p["metadata"]["creationTimestamp"]))
            for pod in pods[:-missing]:
                self._delete_pod(ns, pod["metadata"]["name"])

    def _statefulset(self, ns: str, name: str) -> None:
        sts = self._get("statefulsets", ns, name)
        if sts is None:
            return
        replicas = int(sts["spec"].get("replicas", 1))
        existing = {p["metadata"]["name"]: p for p in owned(self.store.list("pods", ns, selector_string(sts)), sts)}
        for i in range(replicas):
            pod_name = f"{name}-{i}"
            if pod_name not in existing:  # a terminating pod still exists: wait until it is gone
                pod = controlled_pod(sts["spec"]["template"], sts, name=pod_name)
                pod["metadata"]["labels"].update({"statefulset.kubernetes.io/pod-name": pod_name,
                                                  "apps.kubernetes.io/pod-index": str(i)})
                pod["spec"].update(hostname=pod_name, subdomain=sts["spec"].get("serviceName", name))
                try:
                    self.store.create("pods", pod)
                except ApiError:
                    pass
        for pod_name in existing:
            if int(pod_name.rsplit("-", 1)[-1]) >= replicas:
                self._delete_pod(ns, pod_name)

    def _daemonset(self, ns: str, name: str) -> None:
        ds = self._get("daemonsets", ns, name)
        if ds is None:
            return
        template = ds["spec"]["template"]
        have = {p["spec"].get("nodeName") for p in owned(self.store.list("pods", ns, selector_string(ds)), ds)
                if active(p)}
        for node in self.store.list("nodes"):
            node_name = node["metadata"]["name"]
            if node_name in have or not placement.affinity_ok(template, node) or not placement.taints_ok(template, node):
                continue
            pod = controlled_pod(template, ds, generate=f"{name}-")
            pod["spec"]["nodeName"] = node_name
            self.store.create("pods", pod)

    def _delete_pod(self, ns: str, name: str) -> None:
        try:
            self.store.delete("pods", name, ns)
        except ApiError:
            pass

    # ---- node lifecycle ---------------------------------------------------------------------

    def _sync_taints(self, name: str) -> None:
        with acting_as("node-controller"), self.store.lock:
            try:
                node = self.store.get("nodes", name)
            except ApiError:
                return
            spec = node.get("spec") or {}
            taints = lifecycle_taints(spec.get("taints") or [], ready_status(node), bool(spec.get("unschedulable")),
                                      now_iso())
            if taints != (spec.get("taints") or []):
                self.store.patch("nodes", name, [{"op": "add", "path": "/spec/taints", "value": taints}], JSON_PATCH)


def _status_only(obj: dict) -> bool:
    """A workload event that is only its status being written (nothing to reconcile)."""
    status = obj.get("status") or {}
    return int(status.get("observedGeneration", -1)) == int(obj["metadata"].get("generation", 0))
