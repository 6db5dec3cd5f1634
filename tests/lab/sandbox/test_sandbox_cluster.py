"""The simulated cluster: AKS-looking nodes, workloads and controllers, the timeline and its invariants."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from kubernetes import client as k8s

from lab.sandbox import invariants
from lab.sandbox.timeline import Timeline

from .sandbox_testkit import kube, wait_for

KUBECTL = str(Path(sys.executable).parent / "kubectl")

WORKLOADS = """
cluster: {resourceGroup: rg-test, name: aks-test}
pools:
  - {name: system, mode: System, count: 1}
  - {name: user, count: 3, zones: [1, 2, 3]}
nodes:
  - {node: user/2, cordonedBy: ops}
workloads:
  deployments:
    - {name: web, replicas: 2, pools: [user], pdb: {maxUnavailable: 1}}
    - {name: cache, replicas: 1, pools: [user], emptyDir: true}
  statefulsets:
    - {name: db, replicas: 2, pools: [user], pdb: {minAvailable: 1}}
  daemonsets:
    - {name: agent, namespace: kube-system}
  pods:
    - {name: lonely, node: user/0}
  mirrorPods:
    - {name: static, node: system/0}
"""


def kubectl(sb, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(sb.workdir)}
    return subprocess.run([KUBECTL, "--kubeconfig", sb.kubeconfig_path, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_nodes_look_like_aks_nodes(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    spec = sandbox.scenario.nodes_of("user")[1]
    node = core.read_node(spec.name)
    labels = node.metadata.labels
    assert labels["kubernetes.azure.com/agentpool"] == labels["agentpool"] == "user"
    assert labels["kubernetes.azure.com/mode"] == "user" and labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/hostname"] == spec.name and labels["topology.kubernetes.io/zone"] == "westeurope-2"
    assert labels["kubernetes.azure.com/node-image-version"].startswith("AKSUbuntu-2204gen2containerd-")
    assert node.spec.provider_id == spec.provider_id
    info = node.status.node_info
    assert info.boot_id == sandbox.cluster.host_facts(spec.name).boot_id
    assert info.kernel_version == "5.15.0-1074-azure" and info.os_image == "Ubuntu 22.04.5 LTS"
    assert info.kubelet_version == "v1.30.5" and info.operating_system == "linux"
    assert {c.type: c.status for c in node.status.conditions} == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False", "Ready": "True"}
    assert [a.type for a in node.status.addresses] == ["InternalIP", "Hostname"]
    assert node.status.capacity["pods"] == "110" and node.status.allocatable["cpu"].endswith("m")
    cordoned = core.read_node(sandbox.scenario.nodes_of("user")[2].name)
    assert cordoned.spec.unschedulable is True
    assert [t.key for t in cordoned.spec.taints] == ["node.kubernetes.io/unschedulable"]
    facts = sandbox.cluster.host_facts(spec.name)
    assert facts.sentinel and facts.pending_kernel == "5.15.0-1075-azure"
    name, _, instance = spec.provider_id.rpartition("/virtualMachines/")
    assert sandbox.cluster.node_by_vmss_instance(name.rsplit("/", 1)[1].upper(), instance) == spec.name


def test_workloads_are_owned_like_on_a_real_cluster(make_sandbox) -> None:
    sb = make_sandbox(WORKLOADS)
    api = kube(sb)
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    deploy = apps.read_namespaced_deployment("web", "default")
    rs = apps.list_namespaced_replica_set("default", label_selector="app=web").items[0]
    assert rs.metadata.owner_references[0].uid == deploy.metadata.uid and rs.metadata.owner_references[0].controller
    web = core.list_namespaced_pod("default", label_selector="app=web").items
    assert len(web) == 2 and all(p.metadata.owner_references[0].uid == rs.metadata.uid for p in web)
    assert len({p.spec.node_name for p in web}) == 2  # spread
    cordoned = sb.scenario.nodes_of("user")[2].name
    assert cordoned not in {p.spec.node_name for p in core.list_pod_for_all_namespaces().items
                            if p.metadata.labels.get("app") != "agent"}
    assert deploy.status.ready_replicas == 2 and apps.read_namespaced_stateful_set("db", "default").status.ready_replicas == 2
    agent = core.list_namespaced_pod("kube-system", label_selector="app=agent").items
    assert len(agent) == 4 and agent[0].metadata.owner_references[0].kind == "DaemonSet"
    lonely = core.read_namespaced_pod("lonely", "default")
    assert not lonely.metadata.owner_references and lonely.spec.node_name == sb.scenario.nodes_of("user")[0].name
    cache = core.list_namespaced_pod("default", label_selector="app=cache").items[0]
    assert cache.spec.volumes[0].empty_dir is not None
    mirror = core.read_namespaced_pod(f"static-{sb.scenario.nodes_of('system')[0].name}", "kube-system")
    assert "kubernetes.io/config.mirror" in mirror.metadata.annotations
    pdb = k8s.PolicyV1Api(api).read_namespaced_pod_disruption_budget("web-pdb", "default")
    assert (pdb.status.current_healthy, pdb.status.desired_healthy, pdb.status.disruptions_allowed) == (2, 1, 1)


def evict(core: k8s.CoreV1Api, name: str, namespace: str = "default") -> int:
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=name, namespace=namespace))
    try:
        core.create_namespaced_pod_eviction(name, namespace, body)
        return 201
    except k8s.exceptions.ApiException as err:
        return err.status


def test_evicted_pods_are_replaced_elsewhere_and_budgets_refill(make_sandbox) -> None:
    sb = make_sandbox(WORKLOADS)
    api = kube(sb)
    core, policy = k8s.CoreV1Api(api), k8s.PolicyV1Api(api)
    web = core.list_namespaced_pod("default", label_selector="app=web").items
    node = web[0].spec.node_name
    core.patch_node(node, {"spec": {"unschedulable": True}})
    assert evict(core, web[0].metadata.name) == 201
    assert evict(core, web[1].metadata.name) == 429  # budget spent until the replacement is Ready
    assert wait_for(lambda: policy.read_namespaced_pod_disruption_budget("web-pdb", "default")
                    .status.disruptions_allowed == 1, timeout=5)
    pods = [p for p in core.list_namespaced_pod("default", label_selector="app=web").items
            if not p.metadata.deletion_timestamp]
    assert len(pods) == 2 and node not in {p.spec.node_name for p in pods}
    assert sb.scenario.nodes_of("user")[2].name not in {p.spec.node_name for p in pods}  # cordoned by ops
    assert [e["status"] for e in sb.timeline.events("eviction")] == [201, 429]
    assert invariants.pdb_violations(sb.timeline) == []
    # StatefulSet: the same name comes back once the old pod is gone.
    assert evict(core, "db-0") == 201
    assert wait_for(lambda: sb.timeline.events("pod_deleted", pod="db-0"))
    assert wait_for(lambda: core.read_namespaced_pod("db-0", "default").status.phase == "Running"
                    if core.list_namespaced_pod("default", field_selector="metadata.name=db-0").items else False)
    # DaemonSet: a deleted pod is re-created on its node, even a cordoned one.
    agent = next(p for p in core.list_namespaced_pod("kube-system", label_selector="app=agent").items
                 if p.spec.node_name == node)
    core.delete_namespaced_pod(agent.metadata.name, "kube-system", grace_period_seconds=0)
    assert wait_for(lambda: any(p.spec.node_name == node and p.metadata.name != agent.metadata.name
                                for p in core.list_namespaced_pod("kube-system", label_selector="app=agent").items))


def test_unschedulable_pod_waits_for_a_node(make_sandbox) -> None:
    sb = make_sandbox(WORKLOADS)
    core = k8s.CoreV1Api(kube(sb))
    for spec in sb.scenario.nodes_of("user")[:2]:
        core.patch_node(spec.name, {"spec": {"unschedulable": True}})
    core.create_namespaced_pod("default", {"metadata": {"name": "late"}, "spec": {
        "containers": [{"name": "c", "image": "nginx"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "agentpool", "operator": "In", "values": ["user"]}]}]}}}}})
    assert wait_for(lambda: any(c.reason == "Unschedulable" for c in
                                core.read_namespaced_pod("late", "default").status.conditions or []))
    core.patch_node(sb.scenario.nodes_of("user")[1].name, {"spec": {"unschedulable": None}})
    assert wait_for(lambda: core.read_namespaced_pod("late", "default").status.phase == "Running")
    assert core.read_namespaced_pod("late", "default").spec.node_name == sb.scenario.nodes_of("user")[1].name


def test_invariants_over_a_timeline(make_sandbox, tmp_path) -> None:
    sb = make_sandbox(WORKLOADS)
    core = k8s.CoreV1Api(kube(sb))
    user = [n.name for n in sb.scenario.nodes_of("user")]
    assert invariants.max_unavailable(sb.timeline).count == 1  # ops' cordon
    assert invariants.max_unavailable(sb.timeline, exclude_foreign=True).count == 0
    core.patch_node(user[0], {"spec": {"unschedulable": True}})
    sb.cluster.reboot_node(user[1])
    assert wait_for(lambda: sb.timeline.events("reboot", node=user[1], phase="down"))
    peak = invariants.max_unavailable(sb.timeline, exclude_foreign=True)
    assert peak.count == 2 and peak.nodes == sorted(user[:2]) and peak.excluded == [user[2]]
    assert invariants.max_unavailable(sb.timeline).count == 3
    # Force-deleting the healthy web pods breaks the PDB: that is a violation.
    for pod in core.list_namespaced_pod("default", label_selector="app=web").items:
        core.delete_namespaced_pod(pod.metadata.name, "default", grace_period_seconds=0)
    broken = invariants.pdb_violations(sb.timeline)
    assert broken and broken[0]["pdb"] == "web-pdb" and broken[0]["cause"] == "delete"
    assert invariants.foreign_cordons_undone(sb.timeline, sb.scenario) == []
    core.patch_node(user[2], {"spec": {"unschedulable": None}})
    undone = wait_for(lambda: invariants.foreign_cordons_undone(sb.timeline, sb.scenario))
    assert undone and undone[0]["node"] == user[2] and undone[0]["actor"] == "api"
    path = tmp_path / "timeline.jsonl"
    sb.timeline.write_jsonl(path)
    again = Timeline.read_jsonl(path)
    assert len(again.events()) == len(sb.timeline.events())
    assert invariants.max_unavailable(again, exclude_foreign=True).count == peak.count
    assert all(e.wall.endswith("Z") and e.t >= 0 for e in again.events())


def test_kubectl_get_nodes_and_drain(make_sandbox) -> None:
    sb = make_sandbox(WORKLOADS)
    nodes = kubectl(sb, "get", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    assert all(n.name in nodes.stdout for n in sb.scenario.nodes)
    target = sb.scenario.nodes_of("user")[1].name
    began = time.monotonic()
    drain = kubectl(sb, "drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=30s")
    assert drain.returncode == 0, drain.stdout + drain.stderr
    assert time.monotonic() - began < 20
    core = k8s.CoreV1Api(kube(sb))
    assert core.read_node(target).spec.unschedulable is True
    left = [p for p in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={target}").items
            if not p.metadata.deletion_timestamp]
    assert {p.metadata.labels["app"] for p in left} <= {"agent"}
    assert invariants.pdb_violations(sb.timeline) == []
    assert {e["status"] for e in sb.timeline.events("eviction")} <= {201, 429}
