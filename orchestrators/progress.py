"""What the orchestrators tell the cluster's progress entity: cycles, node steps, probe answers,
the cluster as last described (signals: fire and forget, nothing waits on them).

Deterministic: times come from the orchestration context.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from orchestrators.context import OrchestrationContext
from orchestrators.durable import iso, progress_id
from rebooter.config import logs

log = logging.getLogger("rebooter.orchestrators")


def record_cycle(context: OrchestrationContext, cluster_id: str, started: datetime, outcome: str, **extra: Any) -> None:
    """Keep the cycle in the cluster's progress entity (fire and forget: a signal)."""
    context.signal_entity(
        progress_id(cluster_id),
        "cycle",
        {"instanceId": context.instance_id, "startedAt": iso(started), "status": outcome,
         "at": iso(context.current_utc_datetime), **extra},
    )


def record_node(context: OrchestrationContext, cluster_id: str, node: str, step: str, result: dict[str, Any] | None = None) -> None:
    payload: dict[str, Any] = {"node": node, "step": step, "at": iso(context.current_utc_datetime),
                               "instanceId": context.instance_id}
    if result is not None:
        payload["result"] = result
    context.signal_entity(progress_id(cluster_id), "node", payload)


def record_probe(context: OrchestrationContext, cluster_id: str, results: list[dict[str, Any]]) -> None:
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


def record_cluster(context: OrchestrationContext, cluster_id: str, cluster: dict[str, Any]) -> None:
    """What the last describe saw (node OS channel, version), kept for the fleet view."""
    context.signal_entity(progress_id(cluster_id), "observed", {"cluster": {
        "at": iso(context.current_utc_datetime), "nodeOsUpgradeChannel": cluster.get("nodeOsUpgradeChannel", ""),
        "kubernetesVersion": cluster.get("kubernetesVersion", ""), "provisioningState": cluster.get("provisioningState", "")}})
