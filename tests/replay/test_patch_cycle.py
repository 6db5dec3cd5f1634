"""patch_cycle and patch_node, the app's real orchestrators, replayed by azure-functions-durable.

Every scenario runs with the app's default settings (durations included: the driver's clock is
virtual) and 1 s per activity, against the fake cluster of fakes.two_node_cluster():
Linux pools ``system`` (aks-system-0) and ``user`` (aks-user-0, aks-user-1), Windows pool ``win``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rebooter.config import settings

from .driver import DEFAULT_START
from .fakes import two_node_cluster
from .harness import CYCLE_ID, SCENARIOS, run_cycle, scenario

CFG = settings.load({})
A, B, UP_TO_DATE = "aks-system-0", "aks-user-0", "aks-user-1"
STEPS = ["lock", "cordon", "drain", "reboot", "wait healthy", "uncordon"]


def _timer_seconds(instance) -> list[float]:
    """The waits; zero-length timers are Control's command checks (arm, drain), counted apart."""
    return [a["seconds"] for a in instance.decisions("timer") if a["seconds"] > 0]


def _command_checks(instance) -> int:
    return sum(1 for a in instance.decisions("timer") if a["seconds"] == 0)


# ---- a good cycle ---------------------------------------------------------------------------
def test_two_node_cycle_patches_both_nodes():
    run = scenario("two nodes")
    out = run.cycle.output

    assert run.cycle.status == "Completed", run.cycle.error
    assert out["outcome"] == "completed" and out["reason"] == ""
    assert out["counts"] == {"total": 2, "patched": 2, "failed": 0, "skipped": 0, "upToDate": 1}
    assert [n["node"] for n in out["nodes"]] == [A, B]
    assert out["upToDate"] == [UP_TO_DATE]
    assert out["skipped"] == []
    assert out["notApplicable"] == [{"pool": "win", "reason": "Windows pool: the reboot sentinel is Linux only"}]
    for node in out["nodes"]:
        assert node["result"] == "patched"
        assert [s["step"] for s in node["steps"]] == STEPS
        assert all(isinstance(s["seconds"], float) for s in node["steps"])
        steps = {s["step"]: s for s in node["steps"]}
        # The drain waited one drainRetrySeconds timer while the PDB refused; the first health
        # check ran at once (it watches for the node's return) and came back pending without
        # watching to its bound, so one healthPollSeconds timer came before the second: the
        # virtual clock moved and the durations show it.
        assert steps["drain"]["attempts"] == 2
        assert steps["drain"]["seconds"] >= CFG["drainRetrySeconds"]
        assert steps["wait healthy"]["seconds"] >= CFG["healthPollSeconds"]
        assert steps["cordon"]["cordonedByUs"] is True
        assert steps["uncordon"]["uncordoned"] is True
        assert node["seconds"] == pytest.approx(sum(s["seconds"] for s in node["steps"]))
        assert node["after"]["bootId"] != node["before"]["bootId"]
        assert node["after"]["kernel"] == "5.15.0-1081-azure"


def test_two_node_cycle_custom_status_lock_and_progress():
    run = scenario("two nodes")

    final = run.cycle.custom_status
    assert final["step"] == "completed" and final["currentNodes"] == []
    assert (final["done"], final["total"]) == (2, 2)
    assert final["notApplicable"][0]["pool"] == "win"
    steps = [(s["step"], tuple(s["currentNodes"])) for s in run.cycle.statuses if s]
    assert ("probe pools", ()) in steps
    assert steps.index(("patch nodes", (A,))) < steps.index(("patch nodes", (B,)))
    assert run.child(A).custom_status["step"] == "patched"

    # The lock ends free; it was held by one node at a time, released before the next took it.
    assert run.lock["holders"] == {}
    assert [(e["event"], e["holder"]) for e in run.lock["history"]] == [
        ("acquired", f"{CYCLE_ID}:{A}"), ("released", f"{CYCLE_ID}:{A}"),
        ("acquired", f"{CYCLE_ID}:{B}"), ("released", f"{CYCLE_ID}:{B}"),
    ]
    progress = run.progress
    assert set(progress["nodes"]) == {A, B}
    for node in (A, B):
        assert progress["nodes"][node]["step"] == "patched"
        assert progress["nodes"][node]["result"] == {"result": "patched", "reason": "",
                                                     "seconds": run.cycle.output["nodes"][[A, B].index(node)]["seconds"]}
    assert [(c["instanceId"], c["status"]) for c in progress["cycles"]] == [(CYCLE_ID, "completed")]
    assert progress["cycles"][0]["summary"]["patched"] == 2


