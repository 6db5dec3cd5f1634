"""Activities that read the cluster: ARM description, run-command probe, node inventory.

Each is a plain function of a JSON payload; the blueprint in activities/__init__.py makes
them Durable activities. All of them only read, so running one twice is harmless (a second
probe submission starts a second, independent run-command).
"""

from __future__ import annotations

from typing import Any

from rebooter import aks, clients, inventory, names


def describe_cluster(payload: dict[str, Any]) -> dict[str, Any]:
    ref = names.parse_cluster_id(payload["cluster"])
    return aks.describe_cluster(clients.container_service(ref.subscription_id), ref)


def probe_pool(payload: dict[str, Any]) -> dict[str, Any]:
    ref = names.parse_cluster_id(payload["cluster"])
    pool = names.check_pool_name(payload["pool"])
    wait = int(payload.get("podTimeoutSeconds", 60))
    return aks.submit_probe(clients.container_service(ref.subscription_id), ref, pool, wait)


def fetch_probe_result(payload: dict[str, Any]) -> dict[str, Any]:
    ref = names.parse_cluster_id(payload["cluster"])
    pool = names.check_pool_name(payload["pool"])
    return aks.fetch_probe(clients.container_service(ref.subscription_id), ref, pool, str(payload["commandId"]))


def list_nodes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    facts = inventory.list_nodes(clients.kube_api(payload["cluster"]))
    for fact in facts:
        fact.pop("labels", None)  # keep orchestration history small
    return facts
