"""patch_node: take one node out, reboot it, and put it back — or say why not.

lock -> cordon -> drain (retry on a durable timer while PodDisruptionBudgets refuse) ->
reboot -> wait until healthy (Ready, new boot ID, sentinel gone) -> uncordon -> unlock.

Safety rules kept on every path:
- only a node we cordoned is ever uncordoned (the cordon activity tells us);
- a drain that cannot finish undoes our cordon and releases the lock;
- a node that does not come back healthy keeps the lock and stays cordoned, so nothing else
  is taken out while something is wrong (the cycle halts and says so).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orchestrators import common
from orchestrators.control import Control


class NodeRun:
    """Per-node bookkeeping: steps with durations and the custom status."""

    def __init__(self, context: Any, job: dict[str, Any]) -> None:
        self.context = context
        self.cluster = job["cluster"]
        self.node = job["node"]["node"]
        self.facts = job["node"]
        self.cfg = job["settings"]
        self.steps: list[dict[str, Any]] = []
        self.started = context.current_utc_datetime

    def begin(self, step: str) -> None:
        now = self.context.current_utc_datetime
        if self.steps and "seconds" not in self.steps[-1]:
            self.end()
        self.steps.append({"step": step, "startedAt": common.iso(now)})
        self.context.set_custom_status({"cluster": self.cluster, "node": self.node, "step": step,
                                        "steps": self.steps})
        common.record_node(self.context, self.cluster, self.node, step)

    def end(self, **details: Any) -> None:
        current = self.steps[-1]
        start = datetime.fromisoformat(current["startedAt"])
        current["seconds"] = common.seconds_between(start, self.context.current_utc_datetime)
        current.update(details)

    def result(self, outcome: str, reason: str = "", **extra: Any) -> dict[str, Any]:
        if self.steps and "seconds" not in self.steps[-1]:
            self.end()
        summary = {
            "node": self.node,
            "pool": self.facts.get("pool", ""),
            "result": outcome,
            "reason": reason,
            "steps": self.steps,
            "seconds": common.seconds_between(self.started, self.context.current_utc_datetime),
            "before": {"bootId": self.facts.get("bootId", ""), "kernel": self.facts.get("kernel", "")},
            **extra,
        }
        self.context.set_custom_status({"cluster": self.cluster, "node": self.node, "step": outcome,
                                        "steps": self.steps})
        common.record_node(self.context, self.cluster, self.node, outcome,
                           {"result": outcome, "reason": reason, "seconds": summary["seconds"]})
        return summary


def patch_node(context: Any):
    job: dict[str, Any] = context.get_input()
    cfg = job["settings"]
    run = NodeRun(context, job)
    node, cluster = run.node, run.cluster
    target = {"cluster": cluster, "node": node}
    holder = context.instance_id
    lock = common.lock_id(cluster)
    retry = common.retry(cfg)
    control = Control(context)

    # 1. The cluster lock: at most maxUnavailable nodes out, whoever started the cycle.
    run.begin("lock")
    deadline = context.current_utc_datetime + timedelta(seconds=cfg["lockTimeoutSeconds"])
    while True:
        got = yield context.call_entity(lock, "acquire", {
            "holder": holder, "node": node, "now": common.iso(context.current_utc_datetime),
            "ttlSeconds": cfg["lockTtlSeconds"], "limit": cfg["maxUnavailable"]})
        if got["acquired"]:
            break
        if context.current_utc_datetime >= deadline:
            return run.result("skipped", f"cluster lock held by {', '.join(got['holders'])} for too long")
        yield from control.wait(cfg["lockRetrySeconds"])
        if control.cancel:
            return run.result("cancelled", _cancel_text(control))

    def release():
        return context.call_entity(lock, "release", {"holder": holder, "now": common.iso(context.current_utc_datetime)})

    # 2. Cordon (remembering whether the cordon is ours).
    run.begin("cordon")
    try:
        cordon = yield context.call_activity_with_retry("cordon_node", retry, {**target, "owner": holder})
    except Exception as exc:  # noqa: BLE001 - undo whatever part of the cordon happened
        return (yield from _give_back(context, run, target, release, "error", f"cordon failed: {common.error_text(exc)}"))
    run.end(cordonedByUs=cordon["cordonedByUs"])
    if cordon["alreadyCordoned"] and not cordon["cordonedByUs"]:
        yield release()
        return run.result("skipped", "cordoned by someone else after planning; left alone")

    # 3. Drain: one pass per call; PDB refusals and terminating pods are waited out on timers.
    run.begin("drain")
    options = {key: cfg[key] for key in ("drainGracePeriodSeconds", "deleteEmptydirData", "force")}
    deadline = context.current_utc_datetime + timedelta(seconds=cfg["drainTimeoutSeconds"])
    attempts = 0
    while True:
        attempts += 1
        try:
            drained = yield context.call_activity_with_retry("drain_node", retry, {**target, "options": options})
        except Exception as exc:  # noqa: BLE001
            run.end(attempts=attempts)
            return (yield from _give_back(context, run, target, release, "error",
                                          f"drain failed: {common.error_text(exc)}"))
        if drained["status"] == "done":
            run.end(attempts=attempts)
            break
        if drained["status"] == "error" or context.current_utc_datetime >= deadline:
            why = "; ".join(drained.get("errors", [])) if drained["status"] == "error" else _blocked_text(drained)
            run.end(attempts=attempts)
            return (yield from _give_back(context, run, target, release, "undrainable", why))
        yield from control.wait(cfg["drainRetrySeconds"])
        if control.cancel:
            run.end(attempts=attempts)
            return (yield from _give_back(context, run, target, release, "cancelled", _cancel_text(control)))

    # 4. Reboot. From here on a failure keeps the node cordoned and the lock held (failure policy).
    run.begin("reboot")
    try:
        yield context.call_activity_with_retry("reboot_node", retry, {
            **target, "bootId": run.facts["bootId"], "method": cfg["rebootMethod"]})
    except Exception as exc:  # noqa: BLE001
        return run.result("failed", f"reboot request failed: {common.error_text(exc)}", lockKept=True, cordoned=True)

    # 5. Wait until healthy: Ready, a new boot ID, the sentinel gone.
    run.begin("wait healthy")
    deadline = context.current_utc_datetime + timedelta(seconds=cfg["healthTimeoutSeconds"])
    health: dict[str, Any] = {}
    while True:
        # A cancel now is noted but the node is finished first: it is already down.
        yield from control.wait(cfg["healthPollSeconds"])
        try:
            health = yield context.call_activity("check_node_health", {**target, "bootIdBefore": run.facts["bootId"]})
        except Exception as exc:  # noqa: BLE001 - one failed look is not a verdict; poll again
            health = {"healthy": False, "reasons": [f"health check failed: {common.error_text(exc)}"]}
        if health.get("healthy"):
            break
        if context.current_utc_datetime >= deadline:
            reasons = "; ".join(health.get("reasons", [])) or "not healthy"
            # Failure policy: keep the node cordoned and keep the lock, so nothing else goes out.
            return run.result("failed", f"not healthy after {cfg['healthTimeoutSeconds']:.0f}s: {reasons}",
                              lockKept=True, cordoned=True)
    run.end(bootId=health.get("bootId"), kernel=health.get("kernel"))

    # 6. Uncordon (only our own cordon) and unlock.
    run.begin("uncordon")
    try:
        yield from _undo_cordon(context, run, target, retry)
    except Exception as exc:  # noqa: BLE001
        return run.result("error", f"rebooted and healthy, but uncordon failed: {common.error_text(exc)}; "
                                   "the node is still cordoned by us", lockKept=True, cordoned=True)
    yield release()
    return run.result("patched", after={"bootId": health.get("bootId", ""), "kernel": health.get("kernel", "")})


def _undo_cordon(context: Any, run: NodeRun, target: dict[str, Any], retry: Any):
    result = yield context.call_activity_with_retry("uncordon_node", retry, target)
    run.steps[-1]["uncordoned"] = bool(result.get("uncordoned"))
    return result


def _give_back(context: Any, run: NodeRun, target: dict[str, Any], release: Any, outcome: str, reason: str):
    """Before the reboot: undo our cordon (if it is ours) and free the lock, then report."""
    try:
        yield from _undo_cordon(context, run, target, common.retry(run.cfg))
    except Exception as exc:  # noqa: BLE001 - say so: the node may still be cordoned by us
        return run.result("error", f"{reason}; and uncordon failed: {common.error_text(exc)}", lockKept=True,
                          cordoned=True)
    yield release()
    return run.result(outcome, reason)


def _cancel_text(control: Control) -> str:
    command = control.cancel or {}
    return f"cancelled by {command.get('by') or 'an operator'}: {command.get('reason') or 'no reason given'}"


def _blocked_text(drained: dict[str, Any]) -> str:
    blocked = drained.get("blocked", [])
    if blocked:
        return "drain timed out; evictions refused: " + "; ".join(f"{b['pod']}: {b['reason']}" for b in blocked)
    return "drain timed out; pods still terminating: " + ", ".join(drained.get("terminating", []))
