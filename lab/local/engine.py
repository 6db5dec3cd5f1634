"""The local durable engine: the app's functions on durabletask's in-memory backend.

``LocalEngine(app)`` indexes the DFApp once, and ``start()`` brings up, all on
127.0.0.1: the in-memory backend (gRPC, a free port unless one is given), a
``TaskHubGrpcWorker`` with every orchestrator, activity and entity registered under its
function name (wrapped by ``local.adapter`` so the classic code runs unchanged), a
durabletask client, and the durable HTTP API that the starters' classic client calls.
``serve_http()`` adds the ``func start``-like front (with the host's admin route that fires
a timer function now); ``fire_timer()`` runs a timer starter now; ``start(run_timers=True)``
also fires them on their schedules, and ``next_fires()`` says when. A schedule that refers
to an app setting (``%REBOOTER_SCHEDULE%``) falls back to that setting's documented default
(``setting_defaults``; the app's own defaults unless given) when it is not set.
``activity_middleware(name, activity) -> activity`` (tests only) wraps each registered
activity callable ``(ctx, input) -> result``, e.g. to run every activity twice.

    engine = LocalEngine(app).start()
    front = engine.serve_http(host="127.0.0.1", port=7071)
    ...
    engine.stop()
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections import ChainMap
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from durabletask.client import OrchestrationQuery, OrchestrationState, OrchestrationStatus, TaskHubGrpcClient
from durabletask.worker import ConcurrencyOptions, TaskHubGrpcWorker

from lab.local.adapter import make_activity, make_entity, make_orchestrator
from lab.local.durable_api import DurableApi
from lab.local.durable_http import RPC_PATH, Server, build_api_app, build_front_app
from lab.local.functions import FunctionIndex, Starter, index_app
from lab.local.loop import LoopThread, install_loop_aware_session
from lab.local.loopback import LOOPBACK, LoopbackBackend
from lab.local.payloads import ClassicJsonConverter
from lab.local.starters import client_binding, invoke, timer_request
from lab.local.timers import Schedule, TimerScheduler

log = logging.getLogger(__name__)


def app_setting_defaults() -> dict[str, str]:
    """The documented defaults of the app's settings (rebooter.config.registry), by setting name."""
    from rebooter.config.registry import SETTINGS

    return {name: setting.default for name, setting in SETTINGS.items()}


class OrchestrationNonDeterminismError(RuntimeError):
    """An orchestration failed because its replay did not match its history."""

    def __init__(self, state: OrchestrationState) -> None:
        details = state.failure_details
        super().__init__(f"orchestration {state.instance_id!r} ({state.name}) is not deterministic: "
                         f"{details.message if details else 'no details'}")
        self.state = state


