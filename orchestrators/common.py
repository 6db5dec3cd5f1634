"""Small helpers shared by the orchestrators: custom status, retries, entity ids.

Everything here is deterministic: it only uses the orchestration context's own clock and
the input, so it is safe to run on every replay.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from rebooter import logs, names, notify_events, outcomes, settings

log = logging.getLogger("rebooter.orchestrators")

LOCK_ENTITY = "cluster_lock"
PROGRESS_ENTITY = "cluster_progress"


# Settings only the cycle reads: left out of every patch_node input to keep histories small.
CYCLE_ONLY_PREFIXES = ("notifyTemplate", "window", "approval", "estimated", "schedule", "taskHub", "arm",
                       "probe", "nodesPerExecution", "soak", "paused", "zoneAware")
NODE_TEMPLATES = ("notifyTemplateNodeDraining",)  # the one event patch_node announces itself


def node_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if not k.startswith(CYCLE_ONLY_PREFIXES) or k in NODE_TEMPLATES}


def target(cluster_id: str, cfg: dict[str, Any], **payload: Any) -> dict[str, Any]:
    """An activity payload for the cluster: its settings travel with it (credential, Kubernetes
    auth, opt-out and pause labels, reboot method), so no activity reads the environment."""
    return {"cluster": cluster_id, "settings": settings.activity_settings(cfg), **payload}


def invalid_settings(cfg: Any) -> str:
    """Why the settings an orchestration received cannot be used ('' when they can): its input
    is not trusted, so every value is checked again before anything is touched."""
    if not isinstance(cfg, dict):
        return "invalid settings in the input: expected an object"
    return _invalid(json.dumps(cfg, sort_keys=True, default=str))


@functools.lru_cache(maxsize=64)
def _invalid(cfg_json: str) -> str:
    """Cached by the input's text: an orchestration is replayed many times with the same input,
    and the answer is a pure function of it (so caching keeps replays deterministic and cheap)."""
    cfg = json.loads(cfg_json)
    missing = [key for key in settings.ACTIVITY_KEYS if key not in cfg]
    problems = settings.revalidate(cfg) + [f"{key}: missing" for key in missing]
    return ("invalid settings in the input: " + "; ".join(problems))[:1000] if problems else ""


def retry(cfg: dict[str, Any]) -> df.RetryOptions:
    """Retries for transient ARM/Kubernetes errors in read-only or idempotent activities."""
    first_ms = max(100, int(float(cfg.get("activityRetrySeconds", 2)) * 1000))
    return df.RetryOptions(first_retry_interval_in_milliseconds=first_ms, max_number_of_attempts=3)


def lock_id(cluster_id: str) -> df.EntityId:
    return df.EntityId(LOCK_ENTITY, names.parse_cluster_id(cluster_id).key)


def progress_id(cluster_id: str) -> df.EntityId:
    return df.EntityId(PROGRESS_ENTITY, names.parse_cluster_id(cluster_id).key)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def seconds_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def error_text(exc: BaseException) -> str:
    """The useful part of an activity failure as it reaches the orchestrator."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500] if text else text


def record_cycle(context: Any, cluster_id: str, started: datetime, outcome: str, **extra: Any) -> None:
    """Keep the cycle in the cluster's progress entity (fire and forget: a signal)."""
    context.signal_entity(
        progress_id(cluster_id),
        "cycle",
        {"instanceId": context.instance_id, "startedAt": iso(started), "status": outcome,
         "at": iso(context.current_utc_datetime), **extra},
    )


def record_node(context: Any, cluster_id: str, node: str, step: str, result: dict[str, Any] | None = None) -> None:
    payload: dict[str, Any] = {"node": node, "step": step, "at": iso(context.current_utc_datetime),
                               "instanceId": context.instance_id}
    if result is not None:
        payload["result"] = result
    context.signal_entity(progress_id(cluster_id), "node", payload)


def record_probe(context: Any, cluster_id: str, results: list[dict[str, Any]]) -> None:
    """kured's ``kured_reboot_required`` gauge, from outside: one "probe" log line per node per
    probe (the signal the workbook and the pending-reboot alert read), and the last answer per
    node kept in the progress entity (the fleet view's "pending reboot")."""
    nodes = {}
    for result in results:
        for fact in result.get("nodes", []):
            nodes[fact["node"]] = {"pool": fact.get("pool", ""), "rebootRequired": bool(fact.get("rebootRequired")),
                                   "kernel": fact.get("kernel", "")}
            if not context.is_replaying:
                logs.event(log, "probe", cluster=cluster_id, node=fact["node"], pool=fact.get("pool", ""),
                           instanceId=context.instance_id, rebootRequired=bool(fact.get("rebootRequired")),
                           kernel=fact.get("kernel", ""), bootId=fact.get("bootId", ""))
    context.signal_entity(progress_id(cluster_id), "observed", {"probe": {
        "at": iso(context.current_utc_datetime), "instanceId": context.instance_id, "nodes": nodes,
        "pending": sorted(n for n, f in nodes.items() if f["rebootRequired"])}})


