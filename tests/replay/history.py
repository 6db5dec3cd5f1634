"""History events as the Durable extension serializes them for an out-of-process orchestrator.

The extension sends DTFx ``HistoryEvent`` objects through Json.NET with their .NET property
names (``EventType``, ``EventId``, ``IsPlayed``, ``Timestamp`` plus the event's own fields).
The Python SDK builds ``HistoryEvent(**event)`` from each dict and reads, per type:
``TaskScheduledId``/``Result``/``Reason``/``Details`` (task and sub-orchestration outcomes),
``TimerId`` (TimerFired), ``Name``/``Input`` (EventRaised; EventSent's ``Input`` carries the
entity request id) and ``Version`` (ExecutionStarted). Scheduling events carry the sequence
number of the decision as ``EventId``; completions carry ``EventId`` -1 and point at the
decision through ``TaskScheduledId`` or ``TimerId``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class EventType(IntEnum):
    """DTFx ``EventType`` numbers (the SDK's ``HistoryEventType`` has the same values)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16


# DTFx OrchestrationStatus numbers, used in ExecutionCompleted.
STATUS_COMPLETED = 1
STATUS_FAILED = 3

SCHEDULING = {
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    EventType.EVENT_SENT,
}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """A timestamp in the SDK's format (``fireAt`` of a CreateTimer action, ``Timestamp``)."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def _event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": stamp(at), **fields}


def orchestrator_started(at: datetime) -> dict[str, Any]:
    return _event(EventType.ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> dict[str, Any]:
    return _event(EventType.ORCHESTRATOR_COMPLETED, at)


def execution_started(
    at: datetime, name: str, instance_id: str, execution_id: str, input_json: str | None,
    parent: dict[str, Any] | None = None, version: str = "",
) -> dict[str, Any]:
    return _event(
        EventType.EXECUTION_STARTED, at,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent, Name=name, Version=version, Input=input_json, Tags=None,
    )


def execution_completed(at: datetime, status: int, result_json: str | None, failure: str | None = None) -> dict[str, Any]:
    details = {"ErrorType": "OrchestrationFailureException", "ErrorMessage": failure} if failure else None
    return _event(EventType.EXECUTION_COMPLETED, at, OrchestrationStatus=status, Result=result_json,
                  FailureDetails=details)


def task_scheduled(at: datetime, event_id: int, name: str, input_json: str | None) -> dict[str, Any]:
    return _event(EventType.TASK_SCHEDULED, at, event_id, Name=name, Version="", Input=input_json)


def task_completed(at: datetime, scheduled_id: int, result_json: str | None) -> dict[str, Any]:
    return _event(EventType.TASK_COMPLETED, at, TaskScheduledId=scheduled_id, Result=result_json)


def task_failed(at: datetime, scheduled_id: int, reason: str, details: str | None) -> dict[str, Any]:
    return _event(EventType.TASK_FAILED, at, TaskScheduledId=scheduled_id, Reason=reason, Details=details)


def timer_created(at: datetime, event_id: int, fire_at: datetime) -> dict[str, Any]:
    return _event(EventType.TIMER_CREATED, at, event_id, FireAt=stamp(fire_at))


def timer_fired(at: datetime, timer_id: int, fire_at: datetime) -> dict[str, Any]:
    return _event(EventType.TIMER_FIRED, at, TimerId=timer_id, FireAt=stamp(fire_at))


def sub_orchestration_created(at: datetime, event_id: int, name: str, instance_id: str,
                              input_json: str | None) -> dict[str, Any]:
    return _event(EventType.SUB_ORCHESTRATION_INSTANCE_CREATED, at, event_id, Name=name, Version="",
                  InstanceId=instance_id, Input=input_json)


def sub_orchestration_completed(at: datetime, scheduled_id: int, result_json: str | None) -> dict[str, Any]:
    return _event(EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, at, TaskScheduledId=scheduled_id, Result=result_json)


def sub_orchestration_failed(at: datetime, scheduled_id: int, reason: str, details: str | None) -> dict[str, Any]:
    return _event(EventType.SUB_ORCHESTRATION_INSTANCE_FAILED, at, TaskScheduledId=scheduled_id, Reason=reason,
                  Details=details)


def event_sent(at: datetime, event_id: int, target: str, name: str, input_json: str) -> dict[str, Any]:
    return _event(EventType.EVENT_SENT, at, event_id, InstanceId=target, Name=name, Input=input_json)


def event_raised(at: datetime, name: str, input_json: str | None) -> dict[str, Any]:
    return _event(EventType.EVENT_RAISED, at, Name=name, Input=input_json)


def entity_request(request_id: str, operation: str, input_json: str | None, parent: str, signal: bool,
                   at: datetime) -> str:
    """The extension's RequestMessage as sent to an entity (EventSent ``Input``, event name "op").

    ``input`` is the action's input (already JSON text) serialized once more, which is why the
    SDK's entity context calls ``json.loads`` and then ``df_loads`` on it.
    """
    return json.dumps({
        "op": operation, "signal": signal, "input": json.dumps(input_json) if input_json is not None else None,
        "id": request_id, "parent": parent, "timestamp": stamp(at),
    })


def entity_response(result_json: str, error_type: str | None = None) -> str:
    """The extension's ResponseMessage (EventRaised ``Input``): the result JSON inside JSON."""
    message: dict[str, Any] = {"result": result_json}
    if error_type:
        message["exceptionType"] = error_type
    return json.dumps(message)


def kind(event: dict[str, Any]) -> EventType:
    return EventType(event["EventType"])
