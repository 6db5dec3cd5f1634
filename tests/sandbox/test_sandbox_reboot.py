"""Reboots through both paths (the app's reboot pod, the VMSS VM restart) and the probe pods."""

from __future__ import annotations

import json

from kubernetes import client as k8s
from sandbox_testkit import SMALL, compute, kube, wait_for

from rebooter import contract

REBOOT_NODE_INDEX = 1  # user/1 needs a reboot in the SMALL scenario
SMALL_WITH_WINDOWS = SMALL.replace("  - {name: spot, count: 1}", "  - {name: spot, count: 1}\n  - {name: win, osType: Windows, count: 1}")


def probe_pod(node: str, run: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"probe-{run}-{node}"[:63], "namespace": contract.PROBE_NAMESPACE,
                         "labels": {contract.ROLE_LABEL: contract.ROLE_PROBE, contract.RUN_LABEL: run}},
            "spec": {"nodeName": node, "restartPolicy": "Never", "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "probe", "image": contract.PROBE_IMAGE,
                                     "command": ["sh", "-c", contract.NODE_PROBE_SCRIPT],
                                     "env": [{"name": "NODE_NAME", "value": node}]}]}}


def reboot_pod(node: str, privileged: bool = True) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": contract.reboot_pod_name(node), "namespace": contract.REBOOT_NAMESPACE,
                         "labels": {contract.ROLE_LABEL: contract.ROLE_REBOOT, contract.NODE_LABEL: node}},
            "spec": {"nodeName": node, "hostPID": privileged, "restartPolicy": "Never",
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "reboot", "image": contract.REBOOT_IMAGE, "command": contract.REBOOT_COMMAND,
                                     "securityContext": {"privileged": privileged}}]}}


def run_probe(core: k8s.CoreV1Api, node: str, run: str) -> dict:
    pod = probe_pod(node, run)
    core.create_namespaced_pod(contract.PROBE_NAMESPACE, pod)
    name = pod["metadata"]["name"]
    done = wait_for(lambda: core.read_namespaced_pod(name, contract.PROBE_NAMESPACE).status.phase == "Succeeded")
    assert done, f"probe pod on {node} did not complete"
    status = core.read_namespaced_pod(name, contract.PROBE_NAMESPACE).status
    assert status.container_statuses[0].state.terminated.exit_code == 0
    log = core.read_namespaced_pod_log(name, contract.PROBE_NAMESPACE)
    assert log.endswith("\n") and log.count("\n") == 1
    return json.loads(log)


def ready_values(sb, node: str) -> list[str]:
    values: list[str] = []
    for state in sb.timeline.node_states(node):
        if not values or values[-1] != state["ready"]:
            values.append(state["ready"])
    return values


def test_probe_pods_print_the_node_facts(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    facts = sandbox.cluster.host_facts(node)
    result = run_probe(core, node, "r1")
    assert result == json.loads(contract.probe_line(node, True, ["linux-image-5.15.0-1075-azure", "linux-base"],
                                                    facts.boot_id, "5.15.0-1074-azure"))
    other = sandbox.scenario.nodes_of("user")[0].name
    assert run_probe(core, other, "r1")["rebootRequired"] is False


def test_reboot_through_the_reboot_pod(sandbox) -> None:
    api = kube(sandbox)
    core = k8s.CoreV1Api(api)
    node = sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    before = core.read_node(node)
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(node))
    came_back = wait_for(lambda: sandbox.timeline.events("reboot", node=node, phase="up"), timeout=5)
    assert came_back and came_back[0]["via"] == "pod"
    pod = core.read_namespaced_pod(contract.reboot_pod_name(node), contract.REBOOT_NAMESPACE)
    assert pod.status.phase == "Succeeded"
    wait_for(lambda: core.read_node(node).status.node_info.boot_id != before.status.node_info.boot_id)
    after = core.read_node(node)
    assert after.status.node_info.boot_id != before.status.node_info.boot_id
    assert after.status.node_info.kernel_version == "5.15.0-1075-azure"
    assert ready_values(sandbox, node) == ["True", "Unknown", "True"]
    down = [s for s in sandbox.timeline.node_states(node) if s["ready"] == "Unknown"]
    assert any("node.kubernetes.io/unreachable:NoExecute" in s["taints"] for s in down)
    conditions = {c.type: c for c in after.status.conditions}
    assert conditions["Ready"].status == "True" and conditions["Ready"].reason == "KubeletReady"
    probe = run_probe(core, node, "r2")
    assert probe["rebootRequired"] is False and probe["packages"] == [] and probe["bootId"] == after.status.node_info.boot_id
    assert probe["kernel"] == "5.15.0-1075-azure"
    # The DaemonSet pod on the node came back Ready (restarted), nothing was lost.
    agent = [p for p in core.list_namespaced_pod("kube-system", label_selector="app=agent").items
             if p.spec.node_name == node]
    assert len(agent) == 1
    assert wait_for(lambda: all(c.status == "True" for c in core.read_namespaced_pod(
        agent[0].metadata.name, "kube-system").status.conditions if c.type == "Ready"))
    assert core.read_namespaced_pod(agent[0].metadata.name, "kube-system").status.container_statuses[0].restart_count == 1


