"""The Azure role and the Kubernetes RBAC grant exactly what the code's calls need.

Nothing here lists the permissions by hand: infra/checks/permissions.py derives them from the
ARM SDK and Kubernetes client calls of the deployed code (and the probe script's kubectl
commands), and these tests compare that with infra/app/aks-cluster-access.bicep and
infra/kubernetes/rebooter-rbac.yaml both ways.
"""

from __future__ import annotations

import re
import textwrap

import pytest
import yaml

from infra.checks import INFRA, permissions
from rebooter import contract

ACCESS_BICEP = INFRA / "app" / "aks-cluster-access.bicep"
RBAC_YAML = INFRA / "kubernetes" / "rebooter-rbac.yaml"
# Virtual Machine Contributor (assigned on the node resource group for REBOOTER_REBOOT_METHOD=vmss)
# includes these action patterns (learn.microsoft.com/azure/role-based-access-control/built-in-roles/compute#virtual-machine-contributor).
VM_CONTRIBUTOR = ("Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/virtualMachineScaleSets/*")


def role_actions(text: str) -> set[str]:
    return set(re.findall(r"'(Microsoft\.ContainerService/[^'@]*)'", text))


def needed_cluster_actions(files=None) -> set[str]:
    calls = permissions.arm_calls(permissions.deployed_python() if files is None else files)
    return {call.action for call in calls if call.action.startswith("Microsoft.ContainerService/")}


def compare(needed: set[str], granted: set[str]) -> tuple[set[str], set[str]]:
    lower = {a.lower(): a for a in granted}
    missing = {a for a in needed if a.lower() not in lower}
    extra = {lower[a] for a in lower if a not in {n.lower() for n in needed}}
    return missing, extra


def test_the_custom_role_has_exactly_the_actions_the_code_calls():
    needed = needed_cluster_actions()
    assert "Microsoft.ContainerService/managedClusters/maintenanceConfigurations/read" in needed
    missing, extra = compare(needed, role_actions(ACCESS_BICEP.read_text()))
    assert missing == set(), f"the code calls ARM operations the role does not allow: {missing}"
    assert extra == set(), f"the role allows actions no code calls: {extra}"
    assert not re.findall(r"'[^'\n]*\*[^'\n]*'", ACCESS_BICEP.read_text()), "no wildcard actions"


def test_compute_calls_are_covered_by_virtual_machine_contributor_on_the_node_resource_group():
    calls = [c for c in permissions.arm_calls(permissions.deployed_python()) if c.action.startswith("Microsoft.Compute/")]
    assert calls, "the vmss reboot method restarts instances through ARM"
    for call in calls:
        assert any(call.action.lower().startswith(p[:-1].lower()) for p in VM_CONTRIBUTOR), call
    assert "9980e02c-c2be-4d73-94e8-173b1dc7cf3c" in (INFRA / "app" / "aks-node-rg-access.bicep").read_text()


def test_arm_actions_follow_the_request_method_and_path():
    base = "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ContainerService/managedClusters/{n}"
    assert permissions.arm_action("GET", base) == "Microsoft.ContainerService/managedClusters/read"
    assert permissions.arm_action("POST", base + "/runCommand") == "Microsoft.ContainerService/managedClusters/runCommand/action"
    assert permissions.arm_action("GET", base + "/commandResults/{id}") == "Microsoft.ContainerService/managedClusters/commandResults/read"
    assert permissions.arm_action("PUT", base + "/agentPools/{p}") == "Microsoft.ContainerService/managedClusters/agentPools/write"


def test_a_new_arm_call_or_a_dropped_one_is_caught(tmp_path):
    code = tmp_path / "extra.py"
    code.write_text("def stop(arm, rg, name):\n    return arm.managed_clusters.begin_stop(rg, name)\n")
    files = [*permissions.deployed_python(), code]
    missing, _ = compare(needed_cluster_actions(files), role_actions(ACCESS_BICEP.read_text()))
    assert missing == {"Microsoft.ContainerService/managedClusters/stop/action"}
    without_window = [f for f in permissions.deployed_python() if "maintenance_configurations" not in f.read_text()]
    _, extra = compare(needed_cluster_actions(without_window), role_actions(ACCESS_BICEP.read_text()))
    assert extra == {"Microsoft.ContainerService/managedClusters/maintenanceConfigurations/read"}


def rbac() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(RBAC_YAML.read_text())}


