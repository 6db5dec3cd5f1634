"""Activities that read the cluster: ARM description, run-command probe, node inventory.

Each is a plain function of a JSON payload; the blueprint in activities/__init__.py makes
them Durable activities. All of them only read, so running one twice is harmless (a second
probe submission starts a second, independent run-command).
"""

from __future__ import annotations

from typing import Any

from rebooter import aks, clients, inventory, names, probe


def describe_cluster(payload: dict[str, Any]) -> dict[str, Any]:
    ref = names.parse_cluster_id(payload["cluster"])
    return aks.describe_cluster(clients.container_service(ref.subscription_id), ref)


def probe_pool(payload: dict[str, Any]) -> dict[str, Any]:
    """Submit the pool's probe. Errors come back as data, not exceptions: the orchestrator fans
    these out with task_all, and a failure there must name its pool without failing the rest."""
    ref = names.parse_cluster_id(payload["cluster"])
    pool = names.check_pool_name(payload["pool"])
    wait = int(payload.get("podTimeoutSeconds", 60))
    try:
        return aks.submit_probe(clients.container_service(ref.subscription_id), ref, pool, wait,
                                cluster_token=clients.aks_cluster_token)
    except Exception as exc:  # noqa: BLE001 - reported to the orchestrator with the pool's name
        return {"pool": pool, "error": _one_line(exc)}


def fetch_probe_result(payload: dict[str, Any]) -> dict[str, Any]:
    """One poll of a pool's probe: running, done, failed (the command failed: final) or error
    (could not ask: the orchestrator polls again until its deadline)."""
    ref = names.parse_cluster_id(payload["cluster"])
    pool = names.check_pool_name(payload["pool"])
    try:
        return aks.fetch_probe(clients.container_service(ref.subscription_id), ref, pool, str(payload["commandId"]))
    except probe.ProbeError as exc:
        return {"pool": pool, "status": "failed", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - transient: polled again
        return {"pool": pool, "status": "error", "error": _one_line(exc)}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _facts(cluster: str) -> list[dict[str, Any]]:
    cfg = clients.app_settings()
    return inventory.list_nodes(clients.kube_api(cluster), cfg["optOutLabel"], cfg["pauseLabel"])


def list_nodes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    facts = _facts(payload["cluster"])
    for fact in facts:
        fact.pop("labels", None)  # keep orchestration history small
    return facts


def _count_unavailable(payload: dict[str, Any]) -> dict[str, Any]:
    """Nodes already out by someone else's hand, for the lock's budget check."""
    return inventory.unavailable(_facts(payload["cluster"]))


def preflight_node(payload: dict[str, Any]) -> dict[str, Any]:
    """Before a node is taken: its blockers (alerts, blocking pods, a drain PDBs will refuse)
    and the nodes already out by someone else's hand, in one call."""
    from activities.safety import check_blockers

    check = check_blockers(payload)
    check["unavailable"] = _count_unavailable(payload)
    return check
