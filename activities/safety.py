"""Safety activities: blockers and the AKS planned-maintenance window ("safe by default").

Thin on purpose, like activities/nodes.py: validate the payload, get a client, call the domain
function. Both only read, so a retry or a replay is harmless.

check_blockers   {cluster, node?, settings: {prometheusUrl, prometheusAuth, alertFilterRegexp,
                  alertFilterMatchOnly, alertFiringOnly, blockingPodSelectors,
                  drainGracePeriodSeconds, deleteEmptydirData, force, ...}}
                 -> {blocked: bool, verdict: "ok"|"wait"|"undrainable", reasons: [str],
                     alerts: [str], pods: [str],
                     drain: {verdict: "ok"|"wait"|"undrainable", reasons: [str], evict: int} | null}
                 (rebooter.outcomes.Verdict) "wait": alerts, blocking pods or a PDB that is temporarily short (try again later);
                 "undrainable": the node's drain cannot finish (do not cordon it).
                 Without "node" only the alerts and blocking pods anywhere in the cluster count.
read_aks_maintenance_window {cluster, settings: {credential, ...}}
                 -> {found: false}
                  | {found: true, window: <Window.to_dict()> | null, error: str, maintenanceWindow: {...}}
                 window is null (and error says why) for unsupported schedules (absoluteMonthly,
                 relativeMonthly) or a configuration without maintenanceWindow.
"""

from __future__ import annotations

from typing import Any

from rebooter.arm import aks_window, clients
from rebooter.config import names
from rebooter.policy import alerts, blockers


def _cluster(payload: Any) -> names.ClusterRef:
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object payload, got {type(payload).__name__}")
    return names.parse_cluster_id(payload.get("cluster"))


def check_blockers(payload: dict) -> dict:
    ref = _cluster(payload)
    node = payload.get("node")
    if node is not None:
        node = names.check_node_name(node)
    values = payload.get("settings")
    if not isinstance(values, dict):
        raise ValueError("settings: expected the cycle's settings object")
    access = clients.access_of(payload)

    def token() -> str:  # only asked for with prometheusAuth entra, and only for an Azure Monitor host
        return clients.credential(access["credential"]).get_token(alerts.PROMETHEUS_SCOPE).token

    return blockers.check_blockers(clients.kube_api(ref.resource_id, access), values, node, token=token)


def read_aks_maintenance_window(payload: dict) -> dict:
    ref = _cluster(payload)
    arm = clients.container_service(ref.subscription_id, clients.access_of(payload)["credential"])
    return aks_window.read_window(arm, ref.resource_group, ref.name)
