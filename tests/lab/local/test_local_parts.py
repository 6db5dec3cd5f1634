"""The runner's parts on their own: loopback binding, function index, routes, payload decoding."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import pytest

from lab.local import LocalEngine
from lab.local.adapter import entity_instance_id, function_name, retry_policy
from lab.local.durable_api import decode_wire_json
from lab.local.durable_http import RouteTemplate, require_loopback
from lab.local.functions import index_app
from lab.local.loopback import LoopbackBackend

from . import toy_app
from .local_http_helpers import eventually, http


def listening(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on ``port``."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs /proc/net/tcp")
def test_every_listener_is_loopback_only(engine: LocalEngine, front) -> None:
    ports = [int(engine.grpc_address.rsplit(":", 1)[1]), int(engine.rpc_base_url.split(":")[2].split("/")[0]),
             front.port]
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1 (gRPC uses the v4-mapped v6 form)
    for port in ports:
        addresses = listening(port)
        assert addresses and addresses <= loopback, (port, addresses)  # nothing on 0.0.0.0 or [::]


def test_backend_port_zero_and_conflicts() -> None:
    first = LoopbackBackend(0)
    address = first.start()
    try:
        assert address.startswith("127.0.0.1:") and first.port > 0
        with pytest.raises(OSError):  # no SO_REUSEPORT: a second backend cannot share the port
            LoopbackBackend(first.port).start()
    finally:
        first.stop(grace=0)


def test_servers_refuse_non_loopback_hosts() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        require_loopback(host)
    for host in ("0.0.0.0", "::", "10.0.0.1", "example.com"):
        with pytest.raises(ValueError):
            require_loopback(host)


def test_function_index_is_built_once_per_app() -> None:
    index = index_app(toy_app.app)
    again = index_app(toy_app.app)  # a second get_functions() would raise: the build is cached
    assert again.orchestrators == index.orchestrators and again.activities == index.activities
    again.activities["double"] = (lambda value: 0, "value")  # a copy per engine: a fake stays local
    assert index_app(toy_app.app).activities["double"] == index.activities["double"]
    assert {"fan_out", "timers", "parent", "child", "entities", "dice"} <= set(index.orchestrators)
    assert index.activities["double"][1] == "value"
    assert set(index.entities) == {"counter"}
    assert index.starters["timer_start"].kind == "timer" and index.starters["http_start"].client_param == "client"
    assert index.starters["hello"].client_param is None


def test_route_templates() -> None:
    route = RouteTemplate("toy/start/{orchestrator}/{instanceId?}")
    assert route.match("/toy/start/fan_out") == {"orchestrator": "fan_out"}
    assert route.match("/toy/start/fan_out/abc") == {"orchestrator": "fan_out", "instanceId": "abc"}
    assert route.match("/TOY/Start/x/") == {"orchestrator": "x"}
    assert route.match("/toy/start") is None and route.match("/toy/start/a/b/c") is None
    assert RouteTemplate("patch-cycles/{instanceId}").match("/patch-cycles/c1") == {"instanceId": "c1"}
    assert RouteTemplate("items/{id:int}").match("/items/12") == {"id": "12"}
    assert RouteTemplate("items/{id:int}").match("/items/x") is None
    assert RouteTemplate("files/{*path}").match("/files/a/b.txt") == {"path": "a/b.txt"}
    assert RouteTemplate("v1/{name}.json").match("/v1/report.json") == {"name": "report"}


def test_wire_json_decoding() -> None:
    assert decode_wire_json('"{\\"a\\": [1, 2]}"') == {"a": [1, 2]}  # classic client: JSON of a JSON text
    assert decode_wire_json('{"a": 1}') == {"a": 1}  # posted by hand
    assert decode_wire_json('"plain text"') == "plain text"
    assert decode_wire_json("") is None


def test_adapter_helpers() -> None:
    assert function_name("double") == "double"
    assert function_name(toy_app.double) == "double"  # the v2 FunctionBuilder, as classic call_activity accepts
    policy = retry_policy(df.RetryOptions(first_retry_interval_in_milliseconds=250, max_number_of_attempts=4))
    assert policy.first_retry_interval == timedelta(milliseconds=250) and policy.max_number_of_attempts == 4
    assert policy.backoff_coefficient == 1.0
    assert entity_instance_id(df.EntityId("Counter", "k")).entity == "counter"
    with pytest.raises(ValueError, match="@"):
        entity_instance_id(df.EntityId("Counter", "a@b"))


def test_entity_delete_destructs(front) -> None:
    key = uuid.uuid4().hex[:8]
    webhook = f"{front.origin}/runtime/webhooks/durabletask/entities/counter/{key}"
    assert http("POST", f"{webhook}?op=add", raw=b"3", headers={"Content-Type": "application/json"})[0] == 202
    assert eventually(lambda: http("GET", webhook)[0] == 200)
    assert http("GET", webhook)[2]["value"] == 3
    assert http("DELETE", webhook)[0] == 202
    assert eventually(lambda: http("GET", webhook)[0] == 404)
