"""The orchestration context the orchestrators and their helpers use, as a typing.Protocol.

It is the subset of azure-functions-durable's ``DurableOrchestrationContext``
(Azure/azure-functions-durable-python, azure/durable_functions/models/DurableOrchestrationContext.py)
that this app calls. Naming it keeps helper signatures honest (no ``Any``) and lets the local
engine's adapter, the replay harness and the real context all stand behind one type.
A task is whatever the runtime yields back on; the helpers only pass tasks to ``yield``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

Task = Any  # the runtime's task object: only ever yielded or handed to task_all / task_any


class OrchestrationContext(Protocol):
    @property
    def instance_id(self) -> str: ...

    @property
    def current_utc_datetime(self) -> datetime: ...

    @property
    def is_replaying(self) -> bool: ...

    def get_input(self) -> Any: ...

    def set_custom_status(self, status: Any) -> None: ...

    def call_activity(self, name: str, input_: Any = None) -> Task: ...

    def call_activity_with_retry(self, name: str, retry_options: Any, input_: Any = None) -> Task: ...

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Task: ...

    def call_entity(self, entityId: Any, operationName: str, operationInput: Any = None) -> Task: ...

    def signal_entity(self, entityId: Any, operationName: str, operationInput: Any = None) -> Any: ...

    def create_timer(self, fire_at: datetime) -> Task: ...

    def wait_for_external_event(self, name: str) -> Task: ...

    def task_all(self, activities: list[Task]) -> Task: ...

    def task_any(self, activities: list[Task]) -> Task: ...

    def continue_as_new(self, input_: Any) -> None: ...
