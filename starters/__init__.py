"""What the timer and HTTP functions do: validate, keep one cycle per cluster, start, report.

function_app.py only wires triggers to these coroutines. ``client`` is the classic
DurableOrchestrationClient the Functions host (or the local runner) hands to a starter.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import azure.functions as func

from rebooter import requests, settings

log = logging.getLogger("rebooter.starters")
ACTIVE = {"Running", "Pending", "ContinuedAsNew"}


def _json(status: int, body: Any) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, default=str), status_code=status, mimetype="application/json")


def _runtime_status(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value)


async def running(client: Any, instance_id: str) -> bool:
    status = await client.get_status(instance_id)
    return _runtime_status(status) in ACTIVE


async def start_cycle(client: Any, job: dict[str, Any]) -> tuple[str, bool]:
    """Start patch_cycle for job's cluster unless one is already running; (instance id, started)."""
    instance_id = requests.instance_id(job["cluster"])
    if await running(client, instance_id):
        return instance_id, False
    await client.start_new("patch_cycle", instance_id, job)
    log.info("patch cycle started", extra={"instanceId": instance_id, "cluster": job["cluster"],
                                           "trigger": job["trigger"]})
    return instance_id, True


async def timer_start(client: Any) -> list[str]:
    """Timer: one cycle per configured cluster; a cluster with a cycle still running is left to it."""
    app = settings.load()
    started = []
    for cluster_id in app["clusters"]:
        job = requests.cycle_input(cluster_id, app, reason="scheduled", trigger="timer")
        instance_id, was_started = await start_cycle(client, job)
        if was_started:
            started.append(instance_id)
        else:
            log.info("patch cycle already running", extra={"instanceId": instance_id, "cluster": cluster_id})
    return started


async def http_start(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    try:
        app = settings.load()
    except settings.SettingsError as exc:
        return _json(500, {"error": "the app is misconfigured", "detail": str(exc)})
    try:
        job = requests.parse_body(req.get_body(), app)
    except requests.RequestError as exc:
        return _json(400, exc.body())
    instance_id, was_started = await start_cycle(client, job)
    if not was_started:
        return _json(409, {"error": "a patch cycle is already running for this cluster", "field": "cluster",
                           "detail": f"instance {instance_id}", "id": instance_id})
    return client.create_check_status_response(req, instance_id)


async def http_status(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    instance_id = req.route_params.get("instanceId", "")
    status = await client.get_status(instance_id)
    if status is None or _runtime_status(status) is None:
        return _json(404, {"error": "no such patch cycle", "field": "instanceId", "detail": instance_id})
    body = {
        "id": instance_id,
        "status": _runtime_status(status),
        "createdTime": status.created_time,
        "lastUpdatedTime": status.last_updated_time,
        "customStatus": status.custom_status,
        "output": status.output,
    }
    current = (status.custom_status or {}).get("currentNodes", []) if isinstance(status.custom_status, dict) else []
    nodes = {}
    for node in current:
        child = await client.get_status(f"{instance_id}:{node}")
        if child is not None and _runtime_status(child):
            nodes[node] = child.custom_status
    if nodes:
        body["currentNodeStatus"] = nodes
    return _json(200, body)
