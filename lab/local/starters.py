"""Invoking the app's starter functions the way the Functions host does.

A starter's durable client parameter receives the binding JSON string (a Python object
is refused by the SDK's client middleware, which builds the real
``DurableOrchestrationClient`` from it). The JSON has the shape the host sends:
``taskHubName``, ``creationUrls``, ``managementUrls`` with the ``INSTANCEID``
placeholder, and ``rpcBaseUrl`` (ending in ``/``) where the classic client sends its
HTTP calls; here that is the engine's local durable API.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from azure.functions.timer import TimerRequest

from lab.local.functions import Starter
from lab.local.loop import retire_foreign_session

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
INSTANCE_PLACEHOLDER = "INSTANCEID"
CONNECTION = "Storage"


def management_urls(base: str, task_hub: str, instance_id: str) -> dict[str, str]:
    """The extension's per-instance URLs under ``base`` (the webhook root, no trailing slash)."""
    query = f"taskHub={task_hub}&connection={CONNECTION}"
    instance = f"{base}/instances/{instance_id}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{instance}?{query}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{instance}?{query}",
        "restartPostUri": f"{instance}/restart?{query}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
    }


def client_binding(*, task_hub: str, rpc_base_url: str, origin: str) -> str:
    """The durable client binding JSON for a starter, webhooks on ``origin`` (``http://host:port``)."""
    base = origin.rstrip("/") + WEBHOOK_PATH
    query = f"taskHub={task_hub}&connection={CONNECTION}"
    create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    return json.dumps({
        "taskHubName": task_hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{create}?{query}",
            "createAndWaitOnNewInstancePostUri":
                f"{create}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{query}",
        },
        "managementUrls": management_urls(base, task_hub, INSTANCE_PLACEHOLDER),
        "baseUrl": base,
        "requiredQueryStringParameters": query,
        "rpcBaseUrl": rpc_base_url if rpc_base_url.endswith("/") else rpc_base_url + "/",
        "httpBaseUrl": "",
    })


class InvocationContext(func.Context):
    """The ``context`` argument a function may declare (invocation id, name, directory)."""

    def __init__(self, function_name: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return "."

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None

    @property
    def thread_local_storage(self) -> Any:
        return None


def timer_request(*, past_due: bool, last: datetime | None, next_fire: datetime | None) -> TimerRequest:
    """A ``TimerRequest`` as the host's timer binding decodes it."""
    def iso(value: datetime | None) -> str:
        return (value or datetime(1, 1, 1, tzinfo=UTC)).isoformat()

    return TimerRequest(
        past_due=past_due,
        schedule_status={"Last": iso(last), "Next": iso(next_fire), "LastUpdated": iso(last)},
        schedule={"AdjustForDST": True},
    )


async def invoke(starter: Starter, trigger_value: Any, binding_json: str) -> Any:
    """Call the starter with its trigger value and the client binding; return what it returns."""
    await retire_foreign_session()
    kwargs: dict[str, Any] = {starter.trigger_param: trigger_value}
    if starter.client_param:
        kwargs[starter.client_param] = binding_json
    if "context" in inspect.signature(starter.call).parameters and "context" not in kwargs:
        kwargs["context"] = InvocationContext(starter.name)
    if inspect.iscoroutinefunction(starter.call):
        return await starter.call(**kwargs)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, functools.partial(starter.call, **kwargs))
    return await result if inspect.isawaitable(result) else result
