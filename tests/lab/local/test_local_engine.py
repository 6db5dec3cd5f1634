"""Each durable feature of the toy app, end to end through the engine (durabletask client)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from durabletask.client import OrchestrationStatus
from durabletask.entities import EntityInstanceId

from lab.local import LocalEngine

from . import toy_app
from .local_http_helpers import eventually


def start(engine: LocalEngine, name: str, payload: object = None) -> str:
    return engine.client.schedule_new_orchestration(name, input=payload, instance_id=f"{name}-{uuid.uuid4().hex[:8]}")


def output(engine: LocalEngine, instance_id: str, timeout: float = 10.0) -> object:
    state = engine.wait_for_completion(instance_id, timeout=timeout)
    assert state.runtime_status == OrchestrationStatus.COMPLETED, state.failure_details
    return state.get_output()


def test_fan_out_with_task_all_and_custom_status(engine: LocalEngine) -> None:
    instance_id = start(engine, "fan_out", {"items": [1, 2, 3, 4]})
    assert output(engine, instance_id) == {"doubled": [2, 4, 6, 8], "total": 20}
    assert engine.client.get_orchestration_state(instance_id).get_custom_status() == {"step": "done"}


def test_durable_timers_and_aware_utc_clock(engine: LocalEngine) -> None:
    began = time.monotonic()
    result = output(engine, start(engine, "timers"))
    assert result["aware"] is True
    assert result["elapsed"] >= 0.4  # two 0.2 s timers, measured on the orchestration clock
    assert time.monotonic() - began >= 0.4
    uuid.UUID(result["uuid"])  # replay-safe uuid from new_uuid()


def test_sub_orchestration_with_explicit_instance_id(engine: LocalEngine) -> None:
    instance_id = start(engine, "parent")
    result = output(engine, instance_id)
    assert result == {"child_id": f"{instance_id}-child", "result": 42}
    child = engine.client.get_orchestration_state(f"{instance_id}-child")
    assert child.name == "child" and child.runtime_status == OrchestrationStatus.COMPLETED


def test_entity_call_signal_and_classic_failure_semantics(engine: LocalEngine) -> None:
    key = uuid.uuid4().hex[:8]
    result = output(engine, start(engine, "entities", {"key": key}))
    # call_entity result, signal_entity applied before the next call (same orchestration, ordered queue)
    assert result["first"] == 5 and result["second"] == 15
    # the failing operation reached the orchestrator as a plain Exception carrying its message ...
    assert result["failure"] == "refused after a partial change"
    # ... and, as in the classic SDK, the changes it made before raising were kept (no rollback)
    assert result["after_failure"] == 115
    metadata = engine.client.get_entity(EntityInstanceId("counter", key))
    state = json.loads(metadata.get_state())
    assert state["value"] == 115 and state["log"][-1] == "partial change before failure"


def test_client_signal_entity_is_eventually_visible(engine: LocalEngine) -> None:
    key = uuid.uuid4().hex[:8]
    entity = EntityInstanceId("Counter", key)
    engine.client.signal_entity(entity, "add", 3)
    engine.client.signal_entity(entity, "add", 4)

    def value() -> bool:
        metadata = engine.client.get_entity(entity)
        return bool(metadata and metadata.get_state() and json.loads(metadata.get_state())["value"] == 7)

    eventually(value)


def test_caught_activity_failure_and_retry(engine: LocalEngine) -> None:
    result = output(engine, start(engine, "failures"))
    assert result["caught"] == {
        "type": "Exception",
        "message": "Activity function 'boom' failed: ValueError: boom: bad input",
    }
    assert result["flaky"] == {"attempts": 3}  # RetryOptions(50 ms, 3 attempts) mapped to a RetryPolicy


def test_task_all_fails_on_first_error_like_classic(engine: LocalEngine) -> None:
    began = time.monotonic()
    result = output(engine, start(engine, "fail_fast"))
    assert result == {"caught": "Activity function 'boom' failed: ValueError: boom: fast"}
    assert time.monotonic() - began < 1.2  # did not wait for the 1.5 s sibling


def test_uncaught_failure_fails_the_orchestration(engine: LocalEngine) -> None:
    state = engine.wait_for_completion(start(engine, "uncaught"))
    assert state.runtime_status == OrchestrationStatus.FAILED
    assert state.failure_details.message == "Activity function 'boom' failed: ValueError: boom: nobody catches this"


def test_continue_as_new(engine: LocalEngine) -> None:
    assert output(engine, start(engine, "eternal")) == {"round": 2, "seen": [0, 1, 2]}


def test_wait_for_external_event_raised_by_client(engine: LocalEngine) -> None:
    instance_id = start(engine, "approval", {"timeout": 10})
    eventually(lambda: engine.client.get_orchestration_state(instance_id).get_custom_status() == "waiting for approval")
    engine.client.raise_orchestration_event(instance_id, "Approve", data={"by": "test"})
    assert output(engine, instance_id) == {"approved": True, "data": {"by": "test"}}
    assert engine.client.get_orchestration_state(instance_id).get_custom_status() == "approved"


def test_external_event_timeout_branch(engine: LocalEngine) -> None:
    assert output(engine, start(engine, "approval", {"timeout": 0.2})) == {"approved": False, "data": None}


def test_wait_idle_and_terminate(engine: LocalEngine) -> None:
    instance_id = start(engine, "approval", {"timeout": 30})
    with pytest.raises(TimeoutError, match=instance_id):
        engine.wait_idle(timeout=0.2)
    engine.client.terminate_orchestration(instance_id, output="stopped")
    state = engine.wait_for_completion(instance_id)
    assert state.runtime_status == OrchestrationStatus.TERMINATED and state.get_output() == "stopped"
    engine.wait_idle(timeout=5)


def test_an_ended_instance_never_runs_again(engine: LocalEngine) -> None:
    """An activity's result that reaches a terminated instance is dropped, as Azure drops it
    (lab/local/loopback.py): durabletask's backend ran the orchestrator again, past its end (a
    terminated patch_node went on rebooting and renewing its lock slot)."""
    key = uuid.uuid4().hex[:8]
    toy_app.entered[key], toy_app.gates[key] = threading.Event(), threading.Event()
    instance_id = start(engine, "gated", key)
    assert toy_app.entered[key].wait(timeout=30), "the gated activity never started"
    engine.client.terminate_orchestration(instance_id, output="stopped")
    state = engine.wait_for_completion(instance_id, timeout=30)
    assert state.runtime_status == OrchestrationStatus.TERMINATED

    toy_app.gates[key].set()  # the activity now returns its result to an instance that has ended
    backend = engine._backend
    assert backend is not None
    dropped = eventually(lambda: [d for d in backend.dropped if d.instance_id == instance_id], timeout=30)
    assert dropped and dropped[0].events == ("taskCompleted",), backend.dropped[-5:]
    assert dropped[0].status == "ORCHESTRATION_STATUS_TERMINATED"
    assert toy_app.after_gate.get(key, 0) == 0  # the orchestrator did not take its next step
    state = engine.client.get_orchestration_state(instance_id)
    assert state is not None and state.runtime_status == OrchestrationStatus.TERMINATED
    assert state.get_output() == "stopped"


def test_a_terminated_sub_orchestration_id_can_be_used_again(engine: LocalEngine) -> None:
    """Dropping events for an ended instance does not stop a new instance under the same ID:
    the next cycle's patch_node reuses the instance ID of a terminated one."""
    parent_id = f"parent-{uuid.uuid4().hex[:8]}"
    engine.client.schedule_new_orchestration("approval", input={"timeout": 30}, instance_id=f"{parent_id}-child")
    engine.client.terminate_orchestration(f"{parent_id}-child", output="stopped")
    assert engine.wait_for_completion(f"{parent_id}-child").runtime_status == OrchestrationStatus.TERMINATED
    engine.client.schedule_new_orchestration("parent", instance_id=parent_id)
    assert output(engine, parent_id) == {"child_id": f"{parent_id}-child", "result": 42}


