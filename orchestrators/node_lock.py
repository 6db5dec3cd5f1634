"""Step 1 of patch_node: preflight (blockers, the budget) and the cluster lock.

Retries on durable timers while blocked or while the budget has no room, within the blocker and
lock timeouts; a node that is not taken gets its result here (blocked, undrainable predicted,
skipped, cancelled, gone). Deterministic like the orchestrator that owns it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators import durable
from orchestrators.node_run import NodeRun, gone, gone_result
from rebooter.outcomes import NodeResult, Verdict


def take_lock(run: NodeRun, carried: dict[str, Any] | None):
    """Preflight then acquire, retrying on timers; a result dict when the node is not taken.
    ``carried``: this node's preflight, answered by the previous node's finish_node moments ago
    (patch_cycle passes it on only when nothing waited in between); it stands for the first
    preflight, every retry checks again."""
    context, cfg = run.context, run.cfg
    run.begin("lock")
    blocked_until = context.current_utc_datetime + timedelta(seconds=cfg["blockerTimeoutSeconds"])
    lock_until = context.current_utc_datetime + timedelta(seconds=cfg["lockTimeoutSeconds"])
    while True:
        yield from run.control.catch_up()  # a cancel sent before this node was taken: take nothing
        if run.control.cancel:
            return run.result(NodeResult.CANCELLED, run.cancel_text())
        try:
            # The command waiter opens with the first task (Control.alongside): a cancel sent at
            # once is neither lost nor delivered twice, at no extra episode.
            check = carried if carried else (yield from run.control.alongside(run.activity("preflight_node",
                                                                                            settings=cfg)))
            carried = None
        except Exception as exc:  # noqa: BLE001 - a check that cannot run blocks
            if gone(exc):
                return gone_result(run, exc)
            check = {"blocked": True, "verdict": Verdict.WAIT, "reasons": [f"preflight failed: {durable.error_text(exc)}"]}
        force = cfg["undrainablePolicy"] == "force"
        if check["blocked"] and check["verdict"] == Verdict.UNDRAINABLE and not force:
            return run.result(NodeResult.UNDRAINABLE, "predicted before cordoning: " + "; ".join(check["reasons"]),
                              predicted=True)
        if check["blocked"] and not (check["verdict"] == Verdict.UNDRAINABLE and force):
            if context.current_utc_datetime >= blocked_until:
                return run.result(NodeResult.BLOCKED, "; ".join(check["reasons"]))
            run.note(blocked=check["reasons"])
            wait = cfg["blockerRetrySeconds"]
        else:
            out = check["unavailable"]
            got = yield from run.control.alongside(context.call_entity(run.lock, "acquire", {
                "holder": run.holder, "node": run.node, "pool": run.facts.get("pool", ""),
                "now": durable.iso(context.current_utc_datetime), "ttlSeconds": cfg["lockTtlSeconds"],
                "limit": cfg["maxUnavailable"], "out": out["out"], "poolLimit": cfg["maxUnavailablePerPool"]}))
            if got["acquired"]:
                run.lock_renewed = context.current_utc_datetime
                run.log_lock("acquired")
                yield from run.control.catch_up()  # a cancel that came while the lock answered
                if run.control.cancel:
                    run.release()
                    return run.result(NodeResult.CANCELLED, run.cancel_text())
                return None
            if got.get("kept"):  # an operator must look first: waiting would not change that
                return run.result(NodeResult.SKIPPED, got["reason"] + "; break the lock (POST .../lock/break) to retry it",
                                  lockKept=True, cordoned=True)
            if context.current_utc_datetime >= lock_until and got.get("heldBy"):
                # Not ours to undo: the other instance owns the cordon and gives it back itself.
                return run.result(NodeResult.SKIPPED, f"left to the instance patching it: {got['reason']}",
                                  heldBy=got["heldBy"])
            if context.current_utc_datetime >= lock_until:
                return run.result(NodeResult.SKIPPED, f"no room in the budget for too long: {got.get('reason', '')}")
            run.note(waitingFor=got.get("reason", ""))
            wait = cfg["lockRetrySeconds"]
        yield from run.control.wait(wait)
