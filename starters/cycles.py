"""Starting patch cycles (timer and HTTP), reading one, listing runs.

``client`` is the classic DurableOrchestrationClient the Functions host (or the local runner)
hands to a starter. One cycle per cluster: the instance ID is derived from the cluster.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from orchestrators import durable
from rebooter.config import cycle_request, logs, names, settings
from rebooter.outcomes import CycleOutcome
from starters import clusters
from starters.http import (
    cycle_url,
    error,
    instance_status,
    json_response,
    misconfigured,
    route_instance_id,
    runtime_status,
    timeline_url,
)

log = logging.getLogger("rebooter.starters")
MAX_PAGE = 100


def check_settings_at_startup() -> None:
    """Fail fast and loudly: a bad app setting is logged when the app loads, naming the setting,
    not first discovered by the next timer run. The app still loads, so the HTTP API can answer
    500 with the same message instead of the host hiding every function."""
    try:
        settings.load()
    except settings.SettingsError as exc:
        logs.event(log, "invalid settings", logging.ERROR, reason=str(exc))


async def running(client: Any, instance_id: str) -> bool:
    return runtime_status(await client.get_status(instance_id)) in durable.ACTIVE_STATUSES


async def start_cycle(client: Any, job: dict[str, Any]) -> tuple[str, bool]:
    """Start patch_cycle for job's cluster unless one is already running; (instance id, started)."""
    instance_id = cycle_request.instance_id(job["cluster"])
    if await running(client, instance_id):
        return instance_id, False
    await clusters.release_dead_holders(client, job["cluster"])
    try:
        await client.start_new("patch_cycle", instance_id, job)
    except Exception:
        # Two starts at the same moment (timer and HTTP) both passed the check above; the
        # backend refuses the second one because the first is running: that is a 409, not a 500.
        if await running(client, instance_id):
            return instance_id, False
        raise
    logs.event(log, "started", instanceId=instance_id, cluster=job["cluster"], trigger=job["trigger"],
               dryRun=job.get("dryRun", False), reason=job.get("reason"))
    return instance_id, True


async def timer_start(client: Any) -> list[str]:
    """Timer: one cycle per configured cluster; a cluster with a cycle still running is left to it."""
    try:
        app = settings.load()
    except settings.SettingsError as exc:  # named in the log; the timer must not crash on it
        logs.event(log, "invalid settings", logging.ERROR, reason=str(exc), trigger="timer")
        return []
    started = []
    for cluster_id in app["clusters"]:
        job = cycle_request.cycle_input(cluster_id, settings.for_cluster(app, cluster_id), reason="scheduled",
                                   trigger="timer")
        instance_id, was_started = await start_cycle(client, job)
        if was_started:
            started.append(instance_id)
        else:
            logs.event(log, "already running", instanceId=instance_id, cluster=cluster_id, trigger="timer")
    return started


async def http_start(req: func.HttpRequest, client: Any, *, admin: bool = False) -> func.HttpResponse:
    """POST /api/patch-cycles (function key: overrides may only make the cycle safer or slower)
    and POST /api/admin/patch-cycles (admin key: overrides may loosen)."""
    try:
        app = settings.load()
    except settings.SettingsError as exc:
        return misconfigured(exc)
    try:
        job = cycle_request.parse_body(req.get_body(), app, admin=admin)
    except cycle_request.RequestError as exc:
        return json_response(exc.status, exc.body())
    instance_id, was_started = await start_cycle(client, job)
    if not was_started:
        return error(409, "a patch cycle is already running for this cluster", "cluster", f"instance {instance_id}",
                     id=instance_id)
    if admin:  # the route that may loosen safety: always visible in the logs
        logs.event(log, "started through the admin route", logging.WARNING, instanceId=instance_id,
                   cluster=job["cluster"])
    return accepted(req, instance_id)


def accepted(req: func.HttpRequest, instance_id: str) -> func.HttpResponse:
    """202 with the app's own status URL. Never the Durable extension's management URLs: in Azure
    they carry the extension's system key, which can terminate any instance, signal the lock
    entity and start any orchestration with any input."""
    status_url = cycle_url(req, instance_id)
    response = json_response(202, {"id": instance_id, "statusUrl": status_url})
    response.headers["Location"] = status_url
    return response