class _ShutdownNoise(logging.Filter):
    """Drops the worker's warning about its own stream being cancelled while the engine stops."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.stopping and "Error in work item stream" in record.getMessage())


_WORKER_LOG = logging.getLogger("lab.local.durabletask.worker")


class HttpFront:
    """A running front (``serve_http``): its address and a synchronous ``stop``."""

    def __init__(self, engine: LocalEngine, server: Server) -> None:
        self._engine = engine
        self._server = server

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self._server.origin

    url = origin

    def stop(self) -> None:
        self._engine._stop_front(self._server)


class LocalEngine:
    """Runs a DFApp's durable functions with no Functions host (see module docstring)."""

    def __init__(self, app: Any, *, port: int | None = None, task_hub: str = "LocalTaskHub",
                 thread_pool_workers: int = 32,
                 activity_middleware: Callable[[str, Callable[..., Any]], Callable[..., Any]] | None = None,
                 setting_defaults: Mapping[str, str] | None = None, dispatch_delay: float = 0.0) -> None:
        if not 0.0 <= dispatch_delay <= 10.0:
            raise ValueError(f"dispatch_delay: expected 0 to 10 seconds, got {dispatch_delay!r}")
        self.index: FunctionIndex = index_app(app)
        # Seconds added before every orchestrator episode and entity operation, like a backend's own
        # dispatch latency (the Durable Task Scheduler, the Azure Storage queues): the bench uses
        # it to show what each round trip costs in Azure. 0 by default.
        self._dispatch_delay = dispatch_delay
        self._setting_defaults = dict(app_setting_defaults() if setting_defaults is None else setting_defaults)
        self._admin_tasks: set[asyncio.Task] = set()
        self._activity_middleware = activity_middleware
        self.task_hub = task_hub
        self._grpc_port = port or 0
        self._thread_pool_workers = thread_pool_workers
        self._converter = ClassicJsonConverter()
        self._backend: LoopbackBackend | None = None
        self._worker: TaskHubGrpcWorker | None = None
        self._client: TaskHubGrpcClient | None = None
        self._loop: LoopThread | None = None
        self._api: DurableApi | None = None
        self._api_server: Server | None = None
        self._fronts: list[Server] = []
        self._scheduler: TimerScheduler | None = None
        self._noise = _ShutdownNoise()

    # -- lifecycle --------------------------------------------------------------------
    def start(self, *, run_timers: bool = False) -> LocalEngine:
        if self._backend is not None:
            raise RuntimeError("engine already started")
        _WORKER_LOG.addFilter(self._noise)
        install_loop_aware_session()
        try:
            self._backend = LoopbackBackend(self._grpc_port)
            address = self._backend.start()
            self._worker = self._make_worker(address)
            self._worker.start()
            self._client = TaskHubGrpcClient(host_address=address, data_converter=self._converter,
                                             logger=logging.getLogger("lab.local.durabletask.client"))
            self._loop = LoopThread().start()
            self._api = DurableApi(self._client, frozenset(self.index.orchestrators), self.task_hub)
            self._api_server = self._loop.run(Server(build_api_app(self._api), LOOPBACK, 0).start())
            if run_timers:
                self._start_timers()
        except BaseException:
            self.stop()
            raise
        return self

    def _make_worker(self, address: str) -> TaskHubGrpcWorker:
        worker = TaskHubGrpcWorker(
            host_address=address,
            data_converter=self._converter,
            concurrency_options=ConcurrencyOptions(maximum_thread_pool_workers=self._thread_pool_workers),
            logger=_WORKER_LOG,  # standard logging instead of the SDK's own stderr handler
        )
        registry = worker._registry  # by the Functions name; add_orchestrator would use __name__
        # (microsoft/durabletask-python, durabletask/worker.py: _Registry.add_named_orchestrator)
        for name, fn in self.index.orchestrators.items():
            registry.add_named_orchestrator(name, _delayed(make_orchestrator(fn), self._dispatch_delay))
        for name, (fn, param) in self.index.activities.items():
            activity = make_activity(fn, param)
            if self._activity_middleware is not None:
                activity = self._activity_middleware(name, activity)
            registry.add_named_activity(name, activity)
        for name, fn in self.index.entities.items():
            worker.add_entity(_delayed(make_entity(fn), self._dispatch_delay), name=name)
        return worker

    def _schedule(self, starter: Starter) -> Schedule:
        """The timer's schedule; an app-setting reference falls back to the setting's default."""
        return Schedule(starter.trigger.schedule, ChainMap(os.environ, self._setting_defaults))

    def _start_timers(self) -> None:
        schedules = {s.name: self._schedule(s) for s in self.index.timer_starters}
        startup = frozenset(s.name for s in self.index.timer_starters if getattr(s.trigger, "run_on_startup", False))

        def fire(name: str, past_due: bool, last: datetime | None, next_fire: datetime) -> object:
            return self.fire_timer(name, past_due=past_due, last=last, next_fire=next_fire)

        self._scheduler = TimerScheduler(schedules, fire, run_on_startup=startup).start()

    def next_fires(self) -> dict[str, tuple[str, datetime]]:
        """Each timer function's schedule expression and next fire time (UTC), as of now."""
        now = datetime.now(UTC)
        result = {}
        for starter in self.index.timer_starters:
            schedule = self._schedule(starter)
            result[starter.name] = (schedule.expression, schedule.next_after(now))
        return result

    def stop(self) -> None:
        """Stop timers, HTTP servers, worker and backend (safe to call more than once)."""
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        if self._loop is not None:
            for server in [*self._fronts, *([self._api_server] if self._api_server else [])]:
                self._loop.run(server.stop(), timeout=10)
            self._fronts, self._api_server = [], None
            self._loop.stop()
            self._loop = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._worker is not None:
            self._noise.stopping = True
            self._worker.stop()
            self._worker = None
        _WORKER_LOG.removeFilter(self._noise)
        if self._backend is not None:
            self._backend.stop(grace=0)
            self._backend = None

    def __enter__(self) -> LocalEngine:
        return self if self._backend is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- access -----------------------------------------------------------------------
    @property
    def client(self) -> TaskHubGrpcClient:
        if self._client is None:
            raise RuntimeError("engine not started")
        return self._client

    @property
    def grpc_address(self) -> str:
        if self._backend is None:
            raise RuntimeError("engine not started")
        return self._backend.address

    @property
    def rpc_base_url(self) -> str:
        """Where the classic client sends its calls (the binding's ``rpcBaseUrl``)."""
        if self._api_server is None:
            raise RuntimeError("engine not started")
        return f"{self._api_server.origin}{RPC_PATH}/"

    def binding_json(self, origin: str | None = None) -> str:
        """The durable client binding JSON, with webhook URLs on ``origin`` (default: the API listener)."""
        if origin is None:
            origin = self._fronts[0].origin if self._fronts else self.rpc_base_url[: -len(RPC_PATH) - 1]
        return client_binding(task_hub=self.task_hub, rpc_base_url=self.rpc_base_url, origin=origin)

    # -- triggers ---------------------------------------------------------------------
    def serve_http(self, host: str = LOOPBACK, port: int = 7071, *, route_prefix: str = "api") -> HttpFront:
        """Serve the app's HTTP functions and the status webhooks on ``host:port`` (loopback only; 0 = any free port)."""
        if self._loop is None or self._api is None:
            raise RuntimeError("engine not started")
        app = build_front_app(self._api, self.index.http_starters, self.binding_json, route_prefix,
                              admin_fire=self._admin_fire)
        server = self._loop.run(Server(app, host, port).start(), timeout=10)
        self._fronts.append(server)
        return HttpFront(self, server)

    def _stop_front(self, server: Server) -> None:
        if server in self._fronts and self._loop is not None:
            self._fronts.remove(server)
            self._loop.run(server.stop(), timeout=10)

    def fire_timer(self, function_name: str, *, past_due: bool = False, last: datetime | None = None,
                   next_fire: datetime | None = None, timeout: float | None = 60) -> Any:
        """Run a timer-triggered function now, with a ``TimerRequest`` and the durable client binding."""
        starter = self._timer(function_name)
        if self._loop is None:
            raise RuntimeError("engine not started")
        if next_fire is None:
            next_fire = self._schedule(starter).next_after(datetime.now(UTC))
        request = timer_request(past_due=past_due, last=last, next_fire=next_fire)
        return self._loop.run(invoke(starter, request, self.binding_json()), timeout)

    def _admin_fire(self, function_name: str) -> None:
        """``POST /admin/functions/{name}``: start the timer function now, without waiting for it
        (the host answers 202 at once). Raises ValueError for a name that is not a timer function."""
        starter = self._timer(function_name)
        request = timer_request(past_due=False, last=None, next_fire=self._schedule(starter).next_after(datetime.now(UTC)))

        async def run() -> None:
            try:
                await invoke(starter, request, self.binding_json())
            except Exception:
                log.exception("timer function %s failed (fired through the admin route)", starter.name)

        task = asyncio.get_running_loop().create_task(run())
        self._admin_tasks.add(task)
        task.add_done_callback(self._admin_tasks.discard)

    def _timer(self, name: str) -> Starter:
        starter = self.index.starters.get(name)
        if starter is None:  # function names are case-insensitive in the Functions host
            starter = next((s for n, s in self.index.starters.items() if n.lower() == name.lower()), None)
        if starter is None or starter.kind != "timer":
            known = ", ".join(s.name for s in self.index.timer_starters) or "none"
            raise ValueError(f"no timer function named {name!r} (timer functions: {known})")
        return starter

    # -- waiting (tests, CLI) ---------------------------------------------------------
    def wait_for_completion(self, instance_id: str, timeout: float = 10.0) -> OrchestrationState:
        """Wait until the instance finishes; a replay mismatch raises ``OrchestrationNonDeterminismError``."""
        state = self.client.wait_for_orchestration_completion(instance_id, timeout=timeout)
        if state is None:
            raise KeyError(f"no orchestration instance {instance_id!r}")
        details = state.failure_details
        if (state.runtime_status == OrchestrationStatus.FAILED and details is not None
                and (details.error_type or "").endswith("NonDeterminismError")):
            raise OrchestrationNonDeterminismError(state)
        return state

    def wait_idle(self, timeout: float = 10.0, poll: float = 0.05) -> None:
        """Wait until no orchestration is Pending or Running (suspended ones are ignored)."""
        query = OrchestrationQuery(runtime_status=[OrchestrationStatus.PENDING, OrchestrationStatus.RUNNING])
        deadline = time.monotonic() + timeout
        while True:
            busy = [s.instance_id for s in self.client.get_all_orchestration_states(query)]
            if not busy:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"orchestrations still running after {timeout}s: {', '.join(busy)}")
            time.sleep(poll)


def _delayed(fn: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    """``fn`` called ``seconds`` later on the worker thread that dispatched it (durabletask runs
    orchestrator episodes and entity operations on its thread pool, so dispatches overlap as they
    would in a backend; microsoft/durabletask-python durabletask/worker.py)."""
    if seconds <= 0:
        return fn

    @functools.wraps(fn)
    def delayed(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return fn(*args, **kwargs)

    return delayed
