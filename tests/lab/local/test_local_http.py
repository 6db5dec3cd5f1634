"""The HTTP front over real HTTP on 127.0.0.1: the app's starters run the real classic client."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import azure.durable_functions as df

from lab.local import LocalEngine
from lab.local.loop import close_client_session

from .local_http_helpers import eventually, http


def wait_done(url: str, timeout: float = 10.0) -> dict:
    def done() -> dict | None:
        status, _, body = http("GET", url)
        return body if status == 200 else None

    return eventually(done, timeout)


def test_http_starter_returns_202_with_working_status_urls(front) -> None:
    instance_id = f"http-{uuid.uuid4().hex[:8]}"
    status, headers, body = http("POST", f"{front.origin}/api/toy/start/fan_out/{instance_id}", {"items": [1, 2]})
    assert status == 202
    assert body["id"] == instance_id
    status_url = body["statusQueryGetUri"]
    assert headers["Location"] == status_url and headers["Retry-After"] == "10"
    parsed = urlparse(status_url)
    assert f"{parsed.scheme}://{parsed.netloc}" == front.origin
    assert parsed.path == f"/runtime/webhooks/durabletask/instances/{instance_id}"
    assert "taskHub=LocalTaskHub" in parsed.query
    assert set(body) >= {"sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri", "suspendPostUri"}

    final = wait_done(status_url)
    assert final["runtimeStatus"] == "Completed"
    assert final["output"] == {"doubled": [2, 4], "total": 6}
    assert final["input"] == {"items": [1, 2]}
    assert final["customStatus"] == {"step": "done"}
    assert final["createdTime"].endswith("Z") and final["name"] == "fan_out"

    # get_status through the classic client inside an app function
    status, _, body = http("GET", f"{front.origin}/api/toy/status/{instance_id}")
    assert status == 200 and body["runtimeStatus"] == "Completed" and body["output"]["total"] == 6


def test_running_status_is_202_and_unknown_is_404(front) -> None:
    instance_id = f"wait-{uuid.uuid4().hex[:8]}"
    status, _, body = http("POST", f"{front.origin}/api/toy/start/approval/{instance_id}", {"timeout": 30})
    assert status == 202
    status, headers, running = http("GET", body["statusQueryGetUri"])
    assert status == 202 and running["runtimeStatus"] in ("Pending", "Running") and "Location" in headers
    http("POST", f"{front.origin}/api/toy/terminate/{instance_id}")
    assert http("GET", f"{front.origin}/runtime/webhooks/durabletask/instances/nope")[0] == 404
    status, _, body = http("GET", f"{front.origin}/api/toy/status/nope")  # classic get_status -> falsy status
    assert status == 404 and body == {"error": "not found"}


def test_raise_event_and_get_status_by_through_classic_client(front) -> None:
    instance_id = f"approve-{uuid.uuid4().hex[:8]}"
    assert http("POST", f"{front.origin}/api/toy/start/approval/{instance_id}", {"timeout": 30})[0] == 202
    eventually(lambda: instance_id in http("GET", f"{front.origin}/api/toy/instances")[2])
    status, _, _ = http("POST", f"{front.origin}/api/toy/events/{instance_id}/Approve", {"ok": True, "n": [1, 2]})
    assert status == 202
    final = wait_done(f"{front.origin}/runtime/webhooks/durabletask/instances/{instance_id}")
    assert final["output"] == {"approved": True, "data": {"ok": True, "n": [1, 2]}}
    assert final["customStatus"] == "approved"
    assert instance_id not in http("GET", f"{front.origin}/api/toy/instances")[2]


def test_terminate_through_classic_client(front) -> None:
    instance_id = f"term-{uuid.uuid4().hex[:8]}"
    http("POST", f"{front.origin}/api/toy/start/approval/{instance_id}", {"timeout": 30})
    assert http("POST", f"{front.origin}/api/toy/terminate/{instance_id}?reason=operator")[0] == 202
    final = wait_done(f"{front.origin}/runtime/webhooks/durabletask/instances/{instance_id}")
    assert final["runtimeStatus"] == "Terminated" and final["output"] == "operator"
    # terminating again: the extension answers 410, which the classic client accepts
    assert http("POST", f"{front.origin}/api/toy/terminate/{instance_id}")[0] == 202


def test_entities_through_classic_client(front) -> None:
    key = uuid.uuid4().hex[:8]
    status, _, body = http("GET", f"{front.origin}/api/toy/entities/Counter/{key}")
    assert status == 200 and body == {"exists": False, "state": None}
    assert http("POST", f"{front.origin}/api/toy/entities/Counter/{key}/add", 7)[0] == 202
    assert http("POST", f"{front.origin}/api/toy/entities/Counter/{key}/add", 5)[0] == 202

    def state() -> dict | None:
        body = http("GET", f"{front.origin}/api/toy/entities/Counter/{key}")[2]
        return body if body["exists"] and body["state"]["value"] == 12 else None

    assert eventually(state)["state"]["log"] == ["add 7", "add 5"]


def test_start_with_running_id_conflicts_and_finished_id_is_reused(front) -> None:
    instance_id = f"dup-{uuid.uuid4().hex[:8]}"
    start_url = f"{front.origin}/api/toy/start/approval/{instance_id}"
    assert http("POST", start_url, {"timeout": 30})[0] == 202
    # the app checks get_status first (its own 409) ...
    assert http("POST", start_url, {"timeout": 30})[0] == 409
    # ... and the extension route itself refuses a running id, as in Azure (NonRunningStates)
    raw = f"{front.origin}/runtime/webhooks/durabletask/orchestrators/approval/{instance_id}"
    status, _, body = http("POST", raw, {"timeout": 1})
    assert status == 409 and "already exists" in body["Message"]
    http("POST", f"{front.origin}/api/toy/terminate/{instance_id}")
    wait_done(f"{front.origin}/runtime/webhooks/durabletask/instances/{instance_id}")
    # a finished id is replaced by a new run
    assert http("POST", start_url, {"timeout": 0.1})[0] == 202
    final = wait_done(f"{front.origin}/runtime/webhooks/durabletask/instances/{instance_id}")
    assert final["runtimeStatus"] == "Completed" and final["output"] == {"approved": False, "data": None}


def test_unknown_orchestrator_is_a_400_the_client_raises_on(front) -> None:
    status, _, body = http("POST", f"{front.origin}/runtime/webhooks/durabletask/orchestrators/nope", {"a": 1})
    assert status == 400 and "nope" in body["ExceptionMessage"]
    # the classic client raises on that 400, so the starter fails: the host answers 500
    assert http("POST", f"{front.origin}/api/toy/start/nope")[0] == 500


def test_routes_methods_and_plain_functions(front) -> None:
    assert http("GET", f"{front.origin}/api/toy/hello?name=local")[2] == "hello local"
    assert http("GET", f"{front.origin}/API/Toy/Hello")[2] == "hello world"  # routes are case-insensitive
    assert http("GET", f"{front.origin}/api/toy/start/fan_out")[0] == 405
    assert http("GET", f"{front.origin}/api/nothing/here")[0] == 404
    assert http("GET", f"{front.origin}/elsewhere")[0] == 404


def test_purge_through_webhook(front) -> None:
    instance_id = f"purge-{uuid.uuid4().hex[:8]}"
    http("POST", f"{front.origin}/api/toy/start/fan_out/{instance_id}", {"items": [1]})
    status_url = f"{front.origin}/runtime/webhooks/durabletask/instances/{instance_id}"
    wait_done(status_url)
    status, _, body = http("DELETE", status_url)
    assert status == 200 and body == {"instancesDeleted": 1}
    assert http("GET", status_url)[0] == 404


def test_classic_client_from_a_new_event_loop(engine: LocalEngine, front) -> None:
    """The SDK caches one aiohttp session per process; a client on another loop still works."""
    instance_id = f"loop-{uuid.uuid4().hex[:8]}"

    async def use_client() -> dict:
        client = df.DurableOrchestrationClient(engine.binding_json())
        await client.start_new("fan_out", instance_id, {"items": [5]})
        for _ in range(200):
            status = await client.get_status(instance_id)
            if status.runtime_status == df.OrchestrationRuntimeStatus.Completed:
                await close_client_session()
                return status.output
            await asyncio.sleep(0.02)
        raise AssertionError("not completed")

    assert asyncio.run(use_client()) == {"doubled": [10], "total": 10}
    assert asyncio.run(_second(engine)) == 7  # yet another loop


async def _second(engine: LocalEngine) -> int:
    client = df.DurableOrchestrationClient(engine.binding_json())
    key = uuid.uuid4().hex[:8]
    await client.signal_entity(df.EntityId("Counter", key), "add", 7)
    for _ in range(200):
        response = await client.read_entity_state(df.EntityId("Counter", key))
        if response.entity_exists:
            await close_client_session()
            return response.entity_state["value"]
        await asyncio.sleep(0.02)
    raise AssertionError("entity never written")


def test_binding_json_shape(engine: LocalEngine, front) -> None:
    binding = json.loads(engine.binding_json())
    assert binding["taskHubName"] == "LocalTaskHub"
    assert binding["rpcBaseUrl"].startswith("http://127.0.0.1:") and binding["rpcBaseUrl"].endswith("/durabletask/")
    assert binding["managementUrls"]["id"] == "INSTANCEID"
    assert "INSTANCEID" in binding["managementUrls"]["statusQueryGetUri"]
    assert binding["managementUrls"]["statusQueryGetUri"].startswith(front.origin)
    assert "{functionName}" in binding["creationUrls"]["createNewInstancePostUri"]


def test_http_request_is_built_like_the_host(front) -> None:
    status, _, body = http("POST", f"{front.origin}/api/toy/echo/a/b?x=1&y=two", raw=b"payload",
                           headers={"X-Toy": "yes"})
    assert status == 201
    assert body == {
        "method": "POST",
        "url": f"{front.origin}/api/toy/echo/a/b?x=1&y=two",
        "params": {"x": "1", "y": "two"},
        "route_params": {"rest": "a/b"},
        "header": "yes",
        "body": "payload",
    }


def test_other_classic_client_calls(engine: LocalEngine, front) -> None:
    """suspend/resume, get_status_all, get_status_by with times, purge: the routes the app may use."""
    instance_id = f"misc-{uuid.uuid4().hex[:8]}"
    began = datetime.now(UTC) - timedelta(seconds=1)

    async def scenario() -> dict:
        client = df.DurableOrchestrationClient(engine.binding_json())
        await client.start_new("approval", instance_id, {"timeout": 30})
        await client.suspend(instance_id, "hold")
        suspended = await _wait_status(client, instance_id, df.OrchestrationRuntimeStatus.Suspended)
        await client.resume(instance_id, "go")
        await _wait_status(client, instance_id, df.OrchestrationRuntimeStatus.Running)
        everything = [s.instance_id for s in await client.get_status_all()]
        recent = [s.instance_id for s in await client.get_status_by(created_time_from=began)]
        future = await client.get_status_by(created_time_from=datetime.now(UTC) + timedelta(hours=1))
        await client.raise_event(instance_id, "Approve", "yes")
        done = await _wait_status(client, instance_id, df.OrchestrationRuntimeStatus.Completed)
        purged = await client.purge_instance_history(instance_id)
        gone = await client.get_status(instance_id)
        await close_client_session()
        return {"suspended": suspended.runtime_status, "everything": everything, "recent": recent,
                "future": future, "output": done.output, "purged": purged.instances_deleted, "gone": bool(gone)}

    result = asyncio.run(scenario())
    assert result["suspended"] == df.OrchestrationRuntimeStatus.Suspended
    assert instance_id in result["everything"] and instance_id in result["recent"] and result["future"] == []
    assert result["output"] == {"approved": True, "data": "yes"}
    assert result["purged"] == 1 and result["gone"] is False


async def _wait_status(client: df.DurableOrchestrationClient, instance_id: str,
                       wanted: df.OrchestrationRuntimeStatus) -> df.DurableOrchestrationStatus:
    for _ in range(250):
        status = await client.get_status(instance_id)
        if status.runtime_status == wanted:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"{instance_id} never reached {wanted}")
