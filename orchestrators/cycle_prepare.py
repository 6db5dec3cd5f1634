"""Steps 1 to 3 of patch_cycle: describe the cluster, the maintenance window, cluster-wide
blockers, ask every Linux pool which nodes need a reboot, list the nodes and plan. Ends the cycle
early (skipped, blocked, failed, dry run) with the reason, or hands patch_cycle the state to
patch from. Deterministic like the orchestrator that owns it: all I/O is in activities.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators import durable, progress
from orchestrators.context import OrchestrationContext
from orchestrators.control import Control
from orchestrators.cycle_status import CycleStatus
from orchestrators.probe_pools import probe_pools
from rebooter.arm import aks_window
from rebooter.notifications import events as notify_events
from rebooter.outcomes import CycleOutcome
from rebooter.policy import plan, window_settings, windows


def prepare(context: OrchestrationContext, job: dict[str, Any], status: CycleStatus, control: Control):
    """Describe, window, blockers, probe, plan. Returns the state to patch from, or a finished
    summary (it has an "outcome") when the cycle ends here."""
    cluster_id, cfg = job["cluster"], job["settings"]
    started = context.current_utc_datetime
    retry = durable.retry(cfg)
    status.step("describe cluster")
    try:
        cluster = yield context.call_activity_with_retry("describe_cluster", retry, durable.target(cluster_id, cfg))
    except Exception as exc:  # noqa: BLE001 - the cycle ends with the reason instead of a stack trace
        return (yield from fail(context, cfg, status, f"cannot describe the cluster: {durable.error_text(exc)}"))
    progress.record_cluster(context, cluster_id, cluster)
    reason = plan.cluster_skip_reason(cluster)
    if cfg["paused"]:
        reason = "paused (REBOOTER_PAUSED or this cluster's override)"
    channel = plan.channel_facts(cluster)
    if reason:
        return status.finish(CycleOutcome.SKIPPED, reason=reason, **channel)

    status.step("maintenance window")
    window = yield from _window(context, cfg, cluster_id, retry)
    if isinstance(window, WindowReadError):
        return (yield from fail(context, cfg, status, str(window)))
    if isinstance(window, str):
        return status.finish(CycleOutcome.SKIPPED, reason=window)
    blocked = yield from _wait_for_blockers(context, cfg, cluster_id, status, control)
    if blocked:
        return status.finish(CycleOutcome.BLOCKED, reason=blocked)

    pools, not_applicable = plan.split_pools(cluster, job.get("pools"))
    status.not_applicable = not_applicable
    if not pools:  # e.g. a pools filter naming only Windows, stopped or unknown pools
        return status.finish(CycleOutcome.SKIPPED, reason=plan.no_pool_reason(cluster, job.get("pools"), not_applicable))
    status.step("probe pools")
    probes = yield from probe_pools(context, cfg, cluster_id, pools)
    progress.record_probe(context, cluster_id, probes["results"])
    try:
        inventory = yield context.call_activity_with_retry("list_nodes", retry, durable.target(cluster_id, cfg))
    except Exception as exc:  # noqa: BLE001
        return (yield from fail(context, cfg, status, f"cannot list the cluster's nodes: {durable.error_text(exc)}"))
    planned = plan.plan_nodes(probes["results"], inventory, job.get("nodes"), cfg["zoneAware"],
                              now=context.current_utc_datetime, loop_cooldown_seconds=cfg["rebootLoopCooldownSeconds"])
    status.skipped = planned["skipped"] + probes["failedPools"]
    status.up_to_date = planned["upToDate"]
    status.total = len(planned["nodes"])

    if job.get("dryRun"):
        history = yield context.call_entity(durable.progress_id(cluster_id), "get")
        return status.finish(CycleOutcome.DRY_RUN, plan=plan.dry_run(planned, cfg, history), window=window.describe(), **channel)

    progress.record_cycle(context, cluster_id, started, CycleOutcome.RUNNING, planned=[n["node"] for n in planned["nodes"]])
    tainted = [n["node"] for n in planned["nodes"]] if cfg.get("preferNoScheduleTaint", True) else []
    yield from durable.pending_taint(context, cfg, cluster_id, tainted, True)
    if planned["nodes"]:
        yield from durable.notify(context, cfg, notify_events.cycle_payload(
            "cycle_started", cluster=cluster_id, instance_id=context.instance_id, reason=status.reason,
            counts=status.counts()))
    return {"startedAt": durable.iso(started), "window": window.to_dict(), "queue": planned["nodes"],
            "waveWidth": plan.wave_width(cfg["maxUnavailable"], inventory, planned["nodes"]),
            "control": control.snapshot(), "tainted": tainted}


class WindowReadError(str):
    """The maintenance window could not be read: the cycle ends failed (with a notification)."""


def fail(context: OrchestrationContext, cfg: dict[str, Any], status: CycleStatus, reason: str):
    yield from durable.notify(context, cfg, notify_events.cycle_payload(
        "cycle_halted", cluster=status.cluster, instance_id=context.instance_id, reason=reason, result=CycleOutcome.FAILED))
    return status.finish(CycleOutcome.FAILED, reason=reason)


def _window(context: OrchestrationContext, cfg: dict[str, Any], cluster_id: str, retry: Any):
    """The maintenance window, or the reason the cycle must not start now."""
    aks = None
    if cfg["windowSource"] == "aks":
        try:
            aks = yield context.call_activity_with_retry("read_aks_maintenance_window", retry, durable.target(cluster_id, cfg))
        except Exception as exc:  # noqa: BLE001 - no window known: do not patch, say why
            return WindowReadError(f"cannot read the AKS maintenance window ({aks_window.AKS_CONFIG_NAME}): "
                                   f"{durable.error_text(exc)}")
    try:
        window = window_settings.effective_window(cfg, aks)
        now = context.current_utc_datetime
        if not windows.is_open(window, now):
            return (f"outside the maintenance window ({window.describe()}); it opens "
                    f"{windows.next_open(window, now).isoformat()}")
    except windows.WindowError as exc:
        return str(exc)
    return window


def _wait_for_blockers(context: OrchestrationContext, cfg: dict[str, Any], cluster_id: str, status: CycleStatus,
                       control: Control):
    """Cluster-wide blockers (alerts, blocking pods): wait on a timer; the reason if they outlast the timeout."""
    deadline = context.current_utc_datetime + timedelta(seconds=cfg["blockerTimeoutSeconds"])
    while True:
        try:
            check = yield context.call_activity_with_retry("check_blockers", durable.retry(cfg),
                                                           {"cluster": cluster_id, "settings": cfg})
        except Exception as exc:  # noqa: BLE001 - a check that cannot run blocks, like kured's failed query
            check = {"blocked": True, "reasons": [f"blocker check failed: {durable.error_text(exc)}"]}
        if not check["blocked"]:
            return None
        reasons = "; ".join(check["reasons"])
        if context.current_utc_datetime >= deadline:
            return f"blocked for {cfg['blockerTimeoutSeconds']:.0f}s: {reasons}"
        status.step(f"blocked: {reasons}")
        yield from control.wait(cfg["blockerRetrySeconds"])
        if control.cancel:
            return "cancelled while blocked"