def record_cluster(context: Any, cluster_id: str, cluster: dict[str, Any]) -> None:
    """What the last describe saw (node OS channel, version), kept for the fleet view."""
    context.signal_entity(progress_id(cluster_id), "observed", {"cluster": {
        "at": iso(context.current_utc_datetime), "nodeOsUpgradeChannel": cluster.get("nodeOsUpgradeChannel", ""),
        "kubernetesVersion": cluster.get("kubernetesVersion", ""), "provisioningState": cluster.get("provisioningState", "")}})


def pending_taint(context: Any, cfg: dict[str, Any], cluster_id: str, nodes: list[str], pending: bool):
    """Add or remove the PreferNoSchedule reboot-pending taint (REBOOTER_PREFER_NO_SCHEDULE_TAINT);
    the taint is a courtesy to the scheduler, so a failure is reported, never the cycle's failure."""
    if not cfg.get("preferNoScheduleTaint", True) or not nodes:
        return None
    try:
        yield context.call_activity_with_retry("set_pending_taint", retry(cfg),
                                               {"cluster": cluster_id, "nodes": list(nodes), "pending": pending})
    except Exception as exc:  # noqa: BLE001 - see the docstring
        return error_text(exc)
    return None


class CycleStatus:
    """The cycle's custom status, shown in the portal: where we are and what was decided."""

    def __init__(self, context: Any, cluster_id: str, reason: str) -> None:
        self.context = context
        self.cluster = cluster_id
        self.reason = reason
        self.total = 0
        self.results: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []
        self.not_applicable: list[dict[str, str]] = []
        self.up_to_date: list[str] = []
        self.current: list[str] = []
        self.current_step = ""
        self.started = context.current_utc_datetime

    def counts(self) -> dict[str, int]:
        done = sum(1 for r in self.results if r["result"] == outcomes.NodeResult.PATCHED)
        return {"total": self.total, "patched": done, "failed": len(self.results) - done,
                "skipped": len(self.skipped), "upToDate": len(self.up_to_date)}

    def _publish(self) -> None:
        self.context.set_custom_status(
            {
                "cluster": self.cluster,
                "step": self.current_step,
                "currentNodes": self.current,
                "done": len(self.results),
                "total": self.total,
                "skipped": self.skipped,
                "notApplicable": self.not_applicable,
                "reason": self.reason,
            }
        )

    def snapshot(self) -> dict[str, Any]:
        """What a continued execution needs to go on reporting (results without their steps:
        each node's full steps stay in its patch_node instance and in the logs)."""
        compact = [{k: v for k, v in r.items() if k != "steps"} for r in self.results]
        return {"results": compact, "skipped": self.skipped, "notApplicable": self.not_applicable,
                "upToDate": self.up_to_date, "total": self.total}

    def restore(self, state: dict[str, Any]) -> None:
        self.results = list(state.get("results", []))
        self.skipped = list(state.get("skipped", []))
        self.not_applicable = list(state.get("notApplicable", []))
        self.up_to_date = list(state.get("upToDate", []))
        self.total = int(state.get("total", 0))

    def step(self, name: str, current: list[str] | None = None) -> None:
        self.current_step = name
        self.current = current or []
        self._publish()

    def add_result(self, result: dict[str, Any]) -> None:
        self.results.append(result)
        self._publish()

    def finish(self, outcome: str, reason: str = "", **extra: Any) -> dict[str, Any]:
        if not self.context.is_replaying:
            logs.event(log, "cycle", logging.WARNING if outcome in outcomes.CYCLE_WARNED else logging.INFO,
                       cluster=self.cluster, instanceId=self.context.instance_id, result=outcome, reason=reason,
                       durationSeconds=seconds_between(self.started, self.context.current_utc_datetime),
                       **self.counts())
        self.current_step = outcome
        self.current = []
        self._publish()
        return {
            "cluster": self.cluster,
            "outcome": outcome,
            "reason": reason,
            "counts": self.counts(),
            "nodes": self.results,
            "skipped": self.skipped,
            "notApplicable": self.not_applicable,
            "upToDate": self.up_to_date,
            **extra,
        }


def notify(context: Any, cfg: dict[str, Any], payload: dict[str, Any] | None):
    """Send one notification when configured; a failure is never the cycle's failure."""
    if payload is None or not notify_events.wants(cfg, payload["event"]):
        return
    try:
        yield context.call_activity("notify", {**payload, "settings": settings.notify_settings(cfg, payload["event"])})
    except Exception:  # noqa: BLE001 - the notify activity already logs and reports its failures
        return
