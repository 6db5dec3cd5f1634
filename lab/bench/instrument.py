"""Counting what the local engine does: episodes, orchestrator CPU, history, activities, entity operations.

Function invocations are what a Durable Functions app is billed and scaled by: every
orchestrator episode (one replay of the history up to the new events), every activity and
every entity operation. On the local engine they are counted here:

- orchestrator episodes, their thread CPU time and the history length each one replayed, by
  wrapping durabletask's ``_OrchestrationExecutor.execute`` (one call = one episode; the CPU
  covers durabletask's replay and the app's orchestrator code);
- activities and entity operations, by wrapping the functions in the engine's ``index``
  before it starts (the same objects it registers).

The executor patch reaches into durabletask's private worker class; it is measurement only
(the app never runs with it) and ``install`` checks the attribute exists.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from typing import Any

from durabletask import worker as dt_worker


class Instruments:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.episodes: Counter[str] = Counter()
        self.orchestrator_cpu: defaultdict[str, float] = defaultdict(float)
        self.history: dict[str, int] = {}  # instance id -> longest history replayed
        self.history_bytes: dict[str, int] = {}  # orchestrator name -> largest history (protobuf bytes)
        self.instance_names: dict[str, str] = {}
        self.episode_samples: list[tuple[str, int, float]] = []  # (name, history length, cpu seconds)
        self.activities: Counter[str] = Counter()
        self.entity_operations: Counter[str] = Counter()
        self.cpu: defaultdict[str, float] = defaultdict(float)  # "activities" / "entity_operations" -> thread CPU

    # -- recording ------------------------------------------------------------------
    def episode(self, instance_id: str, name: str, events: int, cpu: float, size: int = 0) -> None:
        with self._lock:
            self.history_bytes[name] = max(self.history_bytes.get(name, 0), size)
            self.episodes[name] += 1
            self.orchestrator_cpu[name] += cpu
            self.instance_names[instance_id] = name
            self.history[instance_id] = max(self.history.get(instance_id, 0), events)
            self.episode_samples.append((name, events, cpu))

    def reset(self) -> None:
        self.__init__()

    # -- reading --------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        with self._lock:
            by_name: dict[str, list[int]] = defaultdict(list)
            for iid, events in self.history.items():
                by_name[self.instance_names[iid]].append(events)
            return {
                "episodes": dict(self.episodes),
                "orchestratorCpuSeconds": {k: round(v, 4) for k, v in self.orchestrator_cpu.items()},
                "historyEvents": {k: sum(v) for k, v in by_name.items()},
                "longestHistory": {k: max(v) for k, v in by_name.items()},
                "largestHistoryBytes": dict(self.history_bytes),
                "instances": {k: len(v) for k, v in by_name.items()},
                "activities": dict(self.activities),
                "entityOperations": dict(self.entity_operations),
                "activityCpuSeconds": round(self.cpu["activities"], 3),
                "entityCpuSeconds": round(self.cpu["entity_operations"], 3),
                "invocations": sum(self.episodes.values()) + sum(self.activities.values())
                + sum(self.entity_operations.values()),
            }


_ACTIVE: list[Instruments] = []
_ORIGINAL: list[Any] = []  # durabletask's own execute while ours is installed


def _patch_executor() -> None:
    if _ORIGINAL:
        return
    executor = getattr(dt_worker, "_OrchestrationExecutor", None)
    if executor is None or not hasattr(executor, "execute"):
        raise RuntimeError("durabletask changed: no _OrchestrationExecutor.execute to measure episodes with")
    original = executor.execute

    def execute(self: Any, instance_id: str, old_events: Any, new_events: Any) -> Any:
        began = time.thread_time()
        try:
            return original(self, instance_id, old_events, new_events)
        finally:
            spent = time.thread_time() - began
            name = _name(instance_id, old_events, new_events)
            size = sum(e.ByteSize() for e in old_events) + sum(e.ByteSize() for e in new_events)
            for inst in _ACTIVE:
                inst.episode(instance_id, name, len(old_events) + len(new_events), spent, size)

    _ORIGINAL.append(original)
    executor.execute = execute


_NAMES: dict[str, str] = {}


def _name(instance_id: str, old_events: Any, new_events: Any) -> str:
    """The orchestrator's name (executionStarted is in new_events on the first episode)."""
    name = _NAMES.get(instance_id)
    if name is None:
        name = next((e.executionStarted.name for events in (old_events, new_events) for e in events
                     if e.HasField("executionStarted")), "<unknown>")
        _NAMES[instance_id] = name
    return name


def uninstall() -> None:
    """Put durabletask's executor back (other engines in this process are not measured)."""
    _ACTIVE.clear()
    if _ORIGINAL:
        dt_worker._OrchestrationExecutor.execute = _ORIGINAL.pop()


def install(index: Any, instruments: Instruments) -> Instruments:
    """Count the functions of a ``local.functions.FunctionIndex`` (call before the engine starts)."""
    _patch_executor()
    _ACTIVE.clear()
    _ACTIVE.append(instruments)
    for name, (fn, param) in list(index.activities.items()):
        index.activities[name] = (_counted(fn, instruments, "activities", name), param)
    for name, fn in list(index.entities.items()):
        index.entities[name] = _counted(fn, instruments, "entity_operations", name)
    return instruments


def _counted(fn: Any, instruments: Instruments, kind: str, name: str) -> Any:
    """``fn`` counting its calls in ``instruments.<kind>`` (re-wrapping replaces an older count)."""
    if getattr(fn, "_bench_counted", False):
        fn = fn._bench_inner

    def call(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - began
            with instruments._lock:
                getattr(instruments, kind)[name] += 1
                instruments.cpu[kind] += spent

    call._bench_counted = True  # type: ignore[attr-defined]
    call._bench_inner = fn  # type: ignore[attr-defined]
    return call
