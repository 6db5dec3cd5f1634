"""Operator commands on a running cycle: cancel, pause, resume, approve, reject.

Each is the durable external event ``control`` (orchestrators/control.py), raised on the cycle
and on the patch_node instances it is running now, so a cancel reaches a node mid-drain.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

from orchestrators import durable
from orchestrators.control import ACTIONS, EVENT
from rebooter.config import names
from starters.http import body_object, error, json_response, runtime_status

log = logging.getLogger("rebooter.starters")


async def http_command(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    instance_id = req.route_params.get("instanceId", "")
    action = req.route_params.get("action", "")
    if action not in ACTIONS:
        return error(404, "unknown command", "action", f"expected one of {', '.join(ACTIONS)}")
    try:
        names.check_instance_id(instance_id)
    except ValueError as exc:
        return error(400, "invalid instance id", "instanceId", str(exc))
    try:
        body = body_object(req)
    except ValueError as exc:
        return error(400, "invalid body", "body", str(exc))
    unknown = sorted(set(body) - {"by", "reason"})
    if unknown:
        return error(400, "unknown field", unknown[0], "expected some of: by, reason")
    for field in ("by", "reason"):
        if field in body and (not isinstance(body[field], str) or len(body[field]) > 500):
            return error(400, "invalid field", field, "a string of at most 500 characters")
    status = await client.get_status(instance_id)
    if status is None or runtime_status(status) is None:
        return error(404, "no such patch cycle", "instanceId", instance_id)
    if runtime_status(status) not in durable.ACTIVE_STATUSES:
        return error(409, f"the patch cycle is {runtime_status(status)}: nothing to {action}", "instanceId",
                     instance_id)
    command = {"action": action, "by": body.get("by", "operator"), "reason": body.get("reason", "")}
    await client.raise_event(instance_id, EVENT, command)
    reached = [instance_id]
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    if action == "cancel":
        for node in custom.get("currentNodes", []):
            child = f"{instance_id}:{node}"
            if runtime_status(await client.get_status(child)) in durable.ACTIVE_STATUSES:
                await client.raise_event(child, EVENT, command)
                reached.append(child)
    log.info("operator command", extra={"instanceId": instance_id, "action": action, "by": command["by"]})
    return json_response(202, {"id": instance_id, "action": action, "sentTo": reached})
