"""Load and validate a sandbox scenario (YAML) into :class:`sandbox.model.Scenario`.

Every problem is reported with its field path and what was expected, all at once, as a
:class:`ScenarioError`; nothing is started from an invalid file. The format is documented
in docs/scenarios.md. Workloads, timings and faults are read by sandbox.scenario_parts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from lab.sandbox import naming
from lab.sandbox.model import (
    LINUX_SKUS,
    NODE_OS_UPGRADE_CHANNELS,
    OS_TYPES,
    POOL_MODES,
    POWER_STATES,
    PROVISIONING_STATES,
    UPGRADE_CHANNELS,
    WINDOWS_SKUS,
    ClusterSpec,
    NodeSpec,
    PoolSpec,
    Scenario,
)
from lab.sandbox.scenario_parts import (
    NodeResolver,
    label_key_ok,
    read_faults,
    read_pdbs,
    read_taints,
    read_timings,
    read_workloads,
)
from lab.sandbox.schema import Errors, Reader, ScenarioError

__all__ = ["ScenarioError", "load", "parse"]

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
RG = r"[-\w._()]{0,89}[-\w_()]"
CLUSTER_NAME = r"[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?"
POOL_NAME = r"[a-z][a-z0-9]{0,11}"
VERSION = r"\d+\.\d+\.\d+"
KERNEL = r"[A-Za-z0-9][A-Za-z0-9._+~-]*"
PACKAGE = r"[A-Za-z0-9.+:~-]+"

DEFAULTS = {
    "Ubuntu": ("5.15.0-1074-azure", "Ubuntu 22.04.5 LTS", "AKSUbuntu-2204gen2containerd-202410.27.0"),
    "AzureLinux": ("6.6.47.1-1.azl3", "Microsoft Azure Linux 3.0", "AKSAzureLinux-V3gen2-202410.27.0"),
    "Windows2022": ("10.0.20348.2762", "Windows Server 2022 Datacenter", "AKSWindows-2022-containerd-20348.2762.241009"),
    "Windows2019": ("10.0.17763.6414", "Windows Server 2019 Datacenter", "AKSWindows-2019-containerd-17763.6414.241010"),
}
TOP = ("name", "description", "seed", "cluster", "pools", "nodes", "workloads", "pdbs", "timings", "faults")


def load(source: str | os.PathLike | dict) -> Scenario:
    """A scenario from a file path, a YAML string containing a newline, or a parsed mapping."""
    name = ""
    if isinstance(source, dict):
        data: Any = source
    else:
        text = str(source)
        if "\n" not in text:
            path = Path(text)
            if not path.is_file():
                raise ScenarioError([f"{text}: no such scenario file"])
            name, text = str(path), path.read_text()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError([f"{name or '(yaml)'}: not valid YAML: {exc}"]) from None
    return parse(data, source=name)


def parse(data: Any, source: str = "") -> Scenario:
    errors = Errors()
    top = Reader(errors, data, "", TOP)
    if not isinstance(data, dict):
        errors.raise_if_any()
    cluster = _read_cluster(Reader(errors, top.raw("cluster", {}), "cluster", _CLUSTER_FIELDS))
    pools = _read_pools(errors, top, cluster)
    nodes = _read_nodes(errors, top, cluster, pools)
    resolver = NodeResolver(pools, nodes)
    workloads = read_workloads(errors, top, pools, resolver)
    pdbs = read_pdbs(errors, top)
    timings = read_timings(errors, top)
    faults = read_faults(errors, top, resolver)
    errors.raise_if_any()
    nodes = _apply_node_faults(nodes, faults)
    return Scenario(
        name=top.string("name", default=Path(source).stem if source else "scenario"),
        description=top.string("description", default=""),
        cluster=cluster, pools=tuple(pools), nodes=tuple(nodes), workloads=tuple(workloads),
        pdbs=tuple(pdbs), timings=timings, faults=tuple(faults),
        seed=top.integer("seed", default=1), source=source,
    )


_CLUSTER_FIELDS = ("subscriptionId", "resourceGroup", "name", "nodeResourceGroup", "location", "kubernetesVersion",
                   "nodeOsUpgradeChannel", "upgradeChannel", "provisioningState", "powerState", "aadEnabled",
                   "disableLocalAccounts", "tenantId", "runCommandPods", "disableRunCommand")


def _read_cluster(r: Reader) -> ClusterSpec:
    sub = r.string("subscriptionId", "00000000-0000-0000-0000-000000000000", GUID, "a subscription GUID")
    rg = r.string("resourceGroup", "rg-sandbox", RG, "a resource group name (1-90 of letters, digits, -_.())")
    name = r.string("name", "sandbox-aks", CLUSTER_NAME, "an AKS cluster name (1-63 letters, digits, - and _)")
    location = r.string("location", "westeurope", r"[a-z0-9]+", "an Azure region name like westeurope")
    node_rg = r.string("nodeResourceGroup", f"MC_{rg}_{name}_{location}", RG, "a resource group name")
    return ClusterSpec(
        subscription_id=sub, resource_group=rg, name=name, node_resource_group=node_rg, location=location,
        kubernetes_version=r.string("kubernetesVersion", "1.30.5", VERSION, "a version like 1.30.5"),
        node_os_upgrade_channel=r.enum("nodeOsUpgradeChannel", NODE_OS_UPGRADE_CHANNELS, "Unmanaged"),
        upgrade_channel=r.enum("upgradeChannel", UPGRADE_CHANNELS, "none"),
        provisioning_state=r.enum("provisioningState", PROVISIONING_STATES, "Succeeded"),
        power_state=r.enum("powerState", POWER_STATES, "Running"),
        aad_enabled=r.boolean("aadEnabled", False),
        disable_local_accounts=r.boolean("disableLocalAccounts", False),
        tenant_id=r.string("tenantId", "11111111-1111-1111-1111-111111111111", GUID, "a tenant GUID"),
        number=naming.cluster_number(sub, rg, name),
        run_command_pods=r.boolean("runCommandPods", True),
        disable_run_command=r.boolean("disableRunCommand", False),
    )


_POOL_FIELDS = ("name", "mode", "osType", "osSku", "count", "zones", "vmSize", "kernel", "osImage",
                "nodeImageVersion", "maxPods", "orchestratorVersion", "taints", "labels")


def _read_pools(errors: Errors, top: Reader, cluster: ClusterSpec) -> list[PoolSpec]:
    pools: list[PoolSpec] = []
    items = top.items("pools", required=True)
    if not items and "pools" in top.data and top.data["pools"] == []:
        errors.add("pools", "at least one pool is required")
    for path, item in items:
        r = Reader(errors, item, path, _POOL_FIELDS)
        os_type = r.enum("osType", OS_TYPES, "Linux")
        windows = os_type == "Windows"
        name_rule = r"[a-z][a-z0-9]{0,5}" if windows else POOL_NAME
        name = r.string("name", pattern=name_rule, expected=(
            "a Windows pool name: a lowercase letter then letters/digits, at most 6 characters" if windows else
            "a pool name: a lowercase letter then lowercase letters/digits, at most 12 characters (DNS-1123, AKS rule)"))
        skus = WINDOWS_SKUS if windows else LINUX_SKUS
        sku = r.enum("osSku", skus, skus[0])
        kernel, image, node_image = DEFAULTS[sku]
        zones = r.strings("zones", r"[1-9]", "an availability zone like \"1\"")
        pools.append(PoolSpec(
            name=name, mode=r.enum("mode", POOL_MODES, "User"), os_type=os_type, os_sku=sku,
            count=r.integer("count", minimum=1),
            zones=tuple(zones), vm_size=r.string("vmSize", "Standard_D4ds_v5", r"[A-Za-z0-9_]+", "a VM size"),
            kernel=r.string("kernel", kernel, KERNEL, "a kernel release like 5.15.0-1074-azure"),
            os_image=r.string("osImage", image), node_image_version=r.string("nodeImageVersion", node_image),
            max_pods=r.integer("maxPods", 110, minimum=1, maximum=250),
            orchestrator_version=r.string("orchestratorVersion", cluster.kubernetes_version, VERSION,
                                          "a version like 1.30.5"),
            taints=tuple(read_taints(errors, r, "taints")),
            labels=tuple(r.string_map("labels", label_key_ok).items()),
            vmss=naming.vmss_name(name, cluster.number),
        ))
    names = [p.name for p in pools]
    for i, pool in enumerate(pools):
        if pool.name and names.index(pool.name) != i:
            errors.add(f"pools[{i}].name", f"duplicate pool name {pool.name!r}")
    if pools and not any(p.mode == "System" and p.os_type == "Linux" for p in pools):
        errors.add("pools", "AKS needs at least one pool with mode: System and osType: Linux")
    return pools


_NODE_FIELDS = ("node", "rebootRequired", "packages", "kernel", "pendingKernel", "cordonedBy", "ready", "taints",
                "labels", "sentinelSurvivesReboot", "packagesAfterReboot")


def _read_nodes(errors: Errors, top: Reader, cluster: ClusterSpec, pools: list[PoolSpec]) -> list[NodeSpec]:
    base: dict[str, dict[str, Any]] = {}
    for pool in pools:
        for i in range(pool.count if pool.name else 0):
            name = naming.node_name(pool.name, cluster.number, i, pool.os_type)
            zone = f"{cluster.location}-{pool.zones[i % len(pool.zones)]}" if pool.zones else "0"
            base[name] = dict(
                name=name, pool=pool.name, instance_id=i, os_type=pool.os_type, zone=zone, vmss=pool.vmss,
                provider_id=naming.provider_id(cluster.subscription_id, cluster.node_resource_group, pool.vmss, i),
                kernel=pool.kernel, pending_kernel="", reboot_required=False, packages=(), cordoned_by="",
                ready=True, taints=pool.taints, labels=pool.labels,
            )
    placeholder = [NodeSpec(**v) for v in base.values()]
    resolver = NodeResolver(pools, placeholder)
    for path, item in top.items("nodes"):
        r = Reader(errors, item, path, _NODE_FIELDS)
        targets = resolver.resolve(errors, r.at("node"), r.raw("node")) if r.has("node") else []
        if not r.has("node"):
            errors.add(r.at("node"), "required field is missing")
        updates: dict[str, Any] = {}
        if r.has("rebootRequired"):
            updates["reboot_required"] = r.boolean("rebootRequired")
        if r.has("packages"):
            updates["packages"] = tuple(r.strings("packages", PACKAGE, "a Debian package name"))
        if r.has("kernel"):
            updates["kernel"] = r.string("kernel", pattern=KERNEL, expected="a kernel release")
        if r.has("pendingKernel"):
            updates["pending_kernel"] = r.string("pendingKernel", pattern=KERNEL, expected="a kernel release")
        if r.has("cordonedBy"):
            updates["cordoned_by"] = r.string("cordonedBy", pattern=r".{1,100}", expected="who cordoned it")
        if r.has("ready"):
            updates["ready"] = r.boolean("ready")
        if r.has("taints"):
            updates["taints"] = tuple(read_taints(errors, r, "taints"))
        if r.has("labels"):
            updates["labels"] = tuple(r.string_map("labels", label_key_ok).items())
        if r.has("sentinelSurvivesReboot"):
            updates["sentinel_survives_reboot"] = r.boolean("sentinelSurvivesReboot")
        if r.has("packagesAfterReboot"):
            updates["packages_after_reboot"] = tuple(r.strings("packagesAfterReboot", PACKAGE, "a Debian package name"))
        for name in targets:
            if updates.get("reboot_required") and resolver.os[name] == "Windows":
                errors.add(r.at("rebootRequired"), f"{name} is a Windows node; the reboot sentinel is Linux-only")
            if updates.get("sentinel_survives_reboot") and resolver.os[name] == "Windows":
                errors.add(r.at("sentinelSurvivesReboot"), f"{name} is a Windows node; the reboot sentinel is Linux-only")
            merged = base[name]
            if "labels" in updates:
                updates = {**updates, "labels": tuple({**dict(merged["labels"]), **dict(updates["labels"])}.items())}
            merged.update(updates)
    nodes = []
    for spec in base.values():
        spec.setdefault("sentinel_survives_reboot", False)
        spec.setdefault("packages_after_reboot", ())
        if spec["reboot_required"]:
            if not spec["pending_kernel"]:
                spec["pending_kernel"] = _next_kernel(spec["kernel"])
            if not spec["packages"]:
                spec["packages"] = (f"linux-image-{spec['pending_kernel']}",)
        nodes.append(NodeSpec(**spec))
    return nodes


def _next_kernel(kernel: str) -> str:
    """5.15.0-1074-azure -> 5.15.0-1075-azure (the ABI number bumped), else the same kernel."""
    m = re.fullmatch(r"(\d+\.\d+\.\d+-)(\d+)(-.*)", kernel)
    return f"{m.group(1)}{int(m.group(2)) + 1}{m.group(3)}" if m else kernel


def _apply_node_faults(nodes: list[NodeSpec], faults: list) -> list[NodeSpec]:
    marks = {name: f.type for f in faults if f.type.startswith("node") for name in f.nodes}
    return [NodeSpec(**{**n.__dict__, "fault": marks.get(n.name, "")}) for n in nodes]
