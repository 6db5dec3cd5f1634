"""The driver itself: does it speak the host's protocol the way the Durable extension does?"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import azure.durable_functions as df
import pytest

import entities
from entities import lock, progress
from rebooter.config import settings

from .driver import DeterminismError, ReplayHost
from .fakes import two_node_cluster
from .harness import CYCLE_ID, KEY, run_cycle, scenario
from .history import TIME_FORMAT, EventType
from .shim import NonDeterminismError

CFG = settings.load({})
SCHEDULING = {EventType.TASK_SCHEDULED, EventType.TIMER_CREATED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
              EventType.EVENT_SENT}


def _events(instance, kind: EventType) -> list[dict]:
    return [e for e in instance.history if e["EventType"] == kind]


def test_history_has_the_hosts_shape():
    run = scenario("two nodes")
    for instance in run.host.instances.values():
        events = instance.history
        assert [e["EventType"] for e in events[:2]] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]
        started = events[1]
        assert started["Version"] == "" and started["Name"] == instance.name
        assert json.loads(started["Input"])["cluster"].endswith("/managedClusters/aks-shop")
        assert [e["EventType"] for e in events[-2:]] == [EventType.EXECUTION_COMPLETED, EventType.ORCHESTRATOR_COMPLETED]
        assert len(_events(instance, EventType.ORCHESTRATOR_STARTED)) == len(instance.episodes)
        for event in events:
            datetime.strptime(event["Timestamp"], TIME_FORMAT)
        # Each decision took the next sequence number; each completion points at one.
        scheduled = [e["EventId"] for e in events if e["EventType"] in SCHEDULING]
        assert scheduled == list(range(len(instance.actions)))
        completed = [e["TaskScheduledId"] for e in events if "TaskScheduledId" in e] + \
                    [e["TimerId"] for e in _events(instance, EventType.TIMER_FIRED)]
        assert set(completed) <= set(scheduled)
        assert len(completed) == len(set(completed))


def test_entity_messages_are_addressed_and_encoded_like_the_extensions():
    child = scenario("two nodes").child("aks-system-0")
    calls = [e for e in _events(child, EventType.EVENT_SENT) if not json.loads(e["Input"])["signal"]]
    assert [e["InstanceId"] for e in calls] == [f"@cluster_lock@{KEY}"]  # acquire; release is a signal
    assert {e["Name"] for e in calls} == {"op"}
    request = json.loads(calls[0]["Input"])
    assert request["op"] == "acquire" and request["parent"] == child.instance_id
    assert json.loads(json.loads(request["input"]))["holder"] == child.instance_id
    [answer] = [e for e in _events(child, EventType.EVENT_RAISED) if e["Name"] == request["id"]]
    result = json.loads(json.loads(answer["Input"])["result"])  # the result is JSON inside JSON
    assert result["acquired"] is True


def test_entity_states_match_the_pure_reducers():
    """The SDK's entity path (state JSON kept by the host between batches) loses nothing."""
    run = scenario("two nodes")
    for name, reducer, initial in (("cluster_lock", lock.reduce, lock.initial),
                                   ("cluster_progress", progress.reduce, progress.initial)):
        state = initial()
        for op in run.host.entity_operations(name, KEY):
            state, result = reducer(state, op["operation"], op["input"])
            assert result == op["result"] and not op["isError"]
        assert state == run.host.entity_state(name, KEY)


def test_activity_retry_follows_the_retry_protocol():
    """Failed attempt, timer, next attempt (each with its own sequence number), as DTFx does."""
    attempts = []

    def flaky(payload):
        attempts.append(payload)
        return RuntimeError("ARM answered 503") if len(attempts) <= 2 else None

    run = run_cycle(two_node_cluster(failing={"describe_cluster": flaky}))
    assert run.cycle.actions[0]["kind"] == "timer"  # Control.arm: the command waiter opened first
    first = run.cycle.actions[1:6]
    assert [(a["kind"], a.get("name"), a.get("attempt"), a.get("outcome")) for a in first] == [
        ("activity", "describe_cluster", 1, "failed"), ("timer", None, None, None),
        ("activity", "describe_cluster", 2, "failed"), ("timer", None, None, None),
        ("activity", "describe_cluster", 3, "completed"),
    ]
    assert [a["seq"] for a in first] == [1, 2, 3, 4, 5]
    for failed, timer in ((first[0], first[1]), (first[2], first[3])):
        failed_at = datetime.strptime(failed["at"], TIME_FORMAT) + timedelta(seconds=1)  # 1 s per activity
        assert datetime.strptime(timer["fireAt"], TIME_FORMAT) == failed_at + timedelta(
            seconds=CFG["activityRetrySeconds"])
    assert run.cycle.output["outcome"] == "completed"