def test_unknown_timer_name(engine: LocalEngine) -> None:
    with pytest.raises(ValueError, match="timer_start"):
        engine.fire_timer("nope")


def test_is_replaying_is_read_live(engine: LocalEngine) -> None:
    # final episode: start and first result come from history (replaying), the second result is new
    assert output(engine, start(engine, "replay_flags")) == [True, True, False]


def test_custom_payload_types_round_trip_like_the_classic_sdk(engine: LocalEngine) -> None:
    instance_id = start(engine, "points")
    result = output(engine, instance_id)  # decoded with df_loads, like the classic SDK
    assert result["is_point"] is True  # the activity's Point reached the orchestrator as a Point
    assert isinstance(result["moved"], toy_app.Point) and (result["moved"].x, result["moved"].y) == (11, 12)
    raw = json.loads(engine.client.get_orchestration_state(instance_id).serialized_output)["moved"]
    assert raw["__class__"] == "Point" and raw["__module__"] == toy_app.Point.__module__  # the classic wire envelope


def test_orchestrator_without_yield(engine: LocalEngine) -> None:
    instance_id = start(engine, "plain", {"a": 1})
    assert output(engine, instance_id) == {"input": {"a": 1}, "instance": instance_id}


def test_already_finished_tasks_and_empty_fan_out(engine: LocalEngine) -> None:
    # classic task_all([]) / task_any([]) succeed at once with None; durabletask's would hang
    assert output(engine, start(engine, "edge_yields")) == {"nothing": None, "value": 8, "again": 8,
                                                            "no_winner": None}
