"""Durable Functions names and helpers shared by the orchestrators (and the starters).

The entity names and ids, the runtime-status sets, activity payloads and retries, and the two
fire-and-forget side calls (notification, reboot-pending taint). Everything here is
deterministic: it only uses the orchestration context's own clock and the input, so it is safe
to run on every replay.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from orchestrators.context import OrchestrationContext
from rebooter.config import names, settings
from rebooter.notifications import events as notify_events

# The entities (entities/__init__.py registers functions of these names), keyed by the cluster's
# subscription.resourcegroup.name key.
LOCK_ENTITY = "cluster_lock"
PROGRESS_ENTITY = "cluster_progress"

# Runtime statuses of an orchestration instance (azure-functions-durable's OrchestrationRuntimeStatus:
# Azure/azure-functions-durable-python, azure/durable_functions/models/OrchestrationRuntimeStatus.py).
# ContinuedAsNew is an instance between two executions: still alive, it takes events and commands.
RUNTIME_STATUSES = ("Running", "Pending", "ContinuedAsNew", "Suspended", "Completed", "Failed", "Terminated",
                    "Canceled")
ACTIVE_STATUSES = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})
ENDED_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
# Active and not suspended: its clock runs (the timeline draws it as running).
RUNNING_STATUSES = ACTIVE_STATUSES - {"Suspended"}

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


def entity_id(name: str, cluster_id: str) -> df.EntityId:
    """The id of one of the cluster's entities (LOCK_ENTITY or PROGRESS_ENTITY)."""
    return df.EntityId(name, names.parse_cluster_id(cluster_id).key)


def lock_id(cluster_id: str) -> df.EntityId:
    return entity_id(LOCK_ENTITY, cluster_id)


def progress_id(cluster_id: str) -> df.EntityId:
    return entity_id(PROGRESS_ENTITY, cluster_id)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def seconds_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def error_text(exc: BaseException) -> str:
    """The useful part of an activity failure as it reaches the orchestrator."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500] if text else text


def pending_taint(context: OrchestrationContext, cfg: dict[str, Any], cluster_id: str, nodes: list[str], pending: bool):
    """Add or remove the PreferNoSchedule reboot-pending taint (REBOOTER_PREFER_NO_SCHEDULE_TAINT);
    the taint is a courtesy to the scheduler, so a failure is reported, never the cycle's failure."""
    if not cfg.get("preferNoScheduleTaint", True) or not nodes:
        return None
    try:
        yield context.call_activity_with_retry("set_pending_taint", retry(cfg),
                                               target(cluster_id, cfg, nodes=list(nodes), pending=pending))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        return error_text(exc)
    return None




def notify(context: OrchestrationContext, cfg: dict[str, Any], payload: dict[str, Any] | None):
    """Send one notification when configured; a failure is never the cycle's failure."""
    if payload is None or not notify_events.wants(cfg, payload["event"]):
        return
    try:
        yield context.call_activity("notify", {**payload, "settings": settings.notify_settings(cfg, payload["event"])})
    except Exception:  # noqa: BLE001 - the notify activity already logs and reports its failures
        return
