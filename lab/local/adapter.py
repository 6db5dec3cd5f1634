"""Classic Durable Functions contexts on top of durabletask's.

The app's orchestrators and entities are written against azure-functions-durable 1.x
(``DurableOrchestrationContext`` / ``DurableEntityContext``). Locally they run inside
durabletask's worker, so each invocation gets an adapter presenting the subset of the
classic API the app uses. Every task the adapter hands out is a durabletask ``Task``
(the worker only resumes generators on those), and a thin driver generator sits
between the worker and the user's generator to translate failures into what the
classic SDK raises. Mismatches absorbed here (read in Azure/azure-functions-durable-python and
microsoft/durabletask-python; tests/lab/local pins each one):

- ``current_utc_datetime`` is timezone-aware UTC (durabletask: naive UTC);
- a failed activity / sub-orchestration / entity call reaches the orchestrator as a
  plain ``Exception`` whose message carries the original type and message
  (durabletask: ``TaskFailedError``);
- ``task_all`` fails as soon as one child fails (durabletask waits for all);
- an entity operation that raises keeps the state changes it made before raising, and
  ``get_state`` returns the same object for the whole operation (durabletask rolls
  back and hands out fresh copies);
- ``df.RetryOptions`` becomes a durabletask ``RetryPolicy`` (backoff coefficient 1,
  like the Durable extension's default);
- ``is_replaying`` is read live from the engine at every access;
- ``task_all([])`` / ``task_any([])`` succeed at once with None, and yielding a task that
  has already finished returns its result at once (durabletask would wait forever when
  such a task is the first one yielded).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from types import GeneratorType
from typing import Any
from uuid import UUID

from azure.durable_functions import EntityId, RetryOptions
from durabletask import task as dt
from durabletask.entities import EntityContext, EntityInstanceId

# An entity operation that raised returns this marker instead of failing, so that the
# state it left behind is kept (classic semantics); the caller's task turns it back
# into a failure. The key cannot collide with a JSON result the app produces.
ENTITY_ERROR_KEY = "__local_durable_entity_error__"


def function_name(target: Any) -> str:
    """Name of a function referenced by string or by its v2 ``FunctionBuilder``."""
    if isinstance(target, str):
        return target
    inner = getattr(target, "_function", None)
    name = getattr(inner, "_name", None)
    if not name:
        raise ValueError(f"cannot tell which function {target!r} refers to; pass its name as a string")
    return name


def retry_policy(options: RetryOptions) -> dt.RetryPolicy:
    """``df.RetryOptions`` as durabletask's policy (the extension's backoff coefficient is 1)."""
    return dt.RetryPolicy(
        first_retry_interval=timedelta(milliseconds=options.first_retry_interval_in_milliseconds),
        max_number_of_attempts=options.max_number_of_attempts,
        backoff_coefficient=1.0,
    )


def entity_instance_id(entity_id: EntityId) -> EntityInstanceId:
    """durabletask's id for a classic ``EntityId`` (names are lower-cased by both)."""
    if "@" in entity_id.name or "@" in entity_id.key:
        raise ValueError(f"entity name and key may not contain '@' (got {entity_id.name!r}, {entity_id.key!r})")
    return EntityInstanceId(entity_id.name, entity_id.key)


class _FailFastWhenAll(dt.WhenAllTask[Any]):
    """``task_all`` with classic semantics: the first failing child fails the whole task."""

    def on_child_completed(self, task: dt.Task[Any]) -> None:
        if self.is_complete:
            return
        if task.is_failed:
            self._is_complete = True
            self._exception = task.get_exception()
            self._notify_parent()
            return
        super().on_child_completed(task)


class _EntityCallTask(dt.CompletableTask[Any]):
    """A ``call_entity`` task that fails when the entity reports a (classic) operation error."""

    def complete(self, result: Any) -> None:
        if isinstance(result, dict) and set(result) == {ENTITY_ERROR_KEY}:
            message = str(result[ENTITY_ERROR_KEY])
            self.fail(message, Exception(message))
            return
        super().complete(result)


def _completed(value: Any) -> dt.Task[Any]:
    """An already-finished task: classic ``task_all([])`` / ``task_any([])`` succeed at once with None
    (durabletask's would never complete)."""
    task: dt.CompletableTask[Any] = dt.CompletableTask()
    task.complete(value)
    return task


