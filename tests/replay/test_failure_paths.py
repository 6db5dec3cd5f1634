"""Failure paths the replay driver first showed to be wrong, now fixed and kept as regressions:
an activity failing after its retries, a pool whose probe cannot be submitted, a failed probe
next to a slow retried one (the SDK/extension WhenAll mismatch), a node left alone mid-rollout.
"""

from __future__ import annotations

from .fakes import two_node_cluster
from .harness import CYCLE_ID, run_cycle

A, B = "aks-system-0", "aks-user-0"


def test_a_drain_that_errors_gives_the_cordon_and_the_lock_back():
    run = run_cycle(two_node_cluster(
        failing={"drain_node": lambda p: RuntimeError("kube API answered 500") if p["node"] == A else None}))
    assert run.cycle.status == "Completed", run.cycle.error
    assert run.cycle.output["nodes"][0]["result"] != "patched"
    assert not run.cluster.node(A).unschedulable
    assert f"{CYCLE_ID}:{A}" not in run.lock["holders"]


def test_a_pool_whose_probe_cannot_be_submitted_is_reported_not_fatal():
    run = run_cycle(two_node_cluster(
        failing={"probe_pool": lambda p: RuntimeError("409 Conflict: operation in progress") if p["pool"] == "user"
                 else None}))
    assert run.cycle.status == "Completed", run.cycle.error
    assert any(s["node"] == "pool user" for s in run.cycle.output["skipped"])


def test_a_failed_probe_next_to_a_slow_retried_one_is_reported_not_fatal():
    user_fetches = []

    def fetch_fault(payload):
        if payload["pool"] == "system":
            return RuntimeError("run-command for pool system ended Failed: image pull back-off")
        user_fetches.append(payload)
        return RuntimeError("ARM answered 503") if len(user_fetches) == 1 else None

    run = run_cycle(two_node_cluster(failing={"fetch_probe_result": fetch_fault}),
                    activity_seconds=lambda name, p: 30.0 if name == "fetch_probe_result" and p["pool"] == "user"
                    else 1.0)
    assert run.cycle.status == "Completed", run.cycle.error
    assert any(s["node"] == "pool system" for s in run.cycle.output["skipped"])


def test_a_node_left_alone_does_not_stop_the_rollout():
    # Budget 2: the node someone else cordons uses one slot (it counts against the budget).
    run = run_cycle(two_node_cluster(cordoned_after_planning={A}), overrides={"maxUnavailable": 2})
    assert run.cycle.output["outcome"] == "completed"
    assert [n["result"] for n in run.cycle.output["nodes"]] == ["skipped", "patched"]


def test_a_node_cordoned_by_someone_else_uses_up_a_budget_of_one():
    run = run_cycle(two_node_cluster(cordoned_after_planning={A}), overrides={"lockTimeoutSeconds": 300})
    results = {n["node"]: n for n in run.cycle.output["nodes"]}
    assert results[A]["result"] == "skipped"
    assert results[B]["result"] == "skipped" and "budget 1 used" in results[B]["reason"]
    assert run.cluster.called("cordon_node", B) == [], "no room in the budget: B is never taken out"


def test_a_node_an_interrupted_cycle_rebooted_is_uncordoned_without_a_second_reboot():
    cluster = two_node_cluster()
    left = cluster.node("aks-user-1")  # up to date now, but still cordoned by us
    left.unschedulable, left.cordoned_by_us, left.rebooted = True, True, True
    run = run_cycle(cluster, overrides={"maxUnavailable": 3})
    results = {n["node"]: n for n in run.cycle.output["nodes"]}
    assert results["aks-user-1"]["result"] == "patched"
    assert [s["step"] for s in results["aks-user-1"]["steps"]][-2:] == ["wait healthy", "uncordon"]
    assert run.cluster.called("drain_node", "aks-user-1") == [] and run.cluster.called("reboot_node", "aks-user-1") == []
    assert not left.unschedulable


def test_a_node_whose_sentinel_is_back_after_its_reboot_is_put_back_and_the_rollout_goes_on():
    run = run_cycle(two_node_cluster(still_required={A}))
    assert run.cycle.status == "Completed", run.cycle.error
    results = {n["node"]: n for n in run.cycle.output["nodes"]}
    assert results[A]["result"] == "patched" and results[A]["stillRequired"] == {"packages": ["kpatch-loop"]}
    assert results[B]["result"] == "patched" and "stillRequired" not in results[B]
    assert not run.cluster.node(A).unschedulable and len(run.cluster.called("reboot_node", A)) == 1
    assert f"{CYCLE_ID}:{A}" not in run.lock["holders"]


