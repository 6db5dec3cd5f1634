"""A Durable Functions host in miniature: the app's orchestrators run through the SDK's own replay.

Per orchestration instance the driver keeps the history the extension would keep and, for
every episode, calls the orchestrator's SDK handle (the function the DFApp decorator built,
``Orchestrator.create(...)``) with the trigger JSON the extension sends, through the same
``OrchestrationTriggerConverter`` the Python worker uses. It reads the returned
``{"isDone", "actions", "output", "customStatus", "schemaVersion"}``, re-enacts the
extension's replay of those actions (``shim.ShimReplay``: sequence numbers, retries,
nondeterminism), executes the new decisions and appends their history events:

- activities: the test's callables (``name -> fn(payload) -> result``), payload and result
  through the worker's ``ActivityTriggerConverter``; an exception becomes TaskFailed with the
  extension's reason text (``Activity function 'x' failed:  <Type>: <message>``, worker.py);
- timers fire at their ``fireAt`` on a virtual clock (no real waiting);
- entities (call and signal) run through the SDK's entity handle (``entities.EntityHost``);
- sub-orchestrations run in the same driver under the instance id the parent chose.

Deliveries are kept in a time-ordered queue; everything due at one moment for one instance
is handed over in one episode, as a backend would. The SDK's ``isDone``/error only counts once
the extension's replay of the actions got through them (it may still wait on a WhenAll). When an instance finishes, its final
history is replayed once more from scratch and must give no new decision and the same result.
"""

from __future__ import annotations

import heapq
import itertools
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import OrchestrationTriggerConverter

from . import history as h
from .entities import EntityHost
from .functions import AppFunctions, index, load_app
from .shim import Decision, ShimReplay
from .worker import ActivityWorker, Fake, Latency

DEFAULT_START = datetime(2026, 1, 5, 2, 0, 0, tzinfo=UTC)
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
# What the extension sends with every orchestrator call besides history, input and ids. The
# timer limits are null with the Durable Task Scheduler backend (host.json: azureManaged); Azure
# Storage would send "6.00:00:00" / "3.00:00:00" and the SDK would split longer timers.
HOST_FIELDS = {
    "upperSchemaVersion": 1,
    "upperSchemaVersionNew": 2,
    "maximumShortTimerDuration": None,
    "longRunningTimerIntervalDuration": None,
    "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
}


class DriverError(AssertionError):
    """The run cannot go on (a missing fake, a stuck orchestration, a runaway loop)."""


class DeterminismError(AssertionError):
    """Replaying a finished instance's history gave new decisions or a different result."""


@dataclass
class Episode:
    number: int
    at: str
    history_sent: int  # events in the history passed to the SDK
    new_events: int  # of which new in this episode (OrchestratorStarted included)
    actions_returned: int  # top-level actions in the SDK's answer (cumulative, as the protocol is)
    decisions: list[dict[str, Any]]  # the new decisions executed after this episode
    is_done: bool
    custom_status: Any
    sdk_seconds: float
    unreached: int  # top-level actions the extension would not reach yet (it waits before them)


@dataclass
class Instance:
    instance_id: str
    name: str
    input_json: str | None
    parent_id: str | None = None
    parent_seq: int | None = None
    status: str = "Pending"  # Pending, Running, Completed, Failed
    history: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # every decision executed, in order
    final_actions: list[list[dict[str, Any]]] = field(default_factory=list)
    output: Any = None
    error: str | None = None
    custom_status: Any = None
    statuses: list[Any] = field(default_factory=list)  # custom status after each episode
    dropped: list[dict[str, Any]] = field(default_factory=list)  # events that arrived after the end
    warnings: list[str] = field(default_factory=list)
    determinism: dict[str, Any] = field(default_factory=dict)
    sdk_seconds: float = 0.0
    returned_at: datetime | None = None  # when the function first returned while timers were still pending
    left_timers: list[str] = field(default_factory=list)  # those timers ("#seq fireAt")
    inputs: list[str | None] = field(default_factory=list)  # the input of each execution (continue-as-new)

    @property
    def done(self) -> bool:
        return self.status in ("Completed", "Failed")

    def decisions(self, kind: str, name: str | None = None) -> list[dict[str, Any]]:
        return [a for a in self.actions if a["kind"] == kind and (name is None or a.get("name") == name
                                                                   or a.get("operation") == name)]

    def summary(self) -> dict[str, Any]:
        return {
            "instanceId": self.instance_id, "name": self.name, "status": self.status,
            "episodes": len(self.episodes), "historyLength": len(self.history), "actions": len(self.actions),
            "sdkSeconds": round(self.sdk_seconds, 6), "determinism": self.determinism.get("ok"),
        }