class OrchestrationContextAdapter:
    """The part of ``DurableOrchestrationContext`` the app uses, over durabletask's context."""

    def __init__(self, ctx: dt.OrchestrationContext, input_value: Any) -> None:
        self._ctx = ctx
        self._input = input_value
        self._custom_status: Any = None
        self._continue_as_new = False
        # (task, label) for every task handed out, to name the function in failure messages.
        self._labels: list[tuple[dt.Task[Any], str | None]] = []
        self._timers: list[dt.Task[Any]] = []

    # -- properties -------------------------------------------------------------------
    @property
    def instance_id(self) -> str:
        return self._ctx.instance_id

    @property
    def parent_instance_id(self) -> str | None:
        return self._ctx.parent_instance_id

    @property
    def is_replaying(self) -> bool:
        return self._ctx.is_replaying

    @property
    def current_utc_datetime(self) -> datetime:
        return self._ctx.current_utc_datetime.replace(tzinfo=UTC)

    @property
    def custom_status(self) -> Any:
        return self._custom_status

    @property
    def will_continue_as_new(self) -> bool:
        return self._continue_as_new

    def get_input(self, expected_type: type | None = None) -> Any:
        """The orchestration input, decoded like ``df_loads`` (``expected_type`` is not enforced)."""
        return self._input

    # -- scheduling -------------------------------------------------------------------
    def _track(self, task: dt.Task[Any], label: str | None) -> dt.Task[Any]:
        self._labels.append((task, label))
        return task

    def call_activity(self, name: Any, input_: Any = None, expected_type: type | None = None) -> dt.Task[Any]:
        fn = function_name(name)
        return self._track(self._ctx.call_activity(fn, input=input_), f"Activity function '{fn}'")

    def call_activity_with_retry(self, name: Any, retry_options: RetryOptions, input_: Any = None,
                                 expected_type: type | None = None) -> dt.Task[Any]:
        fn = function_name(name)
        task = self._ctx.call_activity(fn, input=input_, retry_policy=retry_policy(retry_options))
        return self._track(task, f"Activity function '{fn}'")

    def call_sub_orchestrator(self, name: Any, input_: Any = None, instance_id: str | None = None,
                              version: str | None = None, expected_type: type | None = None) -> dt.Task[Any]:
        fn = function_name(name)
        task = self._ctx.call_sub_orchestrator(fn, input=input_, instance_id=instance_id)
        return self._track(task, f"Orchestrator function '{fn}'")

    def call_sub_orchestrator_with_retry(self, name: Any, retry_options: RetryOptions, input_: Any = None,
                                         instance_id: str | None = None, version: str | None = None,
                                         expected_type: type | None = None) -> dt.Task[Any]:
        fn = function_name(name)
        task = self._ctx.call_sub_orchestrator(fn, input=input_, instance_id=instance_id,
                                               retry_policy=retry_policy(retry_options))
        return self._track(task, f"Orchestrator function '{fn}'")

    def create_timer(self, fire_at: datetime) -> dt.Task[Any]:
        timer = self._ctx.create_timer(fire_at)
        self._timers.append(timer)
        return timer

    def outstanding_timers(self) -> list[dt.Task[Any]]:
        """Timers created and neither fired nor cancelled (a cancelled durabletask timer is complete)."""
        return [t for t in self._timers if not t.is_complete]

    def task_all(self, activities: list[dt.Task[Any]]) -> dt.Task[Any]:
        return _FailFastWhenAll(list(activities)) if activities else _completed(None)

    def task_any(self, activities: list[dt.Task[Any]]) -> dt.Task[Any]:
        return dt.when_any(list(activities)) if activities else _completed(None)

    def call_entity(self, entityId: EntityId, operationName: str, operationInput: Any = None,
                    expected_type: type | None = None) -> dt.Task[Any]:
        task = self._ctx.call_entity(entity_instance_id(entityId), operationName, operationInput)
        task.__class__ = _EntityCallTask  # same object the engine completes; only complete() changes
        return self._track(task, None)

    def signal_entity(self, entityId: EntityId, operationName: str, operationInput: Any = None) -> None:
        self._ctx.signal_entity(entity_instance_id(entityId), operationName, operationInput)

    def wait_for_external_event(self, name: str, expected_type: type | None = None) -> dt.Task[Any]:
        return self._ctx.wait_for_external_event(name)

    def set_custom_status(self, status: Any) -> None:
        self._custom_status = status
        self._ctx.set_custom_status(status)

    def new_uuid(self) -> str:
        return self._ctx.new_uuid()

    def new_guid(self) -> UUID:
        return UUID(self._ctx.new_uuid())

    def continue_as_new(self, input_: Any) -> None:
        self._continue_as_new = True
        self._ctx.continue_as_new(input_)

    # -- failures ---------------------------------------------------------------------
    def classic_exception(self, error: dt.TaskFailedError) -> Exception:
        """The plain ``Exception`` the classic SDK would raise for this task failure."""
        details = error.details
        message = details.message
        label = ""
        for task, task_label in self._labels:
            if task.is_failed and task.get_exception() is error:
                if task_label is None:  # entity call: classic raises the operation's message as is
                    return Exception(message)
                label = task_label
                break
        error_type = (details.error_type or "Exception").removeprefix("builtins.")
        text = f"{error_type}: {message}"
        return Exception(f"{label} failed: {text}" if label else text)