def _fails_first(times: int = 1):
    """A fault that fails the first ``times`` calls of an activity (or of a folded part recorded under its name)."""
    calls = []

    def fault(payload):
        calls.append(payload)
        return RuntimeError("Kubernetes API answered 503") if len(calls) <= times else None

    return fault


def test_a_folded_reboot_or_finish_that_fails_is_done_again_on_its_own():
    """The reboot asked with the last drain pass and the finish made with the healthy check are
    handed back as {error} when they fail; patch_node then runs reboot_node / finish_node as
    activities of their own (with the retry policy), and the node is patched, rebooted once."""
    run = run_cycle(two_node_cluster(failing={"reboot_node": _fails_first(), "uncordon_node": _fails_first()}))
    assert run.cycle.status == "Completed", run.cycle.error
    results = {n["node"]: n for n in run.cycle.output["nodes"]}
    assert results[A]["result"] == "patched" and results[B]["result"] == "patched"
    child = run.child(A)
    assert len(child.decisions("activity", "reboot_node")) == 1 and len(child.decisions("activity", "finish_node")) == 1
    assert not run.child(B).decisions("activity", "reboot_node")  # B's folds went through
    reboot = next(s for s in results[A]["steps"] if s["step"] == "reboot")
    assert "503" in reboot["withDrain"]
    assert not run.cluster.node(A).unschedulable and run.cluster.node(A).rebooted


def test_the_folded_finish_marks_a_node_whose_sentinel_is_back_as_such():
    run = run_cycle(two_node_cluster(still_required={A}), overrides={"annotateNodes": True})
    marks = {p["node"]: p["annotations"] for p in run.cluster.called("mark_node")}
    assert marks[A] == {"rebooter.aks.io/last-result": "patched-still-required"}
    assert marks[B] == {"rebooter.aks.io/last-result": "patched"}


def test_a_node_out_for_another_reason_narrows_the_waves_instead_of_parking_a_node_on_the_lock():
    """maxUnavailable 2 with a node an operator cordoned: one slot is left, so the nodes go one at
    a time, each starting when the one before is done, never refused by the lock and left to
    its 30 s retry timer."""
    cluster = two_node_cluster()
    cluster.node("aks-user-1").unschedulable = True  # an operator's cordon: out, not ours
    run = run_cycle(cluster, overrides={"maxUnavailable": 2})
    assert run.cycle.status == "Completed", run.cycle.error
    assert {n["node"]: n["result"] for n in run.cycle.output["nodes"]} == {A: "patched", B: "patched"}
    children = run.cycle.decisions("suborchestration")
    assert [c["instanceId"] for c in children] == [f"{CYCLE_ID}:{A}", f"{CYCLE_ID}:{B}"]
    assert children[1]["at"] >= run.child(A).episodes[-1].at  # one after the other
    for node in (A, B):
        lock = next(s for s in run.child(node).output["steps"] if s["step"] == "lock")
        assert "waitingFor" not in lock, lock
    assert run.cluster.node("aks-user-1").unschedulable  # never ours to undo


def test_with_room_for_two_the_waves_are_two_wide():
    run = run_cycle(two_node_cluster(), overrides={"maxUnavailable": 2})
    children = run.cycle.decisions("suborchestration")
    assert len(children) == 2 and children[0]["at"] == children[1]["at"]  # started together


def test_a_finish_done_on_its_own_still_marks_a_node_whose_sentinel_is_back_as_such():
    """The same rule when the folded finish failed and finish_node ran as its own activity."""
    run = run_cycle(two_node_cluster(still_required={A}, failing={"uncordon_node": _fails_first()}),
                    overrides={"annotateNodes": True})
    assert len(run.child(A).decisions("activity", "finish_node")) == 1
    assert run.child(A).decisions("activity", "finish_node")[0]["input"]["stillRequired"] is True
    marks = [p["annotations"] for p in run.cluster.called("mark_node", A)]
    assert marks == [{"rebooter.aks.io/last-result": "patched-still-required"}] * 2  # folded try, then its own
