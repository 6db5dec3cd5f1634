"""A cluster's lock and progress over HTTP, breaking the lock, and releasing dead holders.

Lock hygiene: a holder is a patch_node instance. One whose orchestration has completed,
failed or been terminated can no longer release the lock itself (kured's stuck-lock issues),
so before every start, and whenever the lock is read, such holders are released — except a
slot the failure policy kept on purpose (a node that did not come back), which stays until an
operator breaks the lock.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from orchestrators import durable
from rebooter.config import logs, names, settings
from starters.http import body_object, error, json_response, misconfigured, runtime_status

log = logging.getLogger("rebooter.starters")


async def read_state(client: Any, entity: str, cluster_id: str) -> dict[str, Any] | None:
    result = await client.read_entity_state(durable.entity_id(entity, cluster_id))
    if not result.entity_exists:
        return None
    state = result.entity_state
    return json.loads(state) if isinstance(state, str) else state


async def release_dead_holders(client: Any, cluster_id: str) -> list[str]:
    """Release lock holders whose orchestration is over (or gone); return who was released."""
    state = await read_state(client, durable.LOCK_ENTITY, cluster_id) or {}
    released = []
    for holder, entry in state.get("holders", {}).items():
        if entry.get("kept"):
            continue  # kept on purpose by the failure policy: only an operator's break frees it
        status = await client.get_status(holder)
        if status is None or runtime_status(status) in durable.ENDED_STATUSES or runtime_status(status) is None:
            await client.signal_entity(durable.lock_id(cluster_id), "release",
                                       {"holder": holder, "now": datetime.now(UTC).isoformat()})
            released.append(holder)
            logs.event(log, "lock", logging.WARNING, action="released", cluster=cluster_id, holder=holder,
                       node=entry.get("node", ""), reason=f"holder ended ({runtime_status(status) or 'gone'})")
    return released


def _cluster(req: func.HttpRequest) -> str | func.HttpResponse:
    """The configured cluster named in the route (its name, or its key sub.rg.name), or the
    error response: invalid settings (503, named), unknown (404), or a name two configured
    clusters share in different resource groups (400: use the key)."""
    wanted = req.route_params.get("cluster", "").lower()
    try:
        configured = settings.load()["clusters"]
    except settings.SettingsError as exc:
        return misconfigured(exc)
    found = names.configured_named(configured, wanted)
    if len(found) > 1:
        keys = ", ".join(names.parse_cluster_id(c).key for c in found)
        return error(400, "ambiguous cluster name", "cluster",
                     f"{wanted!r} names {len(found)} configured clusters; use the key of one: {keys}")
    if not found:
        return error(404, "not a configured cluster", "cluster", f"{wanted!r}: use the cluster name or key")
    return found[0]


async def http_lock(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    cluster_id = _cluster(req)
    if not isinstance(cluster_id, str):
        return cluster_id
    released = await release_dead_holders(client, cluster_id)
    state = await read_state(client, durable.LOCK_ENTITY, cluster_id) or {"holders": {}, "history": []}
    holders = {h: v for h, v in state.get("holders", {}).items() if h not in released}
    return json_response(200, {"cluster": cluster_id, "holders": holders, "releasedDeadHolders": released,
                               "history": state.get("history", [])[-20:]})


async def http_progress(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    cluster_id = _cluster(req)
    if not isinstance(cluster_id, str):
        return cluster_id
    state = await read_state(client, durable.PROGRESS_ENTITY, cluster_id) or {"nodes": {}, "cycles": []}
    return json_response(200, {"cluster": cluster_id, **state})


async def http_break_lock(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """Admin only (the route requires the host's admin key in Azure): free every slot now."""
    cluster_id = _cluster(req)
    if not isinstance(cluster_id, str):
        return cluster_id
    try:
        body = body_object(req)
    except ValueError as exc:
        return error(400, "invalid body", "body", str(exc))
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        return error(400, "a reason is required to break a lock", "reason", "a non-empty string (at most 500)")
    by = body.get("by", "admin")
    if not isinstance(by, str) or len(by) > 100:
        return error(400, "invalid field", "by", "a string (at most 100 characters)")
    state = await read_state(client, durable.LOCK_ENTITY, cluster_id) or {}
    await client.signal_entity(durable.lock_id(cluster_id), "break",
                               {"by": by, "reason": reason, "now": datetime.now(UTC).isoformat()})
    holders = state.get("holders", {})
    logs.event(log, "lock", logging.WARNING, action="broken", cluster=cluster_id, by=by, reason=reason,
               holder=",".join(sorted(holders)), node=",".join(sorted(h.get("node", "") for h in holders.values())))
    return json_response(202, {"cluster": cluster_id, "broken": sorted(state.get("holders", {})), "by": by,
                               "reason": reason})