def drive(user_gen: Generator[Any, Any, Any], adapter: OrchestrationContextAdapter) -> Generator[Any, Any, Any]:
    """Relay between durabletask's executor and the user's generator, translating failures.

    A task that is already finished when yielded (``task_all([])``, a task yielded twice)
    is answered here, as the classic SDK does: durabletask would wait for an event that
    never comes when such a task is the first one yielded.
    """
    send_value: Any = None
    throw_value: BaseException | None = None
    while True:
        try:
            if throw_value is not None:
                yielded = user_gen.throw(throw_value)
            else:
                yielded = user_gen.send(send_value)
        except StopIteration as stop:
            # Azure's rule, which durabletask does not apply: an orchestration whose function
            # returned stays Running until every durable timer it created has fired or been
            # cancelled (Microsoft Learn, "Timers in Durable Functions"). Waiting for them here makes
            # a timer left behind as visible locally (a cycle Running, its cluster at 409) as in Azure.
            pending = [] if adapter.will_continue_as_new else adapter.outstanding_timers()
            if pending:
                yield dt.when_all(pending)
            return stop.value
        send_value, throw_value = None, None
        try:
            if isinstance(yielded, dt.Task) and yielded.is_complete:
                send_value = yielded.get_result()
            else:
                send_value = yield yielded
        except dt.TaskFailedError as error:
            throw_value = adapter.classic_exception(error)
        except dt.TaskCancelledError as error:
            throw_value = error


def make_orchestrator(user_fn: Callable[[Any], Any]) -> Callable[[dt.OrchestrationContext, Any], Any]:
    """durabletask orchestrator running a classic orchestrator function unchanged."""

    def orchestrator(ctx: dt.OrchestrationContext, input_value: Any) -> Any:
        adapter = OrchestrationContextAdapter(ctx, input_value)
        result = user_fn(adapter)
        if isinstance(result, GeneratorType):
            return drive(result, adapter)
        return result

    return orchestrator


def make_activity(user_fn: Callable[..., Any], param_name: str) -> Callable[[dt.ActivityContext, Any], Any]:
    """durabletask activity calling the user's function with its trigger parameter (sync or async)."""

    def activity(ctx: dt.ActivityContext, input_value: Any) -> Any:
        result = user_fn(**{param_name: input_value})
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return result

    return activity


async def _await(awaitable: Any) -> Any:
    return await awaitable


class EntityContextAdapter:
    """The part of ``DurableEntityContext`` the app uses, for one operation."""

    def __init__(self, name: str, key: str, operation: str, input_value: Any, state: Any) -> None:
        self._entity_name = name
        self._entity_key = key
        self._operation = operation
        self._input = input_value
        self._state = state
        self._exists = state is not None
        self._result: Any = None

    @property
    def entity_name(self) -> str:
        return self._entity_name

    @property
    def entity_key(self) -> str:
        return self._entity_key

    @property
    def operation_name(self) -> str:
        return self._operation

    @property
    def is_newly_constructed(self) -> bool:
        return False

    def get_input(self, expected_type: type | None = None) -> Any:
        return self._input

    def get_state(self, initializer: Callable[[], Any] | None = None, expected_type: type | None = None) -> Any:
        if self._state is not None:
            return self._state
        if initializer is not None:
            if not callable(initializer):
                raise Exception("initializer argument needs to be a callable function")
            return initializer()
        return None

    def set_state(self, state: Any) -> None:
        self._exists = True
        self._state = state

    def set_result(self, result: Any) -> None:
        self._exists = True
        self._result = result

    def destruct_on_exit(self) -> None:
        self._exists = False
        self._state = None


def make_entity(user_fn: Callable[[Any], Any]) -> Callable[[EntityContext, Any], Any]:
    """durabletask entity running a classic entity function with classic state semantics."""

    def entity(ctx: EntityContext, input_value: Any) -> Any:
        classic = EntityContextAdapter(ctx.entity_id.entity, ctx.entity_id.key, ctx.operation,
                                       input_value, ctx.get_state())
        error: str | None = None
        try:
            user_fn(classic)
        except Exception as exc:  # classic Entity.handle: the result becomes str(exc), state is kept
            error = str(exc)
        ctx.set_state(classic._state if classic._exists else None)
        if error is not None:
            return {ENTITY_ERROR_KEY: error}
        return classic._result

    return entity
