"""The app on the local engine, as the benchmarks drive it: settings, HTTP front, counters, waiting.

``BenchEngine(settings)`` sets the app settings in the environment (as LocalStack does), starts
``local.LocalEngine`` on function_app's functions with ``bench.instrument`` counting every
episode, activity and entity operation, and serves the app's HTTP API on a free loopback port.
Cycles are started through that API (``POST /api/patch-cycles``) or the timer function, as an
operator or the hourly schedule would; states are read with the engine's durabletask client,
which is cheaper than the HTTP status route when fifty cycles are watched at once.

``fakes`` (name -> fn(payload)) replaces activities, for sizes where a sandbox would measure
the sandbox rather than the app (tests/replay/fakes.py has the shapes).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from lab.bench.instrument import Instruments, install, uninstall
from rebooter.arm import clients

TERMINAL = {"COMPLETED", "FAILED", "TERMINATED", "CANCELED"}
WORKER_LOGGER = "lab.local.durabletask.worker"  # where local.engine sends durabletask's worker logs


class EngineStuck(RuntimeError):
    """The engine reported an error it does not recover from (e.g. a work item over gRPC's size limit)."""


class _Errors(logging.Handler):
    """Keeps the worker's warnings and errors, so a wait can stop instead of hanging."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:2000])

    def fatal(self) -> str | None:
        return next((m for m in self.messages if "RESOURCE_EXHAUSTED" in m), None)


@dataclass
class Watch:
    """What was seen of one instance while waiting: custom-status steps with their times."""

    instance_id: str
    started: float  # time.monotonic() when the start request was sent
    started_wall: str  # ISO 8601 UTC
    steps: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, step)
    status: str = ""
    finished: float | None = None  # seconds since start
    output: Any = None
    custom: Any = None  # the last custom status read

    @property
    def started_epoch(self) -> float:
        return datetime.fromisoformat(self.started_wall).timestamp()

    def left(self, step: str) -> float | None:
        """Seconds from the start until the custom status was first seen past ``step`` (None: never seen)."""
        seen = False
        for at, name in self.steps:
            if name == step:
                seen = True
            elif seen:
                return at
        return None


def _decode(raw: str | None) -> Any:
    if not raw:
        return None
    value = json.loads(raw)
    return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value


class BenchEngine:
    def __init__(self, settings: Mapping[str, str], fakes: Mapping[str, Callable[[Any], Any]] | None = None,
                 dispatch_delay: float = 0.0) -> None:
        self.settings = dict(settings)
        self.dispatch_delay = dispatch_delay
        self.fakes = dict(fakes or {})
        self.instruments = Instruments()
        self.engine: Any = None
        self.front: Any = None
        self._saved: dict[str, str | None] = {}
        self.errors = _Errors()

    def start(self) -> BenchEngine:
        from lab.local.engine import LocalEngine
        from lab.local.stack import load_app

        self._saved = {key: os.environ.get(key) for key in self.settings}
        os.environ.update(self.settings)
        clients.reset()
        self.engine = LocalEngine(load_app(), dispatch_delay=self.dispatch_delay)
        for name, fake in self.fakes.items():
            if name not in self.engine.index.activities:
                raise KeyError(f"the app has no activity {name!r} to replace")
            self.engine.index.activities[name] = (_fake(fake), "payload")
        install(self.engine.index, self.instruments)
        logging.getLogger(WORKER_LOGGER).addHandler(self.errors)
        self.engine.start()
        self.front = self.engine.serve_http(host="127.0.0.1", port=0)
        return self

    def stop(self) -> None:
        logging.getLogger(WORKER_LOGGER).removeHandler(self.errors)
        for part in (self.front, self.engine):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - keep tearing down
                    pass
        self.front = self.engine = None
        uninstall()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clients.reset()

    def __enter__(self) -> BenchEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- starting ---------------------------------------------------------------------
    def start_cycle(self, cluster_id: str, **body: Any) -> Watch:
        """POST /api/patch-cycles, as an operator would; the watch starts when the request is sent."""
        began, wall = time.monotonic(), datetime.now(UTC).isoformat()
        answer = requests.post(f"{self.front.origin}/api/patch-cycles", json={"cluster": cluster_id, **body},
                               timeout=60)
        if answer.status_code != 202:
            raise RuntimeError(f"start refused: {answer.status_code} {answer.text[:300]}")
        return Watch(answer.json()["id"], began, wall)

    def fire_timer(self) -> list[Watch]:
        """Run the timer function now: one cycle per configured cluster (the hourly path)."""
        from rebooter.config import cycle_request, settings

        began, wall = time.monotonic(), datetime.now(UTC).isoformat()
        self.engine.fire_timer("scheduled_patch_cycles", timeout=300)
        return [Watch(cycle_request.instance_id(c), began, wall) for c in settings.load()["clusters"]]

    # -- watching ---------------------------------------------------------------------
    def poll(self, watch: Watch, payloads: bool = True) -> bool:
        """Read the instance once; record a new custom-status step; True when it has finished."""
        state = self.engine.client.get_orchestration_state(watch.instance_id, fetch_payloads=payloads)
        now = time.monotonic() - watch.started
        if state is None:
            return False
        if payloads:
            custom = watch.custom = _decode(state.serialized_custom_status)
            step = custom.get("step") if isinstance(custom, dict) else None
            if step and (not watch.steps or watch.steps[-1][1] != step):
                watch.steps.append((round(now, 3), step))
        status = state.runtime_status.name
        if status in TERMINAL:
            watch.status, watch.finished = status, round(now, 3)
            if payloads:
                watch.output = _decode(state.serialized_output)
            return True
        return False

    def wait(self, watches: list[Watch], timeout: float, interval: float = 0.05, payloads: bool = True) -> None:
        """Poll every unfinished watch until all are done; ``finished`` is exact to ``interval``."""
        deadline = time.monotonic() + timeout
        pending = list(watches)
        while pending:
            pending = [w for w in pending if not self.poll(w, payloads)]
            if not pending:
                break
            fatal = self.errors.fatal()
            if fatal:
                raise EngineStuck(fatal.splitlines()[0] + " " + " ".join(
                    line.strip() for line in fatal.splitlines() if "details" in line))
            if time.monotonic() > deadline:
                raise TimeoutError(f"still running after {timeout}s: {[w.instance_id for w in pending][:5]}")
            time.sleep(interval)
        if not payloads:
            for watch in watches:
                state = self.engine.client.get_orchestration_state(watch.instance_id, fetch_payloads=True)
                watch.output = _decode(state.serialized_output) if state else None


def _fake(fn: Callable[[Any], Any]) -> Callable[..., Any]:
    def activity(payload: Any) -> Any:
        return fn(payload)

    return activity