def test_two_node_cycle_actions():
    run = scenario("two nodes")
    cycle = run.cycle

    # Parent: both pools probed at once, results fetched at once (each fetch may wait on ARM up to
    # watchSeconds); a "running" answer that did not wait to its bound is polled again after a
    # probePollSeconds timer (one each, so two fetches), one list, then one sub-orchestration per node.
    assert [a["input"]["pool"] for a in cycle.decisions("activity", "probe_pool")] == ["system", "user"]
    fetches = cycle.decisions("activity", "fetch_probe_result")
    assert len(fetches) == 4 and {f["input"]["waitSeconds"] for f in fetches} == {CFG["watchSeconds"]}
    assert _timer_seconds(cycle) == [CFG["probePollSeconds"]]
    # The waiter opened first; after each wave the commands are read only if one came (none did).
    assert _command_checks(cycle) == 1
    children = cycle.decisions("suborchestration")
    assert [c["instanceId"] for c in children] == [f"{CYCLE_ID}:{A}", f"{CYCLE_ID}:{B}"]
    assert children[1]["at"] >= run.child(A).episodes[-1].at  # maxUnavailable 1: one after the other
    assert all(a.get("attempt") in (0, 1) for a in cycle.decisions("activity"))  # no retry was needed

    for node in (A, B):
        child = run.child(node)
        assert child.status == "Completed"
        kinds = [(a["kind"], a.get("name") or a.get("operation")) for a in child.actions if a["kind"] != "signal"]
        # B's preflight was answered by A's finish (one node after the other, nothing between).
        # The cordon comes with the first drain pass (no drain delay, no "draining" notification),
        # the reboot with the pass that finishes the drain (no pre-reboot labels, no reboot delay),
        # the finish (marks, uncordon, taint off, next preflight) with the check that sees it healthy.
        assert [k for k in kinds if k[0] != "timer"] == [("activity", "preflight_node")] * (node == A) + [
            ("entity_call", "acquire"),
            ("activity", "drain_node"), ("activity", "drain_node"),
            ("activity", "check_node_health"), ("activity", "check_node_health"),
        ]
        drains = [d["input"] for d in child.decisions("activity", "drain_node")]
        assert [d.get("cordonOwner") for d in drains] == [f"{CYCLE_ID}:{node}", None]
        assert all(d["rebootAfter"]["bootId"] == run.cluster.node(node).boot_id for d in drains)
        checks = [c["input"] for c in child.decisions("activity", "check_node_health")]
        finish = checks[0]["finish"]
        assert all(c["finish"] == finish for c in checks)
        assert finish.get("next") == (B if node == A else None) and finish["untaint"] is True
        # Every wait is a durable timer (raced against the operator's control event); the first
        # health check is not preceded by one (it watches for the node itself).
        assert _timer_seconds(child) == [CFG["drainRetrySeconds"], CFG["healthPollSeconds"]]
        assert _command_checks(child) == 0  # the waiter opened with the first task, no timer of its own
        assert not child.decisions("activity", "reboot_node") and not child.decisions("activity", "finish_node")
        assert [p["node"] for p in run.cluster.called("reboot_node", node)] == [node]
        assert [s["operation"] for s in child.decisions("signal")] == ["release", "node"]
    # The cluster saw exactly one reboot and one uncordon per node, nothing for the others; B's
    # preflight ran once, at A's end, after A's uncordon.
    assert [p["node"] for p in run.cluster.called("preflight_node")] == [A, B]
    calls = [(a, p.get("node")) for a, p in run.cluster.calls]
    assert calls.index(("preflight_node", B)) == calls.index(("uncordon_node", A)) + 2  # the taint in between
    assert [p["node"] for p in run.cluster.called("reboot_node")] == [A, B]
    assert [p["node"] for p in run.cluster.called("uncordon_node")] == [A, B]
    assert not run.cluster.node(A).unschedulable and not run.cluster.node(B).unschedulable


