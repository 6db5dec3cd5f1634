"""Activities that read the cluster: ARM description, run-command probe, node inventory.

Each is a plain function of a JSON payload; the blueprint in activities/__init__.py makes
them Durable activities. All of them only read, so running one twice is harmless (a second
probe submission starts a second, independent run-command).
"""

from __future__ import annotations

from typing import Any

from rebooter.arm import aks, clients, probe
from rebooter.config import names
from rebooter.kube import inventory
from rebooter.kube.watching import MAX_WATCH_SECONDS


def _arm(payload: dict[str, Any]) -> tuple[Any, names.ClusterRef]:
    """The ARM client with the cluster's credential (from the payload's settings) and the cluster."""
    ref = names.parse_cluster_id(payload["cluster"])
    return clients.container_service(ref.subscription_id, clients.access_of(payload)["credential"]), ref


def describe_cluster(payload: dict[str, Any]) -> dict[str, Any]:
    arm, ref = _arm(payload)
    return aks.describe_cluster(arm, ref)


def probe_pool(payload: dict[str, Any]) -> dict[str, Any]:
    """Submit the pool's probe. Errors come back as data, not exceptions: the orchestrator fans
    these out with task_all, and a failure there must name its pool without failing the rest."""
    pool = names.check_pool_name(payload["pool"])
    wait = int(payload.get("podTimeoutSeconds", 60))
    try:
        arm, ref = _arm(payload)
        kind = clients.access_of(payload)["credential"]
        return aks.submit_probe(arm, ref, pool, wait, cluster_token=lambda: clients.aks_cluster_token(kind))
    except Exception as exc:  # noqa: BLE001 - reported to the orchestrator with the pool's name
        return {"pool": pool, "error": _one_line(exc)}


def fetch_probe_result(payload: dict[str, Any]) -> dict[str, Any]:
    """A pool's probe result: running, done, failed (the command failed: final) or error (could
    not ask: the orchestrator polls again until its deadline). With ``waitSeconds`` (at most
    rebooter.kube.watching.MAX_WATCH_SECONDS) it reads ARM every second or so until the result is
    there or the bound passes (then ``waited: true``), so the cycle sees it within a second."""
    pool = names.check_pool_name(payload["pool"])
    wait = payload.get("waitSeconds", 0)
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= MAX_WATCH_SECONDS:
        raise ValueError(f"waitSeconds: expected a number of seconds from 0 to {MAX_WATCH_SECONDS}, got {wait!r}")
    try:
        arm, ref = _arm(payload)
        return aks.fetch_probe(arm, ref, pool, str(payload["commandId"]), wait_seconds=float(wait))
    except probe.ProbeError as exc:
        return {"pool": pool, "status": "failed", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - transient: polled again
        return {"pool": pool, "status": "error", "error": _one_line(exc)}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _facts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The cluster's nodes, with the cluster's own opt-out and pause labels (from the payload)."""
    cfg = payload.get("settings") or {}
    labels = [cfg.get("optOutLabel"), cfg.get("pauseLabel")]
    if not all(isinstance(label, str) and label for label in labels):
        raise ValueError("settings: expected the cluster's optOutLabel and pauseLabel in the activity payload")
    cluster = names.parse_cluster_id(payload["cluster"]).resource_id
    return inventory.list_nodes(clients.kube_api(cluster, clients.access_of(payload)), *labels)


def list_nodes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    facts = _facts(payload)
    for fact in facts:
        fact.pop("labels", None)  # keep orchestration history small
    return facts


def _count_unavailable(payload: dict[str, Any]) -> dict[str, Any]:
    """Nodes already out by someone else's hand, for the lock's budget check."""
    return inventory.unavailable(_facts(payload))


def preflight_node(payload: dict[str, Any]) -> dict[str, Any]:
    """Before a node is taken: its blockers (alerts, blocking pods, a drain PDBs will refuse)
    and the nodes already out by someone else's hand, in one call."""
    from activities.safety import check_blockers

    check = check_blockers(payload)
    check["unavailable"] = _count_unavailable(payload)
    return check
