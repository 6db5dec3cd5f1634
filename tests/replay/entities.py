"""Entities run through the SDK's own entity code (``Entity.create`` handle), one operation a batch.

The host keeps an entity's state as the JSON text the SDK returned (``entityState``) and
hands it back in the next batch (``{"self", "state", "exists", "batch": [{"name", "input"}]}``).
An operation's ``input`` is the request's input field: the action's JSON text serialized
once more (the SDK's entity context ``json.loads`` and then ``df_loads`` it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import EnitityTriggerConverter


class EntityError(AssertionError):
    """The driver cannot run this entity (unknown name, malformed answer)."""


@dataclass
class EntityRecord:
    name: str
    key: str
    state_json: str | None = None
    exists: bool = False
    operations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state(self) -> Any:
        return json.loads(self.state_json) if self.exists and self.state_json is not None else None


@dataclass
class EntityResult:
    result_json: str
    is_error: bool


def split_scheduler_id(scheduler_id: str) -> tuple[str, str]:
    """``@name@key`` -> (name, key); the SDK lower-cases the name when it builds the id."""
    if not scheduler_id.startswith("@") or scheduler_id.count("@") < 2:
        raise EntityError(f"not an entity scheduler id: {scheduler_id!r}")
    name, key = scheduler_id[1:].split("@", 1)
    return name, key


class EntityHost:
    """Every entity instance the orchestrations touched, with its operations in order."""

    def __init__(self, handles: dict[str, Callable[[Any], str]]) -> None:
        self.handles = handles
        self.records: dict[str, EntityRecord] = {}

    def record(self, scheduler_id: str) -> EntityRecord:
        if scheduler_id not in self.records:
            name, key = split_scheduler_id(scheduler_id)
            self.records[scheduler_id] = EntityRecord(name, key)
        return self.records[scheduler_id]

    def execute(self, scheduler_id: str, operation: str, request_input: str | None, caller: str, signal: bool,
                at: datetime) -> EntityResult:
        record = self.record(scheduler_id)
        handle = self.handles.get(record.name)
        if handle is None:
            raise EntityError(f"no entity function named {record.name!r} in the app (known: {sorted(self.handles)})")
        body = {
            "self": {"name": record.name, "key": record.key},
            "state": record.state_json if record.exists else None,
            "exists": record.exists,
            "batch": [{"name": operation, "input": request_input}],
        }
        context = EnitityTriggerConverter.decode(meta.Datum(type="json", value=json.dumps(body)), trigger_metadata=None)
        answer = json.loads(EnitityTriggerConverter.encode(handle(context), expected_type=None).value)
        if len(answer.get("results", [])) != 1:
            raise EntityError(f"entity {scheduler_id} answered {answer!r} to a batch of one")
        record.exists = bool(answer["entityExists"])
        record.state_json = answer["entityState"] if record.exists else None
        outcome = answer["results"][0]
        record.operations.append({
            "at": at.isoformat(), "caller": caller, "operation": operation, "signal": signal,
            "input": json.loads(json.loads(request_input)) if request_input else None,
            "result": json.loads(outcome["result"]) if outcome["result"] is not None else None,
            "isError": outcome["isError"],
        })
        return EntityResult(outcome["result"], bool(outcome["isError"]))