# ---- a node that never comes back -----------------------------------------------------------
def test_node_never_healthy_halts_the_cycle_and_keeps_the_lock():
    run = scenario("never healthy")
    out = run.cycle.output

    assert run.cycle.status == "Completed", run.cycle.error
    assert out["outcome"] == "halted"
    assert out["counts"] == {"total": 2, "patched": 0, "failed": 1, "skipped": 1, "upToDate": 1}
    [failed] = out["nodes"]
    assert failed["node"] == A and failed["result"] == "failed"
    assert failed["lockKept"] is True and failed["cordoned"] is True
    assert failed["reason"].startswith(f"not healthy after {CFG['healthTimeoutSeconds']:.0f}s: node is not Ready")
    assert out["reason"].startswith(f"node {A} failed: not healthy")
    assert out["skipped"] == [{"node": B, "reason": f"not started: the cycle halted ({out['reason']})"}]
    assert run.cycle.custom_status["step"] == "halted"

    # The second node was never started: no sub-orchestration, no call touching it.
    assert [c["instanceId"] for c in run.cycle.decisions("suborchestration")] == [f"{CYCLE_ID}:{A}"]
    assert f"{CYCLE_ID}:{B}" not in run.host.instances
    assert not [p for _, p in run.cluster.calls if p.get("node") == B]
    # The failed node keeps its cordon and the cycle keeps the lock.
    assert run.cluster.called("uncordon_node") == []
    assert run.cluster.node(A).unschedulable and run.cluster.node(A).cordoned_by_us
    assert list(run.lock["holders"]) == [f"{CYCLE_ID}:{A}"]
    assert run.progress["nodes"][A]["result"]["result"] == "failed"
    # It was polled on the health timer until the deadline, with no real waiting.
    wait = {s["step"]: s for s in failed["steps"]}["wait healthy"]
    assert wait["seconds"] >= CFG["healthTimeoutSeconds"]
    checks = run.cluster.called("check_node_health", A)
    assert len(checks) == len(run.child(A).decisions("activity", "check_node_health")) > 1


# ---- a node somebody else cordoned ----------------------------------------------------------
def test_node_cordoned_by_someone_else_is_not_drained_nor_uncordoned():
    run = scenario("cordoned by someone else")
    child = run.child(A)

    assert child.status == "Completed", child.error
    assert child.output["result"] == "skipped"
    assert child.output["reason"] == "cordoned by someone else after planning; left alone"
    assert [s["step"] for s in child.output["steps"]] == ["lock", "cordon"]
    assert child.output["steps"][1]["cordonedByUs"] is False
    # The cordon came with the first drain pass, which saw the foreign cordon and evicted nothing.
    [cordon_and_drain] = run.cluster.called("drain_node", A)
    assert cordon_and_drain["cordonOwner"] == f"{CYCLE_ID}:{A}"
    assert run.cluster.counters[f"drain/{A}"] == 0, "no drain pass on a node someone else cordoned"
    assert run.cluster.called("reboot_node", A) == []
    assert run.cluster.called("uncordon_node", A) == []
    assert run.cluster.node(A).unschedulable and not run.cluster.node(A).cordoned_by_us
    # It gave the lock back before leaving.
    assert [a.get("operation") for a in child.decisions("entity_call")] == ["acquire"]
    assert "release" in [s["operation"] for s in child.decisions("signal")]
    assert f"{CYCLE_ID}:{A}" not in run.lock["holders"]
    assert run.cycle.output["nodes"][0]["result"] == "skipped"


