"""The probe fan-out: ask every pool at once which nodes need a reboot (AKS run-command), then
poll the pending ones on a durable timer until each answered, failed or ran out of time.

Deterministic: time comes from the context; the run-commands are activities.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators import durable
from orchestrators.context import OrchestrationContext


def probe_pools(context: OrchestrationContext, cfg: dict[str, Any], cluster_id: str, pools: list[str]):
    """Submit one run-command per pool at once, then poll all pending ones on a durable timer.

    The probe activities report failures as data, so one pool's trouble is recorded against
    that pool and never fails the fan-out (no task_all that can fail part-way).
    """
    pod_timeout = int(cfg["probePodTimeoutSeconds"])
    failed: list[dict[str, str]] = []
    pending: dict[str, str] = {}
    to_submit = list(pools)
    for attempt in (1, 2):  # one resubmission after a back-off for pools whose submit failed
        try:
            submitted = yield context.task_all([
                context.call_activity("probe_pool", durable.target(cluster_id, cfg, pool=p,
                                                                  podTimeoutSeconds=pod_timeout))
                for p in to_submit
            ])
        except Exception as exc:  # noqa: BLE001 - the activity itself crashed: treat as a failed submit
            submitted = [{"pool": p, "error": durable.error_text(exc)} for p in to_submit]
        to_submit = [s["pool"] for s in submitted if "error" in s]
        pending.update({s["pool"]: s["commandId"] for s in submitted if "error" not in s})
        if not to_submit:
            break
        if attempt == 1:
            yield _wait(context, cfg["activityRetrySeconds"])
        else:
            errors = {s["pool"]: s["error"] for s in submitted if "error" in s}
            failed += [{"node": f"pool {p}", "reason": f"probe could not be submitted: {errors[p]}"} for p in to_submit]

    deadline = context.current_utc_datetime + timedelta(seconds=cfg["probeTimeoutSeconds"])
    results: list[dict[str, Any]] = []
    last_error: dict[str, str] = {}
    # Each fetch may wait on ARM for its result up to watchSeconds (never past the probe timeout),
    # so the first one goes out at once; a timer comes only after a fetch that did not wait
    # (watchSeconds 0, or an error), as before.
    waited = cfg.get("watchSeconds", 0) > 0
    while pending:
        if not waited:
            yield _wait(context, cfg["probePollSeconds"])
        left = (deadline - context.current_utc_datetime).total_seconds()
        wait = float(max(0, min(cfg.get("watchSeconds", 0), int(left))))
        try:
            polled = yield context.task_all([
                context.call_activity("fetch_probe_result", durable.target(cluster_id, cfg, pool=p,
                                                                          commandId=pending[p], waitSeconds=wait))
                for p in sorted(pending)
            ])
        except Exception as exc:  # noqa: BLE001 - the activity itself crashed: poll again until the deadline
            polled = [{"pool": p, "status": "error", "error": durable.error_text(exc)} for p in sorted(pending)]
        waited = wait > 0 and all(r.get("waited") for r in polled if r["status"] == "running") \
            and any(r["status"] == "running" for r in polled)
        for result in polled:
            pool = result["pool"]
            if result["status"] == "done":
                results.append(result)
                pending.pop(pool)
            elif result["status"] == "failed":
                failed.append({"node": f"pool {pool}", "reason": f"probe failed: {result['error']}"})
                pending.pop(pool)
            elif result["status"] == "error":
                last_error[pool] = result["error"]
        if pending and context.current_utc_datetime >= deadline:
            for pool in sorted(pending):
                detail = f" (last error: {last_error[pool]})" if pool in last_error else ""
                failed.append({"node": f"pool {pool}", "reason": f"probe did not finish in time{detail}"})
            pending = {}
    return {"results": results, "failedPools": failed}


def _wait(context: OrchestrationContext, seconds: float):
    return context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