async def http_status(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    instance_id = route_instance_id(req)
    if isinstance(instance_id, func.HttpResponse):
        return instance_id
    status = await instance_status(client, instance_id)
    if isinstance(status, func.HttpResponse):
        return status
    body = describe(instance_id, status)
    body["timelineUrl"] = timeline_url(req, instance_id)
    current = (status.custom_status or {}).get("currentNodes", []) if isinstance(status.custom_status, dict) else []
    nodes = {}
    for node in current:
        child = await client.get_status(f"{instance_id}:{node}")
        if child is not None and runtime_status(child):
            nodes[node] = child.custom_status
    if nodes:
        body["currentNodeStatus"] = nodes
    return json_response(200, body)


def describe(instance_id: str, status: Any) -> dict[str, Any]:
    return {
        "id": instance_id,
        "status": runtime_status(status),
        "createdTime": status.created_time,
        "lastUpdatedTime": status.last_updated_time,
        "customStatus": status.custom_status,
        "output": status.output,
    }


async def http_list(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """Runs, newest first, from every configured cluster's progress entity (kept after the
    instance itself is reused by the cluster's next cycle) plus the live instance."""
    try:
        app = settings.load()
    except settings.SettingsError as exc:
        return misconfigured(exc)
    params = req.params
    wanted_status = params.get("status")
    if wanted_status and wanted_status not in (*durable.RUNTIME_STATUSES, *CycleOutcome):
        return error(400, "invalid query parameter", "status",
                     f"expected one of {', '.join(durable.RUNTIME_STATUSES)} or an outcome ({', '.join(CycleOutcome)})")
    try:
        limit = int(params.get("limit", "20"))
        offset = int(params.get("continuationToken", "0") or 0)
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise ValueError
    except ValueError:
        return error(400, "invalid paging", "limit", f"limit 1..{MAX_PAGE}, continuationToken from the last page")
    clusters_wanted = app["clusters"]
    if params.get("cluster"):
        try:
            key = names.parse_cluster_id(params["cluster"]).key
        except ValueError as exc:
            return error(400, "invalid query parameter", "cluster", str(exc))
        clusters_wanted = [c for c in app["clusters"] if names.parse_cluster_id(c).key == key]
        if not clusters_wanted:
            return error(404, "not a configured cluster", "cluster", params["cluster"])
    runs = []
    for cluster_id in clusters_wanted:
        runs.extend(await _runs_of(client, cluster_id))
    if wanted_status:
        runs = [r for r in runs if wanted_status in (r.get("status"), r.get("outcome"))]
    runs.sort(key=lambda r: r.get("startedAt") or "", reverse=True)
    page = runs[offset:offset + limit]
    body: dict[str, Any] = {"runs": page, "count": len(runs)}
    if offset + limit < len(runs):
        body["continuationToken"] = str(offset + limit)
    return json_response(200, body)


async def _runs_of(client: Any, cluster_id: str) -> list[dict[str, Any]]:
    instance_id = cycle_request.instance_id(cluster_id)
    progress = await clusters.read_state(client, durable.PROGRESS_ENTITY, cluster_id) or {}
    live = await client.get_status(instance_id)
    runs = []
    for cycle in progress.get("cycles", []):
        runs.append({"id": cycle.get("instanceId"), "cluster": cluster_id, "startedAt": cycle.get("startedAt"),
                     "updatedAt": cycle.get("at"), "outcome": cycle.get("status"), "summary": cycle.get("summary"),
                     "nodes": cycle.get("nodes", [])})
    if live is not None and runtime_status(live):
        current = next((r for r in reversed(runs) if r["id"] == instance_id), None)
        if current is None:
            current = {"id": instance_id, "cluster": cluster_id, "startedAt": str(live.created_time)}
            runs.append(current)
        current["status"] = runtime_status(live)
    return runs
