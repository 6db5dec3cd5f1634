"""Operator commands on a running cycle: cancel, pause, resume, approve, reject.

Each is the durable external event ``control`` (orchestrators/control.py), raised on the cycle
and on the patch_node instances it is running now, so a cancel reaches a node mid-drain.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators import durable
from orchestrators.control import ACTIONS, EVENT
from starters import clusters
from starters.http import error, instance_status, json_response, operator_body, route_instance_id, runtime_status

log = logging.getLogger("rebooter.starters")
TERMINATE_WAIT_SECONDS = 10.0  # the answer waits at most this long for the cycle to be Terminated
CYCLE_PREFIX = "patch-cycle."  # rebooter.config.cycle_request.instance_id: patch-cycle.<cluster key>


def operator_request(req: func.HttpRequest) -> tuple[str, dict[str, Any]] | func.HttpResponse:
    """The instance id and body (only ``by`` and ``reason``) of an operator's request, or the 400."""
    instance_id = route_instance_id(req)
    if isinstance(instance_id, func.HttpResponse):
        return instance_id
    body = operator_body(req)
    return body if isinstance(body, func.HttpResponse) else (instance_id, body)


async def http_command(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    action = req.route_params.get("action", "")
    if action not in ACTIONS:
        return error(404, "unknown command", "action", f"expected one of {', '.join(ACTIONS)}")
    asked = operator_request(req)
    if isinstance(asked, func.HttpResponse):
        return asked
    instance_id, body = asked
    for field in ("by", "reason"):
        if field in body and (not isinstance(body[field], str) or len(body[field]) > 500):
            return error(400, "invalid field", field, "a string of at most 500 characters")
    status = await instance_status(client, instance_id)
    if isinstance(status, func.HttpResponse):
        return status
    if runtime_status(status) not in durable.ACTIVE_STATUSES:
        return error(409, f"the patch cycle is {runtime_status(status)}: nothing to {action}", "instanceId",
                     instance_id)
    command = {"id": uuid.uuid4().hex, "action": action, "by": body.get("by", "operator"),
               "reason": body.get("reason", ""), "sentAt": datetime.now(UTC).isoformat()}
    if instance_id.startswith(CYCLE_PREFIX):
        # The durable mailbox first, then the event: continue-as-new drops an event that arrived in
        # the episode that continued, and the continued execution takes it from the mailbox
        # (orchestrators/control.py read_mailbox; the id makes it applied once).
        await client.signal_entity(df.EntityId(durable.PROGRESS_ENTITY, instance_id[len(CYCLE_PREFIX):]), "command",
                                   {**command, "instanceId": instance_id})
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


async def http_terminate(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/patch-cycles/{instanceId}/terminate (admin key): the rollback an operator can rely
    on. Durable does not terminate sub-orchestrations with their parent (Microsoft Learn,
    IDurableOrchestrationClient.TerminateAsync, Remarks: terminating an instance "has no effect on
    any in-flight activity function executions or sub-orchestrations that were started by" it; the
    local durabletask backend logs "Recursive termination is not supported"), so a raw terminate of patch_cycle leaves its running
    patch_node behind, taking a node out that no summary reports. Here the cycle is terminated
    first (it can start no new patch_node), then every patch_node of it still running (its ids
    are ``<cycle id>:<node>``: the cycle's current nodes and every node its progress entry names).
    The answer lists each node with the step it was at; a node left cordoned by us still counts
    against the budget (rebooter.budget) and the next cycle resumes it and reports it."""
    asked = operator_request(req)
    if isinstance(asked, func.HttpResponse):
        return asked
    instance_id, body = asked
    reason, by = body.get("reason"), body.get("by", "admin")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        return error(400, "a reason is required to terminate a patch cycle", "reason",
                     "a non-empty string (at most 500 characters)")
    if not isinstance(by, str) or len(by) > 100:
        return error(400, "invalid field", "by", "a string (at most 100 characters)")
    status = await instance_status(client, instance_id)
    if isinstance(status, func.HttpResponse):
        return status
    text = f"terminated by {by}: {reason}"
    if runtime_status(status) in durable.ACTIVE_STATUSES:
        await client.terminate(instance_id, text)
    final = await _ended(client, instance_id)  # its last custom status names the last wave it started
    nodes = await _children(client, instance_id, final or status)
    stopped = []
    for node, child in sorted(nodes.items()):
        child_status = await client.get_status(child)
        state = runtime_status(child_status)
        if state in durable.ACTIVE_STATUSES:
            await client.terminate(child, text)
            custom = child_status.custom_status if isinstance(child_status.custom_status, dict) else {}
            stopped.append({"node": node, "instanceId": child, "step": custom.get("step", ""),
                            "note": "terminated mid-step: if it is still cordoned by us it counts against the "
                                    "budget, and the next cycle resumes it"})
    log.warning("patch cycle terminated", extra={"instanceId": instance_id, "by": by, "reason": reason,
                                                  "nodes": [s["node"] for s in stopped]})
    return json_response(202, {"id": instance_id, "terminated": runtime_status(status) in durable.ACTIVE_STATUSES,
                               "cycleStatus": runtime_status(final) if final is not None else "unknown",
                               "nodesTerminated": stopped, "by": by, "reason": reason})


async def _ended(client: Any, instance_id: str) -> Any:
    """The cycle's status once the terminate took effect (it is queued behind the episode the
    orchestrator may be running, which may still start a patch_node), within TERMINATE_WAIT_SECONDS."""
    status = await client.get_status(instance_id)
    for _ in range(int(TERMINATE_WAIT_SECONDS / 0.1)):
        if runtime_status(status) not in durable.ACTIVE_STATUSES:
            break
        await asyncio.sleep(0.1)
        status = await client.get_status(instance_id)
    return status


async def _children(client: Any, instance_id: str, status: Any) -> dict[str, str]:
    """node -> patch_node instance id of every node this cycle may have started."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    nodes = {n: f"{instance_id}:{n}" for n in custom.get("currentNodes") or []}
    cluster = custom.get("cluster")
    if isinstance(cluster, str) and cluster:
        try:
            progress = await clusters.read_state(client, durable.PROGRESS_ENTITY, cluster) or {}
        except ValueError:
            progress = {}
        for node, entry in (progress.get("nodes") or {}).items():
            if str(entry.get("instanceId", "")) == f"{instance_id}:{node}":
                nodes[node] = entry["instanceId"]
    return nodes
