"""Orchestrations do not trust their input (issue 11 item 3): settings that reach patch_cycle or
patch_node without going through the API (the Durable management URLs can start any
orchestration with any input) are checked again, and a bad one touches nothing."""

from __future__ import annotations

from .fakes import two_node_cluster
from .harness import run_cycle

FORGED = [
    {"prometheusUrl": "https://evil.example@ws.westeurope.prometheus.monitor.azure.com", "prometheusAuth": "entra"},
    {"prometheusUrl": "https://evil.example", "prometheusAuth": "entra"},
    {"drainDelaySeconds": 1e12},
    {"maxUnavailable": 100000},
    {"rebootMethod": "ipmi"},
]


def test_a_forged_cycle_input_ends_with_the_reason_and_calls_nothing():
    for forged in FORGED:
        run = run_cycle(two_node_cluster(), overrides=forged)
        assert run.cycle.status == "Completed", run.cycle.error
        assert run.cycle.output["outcome"] == "failed" and "invalid settings" in run.cycle.output["reason"]
        assert run.cluster.calls == [], forged
        assert "evil.example@" not in str(run.cycle.output)


def test_the_cluster_settings_travel_in_every_activity_payload():
    """Item 4: each activity gets the cluster's settings (labels, credential, auth, method)."""
    run = run_cycle(two_node_cluster(), overrides={"optOutLabel": "team.io/no-reboot", "rebootMethod": "vmss"})
    assert run.cycle.output["outcome"] == "completed"
    needing = {"describe_cluster", "probe_pool", "fetch_probe_result", "list_nodes", "preflight_node", "cordon_node",
               "drain_node", "reboot_node", "check_node_health", "uncordon_node"}
    # (reboot_node and finish_node's parts run inside drain_node and check_node_health here; the
    # fakes record each part under its own name, with the payload it got)
    seen = set()
    for name, payload in run.cluster.calls:
        if name in needing:
            seen.add(name)
            assert payload["settings"]["optOutLabel"] == "team.io/no-reboot", name
            assert payload["settings"]["rebootMethod"] == "vmss" and payload["settings"]["kubeAuth"] == "auto", name
    assert seen == needing


def test_a_forged_patch_node_input_takes_nothing():
    from orchestrators import durable
    from rebooter.config import settings

    from .driver import ReplayHost
    from .fakes import CLUSTER

    cluster = two_node_cluster()
    host = ReplayHost(cluster.activities())
    cfg = durable.node_settings({**settings.load({}), "disableEviction": "yes", "drainTimeoutSeconds": -1})
    job = {"cluster": CLUSTER, "node": {"node": "aks-user-0", "pool": "user", "bootId": "b"}, "settings": cfg,
           "parent": "x"}
    result = host.run_orchestration("patch_node", job, "x:aks-user-0")
    assert result.output["result"] == "error" and "REBOOTER_DISABLE_EVICTION" in result.output["reason"]
    assert "REBOOTER_DRAIN_TIMEOUT_SECONDS" in result.output["reason"] and cluster.calls == []
    assert host.entity_state("cluster_lock", CLUSTER) is None or not host.entity_state("cluster_lock", CLUSTER)