def test_unprivileged_reboot_pod_fails_and_nothing_reboots(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(node, privileged=False))
    name = contract.reboot_pod_name(node)
    assert wait_for(lambda: core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.phase == "Failed")
    assert "Operation not permitted" in core.read_namespaced_pod_log(name, contract.REBOOT_NAMESPACE)
    assert not sandbox.timeline.events("reboot") and sandbox.cluster.host_facts(node).sentinel


def test_reboot_through_the_vmss_restart(sandbox) -> None:
    c = sandbox.scenario.cluster
    core = k8s.CoreV1Api(kube(sandbox))
    node = core.read_node(sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name)
    provider = node.spec.provider_id  # .../virtualMachineScaleSets/<vmss>/virtualMachines/<id>
    parts = provider.split("/")
    node_rg, vmss, instance = parts[parts.index("resourceGroups") + 1], parts[-3], parts[-1]
    assert node_rg == c.node_resource_group.lower()
    comp = compute(sandbox)
    scale_sets = {s.name for s in comp.virtual_machine_scale_sets.list(c.node_resource_group)}
    assert vmss in scale_sets
    vms = {vm.instance_id: vm for vm in comp.virtual_machine_scale_set_vms.list(c.node_resource_group, vmss)}
    assert vms[instance].os_profile.computer_name == node.metadata.name
    assert provider.lower().endswith(vms[instance].id.lower())
    comp.virtual_machine_scale_set_vms.begin_restart(node_rg, vmss, instance, polling_interval=0.05).result()
    assert wait_for(lambda: sandbox.timeline.events("reboot", node=node.metadata.name, phase="up"))
    facts = sandbox.cluster.host_facts(node.metadata.name)
    assert facts.reboots == ["vmss"] and not facts.sentinel and facts.kernel == "5.15.0-1075-azure"
    assert ready_values(sandbox, node.metadata.name) == ["True", "Unknown", "True"]
    assert wait_for(lambda: core.read_node(node.metadata.name).status.node_info.boot_id == facts.boot_id)
    assert run_probe(core, node.metadata.name, "r3")["rebootRequired"] is False


def test_a_second_reboot_while_down_is_ignored(sandbox) -> None:
    node = sandbox.scenario.nodes_of("user")[0].name
    sandbox.cluster.reboot_node(node, via="vmss")
    sandbox.cluster.reboot_node(node, via="vmss")
    assert wait_for(lambda: sandbox.timeline.events("reboot", node=node, phase="up"))
    assert len(sandbox.timeline.events("reboot", node=node, phase="down")) == 1
    assert len(sandbox.timeline.events("reboot", node=node, phase="ignored")) == 1


def test_pods_bound_to_a_down_node_wait(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[0].name
    sandbox.cluster.reboot_node(node)
    assert wait_for(lambda: sandbox.timeline.events("reboot", node=node, phase="down"))
    core.create_namespaced_pod(contract.PROBE_NAMESPACE, probe_pod(node, "w"))
    name = probe_pod(node, "w")["metadata"]["name"]
    assert core.read_namespaced_pod(name, contract.PROBE_NAMESPACE).status.phase == "Pending"
    assert wait_for(lambda: core.read_namespaced_pod(name, contract.PROBE_NAMESPACE).status.phase == "Succeeded")
    up = sandbox.timeline.events("reboot", node=node, phase="up")[0]
    assert json.loads(core.read_namespaced_pod_log(name, contract.PROBE_NAMESPACE))["bootId"] == up["bootID"]


def test_a_linux_probe_pod_cannot_run_on_a_windows_node(make_sandbox) -> None:
    sb = make_sandbox(SMALL_WITH_WINDOWS)
    core = k8s.CoreV1Api(kube(sb))
    node = sb.scenario.nodes_of("win")[0].name
    pod = probe_pod(node, "w")
    core.create_namespaced_pod(contract.PROBE_NAMESPACE, pod)
    name = pod["metadata"]["name"]
    waiting = wait_for(lambda: (core.read_namespaced_pod(name, contract.PROBE_NAMESPACE).status.container_statuses
                                or [None])[0])
    assert waiting.state.waiting.reason == "ImagePullBackOff"
    assert core.read_namespaced_pod(name, contract.PROBE_NAMESPACE).status.phase == "Pending"
