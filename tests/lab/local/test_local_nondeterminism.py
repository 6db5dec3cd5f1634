"""Replay checking: what durabletask's in-memory engine detects, and what it does not.

durabletask compares each replayed action with the history by sequence number and kind
(and, for activities, name). It raises ``NonDeterminismError`` (error type
``durabletask.task.NonDeterminismError``), which fails the orchestration; the engine
surfaces that as ``OrchestrationNonDeterminismError`` from ``wait_for_completion``.
It does not compare inputs or timer fire times, and a replay that skips an action can
go unnoticed when the names line up; those cases are pinned here as known limits.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import pytest
from durabletask.client import OrchestrationStatus

from lab.local import LocalEngine, OrchestrationNonDeterminismError

from . import toy_app


def test_random_branching_is_detected_on_replay(engine: LocalEngine) -> None:
    """``dice`` branches on the real random.random(); each instance replays twice, so 3 in 4 are caught."""
    ids = [engine.client.schedule_new_orchestration("dice", instance_id=f"dice-{uuid.uuid4().hex[:8]}")
           for _ in range(16)]
    caught: list[OrchestrationNonDeterminismError] = []
    for instance_id in ids:
        try:
            engine.wait_for_completion(instance_id)
        except OrchestrationNonDeterminismError as error:
            caught.append(error)
    assert caught, "16 instances replayed 32 times without one mismatch (p = 4**-16)"
    details = caught[0].state.failure_details
    assert details.error_type == "durabletask.task.NonDeterminismError"
    assert "history mismatch" in details.message
    assert caught[0].state.runtime_status == OrchestrationStatus.FAILED


def test_random_branching_exact_error(engine: LocalEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    draws = itertools.chain([0.1], itertools.repeat(0.9))  # first run: double; every replay: async_echo
    monkeypatch.setattr(toy_app.random, "random", lambda: next(draws))
    instance_id = engine.client.schedule_new_orchestration("dice", instance_id=f"dice-{uuid.uuid4().hex[:8]}")
    with pytest.raises(OrchestrationNonDeterminismError) as raised:
        engine.wait_for_completion(instance_id)
    assert ("A previous execution called call_activity with name='double' and sequence number 1, but the "
            "current execution is instead trying to call async_echo") in str(raised.value)


# A second app for the cases durabletask does not catch (one shared toggle per run).
limits = df.DFApp()
_calls = itertools.count()


def _first_run() -> bool:
    return next(_calls) == 0


@limits.orchestration_trigger(context_name="context")
def wall_clock_input(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("echo", datetime.now(UTC).isoformat())  # wrong, on purpose
    second = yield context.call_activity("echo", str(uuid.uuid4()))  # wrong, on purpose
    return [first, second]


@limits.orchestration_trigger(context_name="context")
def wall_clock_timer(context: df.DurableOrchestrationContext):
    delay = 0.1 if _first_run() else 30  # wrong, on purpose: fire time from the wall clock
    yield context.create_timer(datetime.now(UTC) + timedelta(seconds=delay))
    return "fired"


@limits.orchestration_trigger(context_name="context")
def skips_on_replay(context: df.DurableOrchestrationContext):
    if _first_run():
        yield context.call_activity("echo", "first")
    result = yield context.call_activity("echo", "second")
    return result


@limits.orchestration_trigger(context_name="context")
def type_changes_on_replay(context: df.DurableOrchestrationContext):
    if _first_run():
        yield context.call_activity("echo", "first")
    else:
        yield context.create_timer(context.current_utc_datetime)
    return "done"


@limits.activity_trigger(input_name="value")
def echo(value):
    return value


@pytest.fixture(scope="module")
def limits_engine():
    with LocalEngine(limits) as eng:
        yield eng


def run(eng: LocalEngine, name: str):
    global _calls
    _calls = itertools.count()
    return eng.wait_for_completion(eng.client.schedule_new_orchestration(name, instance_id=f"{name}-{uuid.uuid4().hex[:6]}"))


def test_action_kind_change_is_detected(limits_engine: LocalEngine) -> None:
    with pytest.raises(OrchestrationNonDeterminismError, match="instead trying to call create_timer"):
        run(limits_engine, "type_changes_on_replay")


def test_not_detected_different_inputs(limits_engine: LocalEngine) -> None:
    state = run(limits_engine, "wall_clock_input")
    assert state.runtime_status == OrchestrationStatus.COMPLETED  # history results replayed; inputs never compared


def test_not_detected_different_timer_fire_time(limits_engine: LocalEngine) -> None:
    state = run(limits_engine, "wall_clock_timer")
    assert state.runtime_status == OrchestrationStatus.COMPLETED  # timer fire times are not compared


def test_not_detected_skipped_action_with_matching_name(limits_engine: LocalEngine) -> None:
    state = run(limits_engine, "skips_on_replay")
    # The replay's first call takes sequence number 1, whose history result is "first": silently wrong.
    assert state.runtime_status == OrchestrationStatus.COMPLETED and state.get_output() == "first"
