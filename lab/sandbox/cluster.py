"""SandboxCluster: a scenario turned into a live cluster (store objects + host facts + simulation).

It fills the Kubernetes store with the scenario's nodes (AKS labels, nodeInfo, conditions,
addresses, capacity) and workloads in their steady state (pods already Running where they
fit), keeps each node's host facts (sentinel, packages, boot ID, running and pending kernel),
and starts the simulated kubelet and controllers. The ARM emulator and tests use
``reboot_node``, ``node_by_vmss_instance`` and ``host_facts``.
"""

from __future__ import annotations

import dataclasses
import random
import uuid

from lab.sandbox import pods as podstatus
from lab.sandbox import workloads as wl
from lab.sandbox.controller_status import sync as sync_status
from lab.sandbox.controllers import Controllers
from lab.sandbox.faults import FaultPlan
from lab.sandbox.kube import ApiError
from lab.sandbox.kubelet import Kubelet
from lab.sandbox.model import Scenario, WorkloadSpec
from lab.sandbox.naming import suffix
from lab.sandbox.nodes import HostFacts, build_node, ready_status
from lab.sandbox.placement import affinity_ok, choose, owner_uid, pod_counts, taints_ok, unschedulable_message
from lab.sandbox.recorder import Recorder, RecordingStore
from lab.sandbox.scheduler import TimerScheduler
from lab.sandbox.timeline import Timeline, acting_as