class ReplayHost:
    """Runs orchestrations of one app to the end on a virtual clock."""

    def __init__(self, activities: Mapping[str, Fake], app: Any = None, start: datetime = DEFAULT_START,
                 activity_seconds: Latency = 0.0, check_determinism: bool = True, max_episodes: int = 20000,
                 strict_timers: bool = True) -> None:
        self.functions: AppFunctions = index(app if app is not None else load_app())
        self.worker = ActivityWorker(activities, set(self.functions.activities), activity_seconds)
        self.now = start
        self.check_determinism = check_determinism
        # An instance kept Running by a timer it left behind fails the run (see _finish).
        self.strict_timers = strict_timers
        self.max_episodes = max_episodes
        self.instances: dict[str, Instance] = {}
        self.entities = EntityHost(self.functions.entities)
        self._queue: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self._order = itertools.count()
        self._episode_count = 0

    # ---- public API ------------------------------------------------------------------------
    def start(self, name: str, input_: Any, instance_id: str) -> Instance:
        return self._create(name, instance_id, json.dumps(input_), None, None)

    def run(self) -> None:
        """Deliver everything, moving the clock to each next delivery, until nothing is left."""
        while self._queue:
            at = self._queue[0][0]
            self.now = max(self.now, at)
            batch: dict[str, list[dict[str, Any]]] = {}
            while self._queue and self._queue[0][0] == at:
                _, _, target, event = heapq.heappop(self._queue)
                batch.setdefault(target, []).append(event)
            for target, events in batch.items():
                self._episode(self.instances[target], events)
        stuck = [i.instance_id for i in self.instances.values() if not i.done]
        if stuck:
            raise DriverError(f"nothing left to deliver but these instances are not finished: {stuck}")

    def run_orchestration(self, name: str, input_: Any, instance_id: str) -> Instance:
        instance = self.start(name, input_, instance_id)
        self.run()
        return instance

    def raise_event(self, instance_id: str, name: str, data: Any, at: datetime | None = None) -> None:
        moment = at or self.now
        self._deliver(moment, instance_id, h.event_raised(moment, name, json.dumps(data)))

    def seed_entity(self, name: str, key: str, state: Any) -> None:
        """Give an entity a state before the run (as an earlier cycle would have left it)."""
        record = self.entities.record(f"@{name.lower()}@{key}")
        record.state_json, record.exists = json.dumps(state), True

    def entity_state(self, name: str, key: str) -> Any:
        record = self.entities.records.get(f"@{name.lower()}@{key}")
        return record.state if record else None

    def entity_operations(self, name: str, key: str) -> list[dict[str, Any]]:
        record = self.entities.records.get(f"@{name.lower()}@{key}")
        return record.operations if record else []

    def summary(self) -> dict[str, Any]:
        return {"episodes": self._episode_count, "instances": [i.summary() for i in self.instances.values()],
                "activityCalls": len(self.worker.calls), "clock": self.now.isoformat()}

    # ---- instances and episodes ------------------------------------------------------------
    def _create(self, name: str, instance_id: str, input_json: str | None, parent_id: str | None,
                parent_seq: int | None) -> Instance:
        if instance_id in self.instances:
            raise DriverError(f"instance {instance_id} already exists")
        instance = Instance(instance_id, name, input_json, parent_id, parent_seq, inputs=[input_json])
        self.instances[instance_id] = instance
        parent = None
        if parent_id is not None:
            parent = {"Name": self.instances[parent_id].name, "Version": "", "TaskScheduleId": parent_seq,
                      "OrchestrationInstance": {"InstanceId": parent_id, "ExecutionId": _execution_id(parent_id)}}
        self._deliver(self.now, instance_id, h.execution_started(
            self.now, name, instance_id, _execution_id(instance_id), input_json, parent))
        return instance

    def _deliver(self, at: datetime, instance_id: str, event: dict[str, Any]) -> None:
        heapq.heappush(self._queue, (at, next(self._order), instance_id, event))

    def _body(self, instance: Instance, events: list[dict[str, Any]], replaying: bool) -> str:
        return json.dumps({"history": events, "input": instance.input_json, "instanceId": instance.instance_id,
                           "isReplaying": replaying, "parentInstanceId": instance.parent_id, **HOST_FIELDS})

    def _call_sdk(self, instance: Instance, body: str) -> tuple[dict[str, Any], str | None, float]:
        """One call of the orchestrator exactly as the worker makes it; a raised error carries the state."""
        handle = self.functions.orchestrators[instance.name]
        context = OrchestrationTriggerConverter.decode(meta.Datum(type="string", value=body), trigger_metadata=None)
        began = time.perf_counter()
        try:
            raw = handle(context)
        except Exception as exc:  # noqa: BLE001 - the extension reads the state out of the message
            spent = time.perf_counter() - began
            message, marker, data = str(exc).partition(OUT_OF_PROC_MARKER)
            if not marker:
                raise
            state = json.loads(data)
            return state, state.get("error") or message, spent
        spent = time.perf_counter() - began
        state = json.loads(OrchestrationTriggerConverter.encode(raw, expected_type=None).value)
        return state, None, spent

    def _episode(self, instance: Instance, arrivals: list[dict[str, Any]]) -> None:
        if instance.done:
            instance.dropped.extend(arrivals)
            return
        if instance.name not in self.functions.orchestrators:
            self._finish(instance, None, f"no orchestrator function named {instance.name!r}")
            return
        self._episode_count += 1
        if self._episode_count > self.max_episodes:
            raise DriverError(f"more than {self.max_episodes} episodes: a runaway orchestration?")
        instance.status = "Running"
        replaying = bool(instance.history)
        events = instance.history + [h.orchestrator_started(self.now)] + arrivals
        state, error, spent = self._call_sdk(instance, self._body(instance, events, replaying))
        instance.sdk_seconds += spent
        outcome = ShimReplay(instance.instance_id, events, state["actions"], state.get("schemaVersion", 0)).replay()
        instance.warnings.extend(outcome.duplicates)
        if outcome.unreached:
            instance.warnings.append(f"episode {len(instance.episodes) + 1}: the extension would not reach "
                                     f"{outcome.unreached} action(s) yet")
        instance.history = events
        if state.get("customStatus") is not None:
            instance.custom_status = state["customStatus"]
        instance.statuses.append(state.get("customStatus"))
        instance.final_actions = state["actions"]
        executed = [self._execute(instance, decision) for decision in outcome.new]
        instance.episodes.append(Episode(
            number=len(instance.episodes) + 1, at=h.stamp(self.now), history_sent=len(events),
            new_events=1 + len(arrivals), actions_returned=len(state["actions"][0]) if state["actions"] else 0,
            decisions=executed, is_done=bool(state.get("isDone")), custom_status=state.get("customStatus"),
            sdk_seconds=spent, unreached=outcome.unreached,
        ))
        if (error is not None or state.get("isDone")) and not outcome.finished:
            instance.warnings.append(f"episode {len(instance.episodes)}: the SDK says "
                                     f"{'failed' if error else 'done'} but the extension is still waiting")
            if outcome.open_timers and instance.returned_at is None:  # waiting on a timer nobody wants
                instance.returned_at = self.now
                instance.left_timers = [f"#{d.seq} fireAt {h.stamp(d.fire_at)}" for d in outcome.open_timers]
            instance.history.append(h.orchestrator_completed(self.now))
        elif error is not None:
            self._finish(instance, None, error)
        elif state.get("isDone"):
            restart = [d for d in outcome.new if d.kind == "continue_as_new"]
            if restart:
                self._continue_as_new(instance, restart[-1])
            elif outcome.open_timers:
                # Azure's rule: the function returned, but the instance stays Running until every
                # durable timer it created has fired or been cancelled.
                if instance.returned_at is None:
                    instance.returned_at = self.now
                    instance.left_timers = [f"#{d.seq} fireAt {h.stamp(d.fire_at)}" for d in outcome.open_timers]
                instance.history.append(h.orchestrator_completed(self.now))
            else:
                self._finish(instance, state.get("output"), None)
        else:
            instance.history.append(h.orchestrator_completed(self.now))
        _mark_played(instance.history)

    def _finish(self, instance: Instance, output: Any, error: str | None) -> None:
        if instance.returned_at is not None and self.strict_timers:
            raise DriverError(
                f"{instance.instance_id} returned at {h.stamp(instance.returned_at)} but stayed Running until "
                f"{h.stamp(self.now)}: durable timer(s) {', '.join(instance.left_timers)} were left pending "
                "(cancel the timer that lost a task_any)")
        instance.output, instance.error = output, error
        instance.status = "Failed" if error is not None else "Completed"
        status = h.STATUS_FAILED if error is not None else h.STATUS_COMPLETED
        instance.history.append(h.execution_completed(self.now, status, json.dumps(output), error))
        instance.history.append(h.orchestrator_completed(self.now))
        if instance.parent_id is not None:
            if error is None:
                event = h.sub_orchestration_completed(self.now, instance.parent_seq, json.dumps(output))
            else:
                event = h.sub_orchestration_failed(self.now, instance.parent_seq,
                                                   f"Orchestrator function '{instance.name}' failed: {error}", None)
            self._deliver(self.now, instance.parent_id, event)
        if self.check_determinism and instance.name in self.functions.orchestrators:
            self.replay_from_scratch(instance)

    def _continue_as_new(self, instance: Instance, decision: Decision) -> None:
        instance.history.append(h.orchestrator_completed(self.now))
        instance.warnings.append(f"continued as new after {len(instance.history)} events")
        instance.history, instance.input_json = [], decision.input
        instance.inputs.append(decision.input)
        self._deliver(self.now, instance.instance_id, h.execution_started(
            self.now, instance.name, instance.instance_id, _execution_id(instance.instance_id), decision.input))

    def replay_from_scratch(self, instance: Instance) -> dict[str, Any]:
        """Replay the final history from scratch: no new decision, the same output and status."""
        events = [dict(e) for e in instance.history]
        _mark_played(events)
        state, error, _ = self._call_sdk(instance, self._body(instance, events, True))
        outcome = ShimReplay(instance.instance_id, events, state["actions"], state.get("schemaVersion", 0)).replay()
        problems = []
        if outcome.new:
            problems.append(f"new decisions on replay: {outcome.new}")
        if not outcome.finished:
            problems.append("the extension's replay of the actions would still be waiting")
        if error != instance.error:
            problems.append(f"error {error!r} != {instance.error!r}")
        if error is None and (not state.get("isDone") or state.get("output") != instance.output):
            problems.append(f"isDone={state.get('isDone')} output {state.get('output')!r} != {instance.output!r}")
        if state.get("customStatus") != instance.statuses[-1]:
            problems.append(f"custom status {state.get('customStatus')!r} != {instance.statuses[-1]!r}")
        if state["actions"] != instance.final_actions:
            problems.append("the replay returned a different action list")
        instance.determinism = {"ok": not problems, "replayedEvents": len(events), "decisions": outcome.issued,
                                "problems": problems}
        if problems:
            raise DeterminismError(f"{instance.instance_id}: " + "; ".join(problems))
        return instance.determinism

    # ---- executing decisions ---------------------------------------------------------------
    def _execute(self, instance: Instance, d: Decision) -> dict[str, Any]:
        now, iid = self.now, instance.instance_id
        record: dict[str, Any] = {"seq": d.seq, "kind": d.kind, "at": h.stamp(now)}
        if d.kind == "activity":
            instance.history.append(h.task_scheduled(now, d.seq, d.name, d.input))
            record.update(name=d.name, input=json.loads(d.input) if d.input else None, attempt=d.retry_attempt)
            at, event = self.worker.run(iid, d.seq, d.name, d.input, now)
            record["outcome"] = "failed" if h.kind(event) == h.EventType.TASK_FAILED else "completed"
            self._deliver(at, iid, event)
        elif d.kind == "timer":
            instance.history.append(h.timer_created(now, d.seq, d.fire_at))
            record.update(fireAt=h.stamp(d.fire_at), seconds=(d.fire_at - now).total_seconds())
            fire = max(d.fire_at, now)
            self._deliver(fire, iid, h.timer_fired(fire, d.seq, d.fire_at))
        elif d.kind == "suborchestration":
            instance.history.append(h.sub_orchestration_created(now, d.seq, d.name, d.instance_id, d.input))
            record.update(name=d.name, instanceId=d.instance_id, attempt=d.retry_attempt)
            self._create(d.name, d.instance_id, d.input, iid, d.seq)
        elif d.kind in ("entity_call", "signal"):
            signal = d.kind == "signal"
            request = h.entity_request(d.request_id, d.operation, d.input, iid, signal, now)
            instance.history.append(h.event_sent(now, d.seq, d.instance_id, "op", request))
            record.update(entity=d.instance_id, operation=d.operation, input=json.loads(d.input) if d.input else None)
            result = self.entities.execute(d.instance_id, d.operation, json.loads(request)["input"], iid, signal, now)
            if not signal:
                record["result"] = json.loads(result.result_json) if result.result_json is not None else None
                response = h.entity_response(result.result_json, "System.Exception" if result.is_error else None)
                self._deliver(now, iid, h.event_raised(now, d.request_id, response))
        elif d.kind == "continue_as_new":
            record["input"] = json.loads(d.input) if d.input else None
        instance.actions.append(record)
        return record


def _execution_id(instance_id: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"execution/{instance_id}").hex


def _mark_played(events: list[dict[str, Any]]) -> None:
    """Events of finished episodes come back with IsPlayed true (OrchestratorStarted keeps false)."""
    for event in events:
        if h.kind(event) != h.EventType.ORCHESTRATOR_STARTED:
            event["IsPlayed"] = True
