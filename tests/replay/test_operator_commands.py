"""Operator commands, timers and children through the SDK's own replay (issue 11, items 6-10, 13).

The driver applies Azure's rule that an orchestration whose function returned stays Running until
its durable timers fire or are cancelled (ReplayHost(strict_timers=True) fails the run when a
timer is left behind), and hands one episode everything due at one moment, so a command can be
delivered in the same episode as a node's completion.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from entities import progress
from rebooter.config import cycle_request, settings

from .driver import DEFAULT_START, ReplayHost
from .fakes import two_node_cluster
from .harness import CYCLE_ID, KEY, run_cycle

A, B = "aks-system-0", "aks-user-0"


def _host(cluster, overrides: dict[str, Any], activities: dict[str, Any] | None = None,
          env: dict[str, str] | None = None):
    cfg = {**settings.load(env or {}), **overrides}
    job = cycle_request.cycle_input(cluster.cluster_id, cfg, reason="replay test", trigger="http")
    host = ReplayHost({**cluster.activities(), **(activities or {})}, activity_seconds=1.0)
    return host, job


def _ended(instance) -> str:
    return instance.episodes[-1].at


def test_a_reject_ends_the_cycle_at_once_and_cancels_the_approval_timer():
    """Before the fix the approval timer (one hour) was left pending: the cycle stayed Running (and
    its cluster at 409) until it fired; the strict driver fails such a run."""
    host, job = _host(two_node_cluster(), {"approval": "first", "approvalTimeoutSeconds": 3600})
    cycle = host.start("patch_cycle", job, CYCLE_ID)
    host.raise_event(CYCLE_ID, "control", {"action": "reject", "by": "ops", "reason": "not today"},
                     at=DEFAULT_START + timedelta(minutes=5))
    host.run()
    assert cycle.status == "Completed", cycle.error
    assert cycle.output["outcome"] == "halted" and cycle.output["reason"] == "not approved (reject)"
    assert cycle.output["commands"][0]["action"] == "reject" and cycle.output["commands"][0]["answer"] == "applied"
    assert cycle.returned_at is None
    assert _ended(cycle) < (DEFAULT_START + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S")
    timers = cycle.decisions("timer")
    assert any(t["seconds"] >= 3000 for t in timers), "the approval wait was a durable timer"
    final = [a for a in cycle.final_actions[0] if a.get("actionType") == 11]  # WhenAny
    cancelled = [c for w in final for c in w["compoundActions"] if c.get("actionType") == 5 and c.get("isCanceled")]
    assert cancelled, "the losing approval timer is cancelled in the actions sent to the extension"


def test_a_timer_left_behind_keeps_the_cycle_running_as_in_azure():
    """The driver's rule itself, with the cancel taken out: the rejected cycle either returns with
    the approval timer pending (the strict driver fails the run) or stays Running, its later
    actions not reached by the extension, until that timer fires an hour later."""
    from orchestrators import control

    from .driver import DriverError

    original = control.cancel_timer
    control.cancel_timer = lambda timer: None
    try:
        host, job = _host(two_node_cluster(), {"approval": "first", "approvalTimeoutSeconds": 3600})
        cycle = host.start("patch_cycle", job, CYCLE_ID)
        host.raise_event(CYCLE_ID, "control", {"action": "reject"}, at=DEFAULT_START + timedelta(minutes=5))
        try:
            host.run()
        except DriverError as exc:
            assert "left pending" in str(exc)
            return
        assert _ended(cycle) > (DEFAULT_START + timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M:%S")
    finally:
        control.cancel_timer = original


def _completion_time(overrides: dict[str, Any], node: str):
    probe = run_cycle(two_node_cluster(), overrides=overrides)
    child = probe.child(node)
    return child.episodes[-1].at


def test_a_cancel_in_the_same_episode_as_a_node_completion_survives_continue_as_new():
    overrides = {"nodesPerExecution": 1}
    done_at = _completion_time(overrides, A)
    from .history import parse_time

    host, job = _host(two_node_cluster(), overrides)
    cycle = host.start("patch_cycle", job, CYCLE_ID)
    host.raise_event(CYCLE_ID, "control", {"action": "cancel", "by": "ops", "reason": "stop"}, at=parse_time(done_at))
    host.run()
    out = cycle.output
    assert cycle.status == "Completed", cycle.error
    assert out["outcome"] == "cancelled", out
    assert [n["node"] for n in out["nodes"]] == [A]
    assert f"{CYCLE_ID}:{B}" not in host.instances, "the next node was not started"
    assert [c["action"] for c in out["commands"]] == ["cancel"]
    assert {"node": B, "reason": "not started: the cycle was cancelled"} in out["skipped"]


def test_a_cancel_sent_while_a_drain_pass_watches_gives_the_node_back_after_that_pass():
    """Each drain pass watches to its bound (no durable timer between passes), so nothing would read
    the cancel until the drain ended and the node was rebooted; the orchestrator reads a command
    that arrived during the pass as soon as the pass returns."""
    knobs = {"drain_pending_passes": 20, "drain_watches_to_bound": True}
    overrides = {"drainTimeoutSeconds": 3600}
    probe = run_cycle(two_node_cluster(**knobs), overrides=overrides)
    passes = probe.child(A).decisions("activity", "drain_node")
    waits = [t for t in probe.child(A).decisions("timer") if passes[0]["at"] <= t["at"] <= passes[-1]["at"]
             and t["fireAt"] > t["at"]]
    assert len(passes) > 3 and waits == [], "the passes follow each other with no durable timer between them"
    from .history import parse_time

    cluster = two_node_cluster(**knobs)
    host, job = _host(cluster, overrides)
    cycle = host.start("patch_cycle", job, CYCLE_ID)
    host.raise_event(f"{CYCLE_ID}:{A}", "control", {"action": "cancel", "by": "ops", "reason": "stop"},
                     at=parse_time(passes[2]["at"]) + timedelta(milliseconds=500))
    host.raise_event(CYCLE_ID, "control", {"action": "cancel", "by": "ops", "reason": "stop"},
                     at=parse_time(passes[2]["at"]) + timedelta(milliseconds=500))
    host.run()
    [result] = cycle.output["nodes"]
    assert result["node"] == A and result["result"] == "cancelled", result
    assert cluster.called("reboot_node", A) == []
    assert not cluster.node(A).unschedulable, "our cordon was given back"
    assert len(cluster.called("drain_node", A)) <= 4, "read after the pass it arrived in, not after the drain"


def test_a_pause_and_resume_around_continue_as_new_are_both_answered():
    overrides = {"nodesPerExecution": 1}
    done_at = _completion_time(overrides, A)
    from .history import parse_time

    host, job = _host(two_node_cluster(), overrides)
    cycle = host.start("patch_cycle", job, CYCLE_ID)
    host.raise_event(CYCLE_ID, "control", {"action": "pause", "by": "ops"}, at=parse_time(done_at))
    host.raise_event(CYCLE_ID, "control", {"action": "resume", "by": "ops"},
                     at=parse_time(done_at) + timedelta(minutes=30))
    host.run()
    out = cycle.output
    assert out["outcome"] == "completed", out
    assert [n["result"] for n in out["nodes"]] == ["patched", "patched"]
    assert [(c["action"], c["answer"]) for c in out["commands"]] == [("pause", "applied"), ("resume", "applied")]
    started_b = host.instances[f"{CYCLE_ID}:{B}"].episodes[0].at
    assert started_b >= (parse_time(done_at) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")


def test_one_crashed_child_does_not_orphan_its_sibling():
    """Budget 2: A's patch_node crashes (a malformed cordon answer) while B is still draining. Before
    the fix the cycle reported both as "error / cordoned unknown" and ended while B went on."""
    cluster = two_node_cluster()
    real = cluster.activities()["drain_node"]

    def cordon_and_drain(payload):  # the cordon comes with the first drain pass (no drain delay)
        return {} if payload["node"] == A else real(payload)

    host, job = _host(cluster, {"maxUnavailable": 2, "zoneAware": False}, {"drain_node": cordon_and_drain})
    cycle = host.run_orchestration("patch_cycle", job, CYCLE_ID)
    results = {n["node"]: n for n in cycle.output["nodes"]}
    assert results[A]["result"] == "error" and "ended without a result" in results[A]["reason"]
    assert results[B]["result"] == "patched", results[B]
    assert _ended(cycle) >= _ended(host.instances[f"{CYCLE_ID}:{B}"]), "the cycle ended before its child"
    assert not host.instances[CYCLE_ID].dropped


def test_a_failing_maintenance_window_read_ends_the_cycle_with_a_reason_and_a_notification():
    sent = []

    def window(payload):
        raise RuntimeError("ARM answered 403: AuthorizationFailed on maintenanceConfigurations/read")

    host, job = _host(two_node_cluster(), {}, {"read_aks_maintenance_window": window,
                                               "notify": lambda p: sent.append(p) or {"sent": 1}},
                      env={"REBOOTER_WINDOW_SOURCE": "aks", "REBOOTER_NOTIFY_URLS": "json://hooks.example.com/x"})
    cycle = host.run_orchestration("patch_cycle", job, CYCLE_ID)
    assert cycle.status == "Completed", cycle.error
    assert cycle.output["outcome"] == "failed"
    assert cycle.output["reason"].startswith("cannot read the AKS maintenance window")
    assert "AuthorizationFailed" in cycle.output["reason"]
    assert [p["event"] for p in sent] == ["cycle_halted"]


def test_a_node_deleted_mid_cycle_is_reported_gone_and_the_cycle_goes_on():
    cluster = two_node_cluster()
    real = cluster.activities()["drain_node"]

    def cordon_and_drain(payload):  # the cordon comes with the first drain pass (no drain delay)
        if payload["node"] == A:
            raise RuntimeError(f"NodeNotFound: node {A!r} not found in the cluster")
        return real(payload)

    host, job = _host(cluster, {}, {"drain_node": cordon_and_drain})
    cycle = host.run_orchestration("patch_cycle", job, CYCLE_ID)
    results = {n["node"]: n for n in cycle.output["nodes"]}
    assert results[A]["result"] == "gone" and "deleted" in results[A]["reason"]
    assert results[B]["result"] == "patched"
    assert cycle.output["outcome"] == "completed"
    assert f"{CYCLE_ID}:{A}" not in (host.entity_state("cluster_lock", KEY) or {}).get("holders", {})


def test_reported_bug_a_down_node_whose_slot_was_freed_still_uses_the_budget():
    """Issue 11 item 1 through the SDK's replay: budget 1; A never came back after its reboot and
    is still cordoned by us, NotReady; its patch_node was terminated in "wait healthy" (or an admin
    broke the lock), so no slot covers it. The next cycle (for B) must not take B out. Before the
    fix the budget left our cordoned node out and B was cordoned, drained and rebooted."""
    cluster = two_node_cluster()
    down = cluster.node(A)
    down.unschedulable, down.cordoned_by_us, down.ready = True, True, "Unknown"
    cfg = {**settings.load({}), "lockTimeoutSeconds": 120, "lockRetrySeconds": 30}  # a short wait for room
    job = cycle_request.cycle_input(cluster.cluster_id, cfg, reason="replay test", trigger="http", nodes=[B])
    host = ReplayHost(cluster.activities(), activity_seconds=1.0)
    host.seed_entity("cluster_lock", KEY, {"holders": {}, "history": [{"event": "broken", "holder": "admin"}]})
    cycle = host.run_orchestration("patch_cycle", job, CYCLE_ID)
    [result] = cycle.output["nodes"]
    assert result["node"] == B and result["result"] == "skipped", result
    assert "budget 1 used" in result["reason"] and A in result["reason"]
    assert cluster.called("cordon_node", B) == [] and cluster.called("reboot_node", B) == []


def test_a_node_an_orphaned_patch_node_is_still_patching_is_left_to_it():
    """Durable's raw terminate of a cycle does not reach its patch_node children: the orphan goes on
    patching A, renewing its slot. The next cycle (budget 2, so room is not the reason) must neither
    take A a second time nor undo the cordon the orphan owns; B is patched as usual."""
    cluster = two_node_cluster()
    busy = cluster.node(A)
    busy.unschedulable, busy.cordoned_by_us = True, True
    cfg = {**settings.load({}), "maxUnavailable": 2, "lockTimeoutSeconds": 120, "lockRetrySeconds": 30}
    job = cycle_request.cycle_input(cluster.cluster_id, cfg, reason="replay test", trigger="http")
    host = ReplayHost(cluster.activities(), activity_seconds=1.0)
    live = (DEFAULT_START + timedelta(hours=1)).isoformat()
    host.seed_entity("cluster_lock", KEY, {"holders": {"old-cycle:" + A: {
        "node": A, "pool": "system", "acquiredAt": DEFAULT_START.isoformat(), "expiresAt": live}}, "history": []})
    cycle = host.run_orchestration("patch_cycle", job, CYCLE_ID)
    results = {n["node"]: n for n in cycle.output["nodes"]}
    assert results[A]["result"] == "skipped" and "being patched by old-cycle:" + A in results[A]["reason"], results[A]
    assert results[A]["heldBy"] == "old-cycle:" + A
    assert cluster.called("uncordon_node", A) == [] and cluster.called("reboot_node", A) == []
    assert cluster.node(A).unschedulable, "the orphan's cordon is the orphan's to give back"
    assert results[B]["result"] == "patched"


def _episode_before_continue_as_new(overrides: dict[str, Any]) -> int:
    """The number of the cycle's episode that schedules the drain's zero-length timer just before
    continue-as-new (the next episode is the one in which it fires; then the cycle hands its
    results to the progress entity's ledger and continues)."""
    probe = run_cycle(two_node_cluster(), overrides=overrides)
    episodes = probe.host.instances[CYCLE_ID].episodes
    continued = next(e.number for e in episodes if any(d["kind"] == "continue_as_new" for d in e.decisions))
    assert [d["kind"] for d in episodes[continued - 2].decisions] == ["entity_call"]
    before = episodes[continued - 3]
    assert [d["kind"] for d in before.decisions] == ["timer"] and before.decisions[0]["seconds"] == 0, before
    return before.number


def test_a_cancel_in_the_episode_where_the_check_before_continue_as_new_fires_is_not_lost():
    """Issue 11 item 7's last gap: the command arrives in exactly the episode in which the drain's
    zero-length timer fires before continue-as-new; the timer wins, the event is in that episode's
    history only, and continue-as-new drops it (before the fix: B patched, outcome completed, the
    cancel never answered). The starter also writes every command to the cluster's progress entity
    (a durable mailbox, with an id), and a continued execution takes the commands it has not
    answered: the cancel is applied once and B is never started."""
    overrides = {"nodesPerExecution": 1}
    target = _episode_before_continue_as_new(overrides)
    host, job = _host(two_node_cluster(), overrides)
    cycle = host.start("patch_cycle", job, CYCLE_ID)
    command = {"id": "c-1", "action": "cancel", "by": "ops", "reason": "stop"}
    original = host._episode

    def episode(instance, arrivals):
        original(instance, arrivals)
        if instance is cycle and len(cycle.episodes) == target:  # queued behind the zero-length timer
            sent = {**command, "sentAt": host.now.isoformat()}
            # What the starter's signal leaves in the mailbox (it writes before it raises the event).
            host.seed_entity("cluster_progress", KEY,
                             progress.reduce(host.entity_state("cluster_progress", KEY), "command",
                                             {**sent, "instanceId": CYCLE_ID})[0])
            host.raise_event(CYCLE_ID, "control", sent, at=host.now)

    host._episode = episode
    host.run()
    out = cycle.output
    assert cycle.status == "Completed", cycle.error
    assert out["outcome"] == "cancelled", out
    assert f"{CYCLE_ID}:{B}" not in host.instances, "the next node was not started"
    assert [(c["action"], c["answer"]) for c in out["commands"]] == [("cancel", "applied")], out["commands"]