def test_exhausted_retries_reach_the_orchestrator_as_an_exception():
    run = run_cycle(two_node_cluster(failing={"describe_cluster": lambda p: RuntimeError("ARM answered 503")}))
    kinds = [(a["kind"], a.get("attempt")) for a in run.cycle.actions[1:]]  # [0]: Control.arm's timer
    # Three attempts and a timer after each failure, the last one too (DTFx's RetryInterceptor).
    assert kinds == [("activity", 1), ("timer", None), ("activity", 2), ("timer", None), ("activity", 3),
                     ("timer", None)]
    [failure] = _events(run.cycle, EventType.TASK_FAILED)[-1:]
    assert failure["Reason"] == "Activity function 'describe_cluster' failed:  RuntimeError: ARM answered 503"
    details = json.loads(failure["Details"])
    assert details["InnerException"]["Message"].startswith(
        "Result: Failure\nException: RuntimeError: ARM answered 503\nStack: Traceback")
    assert run.cycle.output["outcome"] == "failed"
    # (error_text keeps the trailing space of the SDK's "{Reason} \n {Details}": strip to compare)
    assert run.cycle.output["reason"].strip() == (
        "cannot describe the cluster: Activity function 'describe_cluster' failed:  RuntimeError: ARM answered 503")


def _toy_app(orchestrator, activities=("echo",)):
    """A DFApp with one orchestrator and activities that only need to exist (the test fakes run)."""
    app = df.DFApp()
    app.orchestration_trigger(context_name="context")(orchestrator)
    for name in activities:
        app.function_name(name)(app.activity_trigger(input_name="payload")(lambda payload: payload))
    return app


def test_a_nondeterministic_orchestrator_is_caught_while_it_runs():
    calls = {"n": 0}

    def wobbly(context):
        calls["n"] += 1
        first = yield context.call_activity("echo", 1)
        if calls["n"] == 2:  # differs on the second replay
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
        second = yield context.call_activity("echo", 2)
        return first + second

    host = ReplayHost({"echo": lambda p: p}, app=_toy_app(wobbly))
    with pytest.raises(NonDeterminismError, match="TIMER_CREATED #1"):
        host.run_orchestration("wobbly", None, "wobbly-1")


def test_the_final_replay_catches_a_different_result():
    calls = {"n": 0}

    def forgetful(context):
        calls["n"] += 1
        value = yield context.call_activity("echo", 1)
        return {"value": value, "calls": calls["n"]}

    host = ReplayHost({"echo": lambda p: p}, app=_toy_app(forgetful))
    with pytest.raises(DeterminismError, match="output"):
        host.run_orchestration("forgetful", None, "forgetful-1")


def test_a_fake_for_an_activity_the_app_does_not_have_is_refused():
    with pytest.raises(AssertionError, match="describe_clutser"):
        ReplayHost({"describe_clutser": lambda p: p})


def test_the_clock_is_virtual():
    run = scenario("never healthy")
    started = datetime.strptime(run.cycle.history[0]["Timestamp"], TIME_FORMAT).replace(tzinfo=run.host.now.tzinfo)
    assert (run.host.now - started).total_seconds() >= CFG["healthTimeoutSeconds"]
    assert run.host.summary()["instances"][0]["instanceId"] == CYCLE_ID


def test_the_extension_waits_for_every_child_of_a_failed_when_all():
    """SDK quirk, re-enacted: Python's task_all fails at the first failed child, the extension's
    WhenAll waits for all of them. Code that catches the failure and schedules more work gets its
    new task's sequence number taken by a retry timer of a child still in flight, and the
    TimerFired completes the new task (with None)."""

    def catcher(context):
        retry = df.RetryOptions(1000, 2)
        try:
            yield context.task_all([context.call_activity_with_retry("boom", retry, "fast"),
                                    context.call_activity_with_retry("slow", retry, "slow")])
        except Exception:  # noqa: BLE001
            pass
        after = yield context.call_activity("echo", "after")
        return {"after": after}

    slow_calls = []

    def slow(payload):
        slow_calls.append(payload)
        if len(slow_calls) == 1:
            raise RuntimeError("transient")
        return "slow done"

    def boom(payload):
        raise RuntimeError("always")

    host = ReplayHost({"boom": boom, "slow": slow, "echo": lambda p: p},
                      app=_toy_app(catcher, ("boom", "slow", "echo")),
                      activity_seconds=lambda name, payload: 30.0 if name == "slow" else 1.0)
    instance = host.run_orchestration("catcher", None, "catcher-1")

    assert instance.output == {"after": None}  # not "after": seq 5 was the retry timer of "slow"
    assert any("would not reach" in w for w in instance.warnings)
    # The SDK said isDone at once; the extension completes only when its WhenAll is through.
    assert any("the SDK says done but the extension is still waiting" in w for w in instance.warnings)
    [timer] = [a for a in instance.actions if a["seq"] == 5]
    assert timer["kind"] == "timer"
    assert [a["name"] for a in instance.actions if a["kind"] == "activity"][-1] == "echo"


def test_an_entity_operation_that_raises_reaches_the_caller_as_an_exception():
    def caller(context):
        lock_id = df.EntityId("cluster_lock", "sub.rg.aks")
        try:
            yield context.call_entity(lock_id, "steal", {"now": "2026-01-05T02:00:00+00:00", "holder": "me"})
        except Exception as exc:  # noqa: BLE001
            return {"error": str(exc)}
        return {"error": None}

    app = _toy_app(caller)
    app.register_functions(entities.bp)
    host = ReplayHost({}, app=app)
    instance = host.run_orchestration("caller", None, "caller-1")

    assert instance.output == {"error": "lock: unknown operation 'steal' (expected acquire, renew, keep, release, break)"}
    [operation] = host.entity_operations("cluster_lock", "sub.rg.aks")
    assert operation["isError"] and operation["operation"] == "steal"
    assert host.entity_state("cluster_lock", "sub.rg.aks") is None  # nothing was stored
