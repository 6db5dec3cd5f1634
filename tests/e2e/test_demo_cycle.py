"""The demo scenario's patch cycle, end to end over the app's HTTP API, checked on the timeline."""

from __future__ import annotations

from lab.sandbox import invariants


def node_state(stack, name):
    node = stack.sandbox.cluster.store.get("nodes", name)
    ready = next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")
    return {"bootId": node["status"]["nodeInfo"]["bootID"], "kernel": node["status"]["nodeInfo"]["kernelVersion"],
            "ready": ready, "unschedulable": bool(node["spec"].get("unschedulable"))}


def kernel_tuple(kernel: str):
    return tuple(int(p) for p in kernel.split("-")[0].split(".")) + (int(kernel.split("-")[1]),)


def test_demo_cycle_patches_exactly_the_nodes_that_need_it(stack_for):
    # The operator's cordoned node counts against the budget: 2 leaves room for one of ours.
    stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2")
    scenario = stack.sandbox.scenario
    before = {n.name: node_state(stack, n.name) for n in scenario.nodes}
    needing = {n.name for n in scenario.nodes if n.reboot_required and not n.cordoned_by}
    foreign = {n.name for n in scenario.nodes if n.cordoned_by}
    assert len(needing) >= 2 and foreign

    response = stack.api.start({"cluster": stack.sandbox.cluster_resource_id, "reason": "e2e"})
    assert response.status_code == 202, response.text
    instance_id = response.json()["id"]
    status = stack.api.wait(instance_id)
    assert status["status"] == "Completed", status
    output = status["output"]
    assert output["outcome"] == "completed"
    assert {n["node"] for n in output["nodes"] if n["result"] == "patched"} == needing

    after = {n.name: node_state(stack, n.name) for n in scenario.nodes}
    for name in after:
        if name in needing:
            assert after[name]["bootId"] != before[name]["bootId"], name
            assert kernel_tuple(after[name]["kernel"]) > kernel_tuple(before[name]["kernel"]), name
        else:
            assert after[name]["bootId"] == before[name]["bootId"], f"{name} was rebooted but did not need it"
        if name in foreign:
            assert after[name]["unschedulable"], f"{name} was cordoned by someone else and must stay cordoned"
        else:
            assert after[name]["unschedulable"] is False and after[name]["ready"] == "True", name

    skipped = {s["node"]: s["reason"] for s in output["skipped"]}
    assert foreign <= set(skipped) and all("someone else" in skipped[n] for n in foreign)
    assert any(p["pool"] == "win" for p in output["notApplicable"])
    for node in output["nodes"]:
        assert [s["step"] for s in node["steps"]] == ["lock", "cordon", "drain", "reboot", "wait healthy", "uncordon"]
        assert node["before"]["bootId"] != node["after"]["bootId"]

    timeline = stack.sandbox.timeline
    assert invariants.max_unavailable(timeline, exclude_foreign=True).count == 1
    assert invariants.max_unavailable(timeline).count == 2
    assert invariants.pdb_violations(timeline) == []
    assert invariants.foreign_cordons_undone(timeline, scenario) == []
    assert [e["status"] for e in timeline.events("eviction")], "the drain must go through evictions"


def test_second_start_while_running_is_409_and_bad_input_is_400_with_nothing_started(stack_for):
    stack = stack_for("lab/scenarios/demo.yaml", REBOOTER_MAX_UNAVAILABLE="2")
    cluster = stack.sandbox.cluster_resource_id
    bad = [
        (b"{not json", "body"),
        ({"cluster": cluster.replace("aks-demo", "aks-other")}, "cluster"),
        ({"cluster": cluster, "pools": ["apps;reboot"]}, "pools[0]"),
        ({"cluster": cluster, "nodes": ["aks-apps-1 && rm -rf /"]}, "nodes[0]"),
        ({"cluster": cluster, "overrides": {"drainTimeoutSeconds": -1}}, "overrides"),
    ]
    for body, field in bad:
        response = stack.api.start(body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["field"] == field and response.json()["detail"]
    assert stack.sandbox.timeline.events("run_command") == [], "a bad request must not start anything"

    first = stack.api.start({"cluster": cluster})
    assert first.status_code == 202
    second = stack.api.start({"cluster": cluster})
    assert second.status_code == 409 and second.json()["id"] == first.json()["id"]
    assert stack.api.wait(first.json()["id"])["status"] == "Completed"
