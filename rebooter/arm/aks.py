"""What we need to know about an AKS cluster from ARM, in plain JSON for the orchestrator."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from rebooter.arm import probe
from rebooter.config import names


def _power(obj: Any) -> str:
    state = getattr(obj, "power_state", None)
    return getattr(state, "code", None) or "Running"


def describe_cluster(arm: Any, ref: names.ClusterRef) -> dict[str, Any]:
    """The managed cluster and its agent pools (agentPools list is paged; the SDK follows nextLink)."""
    cluster = arm.managed_clusters.get(ref.resource_group, ref.name)
    pools = []
    for pool in arm.agent_pools.list(ref.resource_group, ref.name):
        pools.append(
            {
                "name": pool.name,
                "osType": pool.os_type or "Linux",
                "mode": pool.mode or "User",
                "count": pool.count or 0,
                "provisioningState": pool.provisioning_state or "Succeeded",
                "powerState": _power(pool),
                "zones": list(pool.availability_zones or []),
            }
        )
    upgrade = getattr(cluster, "auto_upgrade_profile", None)
    access = getattr(cluster, "api_server_access_profile", None)
    return {
        "id": ref.resource_id,
        "name": cluster.name,
        "provisioningState": cluster.provisioning_state or "Succeeded",
        "powerState": _power(cluster),
        "kubernetesVersion": cluster.current_kubernetes_version or cluster.kubernetes_version,
        "nodeResourceGroup": cluster.node_resource_group,
        "nodeOsUpgradeChannel": (getattr(upgrade, "node_os_upgrade_channel", None) or "Unmanaged"),
        "aad": cluster.aad_profile is not None,
        "aadManaged": aad_managed(cluster),
        "runCommandDisabled": bool(getattr(access, "disable_run_command", False)),
        "pools": sorted(pools, key=lambda p: p["name"]),
    }


def aad_managed(cluster: Any) -> bool:
    """Entra ID (managed AAD) cluster: run-command needs a ``cluster_token`` there. The Azure CLI
    sends one exactly when ``aadProfile.managed`` is set (Azure/azure-cli
    src/azure-cli/azure/cli/command_modules/acs/custom.py, aks_runcommand); without it AKS answers
    MissingAADClusterToken (Azure/azure-rest-api-specs#22467)."""
    profile = getattr(cluster, "aad_profile", None)
    return bool(profile is not None and getattr(profile, "managed", False))


def submit_probe(arm: Any, ref: names.ClusterRef, pool: str, wait_seconds: int,
                 cluster_token: Callable[[], str] | None = None) -> dict[str, str]:
    """Submit the probe run-command without waiting; return its command id (from Location).

    Like the Azure CLI, the cluster is read first: on an Entra ID cluster ``cluster_token()``
    supplies a token for the AKS server app, so the command runs as this app's identity under
    its own Kubernetes RBAC.
    """
    from azure.mgmt.containerservice.models import RunCommandRequest

    run_id = "p" + uuid.uuid4().hex[:12]
    body = probe.build_request(pool, run_id, wait_seconds)
    token = None
    if aad_managed(arm.managed_clusters.get(ref.resource_group, ref.name)):
        if cluster_token is None:
            raise RuntimeError("the cluster uses Entra ID: run-command needs a cluster token for the AKS server app")
        token = cluster_token()
    locations: list[str] = []

    def capture(response: Any) -> None:
        location = response.http_response.headers.get("Location")
        if location:
            locations.append(location)

    poller = arm.managed_clusters.begin_run_command(
        ref.resource_group,
        ref.name,
        RunCommandRequest(command=body["command"], context=body["context"], cluster_token=token),
        polling=False,
        raw_response_hook=capture,
    )
    del poller  # polling happens in the orchestrator, with durable timers
    if not locations:
        raise RuntimeError(f"run-command for pool {pool} was accepted without a Location header")
    command_id = locations[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return {"pool": pool, "commandId": command_id, "runId": run_id}


# Between two reads of a pending command result inside one bounded fetch. ARM's asynchronous
# operations pattern says to wait what Retry-After says when the answer has one, and AKS's
# commandResults 202 has none (Azure/azure-rest-api-specs, specification/containerservice,
# managedClusters.json: RunCommand_GetCommandResult, 202 with a Location header only); one read a
# second per pool stays far below ARM's read limits (Microsoft Learn, "Understand how Azure
# Resource Manager throttles requests": a bucket of 250 reads refilled at 25 per second per
# subscription and principal). A 429 is retried by azure-core's RetryPolicy after its Retry-After.
ARM_POLL_SECONDS = 1.0
MAX_RETRY_AFTER_SECONDS = 60.0


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:  # an HTTP date: not sent by ARM for these reads; fall back to our interval
        return 0.0


def fetch_probe(arm: Any, ref: names.ClusterRef, pool: str, command_id: str, wait_seconds: float = 0.0,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Read the command's result until it is there or ``wait_seconds`` pass: {"status": "running"}
    (with ``waited: true`` when it waited to its bound) or the parsed per-node facts (raises on a
    failed command). ``wait_seconds`` 0 reads once, as a poll on the orchestrator's timer does."""
    names.check_label_value(command_id.lower())
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while True:
        result, retry_after = arm.managed_clusters.get_command_result(
            ref.resource_group, ref.name, command_id,
            cls=lambda response, body, headers: (body, response.http_response.headers.get("Retry-After")))
        if result is not None and result.provisioning_state not in (None, "Running", "Accepted", "Creating"):
            parsed = probe.parse_result(pool, result.provisioning_state, result.exit_code, result.logs or "",
                                        result.reason)
            return {"status": "done", **parsed}
        pause = max(ARM_POLL_SECONDS, _retry_after(retry_after))
        if wait_seconds <= 0:
            return {"pool": pool, "status": "running"}
        if time.monotonic() + pause > deadline:
            return {"pool": pool, "status": "running", "waited": True}
        sleep(pause)
