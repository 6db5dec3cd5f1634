"""Scenario files: examples load, names look like AKS's, invalid files name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.sandbox import naming, scenario
from lab.sandbox.schema import ScenarioError

ROOT = Path(__file__).resolve().parents[3]


def errors_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario.load(text)
    return info.value.errors


@pytest.mark.parametrize("name", ["demo", "minimal", "large", "faults", "pdb-blocked"])
def test_shipped_scenarios_load(name: str) -> None:
    s = scenario.load(ROOT / "lab" / "scenarios" / f"{name}.yaml")
    assert s.nodes and any(p.mode == "System" for p in s.pools)


def test_demo_has_what_the_demo_needs() -> None:
    s = scenario.load(ROOT / "lab" / "scenarios" / "demo.yaml")
    linux_pools = [p for p in s.pools if p.os_type == "Linux"]
    assert len(linux_pools) >= 2 and any(p.os_type == "Windows" for p in s.pools)
    assert len(s.nodes) >= 7
    reboot = [n for n in s.nodes if n.reboot_required]
    assert len(reboot) == 3 and any(n.cordoned_by for n in reboot)
    web = next(w for w in s.workloads if w.name == "web")
    assert web.replicas == 3 and len(web.pools) == 2 and web.pdb.max_unavailable == 1
    assert any(w.kind == "DaemonSet" for w in s.workloads) and any(w.empty_dir for w in s.workloads)


def test_large_is_200_nodes() -> None:
    assert len(scenario.load(ROOT / "lab" / "scenarios" / "large.yaml").nodes) == 200


def test_aks_node_names_and_provider_ids() -> None:
    s = scenario.load("""
cluster: {subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: RG1, name: aks1, location: westus2}
pools:
  - {name: nodepool1, mode: System, count: 12}
  - {name: win, osType: Windows, count: 2}
""")
    number = s.cluster.number
    assert len(number) == 8 and number.isdigit()
    linux = s.nodes_of("nodepool1")
    assert linux[0].name == f"aks-nodepool1-{number}-vmss000000"
    assert linux[11].name == f"aks-nodepool1-{number}-vmss00000b"
    assert int(linux[11].name.rsplit("vmss", 1)[1], 36) == 11
    assert linux[11].provider_id == (
        "azure:///subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/mc_rg1_aks1_westus2/providers/"
        f"Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-{number}-vmss/virtualMachines/11")
    assert [n.name for n in s.nodes_of("win")] == ["akswin000000", "akswin000001"]
    assert s.pool("win").vmss == f"aks-win-{number}-vmss"
    assert s.cluster.node_resource_group == "MC_RG1_aks1_westus2"
    assert naming.base36(199) == "00005j"


def test_node_references_and_defaults() -> None:
    s = scenario.load("""
pools:
  - {name: sys, mode: System, count: 5}
