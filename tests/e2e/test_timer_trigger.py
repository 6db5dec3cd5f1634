"""The timer trigger as the host runs it: fired through the admin route, on the settings'
documented schedule, and racing an HTTP start on the same cluster (one cycle, the other refused).

The cluster is an Entra ID one (``aadEnabled``), so every probe also proves that run-command
carries a cluster token the sandbox accepts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml
from durabletask.testing import InMemoryOrchestrationBackend

from lab.local.loopback import LoopbackBackend
from rebooter.config import cycle_request

ROOT = Path(__file__).resolve().parents[2]
TIMER = "scheduled_patch_cycles"
SLICE = 0.3  # stands for durabletask's 30 s sub-orchestration watch (tests/lab/local/test_local_long_child.py)


def _scenario() -> dict:
    data = yaml.safe_load((ROOT / "lab/scenarios/minimal.yaml").read_text())
    data["cluster"]["aadEnabled"] = True
    return data


def _fire(stack) -> requests.Response:
    return requests.post(f"{stack.base_url}/admin/functions/{TIMER}", json={"input": ""}, timeout=30)


def _events(caplog, name: str) -> list[dict]:
    found = []
    for record in caplog.records:
        if record.name == "rebooter.starters" and record.getMessage().startswith("{"):
            body = json.loads(record.getMessage())
            if body.get("event") == name:
                found.append(body)
    return found


def _eventually(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)
    return value


def _trigger(stack, instance_id: str) -> str:
    state = stack.engine.client.get_orchestration_state(instance_id, fetch_payloads=True)
    return state.get_input()["trigger"]


@pytest.fixture
def stack(stack_for, monkeypatch: pytest.MonkeyPatch, caplog):
    monkeypatch.delenv("REBOOTER_SCHEDULE", raising=False)  # the documented default applies
    caplog.set_level(logging.INFO, logger="rebooter.starters")
    return stack_for(_scenario())


def test_admin_route_fires_the_timer_with_the_default_schedule(stack) -> None:
    assert stack.engine.next_fires()[TIMER][0] == "0 0 * * * *"  # REBOOTER_SCHEDULE's documented default
    response = _fire(stack)
    assert response.status_code == 202 and response.content == b""
    instance_id = cycle_request.instance_id(stack.sandbox.cluster_resource_id)
    _eventually(lambda: stack.engine.client.get_orchestration_state(instance_id))
    assert _trigger(stack, instance_id) == "timer"
    status = stack.api.wait(instance_id)
    assert status["status"] == "Completed" and status["output"]["outcome"] == "completed", status
    assert [n["node"] for n in status["output"]["nodes"] if n["result"] == "patched"]
    # fire_timer (the engine's own call) needs no REBOOTER_SCHEDULE either: a second run starts
    stack.engine.fire_timer(TIMER)
    runs = _eventually(lambda: (r := stack.api.get("patch-cycles").json())["count"] == 2 and r)
    assert stack.api.wait(instance_id)["status"] == "Completed", runs
    # bad calls change nothing
    assert requests.post(f"{stack.base_url}/admin/functions/nope", json={"input": ""}, timeout=30).status_code == 404
    assert requests.post(f"{stack.base_url}/admin/functions/{TIMER}", data="{", timeout=30).status_code == 400


def test_timer_first_then_http_is_409(stack) -> None:
    instance_id = cycle_request.instance_id(stack.sandbox.cluster_resource_id)
    assert _fire(stack).status_code == 202
    _eventually(lambda: stack.engine.client.get_orchestration_state(instance_id))
    refused = stack.api.start({"cluster": stack.sandbox.cluster_resource_id})
    assert refused.status_code == 409, refused.text
    assert _trigger(stack, instance_id) == "timer"
    assert stack.api.wait(instance_id)["status"] == "Completed"


def test_http_first_then_timer_is_a_logged_refusal(stack, caplog) -> None:
    started = stack.api.start({"cluster": stack.sandbox.cluster_resource_id})
    assert started.status_code == 202, started.text
    instance_id = started.json()["id"]
    assert _fire(stack).status_code == 202
    refusal = _eventually(lambda: _events(caplog, "already running"))
    assert refusal == [{"event": "already running", "instanceId": instance_id,
                        "cluster": stack.sandbox.cluster_resource_id, "trigger": "timer"}]
    assert _trigger(stack, instance_id) == "http"
    assert stack.api.wait(instance_id)["status"] == "Completed"


def test_timer_and_http_at_the_same_moment_give_one_cycle(stack, caplog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also: with durabletask's sub-orchestration watch shrunk to SLICE, patch_node outlives it
    many times over and the cycle still completes (the local engine's fix, on the real app)."""
    original = InMemoryOrchestrationBackend._wait_for_state
    monkeypatch.setattr(InMemoryOrchestrationBackend, "_wait_for_state",
                        lambda self, i, p, timeout: original(self, i, p, SLICE if not timeout else timeout))
    monkeypatch.setattr(LoopbackBackend, "NO_DEADLINE_SLICE_SECONDS", SLICE)
    cluster = stack.sandbox.cluster_resource_id
    barrier = threading.Barrier(2)
    answers: dict[str, requests.Response] = {}

    def go(kind: str) -> None:
        barrier.wait()
        answers[kind] = _fire(stack) if kind == "timer" else stack.api.start({"cluster": cluster})

    threads = [threading.Thread(target=go, args=(kind,)) for kind in ("timer", "http")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers["timer"].status_code == 202
    assert answers["http"].status_code in (202, 409), answers["http"].text
    instance_id = cycle_request.instance_id(cluster)
    # The timer's own outcome: it either started the cycle or logged that one was running.
    outcome = _eventually(lambda: [e for e in _events(caplog, "started") + _events(caplog, "already running")
                                   if e.get("trigger") == "timer"])
    assert len(outcome) == 1
    if answers["http"].status_code == 202:
        assert outcome[0]["event"] == "already running" and _trigger(stack, instance_id) == "http"
    else:
        assert outcome[0]["event"] == "started" and _trigger(stack, instance_id) == "timer"
    assert len(_events(caplog, "started")) == 1  # one cycle, whoever won
    status = stack.api.wait(instance_id)
    assert status["status"] == "Completed", status
    patched = [n for n in status["output"]["nodes"] if n["result"] == "patched"]
    assert patched and all(n["seconds"] > 3 * SLICE for n in patched), patched
    runs = stack.api.get("patch-cycles", cluster=cluster).json()
    assert runs["count"] == 1, runs
