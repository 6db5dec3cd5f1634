"""Reboots through both paths (the app's reboot pod, the VMSS VM restart) and the probe pods."""

from __future__ import annotations

import json

from kubernetes import client as k8s

from rebooter import contract
from rebooter.kube.reboot import reboot_pod_manifest

from .sandbox_testkit import SMALL, compute, kube, wait_for

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


def reboot_pod(sb, node: str, **container: object) -> dict:
    """The app's reboot pod for the node's current boot ID, with container fields replaced."""
    pod = reboot_pod_manifest(node, sb.cluster.host_facts(node).boot_id)
    pod["spec"]["containers"][0].update(container)
    return pod


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
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(sandbox, node))
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


def test_a_reboot_pod_without_the_host_root_fails_and_nothing_reboots(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(sandbox, node, volumeMounts=[]))
    name = contract.reboot_pod_name(node)
    assert wait_for(lambda: core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.phase == "Failed")
    assert "chroot: can't change root directory to '/host'" in core.read_namespaced_pod_log(
        name, contract.REBOOT_NAMESPACE)
    assert not sandbox.timeline.events("reboot") and sandbox.cluster.host_facts(node).sentinel


def test_the_old_nsenter_command_cannot_start_in_busybox(sandbox) -> None:
    """The command the app used before: busybox is built without nsenter (CONFIG_NSENTER is not set),
    so containerd cannot start the container: StartError, exit code 128, the pod Failed, no reboot."""
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    old = ["nsenter", "-m/proc/1/ns/mnt", "--", "/bin/systemctl", "reboot"]
    name = contract.reboot_pod_name(node)
    for image in ("mcr.microsoft.com/cbl-mariner/busybox:2.0", contract.REBOOT_IMAGE):
        core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(sandbox, node, image=image, command=old))
        assert wait_for(lambda: core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.phase == "Failed")
        state = core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.container_statuses[0].state
        assert state.terminated.reason == "StartError" and state.terminated.exit_code == 128
        assert 'exec: "nsenter": executable file not found in $PATH' in state.terminated.message
        core.delete_namespaced_pod(name, contract.REBOOT_NAMESPACE, grace_period_seconds=0)
        assert wait_for(lambda: not core.list_namespaced_pod(contract.REBOOT_NAMESPACE,
                                                             field_selector=f"metadata.name={name}").items)
    assert not sandbox.timeline.events("reboot") and sandbox.cluster.host_facts(node).reboots == []


def test_an_unknown_image_is_never_run(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(sandbox, node, image="busybox:1.36"))
    name = contract.reboot_pod_name(node)
    waiting = wait_for(lambda: ((core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.container_statuses
                                 or [None])[0]))
    assert waiting.state.waiting.reason == "ErrImagePull"
    assert 'failed to pull and unpack image "docker.io/library/busybox:1.36"' in waiting.state.waiting.message
    assert core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.phase == "Pending"
    assert not sandbox.timeline.events("reboot")


def test_a_reboot_pod_for_another_boot_does_nothing(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    pod = reboot_pod_manifest(node, "0c0ffee0-0000-4000-8000-000000000000")
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, pod)
    name = pod["metadata"]["name"]
    assert wait_for(lambda: core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.phase == "Succeeded")
    assert "nothing to do" in core.read_namespaced_pod_log(name, contract.REBOOT_NAMESPACE)
    assert not sandbox.timeline.events("reboot")


RERUN = SMALL + "faults:\n  - {type: nodeRerunsRebootPod, node: user/1}\n"


