"""Node objects as an AKS node's kubelet registers them, and the condition changes around a reboot.

Labels, addresses, capacity and ``status.nodeInfo`` follow what ``kubectl get node -o yaml``
shows on AKS; the Ready condition moves the way the kubelet and the node lifecycle controller
move it (Unknown / NodeStatusUnknown while the kubelet is silent, with the unreachable taints).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from lab.sandbox.faults import FaultPlan
from lab.sandbox.kube import Scheduler, Store
from lab.sandbox.model import ClusterSpec, NodeSpec, PoolSpec, Scenario
from lab.sandbox.timeline import Timeline

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
LIFECYCLE_TAINTS = (UNREACHABLE, NOT_READY, UNSCHEDULABLE)


@dataclass
class HostFacts:
    """What is true on the node's host, whatever the API says: the probe pod reads these."""

    name: str
    pool: str
    os_type: str
    sentinel: bool
    packages: list[str]
    boot_id: str
    kernel: str
    pending_kernel: str
    sentinel_survives: bool = False  # a package sets the sentinel again at every boot (scenario sentinelSurvivesReboot)
    packages_after_reboot: list[str] = field(default_factory=list)  # its .pkgs then (empty: the same packages)
    up: bool = True  # the kubelet is running (False during a reboot or when it never came back)
    reboots: list[str] = field(default_factory=list)  # "pod" / "vmss" per completed reboot
    rebooting: bool = False
    via: str = ""  # how the current or last reboot was triggered


class SimulatedCluster(Protocol):
    """What the simulated kubelet and controllers use of the sandbox cluster (cluster.SandboxCluster
    builds them and passes itself): the scenario, the store, the timers, the timeline, the faults
    and the hosts. A protocol, so they sit below the cluster instead of importing it back."""

    scenario: Scenario
    store: Store
    scheduler: Scheduler
    timeline: Timeline
    faults: FaultPlan
    hosts: dict[str, HostFacts]

    def node_ready(self, name: str) -> bool: ...

    def node_ip(self, name: str) -> str: ...


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cpus(vm_size: str) -> int:
    m = re.match(r"Standard_[A-Za-z]+?(\d+)", vm_size)
    return max(1, int(m.group(1))) if m else 2


def condition(kind: str, status: str, reason: str, message: str, when: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": when, "lastTransitionTime": when}


def healthy_conditions(ready: bool, when: str) -> list[dict]:
    return [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", when),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", when),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", when),
        condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", when) if ready else
        condition("Ready", "False", "KubeletNotReady",
                  "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                  "message:Network plugin returns error: cni plugin not initialized", when),
    ]


def unknown_conditions(old: list[dict], when: str) -> list[dict]:
    """What the node lifecycle controller writes when the kubelet stops posting status."""
    out = []
    for cond in old:
        new = dict(cond, status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                   lastTransitionTime=when)
        out.append(new)
    return out


def lifecycle_taints(taints: list[dict], ready: str, unschedulable: bool, when: str) -> list[dict]:
    """The node's taints with the lifecycle controller's own ones brought in line with its state."""
    kept = [t for t in taints if t.get("key") not in LIFECYCLE_TAINTS]
    extra = []
    if unschedulable:
        extra.append({"key": UNSCHEDULABLE, "effect": "NoSchedule", "timeAdded": when})
    if ready == "Unknown":
        extra += [{"key": UNREACHABLE, "effect": "NoSchedule"}, {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": when}]
    elif ready == "False":
        extra += [{"key": NOT_READY, "effect": "NoSchedule"}, {"key": NOT_READY, "effect": "NoExecute", "timeAdded": when}]
    previous = {(t.get("key"), t.get("effect")): t for t in taints}
    extra = [previous.get((t["key"], t["effect"]), t) for t in extra]
    return kept + extra


def build_node(cluster: ClusterSpec, pool: PoolSpec, spec: NodeSpec, host: HostFacts, index: int) -> dict:
    """The Node object for one scenario node (index numbers the node cluster-wide for its IP)."""
    linux = spec.os_type == "Linux"
    os_label = "linux" if linux else "windows"
    labels = {
        "agentpool": pool.name, "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": pool.vm_size,
        "beta.kubernetes.io/os": os_label, "failure-domain.beta.kubernetes.io/region": cluster.location,
        "failure-domain.beta.kubernetes.io/zone": spec.zone, "kubernetes.azure.com/agentpool": pool.name,
        "kubernetes.azure.com/cluster": cluster.node_resource_group, "kubernetes.azure.com/mode": pool.mode.lower(),
        "kubernetes.azure.com/node-image-version": pool.node_image_version,
        "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets", "kubernetes.azure.com/os-sku": pool.os_sku,
        "kubernetes.azure.com/role": "agent", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": os_label, "kubernetes.io/role": "agent", "node-role.kubernetes.io/agent": "",
        "node.kubernetes.io/instance-type": pool.vm_size, "topology.kubernetes.io/region": cluster.location,
        "topology.kubernetes.io/zone": spec.zone, "storageprofile": "managed", "storagetier": "Premium_LRS",
        **dict(spec.labels),
    }
    if not linux:
        labels["node.kubernetes.io/windows-build"] = ".".join(host.kernel.split(".")[:3])
    cpus = _cpus(pool.vm_size)
    memory_ki = cpus * 4 * 1024 * 1024 - 700000
    when = now_iso()
    ready = "True" if spec.ready else "False"
    taints = [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect} for t in spec.taints]
    node_spec: dict = {"providerID": spec.provider_id,
                       "taints": lifecycle_taints(taints, ready, bool(spec.cordoned_by), when)}
    if spec.cordoned_by:
        node_spec["unschedulable"] = True
    if not node_spec["taints"]:
        del node_spec["taints"]
    ip = f"10.224.{index // 250}.{index % 250 + 4}"
    return {
        "metadata": {"name": spec.name, "labels": labels, "annotations": {
            "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            "csi.volume.kubernetes.io/nodeid": f'{{"disk.csi.azure.com":"{spec.name}","file.csi.azure.com":"{spec.name}"}}'}},
        "spec": node_spec,
        "status": {
            "capacity": {"cpu": str(cpus), "ephemeral-storage": "129886128Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                         "memory": f"{memory_ki + 700000}Ki", "pods": str(pool.max_pods)},
            "allocatable": {"cpu": f"{cpus * 1000 - 140}m", "ephemeral-storage": "119716326407", "hugepages-1Gi": "0",
                            "hugepages-2Mi": "0", "memory": f"{memory_ki}Ki", "pods": str(pool.max_pods)},
            "conditions": healthy_conditions(spec.ready, when),
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": spec.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": host.boot_id,
                "containerRuntimeVersion": "containerd://1.7.22-1" if linux else "containerd://1.6.35+azure",
                "kernelVersion": host.kernel, "kubeProxyVersion": f"v{pool.orchestrator_version}",
                "kubeletVersion": f"v{pool.orchestrator_version}", "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, spec.name).hex,
                "operatingSystem": os_label, "osImage": pool.os_image,
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_OID, spec.name)),
            },
        },
    }


def ready_status(node: dict) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status"))
    return "Unknown"


def node_state(node: dict) -> dict:
    """The facts the timeline tracks for a node."""
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return {
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
        "ready": ready_status(node),
        "bootID": info.get("bootID", ""),
        "kernel": info.get("kernelVersion", ""),
        "taints": sorted(f"{t.get('key')}:{t.get('effect')}" for t in (node.get("spec") or {}).get("taints") or []),
    }
