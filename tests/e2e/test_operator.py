"""Operators' interface over HTTP: dry run, cancel mid-drain, pause/resume, approval, runs, lock."""

from __future__ import annotations

from lab.sandbox import invariants
from rebooter import contract

BLOCKED = {
    "name": "blocked-drain",
    "cluster": {"resourceGroup": "rg-ops", "name": "aks-ops"},
    "pools": [{"name": "system", "mode": "System", "count": 1}, {"name": "user", "count": 2}],
    "nodes": [{"node": "user/0", "rebootRequired": True}, {"node": "user/1", "rebootRequired": True}],
    "workloads": {"deployments": [{"name": "frozen", "replicas": 2, "pools": ["user"], "pdb": {"maxUnavailable": 0}}]},
    "timings": {"rebootSeconds": 0.3, "podStartSeconds": 0.1, "podTerminationSeconds": 0.1},
}


TWO_NODES = {**BLOCKED, "name": "two-nodes",
             "workloads": {"deployments": [{"name": "web", "replicas": 2, "pools": ["user"],
                                            "pdb": {"maxUnavailable": 1}}]}}


def _only_pending_taint(event) -> bool:
    """A node change that only adds or removes our reboot-pending PreferNoSchedule taint."""
    changes = event.get("changes") or {}
    if set(changes) != {"taints"}:
        return False
    before, after = (set(x or []) for x in changes["taints"])
    return before ^ after == {f"{contract.PENDING_TAINT_KEY}:PreferNoSchedule"}


def app_changes(timeline, pending_taint_allowed: bool = False):
    """What a cycle changed in the cluster: node state changes, evictions, reboots, workload deletions.

    Reads leave their own short-lived pods behind them: AKS's run-command pod (namespace
    aks-command) and our probe pods; those are not changes to the cluster's nodes or workloads.
    ``pending_taint_allowed``: a planned cycle marks its nodes with the soft reboot-pending taint
    right after planning (kured's --prefer-no-schedule-taint), before any approval.
    """
    changes = [e for e in timeline.events("node") if not e.get("initial") and e.get("changes")
               and not (pending_taint_allowed and _only_pending_taint(e))]
    changes += timeline.events("eviction") + timeline.events("reboot")
    changes += [e for e in timeline.events("pod_deleted")
                if not str(e["pod"]).startswith("rebooter-probe-") and e.get("namespace") != "aks-command"]
    return changes


def test_dry_run_plans_without_touching_the_cluster(stack_for):
    stack = stack_for("lab/scenarios/demo.yaml")
    response = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "dryRun": True})
    assert response.status_code == 202, response.text
    status = stack.api.wait(response.json()["id"])
    output = status["output"]
    assert output["outcome"] == "dry-run"
    planned = [n["node"] for n in output["plan"]["nodes"]]
    needing = sorted(n.name for n in stack.sandbox.scenario.nodes if n.reboot_required and not n.cordoned_by)
    assert sorted(planned) == needing
    assert output["plan"]["estimatedSeconds"] > 0 and output["plan"]["estimateBasis"]
    assert any("someone else" in s["reason"] for s in output["skipped"])
    assert app_changes(stack.sandbox.timeline) == []


def test_cancel_mid_drain_uncordons_releases_and_marks_cancelled(stack_for):
    # The PDB allows no disruption: predicted undrainable. With policy "force" the app cordons and
    # tries anyway (evictions first), so the drain sits blocked by 429s: cancel lands mid-drain.
    stack = stack_for(BLOCKED, REBOOTER_DRAIN_TIMEOUT_SECONDS="120", REBOOTER_UNDRAINABLE_POLICY="force")
    cluster = stack.sandbox.cluster_resource_id
    instance = stack.api.start({"cluster": cluster}).json()["id"]
    status = stack.api.until(instance, lambda s: "drain" in {(c or {}).get("step") for c in
                                                              (s.get("currentNodeStatus") or {}).values()})
    node = status["customStatus"]["currentNodes"][0]
    assert stack.sandbox.timeline.wait_for(lambda e: e.get("status") == 429, kind="eviction", timeout=10)
    assert stack.sandbox.cluster.store.get("nodes", node)["spec"].get("unschedulable") is True

    response = stack.api.command(instance, "cancel", by="oncall", reason="incident")
    assert response.status_code == 202, response.text
    assert f"{instance}:{node}" in response.json()["sentTo"]
    final = stack.api.wait(instance)
    output = final["output"]
    assert output["outcome"] == "cancelled" and "oncall" in output["reason"]
    assert [n["result"] for n in output["nodes"]] == ["cancelled"]
    assert not stack.sandbox.cluster.store.get("nodes", node)["spec"].get("unschedulable")
    assert any("cancelled" in s["reason"] for s in output["skipped"]), "the other node is not started"
    lock = stack.api.get("clusters/aks-ops/lock").json()
    assert lock["holders"] == {}
    assert stack.sandbox.timeline.events("reboot") == []
    assert invariants.pdb_violations(stack.sandbox.timeline) == []
    assert stack.api.command(instance, "cancel").status_code == 409


def test_pause_holds_before_the_next_node_and_resume_continues(stack_for):
    stack = stack_for(TWO_NODES)
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id}).json()["id"]
    stack.api.until(instance, lambda s: (s.get("customStatus") or {}).get("step") == "patch nodes")
    assert stack.api.command(instance, "pause", reason="watch the first node").status_code == 202
    paused = stack.api.until(instance, lambda s: (s.get("customStatus") or {}).get("step") == "paused")
    assert paused["customStatus"]["done"] == 1
    reboots = len(stack.sandbox.timeline.events("reboot"))
    assert stack.api.status(instance)["status"] == "Running"
    assert stack.api.command(instance, "resume").status_code == 202
    final = stack.api.wait(instance)
    assert final["output"]["outcome"] == "completed" and final["output"]["counts"]["patched"] == 2
    assert len(stack.sandbox.timeline.events("reboot")) > reboots


def test_approval_gate_waits_then_runs_and_runs_are_listed(stack_for):
    stack = stack_for("lab/scenarios/minimal.yaml", REBOOTER_APPROVAL="first")
    cluster = stack.sandbox.cluster_resource_id
    instance = stack.api.start({"cluster": cluster, "reason": "approve me"}).json()["id"]
    stack.api.until(instance, lambda s: (s.get("customStatus") or {}).get("step") == "awaiting approval")
    assert app_changes(stack.sandbox.timeline, pending_taint_allowed=True) == []
    assert stack.api.command(instance, "approve", by="lead").status_code == 202
    final = stack.api.wait(instance)
    assert final["output"]["outcome"] == "completed"

    runs = stack.api.get("patch-cycles", cluster=cluster).json()
    assert runs["count"] == 1 and runs["runs"][0]["outcome"] == "completed"
    assert stack.api.get("patch-cycles", status="halted").json()["count"] == 0
    assert stack.api.get("patch-cycles", limit="0").status_code == 400
    progress = stack.api.get(f"clusters/{stack.sandbox.scenario.cluster.name}/progress").json()
    assert {n["step"] for n in progress["nodes"].values()} == {"patched"}
    assert stack.api.get("clusters/unknown/lock").status_code == 404
    assert stack.api.command(instance, "explode").status_code == 404