def test_a_reboot_pod_run_again_after_the_boot_does_not_reboot_twice(make_sandbox) -> None:
    sb = make_sandbox(RERUN)
    core = k8s.CoreV1Api(kube(sb))
    node = sb.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(sb, node))
    runs = wait_for(lambda: sb.timeline.events("reboot_pod", node=node, phase="ran")[1:], timeout=10)
    assert runs, "the fault should start the reboot pod's container a second time after the boot"
    assert len(sb.timeline.events("reboot_pod", node=node, phase="rerun")) == 1
    first, second = sb.timeline.events("reboot_pod", node=node, phase="ran")
    assert first["reboot"] is True and second["reboot"] is False and second["restarts"] == 1
    assert second["bootID"] == sb.cluster.host_facts(node).boot_id != first["bootID"]
    assert "nothing to do" in core.read_namespaced_pod_log(contract.reboot_pod_name(node), contract.REBOOT_NAMESPACE)
    assert len(sb.timeline.events("reboot", node=node, phase="down")) == 1
    assert sb.cluster.host_facts(node).reboots == ["pod"]


def test_without_the_boot_id_guard_the_rerun_reboots_the_node_again(make_sandbox) -> None:
    """What the fault is for: a reboot pod that does not check the boot ID reboots the node twice."""
    sb = make_sandbox(RERUN)
    core = k8s.CoreV1Api(kube(sb))
    node = sb.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    unguarded = ["chroot", contract.HOST_ROOT, "/bin/systemctl", "reboot"]
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, reboot_pod(sb, node, command=unguarded))
    assert wait_for(lambda: len(sb.timeline.events("reboot", node=node, phase="up")) >= 2, timeout=10)
    assert sb.cluster.host_facts(node).reboots == ["pod", "pod"]


def test_a_reboot_pod_past_its_deadline_is_not_run_again(make_sandbox) -> None:
    sb = make_sandbox(RERUN, rebootSeconds=1.5)
    core = k8s.CoreV1Api(kube(sb))
    node = sb.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    pod = reboot_pod(sb, node)
    pod["spec"]["activeDeadlineSeconds"] = 1
    core.create_namespaced_pod(contract.REBOOT_NAMESPACE, pod)
    name = contract.reboot_pod_name(node)
    assert wait_for(lambda: core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.reason
                    == "DeadlineExceeded", timeout=10)
    assert core.read_namespaced_pod(name, contract.REBOOT_NAMESPACE).status.phase == "Failed"
    assert len(sb.timeline.events("reboot_pod", node=node, phase="ran")) == 1
    assert not sb.timeline.events("reboot_pod", node=node, phase="rerun")


def test_active_deadline_fails_a_pod_still_running(sandbox) -> None:
    core = k8s.CoreV1Api(kube(sandbox))
    node = sandbox.scenario.nodes_of("user")[0].name
    core.create_namespaced_pod("default", {"metadata": {"name": "slow"}, "spec": {
        "nodeName": node, "restartPolicy": "Never", "activeDeadlineSeconds": 1,
        "containers": [{"name": "c", "image": "mcr.microsoft.com/azurelinux/base/nginx:1.25"}]}})
    assert wait_for(lambda: core.read_namespaced_pod("slow", "default").status.phase == "Running")
    assert wait_for(lambda: core.read_namespaced_pod("slow", "default").status.phase == "Failed", timeout=10)
    assert core.read_namespaced_pod("slow", "default").status.reason == "DeadlineExceeded"


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


def test_a_sentinel_that_survives_the_reboot_is_there_again_after_it(make_sandbox) -> None:
    sb = make_sandbox(SMALL.replace("  - {node: user/2, cordonedBy: ops}",
                                    "  - {node: user/1, sentinelSurvivesReboot: true, packagesAfterReboot: [kpatch]}"))
    core = k8s.CoreV1Api(kube(sb))
    node = sb.scenario.nodes_of("user")[REBOOT_NODE_INDEX].name
    before = sb.cluster.host_facts(node)
    sb.cluster.reboot_node(node, via="vmss")
    assert wait_for(lambda: sb.timeline.events("reboot", node=node, phase="up"))
    after = sb.cluster.host_facts(node)
    assert after.boot_id != before.boot_id and after.kernel == "5.15.0-1075-azure"  # a good reboot ...
    assert after.sentinel and after.packages == ["kpatch"]  # ... and the package asks again
    probe = run_probe(core, node, "r4")
    assert probe["rebootRequired"] is True and probe["packages"] == ["kpatch"] and probe["bootId"] == after.boot_id


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