class SandboxCluster:
    def __init__(self, scenario: Scenario, timeline: Timeline | None = None, faults: FaultPlan | None = None) -> None:
        self.scenario = scenario
        self.timeline = timeline or Timeline()
        self.faults = faults or FaultPlan(scenario.faults, scenario)
        self.scheduler = TimerScheduler()
        self.store = RecordingStore(self.scheduler)
        self.store.timeline = self.timeline
        self.store.pod_termination_seconds = scenario.timings.pod_termination_seconds
        self.hosts: dict[str, HostFacts] = {}
        self._ips: dict[str, str] = {}
        self._vmss: dict[tuple[str, str], str] = {}
        self._rng = random.Random(scenario.seed)
        self.recorder = Recorder(self.store, self.timeline)
        with acting_as("scenario"):
            self._build()
        self.kubelet = Kubelet(self)
        self.controllers = Controllers(self)

    # ---- used by the ARM emulator, the runtime and tests ------------------------------------

    def reboot_node(self, name: str, via: str = "vmss") -> None:
        """Reboot a node as its VM restart would (asynchronous: runs on the sandbox scheduler)."""
        if name not in self.hosts:
            raise KeyError(name)
        self.scheduler.call_later(0, lambda: self.kubelet.reboot(name, via))

    def node_by_vmss_instance(self, vmss: str, instance_id: str | int) -> str | None:
        return self._vmss.get((vmss.lower(), str(instance_id)))

    def host_facts(self, name: str) -> HostFacts:
        """A copy of what is true on the node's host right now."""
        host = self.hosts[name]
        return dataclasses.replace(host, packages=list(host.packages), reboots=list(host.reboots),
                                   packages_after_reboot=list(host.packages_after_reboot))

    def node_ready(self, name: str) -> bool:
        host = self.hosts.get(name)
        if host is None or not host.up:
            return False
        try:
            return ready_status(self.store.get("nodes", name)) == "True"
        except Exception:
            return False

    def node_ip(self, name: str) -> str:
        return self._ips.get(name, "10.224.0.4")

    def start_command_pod(self, command_id: str) -> str:
        """Run-command's ``command-<id>`` pod in ``aks-command``, Running on a fitting node.

        Returns "" when it runs, or why it cannot be scheduled (then the command fails, as on
        AKS where the pod must start within about a minute).
        """
        if not self.scenario.cluster.run_command_pods:
            return ""
        with acting_as("aks-command"), self.store.lock:
            if not self.store.list("namespaces", field_selector="metadata.name=aks-command"):
                self.store.create("namespaces", {"metadata": {"name": "aks-command"}})
            pod = wl.command_pod(command_id)
            nodes, _ = self.store.list_raw("nodes")
            pods, _ = self.store.list_raw("pods")
            total, same = pod_counts(pods, "")
            node = choose(pod, nodes, {n: h.up for n, h in self.hosts.items()}, total, same)
            if node is None:
                return "the command pod could not be scheduled: " + unschedulable_message(len(nodes))
            pod["spec"]["nodeName"] = node
            pod["status"] = podstatus.running(pod, self.node_ip(node))
            self.store.create("pods", pod)
        return ""

    def finish_command_pod(self, command_id: str) -> None:
        if not self.scenario.cluster.run_command_pods:
            return
        with acting_as("aks-command"):
            try:
                self.store.delete("pods", f"command-{command_id}", "aks-command", grace_period_seconds=0)
            except ApiError:
                pass

    def stop(self) -> None:
        self.kubelet.close()
        self.controllers.close()
        self.recorder.close()
        self.scheduler.stop()

    # ---- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        s = self.scenario
        namespaces = {w.namespace for w in s.workloads} | {p.namespace for p in s.pdbs}
        existing = {n["metadata"]["name"] for n in self.store.list("namespaces")}
        for ns in sorted(namespaces - existing):
            self.store.create("namespaces", {"metadata": {"name": ns}})
        self.nodes: dict[str, dict] = {}
        for index, spec in enumerate(s.nodes):
            host = HostFacts(name=spec.name, pool=spec.pool, os_type=spec.os_type, sentinel=spec.reboot_required,
                             packages=list(spec.packages), boot_id=str(uuid.UUID(int=self._rng.getrandbits(128),
                                                                                      version=4)),
                             kernel=spec.kernel, pending_kernel=spec.pending_kernel if spec.reboot_required else "",
                             sentinel_survives=spec.sentinel_survives_reboot,
                             packages_after_reboot=list(spec.packages_after_reboot))
            self.hosts[spec.name] = host
            self._vmss[(spec.vmss.lower(), str(spec.instance_id))] = spec.name
            node = self.store.create("nodes", build_node(s.cluster, s.pool(spec.pool), spec, host, index))
            self.nodes[spec.name] = node
            self._ips[spec.name] = node["status"]["addresses"][0]["address"]
        self._total: dict[str, int] = {}
        self._same: dict[str, dict[str, int]] = {}
        for w in s.workloads:
            getattr(self, f"_build_{w.kind.lower()}")(w)
            if w.pdb:
                self.store.create("poddisruptionbudgets", wl.workload_pdb(w))
        for p in s.pdbs:
            self.store.create("poddisruptionbudgets", wl.extra_pdb(p))
        for kind, plural in (("ReplicaSet", "replicasets"), ("StatefulSet", "statefulsets"), ("DaemonSet", "daemonsets")):
            for obj in self.store.list(plural):
                sync_status(self.store, kind, obj["metadata"]["namespace"], obj["metadata"]["name"])

    def _place(self, pod: dict) -> dict:
        """Bind a build-time pod (spread like the scheduler) and give it its steady-state status."""
        node = pod["spec"].get("nodeName")
        if not node:
            owner = owner_uid(pod) or pod["metadata"]["name"]
            same = self._same.setdefault(owner, {})
            up = {n: h.up for n, h in self.hosts.items()}
            node = choose(pod, self.nodes.values(), up, self._total, same)
            if node is None:
                pod["status"] = podstatus.pending_unschedulable("0/0 nodes are available")
                return self.store.create("pods", pod)
            same[node] = same.get(node, 0) + 1
            pod["spec"]["nodeName"] = node
        self._total[node] = self._total.get(node, 0) + 1
        ready = ready_status(self.nodes[node]) == "True"
        pod["status"] = podstatus.running(pod, self._ips[node], ready=ready)
        return self.store.create("pods", pod)

    def _build_deployment(self, w: WorkloadSpec) -> None:
        deploy = self.store.create("deployments", wl.deployment(w))
        rs = self.store.create("replicasets", wl.replicaset(w, deploy))
        for _ in range(w.replicas):
            self._place(wl.controlled_pod(rs["spec"]["template"], rs, name=f"{rs['metadata']['name']}-{suffix(self._rng)}"))

    def _build_statefulset(self, w: WorkloadSpec) -> None:
        sts = self.store.create("statefulsets", wl.statefulset(w))
        for i in range(w.replicas):
            pod = wl.controlled_pod(sts["spec"]["template"], sts, name=f"{w.name}-{i}")
            pod["metadata"]["labels"].update({"statefulset.kubernetes.io/pod-name": f"{w.name}-{i}",
                                              "apps.kubernetes.io/pod-index": str(i)})
            pod["spec"].update(hostname=f"{w.name}-{i}", subdomain=w.name)
            self._place(pod)

    def _build_daemonset(self, w: WorkloadSpec) -> None:
        ds = self.store.create("daemonsets", wl.daemonset(w))
        template = ds["spec"]["template"]
        for name, node in self.nodes.items():
            if affinity_ok(template, node) and taints_ok(template, node):
                pod = wl.controlled_pod(template, ds, name=f"{w.name}-{suffix(self._rng)}")
                pod["spec"]["nodeName"] = name
                self._place(pod)

    def _build_pod(self, w: WorkloadSpec) -> None:
        pod = wl.bare_pod(w, w.nodes[0] if w.nodes else "")
        self._place(pod)

    def _build_mirrorpod(self, w: WorkloadSpec) -> None:
        for node in w.nodes:
            self._place(wl.mirror_pod(w, self.nodes[node]))