# ---- determinism -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_replaying_each_final_history_gives_no_new_action_and_the_same_output(name):
    run = scenario(name)

    assert run.host.instances and all(i.done for i in run.host.instances.values())
    for instance in run.host.instances.values():
        # The driver already replayed it once when it finished; do it again explicitly.
        check = run.host.replay_from_scratch(instance)
        assert check["ok"], check["problems"]
        assert check["replayedEvents"] == len(instance.history)
        assert check["decisions"] == len(instance.actions)
        assert instance.warnings == []
        # Every episode replayed the whole history so far and found it consistent.
        sent = [e.history_sent for e in instance.episodes]
        assert sent == sorted(sent) and len(instance.episodes) > 1


# ---- the lock under contention ----------------------------------------------------------------
def test_two_nodes_at_once_when_max_unavailable_is_two():
    run = run_cycle(two_node_cluster(), overrides={"maxUnavailable": 2})

    assert run.cycle.output["outcome"] == "completed", run.cycle.output
    children = run.cycle.decisions("suborchestration")
    assert [c["at"] for c in children] == [children[0]["at"]] * 2  # one wave
    events = [(e["event"], e["holder"].rsplit(":", 1)[1]) for e in run.lock["history"]]
    assert events[:2] == [("acquired", A), ("acquired", B)]  # both out together, as allowed
    assert run.lock["holders"] == {}


def test_a_lock_left_by_someone_else_is_waited_out_until_its_ttl_expires():
    expires = DEFAULT_START + timedelta(minutes=5)
    stale = {"holders": {"old-cycle:aks-user-0": {"node": "aks-user-0", "acquiredAt": DEFAULT_START.isoformat(),
                                                  "expiresAt": expires.isoformat()}}, "history": []}
    run = run_cycle(two_node_cluster(), lock=stale)

    assert run.cycle.output["outcome"] == "completed", run.cycle.output
    child = run.child(A)
    attempts = child.decisions("entity_call", "acquire")
    assert [a["result"]["acquired"] for a in attempts] == [False] * (len(attempts) - 1) + [True]
    # Between attempts: lockRetrySeconds timers, until the stale holder's TTL ran out.
    timers = [t for t in child.decisions("timer") if t["seconds"] > 0][: len(attempts) - 1]
    assert {t["seconds"] for t in timers} == {CFG["lockRetrySeconds"]}
    acquired = next(e for e in run.lock["history"] if e["event"] == "acquired")
    assert datetime.fromisoformat(acquired["at"]) >= expires
    lock_step = child.output["steps"][0]
    assert lock_step["step"] == "lock"
    assert lock_step["seconds"] >= (expires - datetime.fromisoformat(lock_step["startedAt"])).total_seconds()


# ---- continue-as-new batches ------------------------------------------------------------------
def test_a_long_cycle_continues_as_new_between_batches_and_reports_every_node():
    run = run_cycle(two_node_cluster(), overrides={"nodesPerExecution": 1})
    out = run.cycle.output
    assert run.cycle.status == "Completed", run.cycle.error
    assert any("continued as new" in w for w in run.cycle.warnings)
    assert [(n["node"], n["result"]) for n in out["nodes"]] == [(A, "patched"), (B, "patched")]
    assert out["counts"]["patched"] == 2 and out["outcome"] == "completed"
    assert "steps" not in out["nodes"][0] and out["nodes"][1]["steps"], "earlier batches are compacted"
    assert any(p["pool"] == "win" for p in out["notApplicable"])
    assert run.lock["holders"] == {}
    assert [(c["instanceId"], c["status"]) for c in run.progress["cycles"]] == [(CYCLE_ID, "completed")]


# ---- the reboot-pending taint (kured's --prefer-no-schedule-taint) ---------------------------
def _taint_calls(run) -> list[tuple[tuple[str, ...], bool]]:
    return [(tuple(p["nodes"]), p["pending"]) for p in run.cluster.called("set_pending_taint")]