def test_kubernetes_rbac_grants_exactly_what_the_code_calls():
    cluster, namespaced = permissions.split_rules(permissions.code_kube_needs())
    docs = rbac()
    assert set(docs) == {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    assert permissions.granted(docs["ClusterRole"]) == cluster
    # Pods are created only in the app's own namespace: that grant is namespaced, never cluster-wide.
    assert set(namespaced) == {contract.PROBE_NAMESPACE} == {contract.REBOOT_NAMESPACE}
    assert docs["Role"]["metadata"]["namespace"] == contract.PROBE_NAMESPACE
    assert permissions.granted(docs["Role"]) == namespaced[contract.PROBE_NAMESPACE]
    assert ("", "pods", "create") not in permissions.granted(docs["ClusterRole"])
    # Nodes are watched (rebooter/kube/watching.py: back after the reboot) and patched, never replaced or deleted.
    assert ("", "nodes", "watch") in permissions.granted(docs["ClusterRole"])
    for verb in ("update", "delete"):
        assert ("", "nodes", verb) not in permissions.granted(docs["ClusterRole"])


def test_bindings_name_the_identity_and_their_roles():
    docs = rbac()
    subject = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "REBOOTER_PRINCIPAL_ID"}]
    assert docs["ClusterRoleBinding"]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                     "name": docs["ClusterRole"]["metadata"]["name"]}
    assert docs["RoleBinding"]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                              "name": docs["Role"]["metadata"]["name"]}
    assert docs["RoleBinding"]["metadata"]["namespace"] == docs["Role"]["metadata"]["namespace"]
    assert docs["ClusterRoleBinding"]["subjects"] == subject == docs["RoleBinding"]["subjects"]


def test_kubernetes_requests_map_to_verbs_like_the_api_server():
    assert permissions.kube_rule(*permissions.kube_request("read_namespaced_pod_log")) == ("", "pods/log", "get", True)
    assert permissions.kube_rule(*permissions.kube_request("create_namespaced_pod_eviction")) == (
        "", "pods/eviction", "create", True)
    assert permissions.kube_rule(*permissions.kube_request("list_pod_for_all_namespaces")) == ("", "pods", "list", False)
    assert permissions.kube_rule(*permissions.kube_request("list_node"), watch=True) == ("", "nodes", "watch", False)
    assert permissions.kube_rule(*permissions.kube_request("read_namespaced_daemon_set")) == ("apps", "daemonsets", "get", True)


@pytest.mark.parametrize(
    ("source", "rule", "namespace", "granted_already"),
    [
        # a namespace the code does not fix needs the rule everywhere: the ClusterRole lacks it
        ("from kubernetes import client as k8s\n"
         "def f(api, pod):\n    k8s.CoreV1Api(api).create_namespaced_pod(pod['ns'], {})\n",
         ("", "pods", "create"), None, False),
        # a module constant followed through a helper's parameter: the kube-system Role has it
        ("from kubernetes import client as k8s\nfrom rebooter import contract\nfrom rebooter.kube.kubeapi import call_json\n"
         "def _get(core, name, namespace):\n    return call_json(core.read_namespaced_pod, name, namespace)\n"
         "def g(api):\n    return _get(k8s.CoreV1Api(api), 'x', contract.PROBE_NAMESPACE)\n",
         ("", "pods", "get"), "kube-system", True),
        # a watch is its own verb, which the ClusterRole does not grant on PodDisruptionBudgets
        ("def h(policy):\n    return policy.list_pod_disruption_budget_for_all_namespaces(watch=True)\n",
         ("policy", "poddisruptionbudgets", "watch"), None, False),
    ],
    ids=["unknown-namespace", "constant-through-helper", "watch"],
)
def test_new_kubernetes_calls_are_derived(tmp_path, source, rule, namespace, granted_already):
    code = tmp_path / "calls.py"
    code.write_text(textwrap.dedent(source))
    needs = permissions.kube_needs([code])
    assert [(n.rule, n.namespace) for n in needs] == [(rule, namespace)]
    cluster, namespaced = permissions.split_rules([*permissions.code_kube_needs(), *needs])
    matches = (cluster == permissions.granted(rbac()["ClusterRole"])
               and namespaced.get(contract.PROBE_NAMESPACE) == permissions.granted(rbac()["Role"]))
    assert matches == granted_already


def test_a_list_method_passed_to_a_watch_needs_list_and_watch(tmp_path):
    """watch.Watch().stream(fn) calls fn with watch=True; rebooter.watching.wait_until lists with
    fn, then streams it: both are derived, so the RBAC must grant both verbs."""
    code = tmp_path / "calls.py"
    code.write_text("from kubernetes import watch\nfrom rebooter.watching import wait_until\n"
                    "def s(apps):\n    return watch.Watch().stream(apps.list_daemon_set_for_all_namespaces)\n"
                    "def w(core):\n    return wait_until(core.list_node, bool, 1)\n")
    rules = {n.rule for n in permissions.kube_needs([code])}
    assert rules == {("apps", "daemonsets", "list"), ("apps", "daemonsets", "watch"),
                     ("", "nodes", "list"), ("", "nodes", "watch")}
    cluster, _ = permissions.split_rules(permissions.code_kube_needs())
    assert {("", "nodes", "watch"), ("", "pods", "watch")} <= cluster  # what rebooter/kube/watching.py needs
