"""The invariant checks catch what they claim to catch (so 0 violations means something), and the
activity-fault middleware does what the fault kinds say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lab.faultrun import checks
from lab.faultrun.middleware import ActivityFaults, Behaviour, InjectedActivityFault
from lab.faultrun.run import Report
from lab.sandbox import scenario as scenario_mod
from lab.sandbox.timeline import Timeline

SCENARIO = scenario_mod.load({
    "name": "checks", "cluster": {"name": "aks-checks"},
    "pools": [{"name": "system", "mode": "System", "count": 4}],
    "nodes": [{"node": "system/0", "rebootRequired": True}, {"node": "system/1", "cordonedBy": "ops"},
              {"node": "system/2", "rebootRequired": True}, {"node": "system/3"}],
})
A, FOREIGN, B, C = (n.name for n in SCENARIO.nodes)
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
CYCLE = "patch-cycle.x"


def state(unschedulable=False, ready="True", boot="b0"):
    return {"unschedulable": unschedulable, "ready": ready, "bootID": boot, "kernel": "k", "taints": []}


def start() -> Timeline:
    timeline = Timeline()
    for node in (A, FOREIGN, B, C):
        timeline.record("node", node=node, state=state(unschedulable=node == FOREIGN), changes={}, initial=True,
                        actor="scenario")
    return timeline


def change(timeline, node, actor="api", **new):
    previous = timeline.node_states(node)[-1]
    current = {**previous, **new}
    diff = {k: [previous[k], v] for k, v in current.items() if previous[k] != v}
    timeline.record("node", node=node, state=current, changes=diff, actor=actor)


def patched(node):
    return {"node": node, "result": "patched", "reason": ""}


def observed(timeline, nodes=(), skipped=(), lock=None, final=None, budget=1, outcome="completed", status="Completed"):
    initial = {n: {"bootId": "b0", "ready": "True", "unschedulable": n == FOREIGN} for n in (A, FOREIGN, B, C)}
    end = {n: dict(v) for n, v in initial.items()}
    for node, facts in (final or {}).items():
        end[node].update(facts)
    output = {"outcome": outcome, "reason": "", "nodes": list(nodes), "skipped": list(skipped), "upToDate": []}
    return checks.Observed(scenario=SCENARIO, timeline=timeline, max_unavailable=budget, namespace="shop",
                           force_bare_pods=False, force_policy=False,
                           cycles=[{"id": CYCLE, "status": status, "output": output, "seconds": 1, "bound": 60}],
                           lock=lock, lock_read_at=NOW, initial=initial, final=end)


def rebooted(timeline, node):
    timeline.record("reboot", node=node, via="pod", phase="down", bootID="b0")
    change(timeline, node, actor="kubelet", ready="Unknown")
    change(timeline, node, actor="kubelet", ready="True", bootID="b1")


def clean_run() -> tuple[Timeline, dict]:
    timeline = start()
    for node in (A, B):
        change(timeline, node, unschedulable=True)
        rebooted(timeline, node)
        change(timeline, node, unschedulable=False)
    healthy = {"bootId": "b1", "ready": "True", "unschedulable": False}
    return timeline, {A: healthy, B: healthy}


def test_a_clean_run_has_no_violation():
    timeline, final = clean_run()
    # Budget 2: the node someone else cordoned uses one slot, ours one at a time the other.
    assert checks.check_all(observed(timeline, nodes=[patched(A), patched(B)], final=final, budget=2)) == []


def test_nodes_out_from_all_causes_count_against_the_budget():
    timeline, _ = clean_run()
    found = checks.budget_all_causes(observed(timeline, budget=1))
    assert [v["check"] for v in found] == ["budget-all"] and set(found[0]["nodes"]) == {A, FOREIGN}
    assert checks.budget(observed(timeline, budget=1)) == [], "ours alone stayed within 1"


def test_a_deleted_node_stops_counting_as_out():
    timeline = start()
    change(timeline, A, unschedulable=True)
    timeline.record("node_deleted", node=A, actor="faultrun")
    change(timeline, B, unschedulable=True)
    assert checks.budget(observed(timeline, budget=1)) == []
    assert checks.budget_all_causes(observed(timeline, budget=2)) == []


def test_an_accepted_command_must_be_answered_in_the_summary():
    timeline, final = clean_run()
    o = observed(timeline, nodes=[patched(A), patched(B)], final=final, budget=2)
    o.commands = [{"action": "cancel", "status": 202, "text": "{}"}, {"action": "pause", "status": 409,
                                                                      "text": '{"error": "the cycle is Completed"}'}]
    assert [v["check"] for v in checks.commands_answered(o)] == ["command-lost"]
    o.cycles[0]["output"]["commands"] = [{"action": "cancel", "answer": "applied"}]
    assert checks.commands_answered(o) == []


def test_a_failed_node_left_cordoned_needs_the_lock_kept():
    timeline = start()
    change(timeline, A, unschedulable=True)
    failed = {"node": A, "result": "failed", "reason": "not healthy", "cordoned": True}
    found = checks.our_cordons(observed(timeline, nodes=[failed], final={A: {"unschedulable": True}}))
    assert [v["check"] for v in found] == ["left-cordoned"]
    kept = {**failed, "lockKept": True}
    assert checks.our_cordons(observed(timeline, nodes=[kept], final={A: {"unschedulable": True}})) == []


def test_two_of_our_nodes_out_at_once_breaks_a_budget_of_one_but_foreign_ones_do_not_count():
    timeline = start()
    change(timeline, A, unschedulable=True)
    change(timeline, B, unschedulable=True)
    found = checks.budget(observed(timeline, budget=1))
    assert [v["check"] for v in found] == ["budget"] and set(found[0]["nodes"]) == {A, B}
    assert checks.budget(observed(timeline, budget=2)) == []
    assert checks.foreign_peak(timeline) == 1


def test_uncordoning_a_node_someone_else_cordoned_is_caught():
    timeline = start()
    change(timeline, FOREIGN, unschedulable=False)
    assert [v["check"] for v in checks.foreign_cordons(observed(timeline))] == ["foreign-uncordon"]


def test_our_cordon_left_behind_must_be_reported_cordoned_with_a_reason():
    timeline = start()
    change(timeline, A, unschedulable=True)
    still = {A: {"unschedulable": True}}
    assert [v["check"] for v in checks.our_cordons(observed(timeline, final=still))] == ["left-cordoned"]
    failed = {"node": A, "result": "failed", "reason": "not healthy after 2s", "cordoned": True, "lockKept": True}
    assert checks.our_cordons(observed(timeline, nodes=[failed], final=still)) == []
    silent = {**failed, "cordoned": False}
    assert checks.our_cordons(observed(timeline, nodes=[silent], final=still)) != []
    quarantined = {"node": A, "result": "quarantined", "reason": "PDB", "cordoned": True}
    assert checks.our_cordons(observed(timeline, nodes=[quarantined], final=still)) == []


def test_every_node_that_needed_a_reboot_is_rebooted_or_reported_with_a_reason():
    timeline, final = clean_run()
    found = checks.every_node_accounted(observed(start(), nodes=[patched(A)], final={}))
    assert {v["check"] for v in found} == {"patched-not-healthy", "unaccounted"}
    skipped_b = [{"node": B, "reason": "cordoned by someone else"}]
    only_a = checks.every_node_accounted(observed(timeline, nodes=[patched(A)], skipped=skipped_b, final=final))
    assert only_a == []
    pool = [{"node": "pool system", "reason": "probe failed: ImagePullBackOff"}]
    assert checks.every_node_accounted(observed(start(), skipped=pool)) == []
    no_reason = checks.every_node_accounted(observed(start(), skipped=[{"node": A, "reason": ""},
                                                                        {"node": B, "reason": "x"}]))
    assert [v["check"] for v in no_reason] == ["no-reason"]
    cycle_level = observed(start(), outcome="failed")
    cycle_level.cycles[0]["output"]["reason"] = "cannot describe the cluster: 503"
    assert checks.every_node_accounted(cycle_level) == []
    timeline.record("reboot", node=C, via="pod", phase="down", bootID="b0")
    assert [v["check"] for v in checks.every_node_accounted(observed(timeline, nodes=[patched(A), patched(B)],
                                                                       final=final))] == ["unneeded-reboot"]


def test_the_lock_is_free_at_the_end_unless_kept_and_said_so():
    live = {"expiresAt": (NOW + timedelta(seconds=30)).isoformat(), "node": A}
    gone = {"expiresAt": (NOW - timedelta(seconds=1)).isoformat(), "node": B}
    lock = {"holders": {f"{CYCLE}:{A}": live, f"{CYCLE}:{B}": gone}}
    assert [v["check"] for v in checks.lock_free(observed(start(), lock=lock))] == ["lock"]
    kept = {"node": A, "result": "failed", "reason": "not healthy", "lockKept": True, "cordoned": True}
    assert checks.lock_free(observed(start(), nodes=[kept], lock=lock)) == []
    assert checks.lock_holders(lock, NOW) == ([f"{CYCLE}:{A}"], [f"{CYCLE}:{B}"])


def test_a_cycle_that_crashed_or_hangs_is_a_violation():
    assert [v["check"] for v in checks.ends_in_bound(observed(start(), status="Failed"))] == ["crash"]
    assert [v["check"] for v in checks.ends_in_bound(observed(start(), status="Running"))] == ["hang"]
    explained = observed(start(), status="Failed")
    explained.cycles[0]["crashExplained"] = "the fault terminated it"
    assert checks.ends_in_bound(explained) == []


def test_pdb_breaks_and_deletions_outside_evictions_are_caught():
    timeline = start()
    pdb = [{"name": "web-pdb", "healthy": 1, "desiredHealthy": 2, "disruptionsAllowed": 0}]
    timeline.record("pod_disrupted", pod="web-1", namespace="shop", node=A, cause="eviction", actor="api", pdbs=pdb)
    timeline.record("pod_disrupted", pod="web-2", namespace="shop", node=B, cause="delete", actor="api", pdbs=[])
    timeline.record("pod_disrupted", pod="probe-x", namespace="kube-system", node=B, cause="delete", actor="api",
                    pdbs=[])
    assert sorted(v["check"] for v in checks.pdbs_and_deletions(observed(timeline))) == ["deletion", "pdb"]


def test_known_bugs_explain_only_their_own_symptom(monkeypatch):
    from lab.faultrun import known as known_module

    crash = known_module.KnownIssue("crash-bug", "x.py", "a crash", "fix it", lambda v, r: v["check"] == "crash")
    monkeypatch.setattr(known_module, "KNOWN", (crash,))
    report = Report(1, ["activityFailsAfterWork"], violations=[
        {"check": "crash", "detail": "boom"},
        {"check": "budget", "detail": "3 nodes out at once"},
    ])
    unknown, known = known_module.classify(report)
    assert [v["check"] for v in unknown] == ["budget"], "a known bug never hides another violation"
    assert set(known) == {"crash-bug"}


def test_no_known_bugs_are_left_open():
    from lab.faultrun import known as known_module

    assert known_module.KNOWN == (), "a listed bug makes its seeds xfail: fix it, then remove it"


def test_middleware_runs_every_activity_twice_and_returns_the_second_result():
    faults, calls = ActivityFaults(), []

    def activity(ctx, value):
        calls.append(value)
        return len(calls)

    wrapped = faults("cordon_node", activity)
    assert wrapped(None, "a") == 1 and calls == ["a"]
    faults.configure(Behaviour(twice=True))
    assert wrapped(None, "b") == 3 and calls == ["a", "b", "b"]
    assert faults.fired["activityTwice"] == 1


def test_middleware_fails_an_activity_after_its_work_a_set_number_of_times():
    faults, calls = ActivityFaults(), []
    faults.configure(Behaviour(fail_after="drain_node", fail_count=2))
    drain = faults("drain_node", lambda ctx, value: calls.append(value) or "done")
    other = faults("cordon_node", lambda ctx, value: "ok")
    for _ in range(2):
        with pytest.raises(InjectedActivityFault):
            drain(None, "n")
    assert drain(None, "n") == "done" and calls == ["n", "n", "n"], "the work happened every time"
    assert other(None, "n") == "ok" and faults.fired["activityFailsAfterWork"] == 2


def test_a_node_rebooted_twice_is_caught_and_one_reboot_is_not():
    """nodeRerunsRebootPod: a reboot pod re-run after the boot must not reboot the node again."""
    timeline = start()
    timeline.record("reboot", node=A, via="pod", phase="up", bootID="b1")
    timeline.record("reboot_pod", node=A, pod="reboot-a", phase="rerun")
    assert checks.rebooted_once(observed(timeline)) == []
    timeline.record("reboot", node=A, via="pod", phase="up", bootID="b2")
    found = checks.rebooted_once(observed(timeline))
    assert [(v["check"], v["node"]) for v in found] == [("rebooted-twice", A)] and "b1, b2" in found[0]["detail"]