nodes:
  - {node: sys/1-3, rebootRequired: true}
  - {node: sys/3, pendingKernel: 6.8.0-1010-azure, packages: [linux-image-6.8.0-1010-azure]}
  - {node: sys/*, labels: {team: a}}
""")
    flags = [n.reboot_required for n in s.nodes]
    assert flags == [False, True, True, True, False]
    assert s.nodes[1].pending_kernel == "5.15.0-1075-azure"
    assert s.nodes[1].packages == ("linux-image-5.15.0-1075-azure",)
    assert s.nodes[3].pending_kernel == "6.8.0-1010-azure"
    assert all(dict(n.labels) == {"team": "a"} for n in s.nodes)


def test_count_must_be_an_integer() -> None:
    assert errors_of("""
pools:
  - {name: system, mode: System, count: 2}
  - {name: user, count: three}
""") == ['pools[1].count: expected an integer >= 1, got "three"']


@pytest.mark.parametrize(("snippet", "expected"), [
    ("pools: [{name: System1, mode: System, count: 1}]", 'pools[0].name: expected a pool name'),
    ("pools: [{name: waytoolongname, mode: System, count: 1}]", "at most 12 characters"),
    ("pools: [{name: s, mode: System, count: 1}, {name: winpool1, osType: Windows, count: 1}]",
     "pools[1].name: expected a Windows pool name"),
    ("pools: [{name: s, mode: Main, count: 1}]", 'pools[0].mode: expected one of System, User, got "Main"'),
    ("pools: [{name: s, count: 1}]", "pools: AKS needs at least one pool with mode: System"),
    ("pools: [{name: s, mode: System, count: 1}, {name: s, count: 1}]", "pools[1].name: duplicate pool name 's'"),
    ("pools: [{name: s, mode: System, count: 1, zones: [a]}]", 'pools[0].zones[0]: expected an availability zone'),
    ("pools: [{name: s, mode: System, count: 1, colour: red}]", "pools[0].colour: unknown field"),
    ("cluster: {subscriptionId: nope}\npools: [{name: s, mode: System, count: 1}]",
     'cluster.subscriptionId: expected a subscription GUID, got "nope"'),
    ("cluster: {nodeOsUpgradeChannel: Nightly}\npools: [{name: s, mode: System, count: 1}]",
     "cluster.nodeOsUpgradeChannel: expected one of Unmanaged, SecurityPatch, NodeImage, None"),
    ("cluster: {aadEnabled: yes please}\npools: [{name: s, mode: System, count: 1}]",
     'cluster.aadEnabled: expected true or false, got "yes please"'),
    ("pools: [{name: s, mode: System, count: 1}]\nnodes: [{node: x/0, rebootRequired: true}]",
     "nodes[0].node: no pool named 'x' (pools: s)"),
    ("pools: [{name: s, mode: System, count: 1}]\nnodes: [{node: s/4}]",
     "nodes[0].node: index out of range: pool 's' has 1 node(s)"),
    ("pools: [{name: s, mode: System, count: 1}, {name: w, osType: Windows, count: 1}]\n"
     "nodes: [{node: w/0, rebootRequired: true}]", "nodes[0].rebootRequired: aksw000000 is a Windows node"),
    ("pools: [{name: s, mode: System, count: 1}]\nnodes: [{node: s/0, taints: [{key: a, effect: Sometimes}]}]",
     "nodes[0].taints[0].effect: expected one of NoSchedule, PreferNoSchedule, NoExecute"),
    ("pools: [{name: s, mode: System, count: 1}]\nworkloads: {deployments: [{name: web, replicas: -1}]}",
     "workloads.deployments[0].replicas: expected an integer between 0 and 10000, got -1"),
    ("pools: [{name: s, mode: System, count: 1}]\nworkloads: {deployments: [{name: web, pools: [nope]}]}",
     "workloads.deployments[0].pools[0]: no Linux pool named 'nope'"),
    ("pools: [{name: s, mode: System, count: 1}]\nworkloads: {deployments: [{name: web, pdb: {}}]}",
     "workloads.deployments[0].pdb: set exactly one of minAvailable or maxUnavailable"),
    ("pools: [{name: s, mode: System, count: 1}]\nworkloads: {deployments: [{name: web, pdb: {minAvailable: lots}}]}",
     'workloads.deployments[0].pdb.minAvailable: expected an integer >= 0 or a percentage like "50%", got "lots"'),
    ("pools: [{name: s, mode: System, count: 1}]\nworkloads: {mirrorPods: [{name: m}]}",
     "workloads.mirrorPods[0].node: required field is missing"),
    ("pools: [{name: s, mode: System, count: 1}]\ntimings: {rebootSeconds: soon}",
     'timings.rebootSeconds: expected a number of seconds >= 0, got "soon"'),
    ("pools: [{name: s, mode: System, count: 1}]\nfaults: [{type: meteor}]", "faults[0].type: expected one of kubeApiError"),
    ("pools: [{name: s, mode: System, count: 1}]\nfaults: [{type: kubeApiError, status: 404}]",
     "faults[0].status: expected an integer between 500 and 599, got 404"),
    ("pools: [{name: s, mode: System, count: 1}]\nfaults: [{type: nodeNeverReturns}]", "faults[0].node: required field"),
    ("pools: [{name: s, mode: System, count: 1}]\nfaults: [{type: nodeRerunsRebootPod}]", "faults[0].node: required field"),
    ("pools: [{name: s, mode: System, count: 1}]\nnodes: [{node: s/0, sentinelSurvivesReboot: often}]",
     'nodes[0].sentinelSurvivesReboot: expected true or false, got "often"'),
    ("pools: [{name: s, mode: System, count: 1}]\nnodes: [{node: s/0, packagesAfterReboot: [\"a b\"]}]",
     'nodes[0].packagesAfterReboot[0]: expected a Debian package name, got "a b"'),
    ("pools: [{name: s, mode: System, count: 1}, {name: w, osType: Windows, count: 1}]\n"
     "nodes: [{node: w/0, sentinelSurvivesReboot: true}]", "nodes[0].sentinelSurvivesReboot: aksw000000 is a Windows node"),
    ("pools: [{name: s, mode: System, count: 1}]\nfaults: [{type: armThrottle, reason: x}]", "faults[0].reason: unknown field"),
])
def test_invalid_scenarios_name_the_field(snippet: str, expected: str) -> None:
    messages = errors_of(snippet + "\n")
    assert any(expected in m for m in messages), messages


def test_all_errors_are_reported_at_once() -> None:
    messages = errors_of("""
cluster: {name: "bad name!"}
pools:
  - {name: system, mode: System, count: 0}
workloads: {deployments: [{name: Web}]}
""")
    assert len(messages) == 3
    assert messages[0].startswith("cluster.name:") and messages[1].startswith("pools[0].count:")
    assert messages[2].startswith("workloads.deployments[0].name:")


def test_missing_file_and_bad_yaml() -> None:
    assert "no such scenario file" in errors_of("/nonexistent/scenario.yaml")[0]
    assert "not valid YAML" in errors_of("pools: [\n  {")[0]
    assert errors_of("just a string\n") == ['(top level): expected a mapping, got "just a string"']


def test_invalid_scenario_starts_nothing() -> None:
    from lab.sandbox.runtime import Sandbox

    with pytest.raises(ScenarioError):
        Sandbox("pools: [{name: s, mode: System, count: nope}]\n")
