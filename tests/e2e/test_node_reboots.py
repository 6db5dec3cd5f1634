"""Reboots as real nodes do them, end to end over HTTP on the sandbox.

* A package that sets /var/run/reboot-required again at every boot: the node is rebooted once,
  put back in service and reported as still asking (with its packages); the next cycle leaves it
  alone for the reboot-loop cooldown instead of rebooting it again (kured's loop, kured#976).
* The kubelet starts a finished reboot pod again after the node comes back (restartPolicy Never is
  at least once, kubernetes/kubernetes#83705): the boot ID guard makes that run a no-op.
"""

from __future__ import annotations

from lab.sandbox import invariants

LOOPING = {
    "name": "reboot-loop",
    "cluster": {"resourceGroup": "rg-loop", "name": "aks-loop"},
    "pools": [{"name": "system", "mode": "System", "count": 1}, {"name": "user", "count": 3}],
    "nodes": [{"node": "user/0", "rebootRequired": True, "sentinelSurvivesReboot": True,
               "packagesAfterReboot": ["kpatch-loop"]},
              {"node": "user/1", "rebootRequired": True}],
    "faults": [{"type": "nodeRerunsRebootPod", "node": "user/1"}],
    "workloads": {"deployments": [{"name": "web", "replicas": 2, "pools": ["user"], "pdb": {"maxUnavailable": 1}}]},
    "timings": {"rebootSeconds": 0.3, "podStartSeconds": 0.1, "podTerminationSeconds": 0.1},
}


def run_cycle(stack) -> dict:
    response = stack.api.start({"cluster": stack.sandbox.cluster_resource_id})
    assert response.status_code == 202, response.text
    status = stack.api.wait(response.json()["id"])
    assert status["status"] == "Completed", status
    return status["output"]


def test_a_node_asking_again_after_its_reboot_and_a_reboot_pod_run_twice(stack_for):
    stack = stack_for(LOOPING, REBOOTER_REBOOT_LOOP_COOLDOWN_SECONDS="3600")
    sb = stack.sandbox
    looping, rerun = (n.name for n in sb.scenario.nodes_of("user")[:2])

    first = run_cycle(stack)
    assert first["outcome"] == "completed"
    results = {n["node"]: n for n in first["nodes"]}
    assert results[looping]["result"] == "patched" and results[rerun]["result"] == "patched"
    assert results[looping]["stillRequired"] == {"packages": ["kpatch-loop"]}
    assert "kpatch-loop" in results[looping]["reason"] and "stillRequired" not in results[rerun]

    # Each node rebooted exactly once, although the kubelet ran user/1's reboot pod a second time.
    assert sb.cluster.host_facts(looping).reboots == ["pod"]
    assert sb.cluster.host_facts(rerun).reboots == ["pod"]
    assert len(sb.timeline.events("reboot_pod", node=rerun, phase="rerun")) == 1
    runs = sb.timeline.events("reboot_pod", node=rerun, phase="ran")
    assert [r["reboot"] for r in runs] == [True, False]

    # The still-asking node is back in service, marked, with the sentinel still there.
    node = sb.cluster.store.get("nodes", looping)
    assert not node["spec"].get("unschedulable")
    notes = node["metadata"]["annotations"]
    assert notes["rebooter.aks.io/reboot-state"] == "still-required"
    assert notes["rebooter.aks.io/still-required-packages"] == "kpatch-loop"
    assert sb.cluster.host_facts(looping).sentinel

    # The next cycle sees the sentinel again and leaves the node alone: no reboot loop.
    second = run_cycle(stack)
    assert second["nodes"] == []
    [skip] = [s for s in second["skipped"] if s["node"] == looping]
    assert "asked for a reboot again right after its reboot" in skip["reason"] and "kpatch-loop" in skip["reason"]
    assert rerun in second["upToDate"]
    assert sb.cluster.host_facts(looping).reboots == ["pod"]

    assert invariants.max_unavailable(sb.timeline, exclude_foreign=True).count <= 1
    assert invariants.pdb_violations(sb.timeline) == []
