"""kured's --prefer-no-schedule-taint on the sandbox: planned nodes carry our PreferNoSchedule taint
from planning until they are healthy again, or until the cycle ends without patching them."""

from __future__ import annotations

from rebooter import contract

OURS = f"{contract.PENDING_TAINT_KEY}:PreferNoSchedule"


def tainted_now(stack) -> set[str]:
    return {n["metadata"]["name"] for n in stack.sandbox.cluster.store.list("nodes")
            if any(t.get("key") == contract.PENDING_TAINT_KEY for t in n["spec"].get("taints") or [])}


def taint_changes(timeline, node: str) -> list[tuple[float, bool]]:
    """(time, tainted) each time our taint came or went on the node, from the recorded timeline."""
    out, last = [], False
    for event in timeline.events("node", node=node):
        has = OURS in event.data["state"].get("taints", [])
        if has != last:
            out.append((event.t, has))
            last = has
    return out


def needing(stack) -> set[str]:
    return {n.name for n in stack.sandbox.scenario.nodes if n.reboot_required and not n.cordoned_by}


def test_taint_from_planning_until_healthy(stack_for):
    stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2")
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "taint"}).json()["id"]
    final = stack.api.wait(instance)
    assert final["output"]["outcome"] == "completed"
    timeline = stack.sandbox.timeline
    planned = needing(stack)
    for node in stack.sandbox.scenario.nodes:
        changes = taint_changes(timeline, node.name)
        if node.name not in planned:
            assert changes == [], f"{node.name} was not planned and must never carry the taint"
            continue
        assert [has for _, has in changes] == [True, False], (node.name, changes)
        added, removed = changes[0][0], changes[1][0]
        reboot = timeline.events("reboot", node=node.name)
        states = [(e.t, e.data["state"]) for e in timeline.events("node", node=node.name)]
        healthy_again = [t for t, s in states if s["ready"] == "True" and s["bootID"] != states[0][1]["bootID"]]
        cordons = [t for t, s in states if s["unschedulable"]]
        assert reboot and added < cordons[0] < reboot[0].t, "tainted at planning, before its cordon and reboot"
        assert removed >= healthy_again[0], "the taint stays until the node is healthy again"
    assert tainted_now(stack) == set()


def test_taint_removed_when_the_cycle_ends_without_patching(stack_for):
    stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2", REBOOTER_APPROVAL="first")
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "taint"}).json()["id"]
    stack.api.until(instance, lambda s: (s.get("customStatus") or {}).get("step") == "awaiting approval")
    assert tainted_now(stack) == needing(stack)  # pending: new pods prefer other nodes
    assert stack.api.command(instance, "reject", by="lead").status_code == 202
    final = stack.api.wait(instance)
    assert final["output"]["outcome"] == "halted" and final["output"]["counts"]["patched"] == 0
    assert tainted_now(stack) == set()
    assert stack.sandbox.timeline.events("reboot") == []


def test_setting_turns_the_taint_off(stack_for):
    stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2", REBOOTER_PREFER_NO_SCHEDULE_TAINT="false")
    instance = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "no taint"}).json()["id"]
    assert stack.api.wait(instance)["output"]["outcome"] == "completed"
    for node in stack.sandbox.scenario.nodes:
        assert taint_changes(stack.sandbox.timeline, node.name) == []