def test_planned_nodes_are_tainted_once_and_untainted_when_healthy_and_at_the_end():
    run = scenario("two nodes")
    # One call for every planned node after planning, one per node once healthy, one at the end.
    assert _taint_calls(run) == [((A, B), True), ((A,), False), ((B,), False), ((A, B), False)]
    assert not run.cluster.node(A).pending_taint and not run.cluster.node(B).pending_taint
    assert not run.cluster.node(UP_TO_DATE).pending_taint


def test_a_halted_cycle_untaints_the_nodes_it_did_not_patch():
    run = scenario("never healthy")
    assert _taint_calls(run) == [((A, B), True), ((A, B), False)]
    assert not run.cluster.node(A).pending_taint and not run.cluster.node(B).pending_taint


def test_continued_executions_remember_the_tainted_nodes_and_the_setting_turns_it_off():
    run = run_cycle(two_node_cluster(), overrides={"nodesPerExecution": 1})
    assert _taint_calls(run)[0] == ((A, B), True) and _taint_calls(run)[-1] == ((A, B), False)
    off = run_cycle(two_node_cluster(), overrides={"preferNoScheduleTaint": False})
    assert off.cycle.output["outcome"] == "completed" and _taint_calls(off) == []


def test_a_health_check_that_watched_to_its_bound_is_followed_by_the_next_at_once():
    """watchSeconds > 0: the watch was the wait, so no durable timer between the checks; with 0
    the orchestrator polls on healthPollSeconds timers as before, the first after the reboot."""
    watched = run_cycle(two_node_cluster(watches_to_bound=True))
    assert watched.cycle.output["counts"]["patched"] == 2
    for node in (A, B):
        child = watched.child(node)
        assert [p["waitSeconds"] for n, p in watched.cluster.calls if n == "check_node_health"
                and p["node"] == node] == [CFG["watchSeconds"]] * 2
        assert _timer_seconds(child) == [CFG["drainRetrySeconds"]]
    polled = run_cycle(two_node_cluster(watches_to_bound=True), overrides={"watchSeconds": 0})
    assert polled.cycle.output["counts"]["patched"] == 2
    for node in (A, B):
        assert _timer_seconds(polled.child(node)) == [CFG["drainRetrySeconds"], CFG["healthPollSeconds"],
                                                      CFG["healthPollSeconds"]]


def test_a_probe_fetch_that_waited_on_arm_to_its_bound_is_followed_by_the_next_at_once():
    """The run-command result is read by a fetch that waits on ARM (watchSeconds): no durable
    timer before the first fetch nor after one that waited to its bound; with watchSeconds 0 the
    cycle polls on probePollSeconds timers as before (the first one before the first fetch)."""
    watched = run_cycle(two_node_cluster(watches_to_bound=True))
    assert watched.cycle.output["counts"]["patched"] == 2
    assert _timer_seconds(watched.cycle) == []
    assert [p["waitSeconds"] for n, p in watched.cluster.calls if n == "fetch_probe_result"] == [CFG["watchSeconds"]] * 4
    polled = run_cycle(two_node_cluster(watches_to_bound=True), overrides={"watchSeconds": 0})
    assert polled.cycle.output["counts"]["patched"] == 2
    assert _timer_seconds(polled.cycle) == [CFG["probePollSeconds"]] * 2
    assert {p["waitSeconds"] for n, p in polled.cluster.calls if n == "fetch_probe_result"} == {0}


def test_a_watch_never_runs_past_the_steps_own_deadline():
    """A drain that may only take 3 s must not watch 50 s for its pods: the watch would let it
    finish after it was due to give up (the undrainable policy would never apply)."""
    run = run_cycle(two_node_cluster(), overrides={"drainTimeoutSeconds": 3})
    waits = [p["waitSeconds"] for n, p in run.cluster.calls if n == "drain_node"]
    assert waits and all(0 <= w <= 3 for w in waits), waits
