"""Activities as the Functions worker and the extension's TaskActivityShim run them.

The payload reaches the activity through the worker's ``ActivityTriggerConverter.decode`` and
the result goes back through ``encode`` (that JSON text is TaskCompleted's ``Result``). Here the
activity is the test's fake; the app must declare an activity of that name, or the call fails
as the extension fails a call to a function that does not exist.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from . import history as h

Fake = Callable[[Any], Any]
Latency = float | Mapping[str, float] | Callable[[str, Any], float]


class MissingFake(AssertionError):
    """The orchestrator called an activity the test gave no fake for."""


class ActivityWorker:
    def __init__(self, fakes: Mapping[str, Fake], declared: set[str], latency: Latency = 0.0) -> None:
        unknown = sorted(set(fakes) - declared)
        if unknown:
            raise MissingFake(f"fakes for activities the app does not have: {unknown}")
        self.fakes = dict(fakes)
        self.declared = declared
        self.latency = latency
        self.calls: list[dict[str, Any]] = []

    def seconds(self, name: str, payload: Any) -> timedelta:
        """How long a call takes on the virtual clock: one number, per activity, or per call."""
        value = self.latency
        if isinstance(value, Mapping):
            value = value.get(name, 0.0)
        elif callable(value):
            value = value(name, payload)
        return timedelta(seconds=float(value))

    def run(self, instance_id: str, seq: int, name: str, input_json: str | None,
            now: datetime) -> tuple[datetime, dict[str, Any]]:
        """Run one call; return when it ends and its TaskCompleted or TaskFailed event."""
        payload = ActivityTriggerConverter.decode(meta.Datum(type="json", value=input_json), trigger_metadata=None)
        done_at = now + self.seconds(name, payload)
        call: dict[str, Any] = {"instanceId": instance_id, "name": name, "seq": seq, "at": now.isoformat(),
                                "payload": payload}
        self.calls.append(call)
        if name not in self.declared:
            call["error"] = f"The activity function '{name}' doesn't exist, is disabled, or is not an activity function."
            return done_at, h.task_failed(done_at, seq, call["error"], None)
        fake = self.fakes.get(name)
        if fake is None:
            raise MissingFake(f"{instance_id} called activity {name!r} but the test gave no fake for it")
        try:
            result = fake(payload)
            result_json = ActivityTriggerConverter.encode(result, expected_type=None).value
        except Exception as exc:  # noqa: BLE001 - becomes TaskFailed, as in the extension
            call["error"] = f"{type(exc).__name__}: {exc}"
            reason, details = failure_text(name, exc)
            return done_at, h.task_failed(done_at, seq, reason, details)
        call["result"] = result
        return done_at, h.task_completed(done_at, seq, result_json)


def failure_text(name: str, exc: BaseException) -> tuple[str, str]:
    """TaskFailed ``Reason`` and ``Details`` as the extension (extension bundle 4.x) writes them.

    The Python worker reports ``RpcException("Failure", "<Type>: <message>", stack)``, whose
    message is ``Result: Failure\nException: <Type>: <message>\nStack: <stack>``.
    TaskActivityShim keeps the part between ``\nException:`` and ``\nStack:`` (its
    ``OutOfProcExceptionHelpers.TryGetExceptionWithFriendlyMessage``; the leading space stays),
    prefixes ``Activity function '<name>' failed: `` and serializes that exception, with the
    RpcException inside, into Details. The SDK hands the orchestrator
    ``Exception(f"{Reason} \n {Details}")``. (Extension versions without the friendly-message
    step put the whole RpcException message, ``Result: Failure`` first, in Reason.)
    """
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).strip()
    remote = f"{type(exc).__name__}: {exc}"
    rpc_message = f"Result: Failure\nException: {remote}\nStack: {stack}"
    friendly = f" {remote}"
    details = json.dumps({"$type": "System.Exception, System.Private.CoreLib", "ClassName": "System.Exception",
                          "Message": friendly, "InnerException": {
                              "$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, "
                                       "Microsoft.Azure.WebJobs.Script",
                              "Message": rpc_message, "RemoteMessage": remote, "RemoteStackTrace": stack}})
    return f"Activity function '{name}' failed: {friendly}", details
