"""A small classic DFApp using every durable feature the real app uses.

Written exactly as it would be for Azure (azure-functions-durable 1.x, v2 programming
model); the local engine must run it unchanged.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

SHORT = timedelta(seconds=0.2)
RUNNING_STATES = [df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]

# Attempts per key for the flaky activity (activities may keep process state; orchestrators may not).
_attempts: dict[str, int] = {}
_attempts_lock = threading.Lock()

# The gated activity: ``entered[key]`` is set once it runs, it returns once ``gates[key]`` is set;
# ``after_gate[key]`` counts the steps an orchestrator took after it (tests read them).
entered: dict[str, threading.Event] = {}
gates: dict[str, threading.Event] = {}
after_gate: dict[str, int] = {}


def _json(body: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


# -- starters -------------------------------------------------------------------------
@app.route(route="toy/start/{orchestrator}/{instanceId?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    name = req.route_params["orchestrator"]
    instance_id = req.route_params.get("instanceId")
    body = req.get_body()
    payload = json.loads(body) if body else None
    if instance_id:
        existing = await client.get_status(instance_id)
        if existing and existing.runtime_status in RUNNING_STATES:
            return _json({"error": "already running", "instanceId": instance_id}, 409)
    instance_id = await client.start_new(name, instance_id, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="toy/status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    status = await client.get_status(req.route_params["instanceId"])
    if not status:
        return _json({"error": "not found"}, 404)
    return _json(status.to_json())


@app.route(route="toy/instances", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_running(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    statuses = await client.get_status_by(runtime_status=RUNNING_STATES)
    return _json(sorted(s.instance_id for s in statuses))


@app.route(route="toy/events/{instanceId}/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_raise(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.raise_event(req.route_params["instanceId"], req.route_params["name"], req.get_json())
    return func.HttpResponse(status_code=202)


@app.route(route="toy/terminate/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_terminate(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.terminate(req.route_params["instanceId"], req.params.get("reason", "by request"))
    return func.HttpResponse(status_code=202)


@app.route(route="toy/entities/{name}/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_read_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    entity = df.EntityId(req.route_params["name"], req.route_params["key"])
    response = await client.read_entity_state(entity)
    return _json({"exists": response.entity_exists, "state": response.entity_state})


@app.route(route="toy/entities/{name}/{key}/{op}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_signal_entity(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    entity = df.EntityId(req.route_params["name"], req.route_params["key"])
    await client.signal_entity(entity, req.route_params["op"], req.get_json())
    return func.HttpResponse(status_code=202)


@app.route(route="toy/echo/{*rest}", methods=["GET", "POST"])
def echo_request(req: func.HttpRequest) -> func.HttpResponse:
    return _json({
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "header": req.headers.get("X-Toy"),
        "body": req.get_body().decode(),
    }, 201)


@app.route(route="toy/hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.params.get('name', 'world')}")


@app.timer_trigger(schedule="%TOY_SCHEDULE%", arg_name="timer", run_on_startup=False)
@app.durable_client_input(client_name="client")
async def timer_start(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> str:
    instance_id = "toy-timer"
    existing = await client.get_status(instance_id)
    if existing and existing.runtime_status in RUNNING_STATES:
        return "skipped"
    await client.start_new("fan_out", instance_id, {"items": [1, 2, 3], "past_due": timer.past_due})
    return instance_id


# -- orchestrators --------------------------------------------------------------------
@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    items = context.get_input()["items"]
    context.set_custom_status({"step": "fan-out", "count": len(items)})
    doubled = yield context.task_all([context.call_activity("double", x) for x in items])
    context.set_custom_status({"step": "done"})
    return {"doubled": doubled, "total": sum(doubled)}


@app.orchestration_trigger(context_name="context")
def timers(context: df.DurableOrchestrationContext):
    started = context.current_utc_datetime
    yield context.create_timer(started + SHORT)
    middle = context.current_utc_datetime
    yield context.create_timer(middle + SHORT)
    return {
        "aware": started.tzinfo is not None and started.utcoffset() == timedelta(0),
        "elapsed": (context.current_utc_datetime - started).total_seconds(),
        "uuid": context.new_uuid(),
    }


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    child_id = f"{context.instance_id}-child"
    result = yield context.call_sub_orchestrator("child", {"value": 21}, child_id)
    return {"child_id": child_id, "result": result}


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("double", context.get_input()["value"])
    return value


@app.orchestration_trigger(context_name="context")
def entities(context: df.DurableOrchestrationContext):
    key = context.get_input()["key"]
    counter = df.EntityId("Counter", key)
    first = yield context.call_entity(counter, "add", 5)
    context.signal_entity(counter, "add", 10)
    second = yield context.call_entity(counter, "get")
    try:
        yield context.call_entity(counter, "add_then_fail", 100)
        failure = None
    except Exception as exc:
        failure = str(exc)
    after_failure = yield context.call_entity(counter, "get")
    return {"first": first, "second": second, "failure": failure, "after_failure": after_failure}


@app.orchestration_trigger(context_name="context")
def failures(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", "bad input")
        caught = None
    except Exception as exc:
        caught = {"type": type(exc).__name__, "message": str(exc)}
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    flaky = yield context.call_activity_with_retry("flaky", retry, f"{context.instance_id}:flaky")
    return {"caught": caught, "flaky": flaky}


@app.orchestration_trigger(context_name="context")
def fail_fast(context: df.DurableOrchestrationContext):
    try:
        yield context.task_all([context.call_activity("sleepy", 1.5), context.call_activity("boom", "fast")])
    except Exception as exc:
        return {"caught": str(exc)}
    return {"caught": None}


@app.orchestration_trigger(context_name="context")
def uncaught(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", "nobody catches this")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def eternal(context: df.DurableOrchestrationContext):
    state = context.get_input() or {"round": 0, "seen": []}
    state["seen"].append((yield context.call_activity("async_echo", state["round"])))
    if state["round"] >= 2:
        return state
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=0.05))
    state["round"] += 1
    context.continue_as_new(state)


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting for approval")
    event = context.wait_for_external_event("Approve")
    timeout = context.create_timer(context.current_utc_datetime + timedelta(seconds=context.get_input()["timeout"]))
    winner = yield context.task_any([event, timeout])
    if winner == event:
        timeout.cancel()
        context.set_custom_status("approved")
        return {"approved": True, "data": event.result}
    context.set_custom_status("timed out")
    return {"approved": False, "data": None}


@app.orchestration_trigger(context_name="context")
def gated(context: df.DurableOrchestrationContext):
    """Waits in an activity the test controls, then takes one more step (another activity)."""
    key = context.get_input()
    yield context.call_activity("wait_at_gate", key)
    yield context.call_activity("count_after_gate", key)
    return key


@app.orchestration_trigger(context_name="context")
def dice(context: df.DurableOrchestrationContext):
    """Deliberately wrong: branches on random.random(), which differs on replay."""
    if random.random() < 0.5:
        first = yield context.call_activity("double", 1)
    else:
        first = yield context.call_activity("async_echo", 1)
    second = yield context.call_activity("double", first)
    return second


@app.orchestration_trigger(context_name="context")
def replay_flags(context: df.DurableOrchestrationContext):
    flags = [context.is_replaying]
    yield context.call_activity("double", 1)
    flags.append(context.is_replaying)
    yield context.call_activity("double", 2)
    flags.append(context.is_replaying)
    return flags


@app.orchestration_trigger(context_name="context")
def points(context: df.DurableOrchestrationContext):
    point = yield context.call_activity("make_point", {"x": 1, "y": 2})
    moved = yield context.call_activity("move_point", point)
    return {"is_point": isinstance(point, Point), "moved": moved}


@app.orchestration_trigger(context_name="context")
def edge_yields(context: df.DurableOrchestrationContext):
    nothing = yield context.task_all([])  # e.g. a cluster with no Linux pool
    first = context.call_activity("double", 4)
    value = yield first
    again = yield first  # yielding a finished task again returns its result at once
    no_winner = yield context.task_any([])
    return {"nothing": nothing, "value": value, "again": again, "no_winner": no_winner}


@app.orchestration_trigger(context_name="context")
def plain(context: df.DurableOrchestrationContext):
    return {"input": context.get_input(), "instance": context.instance_id}


# -- activities -----------------------------------------------------------------------
@app.activity_trigger(input_name="value")
def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="value")
async def async_echo(value):
    await asyncio.sleep(0)
    return value


@app.activity_trigger(input_name="reason")
def boom(reason: str):
    raise ValueError(f"boom: {reason}")


@app.activity_trigger(input_name="key")
def flaky(key: str) -> dict:
    with _attempts_lock:
        _attempts[key] = _attempts.get(key, 0) + 1
        attempt = _attempts[key]
    if attempt < 3:
        raise RuntimeError(f"attempt {attempt} failed")
    return {"attempts": attempt}


@app.activity_trigger(input_name="seconds")
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="key")
def wait_at_gate(key: str) -> str:
    entered.setdefault(key, threading.Event()).set()
    gates.setdefault(key, threading.Event()).wait(timeout=60)  # bounded: a test that fails still ends
    return key


@app.activity_trigger(input_name="key")
def count_after_gate(key: str) -> int:
    with _attempts_lock:
        after_gate[key] = after_gate.get(key, 0) + 1
        return after_gate[key]


class Point:
    """A custom payload type using the classic to_json/from_json convention."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    @staticmethod
    def to_json(obj: Point) -> str:
        return json.dumps({"x": obj.x, "y": obj.y})

    @classmethod
    def from_json(cls, data: str) -> Point:
        return cls(**json.loads(data))


@app.activity_trigger(input_name="coords")
def make_point(coords: dict) -> Point:
    return Point(coords["x"], coords["y"])


@app.activity_trigger(input_name="point")
def move_point(point: Point) -> Point:
    assert isinstance(point, Point), type(point)
    return Point(point.x + 10, point.y + 10)


# -- entities -------------------------------------------------------------------------
@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext):
    state = context.get_state(lambda: {"value": 0, "log": []})
    operation = context.operation_name
    if operation == "add":
        state["value"] += context.get_input()
        state["log"].append(f"add {context.get_input()}")
        context.set_state(state)
    elif operation == "add_then_fail":
        state["value"] += context.get_input()
        state["log"].append("partial change before failure")
        context.set_state(state)
        raise ValueError("refused after a partial change")
    elif operation == "delete":
        context.destruct_on_exit()
        return
    elif operation != "get":
        raise ValueError(f"unknown operation {operation}")
    context.set_result(state["value"])
