"""What the Durable extension does with an out-of-process orchestrator's actions, re-enacted.

The extension (``OutOfProcOrchestrationShim``, schema V2/V3) does not trust the SDK's idea of
what is new. After each call into the SDK it replays the whole ``actions`` list against the
Durable Task Framework context, and DTFx matches those calls with the history:

- the top-level actions are awaited one after the other (``ProcessAsyncActionsV2``); an
  exception from an awaited task is swallowed (the SDK already handled it);
- every activity, timer, sub-orchestration, entity call and signal takes the next sequence
  number when it is *invoked*; WhenAll/WhenAny invoke their children in order;
- ``CallActivityWithRetry`` is DTFx's RetryInterceptor: attempt, and after every failure a
  timer (also after the last one), then the next attempt: each takes a sequence number at the
  moment the failure or timer is processed;
- while DTFx walks the history, a scheduling event (TaskScheduled, TimerCreated,
  SubOrchestrationInstanceCreated, EventSent) whose decision has not been made again, or was
  made differently, is a NonDeterministicOrchestrationException; completions resume the
  awaiting code synchronously;
- decisions that no history event matches are the new work of this episode;
- ``isDone`` and ``error`` are only acted on once this replay got through every action
  (``ScheduleDurableTaskEvents`` awaits it first): until then the instance keeps running.

``replay`` returns those new decisions; the driver executes them and appends their events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import history as h
from .history import EventType

# Action types of the out-of-proc protocol (azure.durable_functions.models.actions.ActionType).
CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_FOR_EXTERNAL_EVENT, CALL_ENTITY, CALL_HTTP = 4, 5, 6, 7, 8
SIGNAL_ENTITY, SCHEDULED_SIGNAL_ENTITY, WHEN_ANY, WHEN_ALL = 9, 10, 11, 12

_EXPECTED_EVENT = {
    "activity": EventType.TASK_SCHEDULED,
    "timer": EventType.TIMER_CREATED,
    "suborchestration": EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    "entity_call": EventType.EVENT_SENT,
    "signal": EventType.EVENT_SENT,
}


class NonDeterminismError(AssertionError):
    """The orchestrator did not make the decisions its history says it made (DTFx would fail it)."""


class ProtocolError(AssertionError):
    """The SDK returned something the extension would reject."""


class Future:
    """A DTFx task as the shim sees it: settles once; continuations run synchronously."""

    __slots__ = ("done", "failed", "value", "callbacks")

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self.value: Any = None
        self.callbacks: list[Callable[[Future], None]] = []

    def settle(self, failed: bool, value: Any) -> None:
        if self.done:
            return
        self.done, self.failed, self.value = True, failed, value
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback(self)


def _completed(value: Any = None) -> Future:
    future = Future()
    future.settle(False, value)
    return future


class _Raise(Exception):
    """Ends a shim coroutine as failed, carrying the failure value."""

    def __init__(self, value: Any) -> None:
        super().__init__(str(value))
        self.value = value


def _spawn(coroutine: Generator[Future, Future, Any]) -> Future:
    """Run a generator of futures like a .NET async method: synchronously until it must wait."""
    result = Future()

    def step(previous: Future | None) -> None:
        while True:
            try:
                future = coroutine.send(previous) if previous is not None else next(coroutine)
            except StopIteration as stop:
                result.settle(False, stop.value)
                return
            except _Raise as failure:
                result.settle(True, failure.value)
                return
            if not future.done:
                future.callbacks.append(step)
                return
            previous = future

    step(None)
    return result


@dataclass
class Decision:
    """One scheduling call the shim made: its sequence number and what it asked for."""

    seq: int
    kind: str  # activity | timer | suborchestration | entity_call | signal | continue_as_new
    name: str = ""
    input: str | None = None
    fire_at: datetime | None = None
    instance_id: str = ""
    operation: str = ""
    request_id: str = ""
    retry_attempt: int = 0  # 0 for a plain call, else the attempt number of a retried call
    future: Future = field(default_factory=Future, repr=False)


@dataclass
class ReplayOutcome:
    new: list[Decision]  # decisions no history event matches, by sequence number
    issued: int  # how many decisions the replay made in all
    unreached: int  # top-level actions the shim never invoked (it was still waiting before them)
    finished: bool  # the shim got through every action: only then does the extension accept isDone/error
    duplicates: list[str]  # completions for unknown or already completed tasks (DTFx ignores them)
    # Durable timers created, not cancelled and not fired: Durable keeps the instance Running until
    # they fire, even after the function returned (Microsoft's "Timers in Durable Functions" docs).
    open_timers: list[Decision] = field(default_factory=list)


class ShimReplay:
    """One episode's replay of ``actions`` against ``events`` (the full history, new events included)."""

    def __init__(self, instance_id: str, events: list[dict[str, Any]], actions: list[list[dict[str, Any]]],
                 schema_version: int) -> None:
        if schema_version not in (1, 2):
            raise ProtocolError(f"only the V2/V3 replay schemas are re-enacted, got schemaVersion {schema_version}")
        if len(actions) != 1:
            raise ProtocolError(f"schema V2/V3 expects one outer action list, got {len(actions)}")
        self.instance_id = instance_id
        self.events = events
        self.actions = actions[0]
        self.seq = 0
        self.now: datetime | None = None
        self.pending: dict[int, Decision] = {}
        self.issued: list[Decision] = []
        self.by_seq: dict[int, Future] = {}
        self.by_request: dict[str, Future] = {}
        self.external: dict[str, list[Future]] = {}
        self.recorded = {e["EventId"]: e for e in events if h.kind(e) in h.SCHEDULING}
        self.invoked_top = 0
        self.duplicates: list[str] = []
        self.timers: list[Decision] = []
        self.buffered: dict[str, list[Any]] = {}

    # ---- decisions -------------------------------------------------------------------------
    def _decide(self, kind: str, **details: Any) -> Decision:
        decision = Decision(self.seq, kind, **details)
        self.seq += 1
        self.pending[decision.seq] = decision
        self.issued.append(decision)
        return decision

    def _activity(self, name: str, input_json: str | None, attempt: int = 0) -> Future:
        decision = self._decide("activity", name=name, input=input_json, retry_attempt=attempt)
        self.by_seq[decision.seq] = decision.future
        return decision.future

    def _timer(self, fire_at: datetime, cancelled: bool = False) -> Future:
        decision = self._decide("timer", fire_at=fire_at)
        self.by_seq[decision.seq] = decision.future
        self.timers.append(decision)
        if cancelled:
            decision.future.settle(True, "timer cancelled")
        return decision.future

    def _suborchestration(self, name: str, input_json: str | None, instance_id: str | None, attempt: int = 0) -> Future:
        seq = self.seq
        child = instance_id or f"{self.instance_id}:{seq:04x}"
        decision = self._decide("suborchestration", name=name, input=input_json, instance_id=child,
                                retry_attempt=attempt)
        self.by_seq[decision.seq] = decision.future
        return decision.future

    def _entity(self, action: dict[str, Any], signal: bool) -> Future:
        seq = self.seq
        recorded = self.recorded.get(seq)
        if recorded is not None and h.kind(recorded) == EventType.EVENT_SENT:
            request_id = json.loads(recorded["Input"])["id"]
        else:
            request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.instance_id}/{seq}"))
        decision = self._decide("signal" if signal else "entity_call", instance_id=action["instanceId"],
                                operation=action["operation"], input=action.get("input"), request_id=request_id)
        if signal:
            return _completed()
        self.by_request[request_id] = decision.future
        return decision.future

    def _retry(self, action: dict[str, Any], call: Callable[[int], Future]) -> Generator[Future, Future, Any]:
        options = action["retryOptions"]
        attempts = int(options["maxNumberOfAttempts"])
        first = timedelta(milliseconds=float(options["firstRetryIntervalInMilliseconds"]))
        coefficient = float(options.get("backoffCoefficient", 1.0))
        longest = options.get("maxRetryIntervalInMilliseconds")
        failure: Any = None
        for attempt in range(attempts):
            outcome = yield call(attempt + 1)
            if not outcome.failed:
                return outcome.value
            failure = outcome.value
            delay = first * (coefficient ** attempt)
            if longest is not None:
                delay = min(delay, timedelta(milliseconds=float(longest)))
            yield self._timer(self.now + delay)
        raise _Raise(failure)

    def _invoke(self, action: dict[str, Any]) -> Future:
        kind = action["actionType"]
        if kind == CALL_ACTIVITY:
            return self._activity(action["functionName"], action.get("input"))
        if kind == CALL_ACTIVITY_WITH_RETRY:
            return _spawn(self._retry(action, lambda n: self._activity(action["functionName"], action.get("input"), n)))
        if kind == CALL_SUB_ORCHESTRATOR:
            return self._suborchestration(action["functionName"], action.get("input"), action.get("instanceId"))
        if kind == CALL_SUB_ORCHESTRATOR_WITH_RETRY:
            return _spawn(self._retry(action, lambda n: self._suborchestration(
                action["functionName"], action.get("input"), action.get("instanceId"), n)))
        if kind == CREATE_TIMER:
            return self._timer(h.parse_time(action["fireAt"]), bool(action.get("isCanceled")))
        if kind == CALL_ENTITY:
            return self._entity(action, signal=False)
        if kind in (SIGNAL_ENTITY, SCHEDULED_SIGNAL_ENTITY):
            return self._entity(action, signal=True)
        if kind == CONTINUE_AS_NEW:
            self._decide("continue_as_new", input=action.get("input"))
            return _completed()
        if kind == WAIT_FOR_EXTERNAL_EVENT:
            future = Future()
            buffered = self.buffered.get(action["externalEventName"])
            # An event raised before anyone waits is kept for the next waiter of that name (Microsoft Learn,
            # "Handling external events in Durable Functions": events sent early are buffered).
            if buffered:
                future.settle(False, buffered.pop(0))
                return future
            self.external.setdefault(action["externalEventName"], []).append(future)
            return future
        if kind in (WHEN_ALL, WHEN_ANY):
            children = [self._invoke(child) for child in action["compoundActions"]]
            return _when_all(children) if kind == WHEN_ALL else _when_any(children)
        raise ProtocolError(f"action type {kind} is not supported by this driver: {action}")

    def _top_level(self) -> Generator[Future, Future, None]:
        for action in self.actions:
            self.invoked_top += 1
            yield self._invoke(action)  # a failed task is swallowed, as in ProcessAsyncActionsV2

    # ---- history ---------------------------------------------------------------------------
    def _match(self, event: dict[str, Any]) -> None:
        seq = event["EventId"]
        decision = self.pending.pop(seq, None)
        what = f"{h.kind(event).name} #{seq} ({event.get('Name') or event.get('InstanceId') or event.get('FireAt')})"
        if decision is None:
            raise NonDeterminismError(f"{self.instance_id}: history has {what} but the replay did not schedule it")
        expected = _EXPECTED_EVENT.get(decision.kind)
        if expected != h.kind(event):
            raise NonDeterminismError(f"{self.instance_id}: history has {what}, the replay scheduled {decision}")
        if decision.kind in ("activity", "suborchestration") and decision.name != event["Name"]:
            raise NonDeterminismError(f"{self.instance_id}: history has {what}, the replay called {decision.name!r}")
        if decision.kind in ("entity_call", "signal") and decision.instance_id != event["InstanceId"]:
            raise NonDeterminismError(f"{self.instance_id}: history has {what}, the replay sent to {decision.instance_id}")

    def _settle(self, key: Any, failed: bool, value: Any, table: dict[Any, Future], what: str) -> None:
        future = table.get(key)
        if future is None or future.done:
            self.duplicates.append(what)
            return
        future.settle(failed, value)

    def replay(self) -> ReplayOutcome:
        top: Future | None = None
        for event in self.events:
            kind = h.kind(event)
            if kind == EventType.ORCHESTRATOR_STARTED:
                self.now = h.parse_time(event["Timestamp"])
            elif kind == EventType.EXECUTION_STARTED and top is None:
                top = _spawn(self._top_level())
            elif kind in h.SCHEDULING:
                self._match(event)
            elif kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED):
                self._settle(event["TaskScheduledId"], False, event.get("Result"), self.by_seq, f"{kind.name} {event}")
            elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
                self._settle(event["TaskScheduledId"], True, event.get("Reason"), self.by_seq, f"{kind.name} {event}")
            elif kind == EventType.TIMER_FIRED:
                self._settle(event["TimerId"], False, None, self.by_seq, f"{kind.name} {event}")
            elif kind == EventType.EVENT_RAISED:
                self._raised(event)
        new = sorted(self.pending.values(), key=lambda d: d.seq)
        return ReplayOutcome(new=new, issued=len(self.issued), unreached=len(self.actions) - self.invoked_top,
                             finished=top is not None and top.done, duplicates=self.duplicates,
                             open_timers=[d for d in self.timers if not d.future.done])

    def _raised(self, event: dict[str, Any]) -> None:
        name = event["Name"]
        if name in self.by_request:
            response = json.loads(event["Input"])
            self._settle(name, "exceptionType" in response, response.get("result"), self.by_request, f"response {name}")
            return
        waiting = [f for f in self.external.get(name, []) if not f.done]
        if waiting:
            waiting[0].settle(False, event.get("Input"))
        else:  # buffered until a waiter asks (the Durable extension's buffered external events)
            self.buffered.setdefault(name, []).append(event.get("Input"))


def _when_all(children: list[Future]) -> Future:
    """.NET Task.WhenAll: settles when every child has settled; failed if any failed."""
    result = Future()
    remaining = [len(children)]

    def one_done(_: Future) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            failures = [c.value for c in children if c.failed]
            result.settle(bool(failures), failures[0] if failures else [c.value for c in children])

    if not children:
        result.settle(False, [])
    for child in children:
        if child.done:
            one_done(child)
        else:
            child.callbacks.append(one_done)
    return result


def _when_any(children: list[Future]) -> Future:
    result = Future()
    for child in children:
        if child.done:
            result.settle(False, child)
        else:
            child.callbacks.append(lambda c: result.settle(False, c))
    return result
