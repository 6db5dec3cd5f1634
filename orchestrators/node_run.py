"""NodeRun: the bookkeeping of one patch_node instance, so the runbook in patch_node.py reads
as steps: step timings, custom status, the lock, retries, notifications, the result.

Deterministic like the orchestrator that owns it: time comes from the context only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from orchestrators import durable, progress
from orchestrators.context import OrchestrationContext
from orchestrators.control import Control
from rebooter import outcomes
from rebooter.config import logs
from rebooter.notifications import events as notify_events

log = logging.getLogger("rebooter.orchestrators")


class NodeRun:
    def __init__(self, context: OrchestrationContext, job: dict[str, Any], control: Control) -> None:
        self.context = context
        self.control = control
        self.cluster = job["cluster"]
        self.node = job["node"]["node"]
        self.facts = job["node"]
        self.cfg = job["settings"]
        self.target = durable.target(self.cluster, self.cfg, node=self.node)
        self.holder = context.instance_id
        self.lock = durable.lock_id(self.cluster)
        self.retry = durable.retry(self.cfg)
        self.steps: list[dict[str, Any]] = []
        self.started = context.current_utc_datetime
        self.lock_renewed: datetime | None = None

    # ---- steps and status ----------------------------------------------------------------
    def _publish(self, step: str) -> None:
        self.context.set_custom_status({"cluster": self.cluster, "node": self.node, "step": step,
                                        "steps": self.steps})

    def begin(self, step: str) -> None:
        if self.steps and "seconds" not in self.steps[-1]:
            self.end()
        self.steps.append({"step": step, "startedAt": durable.iso(self.context.current_utc_datetime)})
        self._publish(step)

    def end(self, **details: Any) -> None:
        current = self.steps[-1]
        start = datetime.fromisoformat(current["startedAt"])
        current["seconds"] = durable.seconds_between(start, self.context.current_utc_datetime)
        current.update(details)
        if not self.context.is_replaying:  # log once, not on every replay
            logs.event(log, "step", cluster=self.cluster, node=self.node, step=current["step"],
                       instanceId=self.holder, durationSeconds=current["seconds"])

    def note(self, **details: Any) -> None:
        """Extra facts on the current step (why it is waiting), visible in the custom status."""
        changed = any(self.steps[-1].get(k) != v for k, v in details.items())
        self.steps[-1].update(details)
        if changed:
            self._publish(self.steps[-1]["step"])

    def result(self, outcome: str, reason: str = "", **extra: Any) -> dict[str, Any]:
        if self.steps and "seconds" not in self.steps[-1]:
            self.end()
        summary = {
            "node": self.node,
            "pool": self.facts.get("pool", ""),
            "result": outcome,
            "reason": reason,
            "steps": self.steps,
            "seconds": durable.seconds_between(self.started, self.context.current_utc_datetime),
            "before": {"bootId": self.facts.get("bootId", ""), "kernel": self.facts.get("kernel", "")},
            **extra,
        }
        self._publish(outcome)
        if not self.context.is_replaying:
            after = extra.get("after") or {}
            logs.event(log, "node", logging.WARNING if outcome in outcomes.WARNED else logging.INFO,
                       cluster=self.cluster, node=self.node, pool=summary["pool"], instanceId=self.holder,
                       result=outcome, reason=reason, durationSeconds=summary["seconds"],
                       kernelBefore=summary["before"]["kernel"], kernelAfter=after.get("kernel", ""),
                       bootIdBefore=summary["before"]["bootId"], bootIdAfter=after.get("bootId", ""))
        progress.record_node(self.context, self.cluster, self.node, outcome,
                           {"result": outcome, "reason": reason, "seconds": summary["seconds"]})
        return summary

    def fail_keeping_lock(self, outcome: str, reason: str):
        """Failure policy after the reboot: the node stays cordoned and keeps its lock slot, so
        nothing else is taken out until an operator looks (POST .../lock/break frees it)."""
        try:
            kept = yield self.context.call_entity(self.lock, "keep", {
                "holder": self.holder, "node": self.node, "pool": self.facts.get("pool", ""),
                "now": durable.iso(self.context.current_utc_datetime), "reason": reason})
        except Exception as exc:  # noqa: BLE001 - say so: the node still counts as out while cordoned
            kept = {"kept": False, "error": durable.error_text(exc)}
        if not (isinstance(kept, dict) and kept.get("kept")):
            why = kept.get("error", "the lock refused") if isinstance(kept, dict) else "the lock refused"
            return self.result(outcome, f"{reason}; the lock slot could not be kept ({why}): the node still "
                                        "counts against the budget while it is cordoned", lockKept=False,
                               cordoned=True)
        self.log_lock("kept", reason)
        return self.result(outcome, reason, lockKept=True, cordoned=True)

    def cancel_text(self) -> str:
        command = self.control.cancel or {}
        return f"cancelled by {command.get('by') or 'an operator'}: {command.get('reason') or 'no reason given'}"

    # ---- calls ---------------------------------------------------------------------------
    def activity(self, name: str, **payload: Any):
        """An idempotent node activity with the transient-error retry policy."""
        return self.context.call_activity_with_retry(name, self.retry, {**self.target, **payload})

    def release(self) -> None:
        """A signal, not a call: nothing waits on it, and the next node's acquire is sent only
        after this instance ends, so the entity sees the release first (one round trip less)."""
        self.context.signal_entity(self.lock, "release", {
            "holder": self.holder, "now": durable.iso(self.context.current_utc_datetime)})
        self.log_lock("released")

    def log_lock(self, action: str, reason: str = "") -> None:
        """The lock's story in the logs (acquired, released, kept), for the workbook: the entity
        is a pure reducer, so the orchestrator that changed it says so."""
        if not self.context.is_replaying:
            logs.event(log, "lock", logging.WARNING if action == "kept" else logging.INFO, action=action,
                       cluster=self.cluster, node=self.node, pool=self.facts.get("pool", ""), holder=self.holder,
                       instanceId=self.holder, reason=reason)

    def renew_lock(self):
        """Renew the lock's TTL while we hold it, at a third of the TTL, so a live holder never
        expires and a dead one does (kured's lock-ttl, without its stuck locks)."""
        ttl = float(self.cfg["lockTtlSeconds"])
        now = self.context.current_utc_datetime
        if self.lock_renewed is not None and now - self.lock_renewed >= timedelta(seconds=ttl / 3):
            yield self.context.call_entity(self.lock, "renew", {"holder": self.holder, "now": durable.iso(now),
                                                                 "ttlSeconds": ttl})
            self.lock_renewed = now

    def notify_draining(self):
        return durable.notify(self.context, self.cfg, notify_events.node_payload(
            "node_draining", cluster=self.cluster, instance_id=self.holder, node=self.node,
            pool=self.facts.get("pool", ""), step="drain", bootIdBefore=self.facts.get("bootId", ""),
            kernelBefore=self.facts.get("kernel", "")))


def watch_until(context: Any, cfg: dict[str, Any], deadline: Any) -> float:
    """How long the next activity may watch: watchSeconds, but never past the step's own deadline
    (drain or health timeout), so a watch cannot let a drain finish after it was due to give up."""
    left = (deadline - context.current_utc_datetime).total_seconds()
    return float(max(0, min(cfg.get("watchSeconds", 0), int(left))))


def blocked_text(drained: dict[str, Any]) -> str:
    blocked = drained.get("blocked", [])
    if blocked:
        return "drain timed out; evictions refused: " + "; ".join(f"{b['pod']}: {b['reason']}" for b in blocked)
    return "drain timed out; pods still terminating: " + ", ".join(drained.get("terminating", []))


def gone(exc: BaseException) -> bool:
    """The node was deleted (scale-in, autoscaler): the activities raise NodeNotFound
    (rebooter/kube/kubeapi.py), whose name reaches the orchestrator in the failure message."""
    text = str(exc)
    return "NodeNotFound" in text or "not found in the cluster" in text


def gone_result(run: NodeRun, exc: BaseException) -> dict[str, Any]:
    """A node that no longer exists is out of nobody's budget: free its slot and let the cycle go on."""
    run.release()
    return run.result(outcomes.NodeResult.GONE, f"the node was deleted from the cluster during the cycle ({durable.error_text(exc)})")
