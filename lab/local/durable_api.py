"""The Durable extension's HTTP API, answered by durabletask's client.

The classic ``DurableOrchestrationClient`` (and the status URLs it hands out) speak
HTTP to the extension. These handlers accept the same routes, methods, query
parameters and bodies, and answer with the status codes and JSON shapes the classic
client parses (extension: ``HttpApiHandler.cs``):

- ``POST orchestrators/{name}[/{id}]`` -> 202 + management payload; 400 unknown
  orchestrator; 409 when an instance with that id is Running/Pending/Suspended (a
  completed, failed or terminated one is replaced, like ``NonRunningStates``);
- ``GET instances/{id}`` -> 202 while running, 200 when done (failed too), 404 empty;
- ``GET instances/`` -> list (createdTimeFrom/To, runtimeStatus, instanceIdPrefix);
- ``POST instances/{id}/raiseEvent/{event}`` / ``terminate`` / ``suspend`` /
  ``resume`` -> 202, 410 when already finished, 404 when unknown; ``restart``, ``rewind``;
- ``DELETE instances/{id}`` and ``DELETE instances/?createdTimeFrom=`` -> purge;
- ``GET entities/{name}/{key}`` -> 200 with the state as body, 404 when none;
- ``POST|DELETE entities/{name}/{key}?op=`` -> 202.

Bodies the classic client sends are JSON-encoded twice (``json=df_dumps(x)``); they are
decoded twice, falling back to one decoding for bodies posted by hand.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Any

import durabletask.internal.orchestrator_service_pb2 as pb
import grpc
from aiohttp import web
from durabletask.client import OrchestrationQuery, OrchestrationState, OrchestrationStatus, TaskHubGrpcClient
from durabletask.entities import EntityInstanceId

from lab.local.payloads import loads
from lab.local.starters import WEBHOOK_PATH, management_urls

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

RUNTIME_STATUS = {
    OrchestrationStatus.RUNNING: "Running",
    OrchestrationStatus.COMPLETED: "Completed",
    OrchestrationStatus.FAILED: "Failed",
    OrchestrationStatus.TERMINATED: "Terminated",
    OrchestrationStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
    OrchestrationStatus.PENDING: "Pending",
    OrchestrationStatus.SUSPENDED: "Suspended",
}
STATUS_BY_NAME = {name.lower(): status for status, name in RUNTIME_STATUS.items()}
ACTIVE = {OrchestrationStatus.RUNNING, OrchestrationStatus.PENDING, OrchestrationStatus.SUSPENDED,
          OrchestrationStatus.CONTINUED_AS_NEW}
REPLACEABLE = [pb.ORCHESTRATION_STATUS_COMPLETED, pb.ORCHESTRATION_STATUS_FAILED, pb.ORCHESTRATION_STATUS_TERMINATED]


def decode_wire_json(text: str) -> Any:
    """A body posted by the classic client (JSON of a JSON text), or plain JSON posted by hand."""
    if not text:
        return None
    value = json.loads(text)
    if isinstance(value, str):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def _iso(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(text: str | None) -> Any:
    return json.loads(text) if text else None


def status_json(state: OrchestrationState, show_input: bool = True) -> dict[str, Any]:
    """``StatusResponsePayload`` as the extension writes it (payloads as raw JSON)."""
    output = _plain(state.serialized_output)
    if state.runtime_status == OrchestrationStatus.FAILED and state.failure_details is not None:
        output = f"Orchestrator function '{state.name}' failed: {state.failure_details.message}"
    return {
        "name": state.name,
        "instanceId": state.instance_id,
        "runtimeStatus": RUNTIME_STATUS.get(state.runtime_status, str(state.runtime_status)),
        "input": _plain(state.serialized_input) if show_input else None,
        "customStatus": _plain(state.serialized_custom_status),
        "output": output,
        "createdTime": _iso(state.created_at),
        "lastUpdatedTime": _iso(state.last_updated_at),
    }


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None or value.lower() not in ("true", "false"):
        return default
    return value.lower() == "true"


def _time(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # the extension ignores a time it cannot parse
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _statuses(request: web.Request) -> list[OrchestrationStatus] | None:
    names = [n.strip().lower() for n in request.query.get("runtimeStatus", "").split(",") if n.strip()]
    found = [STATUS_BY_NAME[n] for n in names if n in STATUS_BY_NAME]
    return found or None


def _error(status: int, message: str, exception_message: str | None = None) -> web.Response:
    body: dict[str, str] = {"Message": message}
    if exception_message is not None:
        body["ExceptionMessage"] = exception_message
    return web.json_response(body, status=status)


class DurableApi:
    """aiohttp handlers for the extension's routes, mounted under one or more prefixes."""

    def __init__(self, client: TaskHubGrpcClient, orchestrators: Collection[str], task_hub: str) -> None:
        self._client = client
        self._orchestrators = orchestrators
        self._task_hub = task_hub

    def add_routes(self, app: web.Application, prefix: str) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/orchestrators/{functionName}", self.start),
            ("POST", "/orchestrators/{functionName}/{instanceId}", self.start),
            ("GET", "/instances", self.list_instances),
            ("GET", "/instances/", self.list_instances),
            ("DELETE", "/instances", self.purge_by),
            ("DELETE", "/instances/", self.purge_by),
            ("GET", "/instances/{instanceId}", self.status),
            ("DELETE", "/instances/{instanceId}", self.purge),
            ("POST", "/instances/{instanceId}/raiseEvent/{eventName}", self.raise_event),
            ("POST", "/instances/{instanceId}/{operation}", self.operation),
            ("GET", "/entities/{entityName}/{entityKey}", self.read_entity),
            ("POST", "/entities/{entityName}/{entityKey}", self.signal_entity),
            ("DELETE", "/entities/{entityName}/{entityKey}", self.signal_entity),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, prefix + path, _guarded(handler))

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def _state(self, instance_id: str, payloads: bool = False) -> OrchestrationState | None:
        return await self._call(self._client.get_orchestration_state, instance_id, fetch_payloads=payloads)

    def check_status_response(self, request: web.Request, instance_id: str) -> web.Response:
        """202 with the management URLs on the request's origin (``CreateCheckStatusResponse``)."""
        urls = management_urls(str(request.url.origin()) + WEBHOOK_PATH, self._task_hub, instance_id)
        urls.pop("rewindPostUri")
        headers = {"Location": urls["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(urls, status=202, headers=headers)

    # -- orchestrations ---------------------------------------------------------------
    async def start(self, request: web.Request) -> web.Response:
        name = request.match_info["functionName"]
        instance_id = request.match_info.get("instanceId") or uuid.uuid4().hex
        if name not in self._orchestrators:
            return _error(400, "One or more of the arguments submitted is incorrect",
                          f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.")
        try:
            input_value = decode_wire_json(await request.text())
        except ValueError:
            return _error(400, "Invalid JSON content")
        existing = await self._state(instance_id)
        if existing is not None and existing.runtime_status in ACTIVE:
            status = RUNTIME_STATUS[existing.runtime_status]
            return _error(409, f"An Orchestration instance with the status {status} already exists.")
        policy = pb.OrchestrationIdReusePolicy(replaceableStatus=REPLACEABLE)
        try:
            await self._call(self._client.schedule_new_orchestration, name, input=input_value,
                             instance_id=instance_id, reuse_id_policy=policy)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.ALREADY_EXISTS:
                return _error(409, f"An Orchestration instance with the ID '{instance_id}' already exists.")
            raise
        return self.check_status_response(request, instance_id)

    async def status(self, request: web.Request) -> web.Response:
        state = await self._state(request.match_info["instanceId"], payloads=True)
        if state is None:
            return web.Response(status=404)
        body = status_json(state, _flag(request, "showInput", True))
        headers: dict[str, str] = {}
        if state.runtime_status in ACTIVE:
            code = 202
            headers = {"Location": str(request.url), "Retry-After": "5"}
        elif state.runtime_status == OrchestrationStatus.FAILED:
            code = 500 if _flag(request, "returnInternalServerErrorOnFailure", False) else 200
        else:
            code = 200
        return web.json_response(body, status=code, headers=headers)

    async def list_instances(self, request: web.Request) -> web.Response:
        query = OrchestrationQuery(
            created_time_from=_time(request, "createdTimeFrom"),
            created_time_to=_time(request, "createdTimeTo"),
            runtime_status=_statuses(request),
            fetch_inputs_and_outputs=True,
            instance_id_prefix=request.query.get("instanceIdPrefix") or None,
        )
        states = await self._call(self._client.get_all_orchestration_states, query)
        show_input = _flag(request, "showInput", True)
        return web.json_response([status_json(s, show_input) for s in states])

    async def raise_event(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instanceId"]
        state = await self._state(instance_id)
        if state is None:
            return web.Response(status=404)
        if state.runtime_status not in ACTIVE:
            return web.Response(status=410)
        if request.content_type != "application/json":
            return _error(400, "Only application/json request content is supported")
        try:
            data = decode_wire_json(await request.text())
        except ValueError:
            return _error(400, "Invalid JSON content")
        await self._call(self._client.raise_orchestration_event, instance_id, request.match_info["eventName"],
                         data=data)
        return web.Response(status=202)

    async def operation(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instanceId"]
        operation = request.match_info["operation"].lower()
        state = await self._state(instance_id)
        if state is None:
            return web.Response(status=404)
        reason = request.query.get("reason")
        if operation == "restart":
            new_id = await self._call(self._client.restart_orchestration, instance_id,
                                      restart_with_new_instance_id=_flag(request, "restartWithNewInstanceId", True))
            return self.check_status_response(request, new_id)
        if operation == "rewind":
            if state.runtime_status != OrchestrationStatus.FAILED:
                status = RUNTIME_STATUS[state.runtime_status]
                return web.json_response(f"This orchestration has status {status}, but only orchestrations in "
                                         "the \"Failed\" state can be rewound.", status=412)
            await self._call(self._client.rewind_orchestration, instance_id, reason=reason)
            return web.Response(status=202)
        actions = {
            "terminate": lambda: self._client.terminate_orchestration(instance_id, output=reason),
            "suspend": lambda: self._client.suspend_orchestration(instance_id, reason=reason),
            "resume": lambda: self._client.resume_orchestration(instance_id, reason=reason),
        }
        if operation not in actions:
            return web.Response(status=404)
        if state.runtime_status not in ACTIVE:
            return web.Response(status=410)
        await self._call(actions[operation])
        return web.Response(status=202)

    async def purge(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instanceId"]
        state = await self._state(instance_id)
        if state is None:
            return web.Response(status=404)
        if state.runtime_status in ACTIVE:
            status = RUNTIME_STATUS[state.runtime_status]
            return web.json_response("Only orchestrations in a terminal state can be purged, but the orchestration "
                                     f"with instance ID {instance_id} has status {status}", status=412)
        result = await self._call(self._client.purge_orchestration, instance_id)
        return web.json_response({"instancesDeleted": result.deleted_instance_count})

    async def purge_by(self, request: web.Request) -> web.Response:
        created_from = _time(request, "createdTimeFrom")
        if created_from is None:
            return web.json_response("Please provide value for 'createdTimeFrom' parameter.", status=400)
        created_to = _time(request, "createdTimeTo") or datetime.now(UTC)
        result = await self._call(self._client.purge_orchestrations_by, created_from, created_to, _statuses(request))
        if not result.deleted_instance_count:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": result.deleted_instance_count})

    # -- entities ---------------------------------------------------------------------
    async def read_entity(self, request: web.Request) -> web.Response:
        try:
            entity_id = EntityInstanceId(request.match_info["entityName"], request.match_info["entityKey"])
        except ValueError as exc:
            return _error(400, str(exc))
        metadata = await self._call(self._client.get_entity, entity_id, include_state=True)
        state = metadata.get_state() if metadata is not None else None
        if not state:  # unknown entity, or one with no state yet / any more ("" from the backend)
            return web.Response(status=404)
        return web.Response(status=200, text=state, content_type="application/json")

    async def signal_entity(self, request: web.Request) -> web.Response:
        try:
            entity_id = EntityInstanceId(request.match_info["entityName"], request.match_info["entityKey"])
        except ValueError as exc:
            return _error(400, str(exc))
        operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
        text = await request.text()
        if not text:
            data = None
        elif request.content_type == "application/json":
            try:
                data = decode_wire_json(text)
            except ValueError as exc:
                return _error(400, f"Could not parse JSON content: {exc}")
        else:
            data = text
        await self._call(self._client.signal_entity, entity_id, operation, data)
        return web.Response(status=202)


def _guarded(handler: Handler) -> Handler:
    """Unexpected failures answer 500 with the extension's error shape instead of an HTML page."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:  # the extension's catch-all
            return _error(500, "Something went wrong while processing your request", f"{type(exc).__name__}: {exc}")

    return guarded
