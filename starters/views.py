"""Pages people look at: a cycle's timeline and the fleet of configured clusters.

Both read only what the API already keeps (the cycle's status and output, each node's patch_node
instance, the progress and lock entities) and answer self-contained HTML (inline SVG and CSS).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from orchestrators import durable
from rebooter.config import cycle_request, names, settings
from starters import clusters, cycles, fleet, timeline
from starters.http import (
    base_url,
    error,
    instance_status,
    json_response,
    key_suffix,
    route_instance_id,
    runtime_status,
    timeline_url,
)

MAX_NODES = 500  # nodes drawn on one timeline (each is one status read)
MAX_PAGE = 100


def html(status: int, body: str) -> func.HttpResponse:
    return func.HttpResponse(body, status_code=status, mimetype="text/html", charset="utf-8",
                             headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                 "img-src data:", "Cache-Control": "no-store"})


async def _node_statuses(client: Any, instance_id: str, status: Any) -> list[dict[str, Any]]:
    """Each node's steps: from the cycle's output when it has them, else from the node's own
    patch_node instance (running nodes, and nodes of earlier executions after continue-as-new)."""
    output = status.output if isinstance(status.output, dict) else {}
    results = {n["node"]: n for n in output.get("nodes", []) if isinstance(n, dict) and "node" in n}
    order = list(results)
    if not output:  # running: the planned nodes, from the progress entity's record of this run
        progress = await clusters.read_state(client, durable.PROGRESS_ENTITY, _cluster_of(status)) or {}
        record = next((c for c in reversed(progress.get("cycles", [])) if c.get("instanceId") == instance_id
                       and c.get("planned") is not None), {})
        order = list(record.get("planned", []))
    nodes = []
    for name in order[:MAX_NODES]:
        known = results.get(name)
        if known and known.get("steps"):
            nodes.append(known)
            continue
        child = await client.get_status(f"{instance_id}:{name}")
        if child is None or not runtime_status(child):
            nodes.append(known or {"node": name, "result": "waiting", "steps": []})
        elif isinstance(child.output, dict):
            nodes.append(child.output)
        else:
            custom = child.custom_status if isinstance(child.custom_status, dict) else {}
            nodes.append({"node": name, "result": "", "steps": custom.get("steps", [])})
    return nodes


def _input(status: Any) -> dict[str, Any]:
    data = getattr(status, "input_", None)
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            data = None
    return data if isinstance(data, dict) else {}


def _cluster_of(status: Any) -> str:
    data = _input(status)
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return data.get("cluster") or custom.get("cluster", "")


async def http_timeline(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    instance_id = route_instance_id(req, cycle_only=True)
    if isinstance(instance_id, func.HttpResponse):
        return instance_id
    status = await instance_status(client, instance_id, show_input=True)
    if isinstance(status, func.HttpResponse):
        return status
    job = _input(status)
    budget = int((job.get("settings") or {}).get("maxUnavailable", 1))
    nodes = await _node_statuses(client, instance_id, status) if _cluster_of(status) else []
    model = timeline.build(cycles.describe(instance_id, status), nodes, budget, datetime.now(UTC))
    return html(200, timeline.render(model))


async def http_clusters(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/clusters: JSON, paged (limit, continuationToken); ``format=html`` for the page."""
    try:
        app = settings.load()
    except settings.SettingsError as exc:
        return error(500, "the app is misconfigured", "settings", str(exc))
    fmt = req.params.get("format", "json")
    if fmt not in ("json", "html"):
        return error(400, "invalid query parameter", "format", "json (default) or html")
    try:
        limit = int(req.params.get("limit", "20"))
        offset = int(req.params.get("continuationToken", "0") or 0)
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise ValueError
    except ValueError:
        return error(400, "invalid paging", "limit", f"limit 1..{MAX_PAGE}, continuationToken from the last page")
    configured = sorted(app["clusters"], key=lambda c: names.parse_cluster_id(c).key)
    rows = []
    now = datetime.now(UTC)
    for cluster_id in configured[offset:offset + limit]:
        progress = await clusters.read_state(client, durable.PROGRESS_ENTITY, cluster_id)
        lock = await clusters.read_state(client, durable.LOCK_ENTITY, cluster_id)
        instance_id = cycle_request.instance_id(cluster_id)
        live = await client.get_status(instance_id)
        live_json = cycles.describe(instance_id, live) if live is not None and runtime_status(live) else None
        row = fleet.cluster_row(cluster_id, settings.for_cluster(app, cluster_id), progress, lock, live_json, now)
        if live_json:
            row["lastCycle"]["timelineUrl"] = timeline_url(req, instance_id)
        rows.append(row)
    page: dict[str, Any] = {"clusters": rows, "count": len(configured)}
    if offset + limit < len(configured):
        page["continuationToken"] = str(offset + limit)
    if fmt == "html":
        return html(200, fleet.render(page, base_url(req), key_suffix(req)))
    return json_response(200, page)
