"""The parsed, validated shape of a sandbox scenario (see docs/scenarios.md).

Plain frozen dataclasses: the loader (sandbox.scenario) builds them, everything else in the
sandbox only reads them. Node-level facts are already resolved to concrete node names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NODE_OS_UPGRADE_CHANNELS = ("Unmanaged", "SecurityPatch", "NodeImage", "None")
UPGRADE_CHANNELS = ("none", "patch", "stable", "rapid", "node-image")
PROVISIONING_STATES = ("Succeeded", "Upgrading", "Updating", "Creating", "Scaling", "Deleting", "Failed", "Canceled")
POWER_STATES = ("Running", "Stopped")
POOL_MODES = ("System", "User")
OS_TYPES = ("Linux", "Windows")
LINUX_SKUS = ("Ubuntu", "AzureLinux")
WINDOWS_SKUS = ("Windows2022", "Windows2019")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

KUBE_FAULTS = ("kubeApiError", "kubeApiTimeout", "kubeApiThrottle")
ARM_FAULTS = ("armThrottle", "armError")
NODE_FAULTS = ("nodeNeverReturns", "nodeReturnsNotReady")
RUN_COMMAND_FAULTS = ("runCommandFailed", "runCommandNeverStarts", "runCommandSlow")
FAULT_TYPES = KUBE_FAULTS + ARM_FAULTS + NODE_FAULTS + RUN_COMMAND_FAULTS  # what faultrun's random plans draw from
# The kubelet starts a finished reboot pod again after the boot (kubernetes/kubernetes#83705). A node
# fault like the two above, drawn by faultrun's generated plans as a kind of its own (faultrun.generate).
KUBELET_FAULTS = ("nodeRerunsRebootPod",)
SCENARIO_FAULT_TYPES = FAULT_TYPES + KUBELET_FAULTS


@dataclass(frozen=True)
class ClusterSpec:
    subscription_id: str
    resource_group: str
    name: str
    node_resource_group: str
    location: str
    kubernetes_version: str
    node_os_upgrade_channel: str
    upgrade_channel: str
    provisioning_state: str
    power_state: str
    aad_enabled: bool
    disable_local_accounts: bool
    tenant_id: str
    number: str  # the 8 digits in every scale set and node name
    run_command_pods: bool = True  # run-command shows its command-<id> pod in aks-command, like AKS
    disable_run_command: bool = False  # apiServerAccessProfile.disableRunCommand: runCommand is refused

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{self.name}"
        )

    @property
    def dns_prefix(self) -> str:
        return f"{self.name[:10]}-{self.resource_group[:16]}-{self.subscription_id[:6]}".strip("-")

    @property
    def fqdn(self) -> str:
        return f"{self.dns_prefix}-{self.number[:8]}.hcp.{self.location}.azmk8s.io".lower()


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True)
class PoolSpec:
    name: str
    mode: str
    os_type: str
    os_sku: str
    count: int
    zones: tuple[str, ...]
    vm_size: str
    kernel: str
    os_image: str
    node_image_version: str
    max_pods: int
    orchestrator_version: str
    taints: tuple[Taint, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    vmss: str = ""


@dataclass(frozen=True)
class NodeSpec:
    """One node as the scenario starts it, with its host facts."""

    name: str
    pool: str
    instance_id: int
    os_type: str
    zone: str
    vmss: str
    provider_id: str
    kernel: str
    pending_kernel: str
    reboot_required: bool
    packages: tuple[str, ...]
    cordoned_by: str  # "" when schedulable at start
    ready: bool
    taints: tuple[Taint, ...]
    labels: tuple[tuple[str, str], ...]
    fault: str = ""  # "" or the last of NODE_FAULTS the scenario puts on this node
    sentinel_survives_reboot: bool = False  # the sentinel is there again after every good reboot
    packages_after_reboot: tuple[str, ...] = ()  # the .pkgs then (empty: the same packages)


@dataclass(frozen=True)
class Budget:
    """minAvailable or maxUnavailable (exactly one is set): an int or a "NN%" string."""

    min_available: int | str | None = None
    max_unavailable: int | str | None = None


@dataclass(frozen=True)
class WorkloadSpec:
    kind: str  # Deployment, StatefulSet, DaemonSet, Pod, MirrorPod
    name: str
    namespace: str
    replicas: int = 1
    pools: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()  # Pod / MirrorPod: the node names they are bound to
    pdb: Budget | None = None
    empty_dir: bool = False
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PdbSpec:
    name: str
    namespace: str
    match_labels: tuple[tuple[str, str], ...]
    budget: Budget


@dataclass(frozen=True)
class Timings:
    pod_start_seconds: float = 0.2
    pod_termination_seconds: float = 0.2
    reboot_seconds: float = 1.0
    recreate_delay_seconds: float = 0.3
    run_command_latency_seconds: float = 0.3
    probe_completion_seconds: float = 0.2
    run_command_timeout_seconds: float = 60.0
    arm_operation_seconds: float = 0.3


@dataclass(frozen=True)
class FaultSpec:
    type: str
    start: float = 0.0
    duration: float | None = None  # None: until the sandbox stops
    count: int | None = None  # None: every matching request/command
    status: int = 503
    retry_after: int = 1
    delay: float = 30.0
    methods: tuple[str, ...] = ()
    path: str = ""
    nodes: tuple[str, ...] = ()
    reason: str = ""
    extra_seconds: float = 0.0
    command_contains: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    cluster: ClusterSpec
    pools: tuple[PoolSpec, ...]
    nodes: tuple[NodeSpec, ...]
    workloads: tuple[WorkloadSpec, ...] = ()
    pdbs: tuple[PdbSpec, ...] = ()
    timings: Timings = field(default_factory=Timings)
    faults: tuple[FaultSpec, ...] = ()
    seed: int = 1
    source: str = ""

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def pool(self, name: str) -> PoolSpec:
        for pool in self.pools:
            if pool.name == name:
                return pool
        raise KeyError(name)

    def nodes_of(self, pool: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.pool == pool]
