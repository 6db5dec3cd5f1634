"""A timestamped record of everything that happened to the sandbox cluster.

Tests read it in memory (``timeline.events("node")``) and ``write_jsonl`` keeps it for a
person. Each event has a sequence number, a monotonic time in seconds since the timeline
started (for ordering and durations) and a wall-clock time (for reading), a kind and data:

* ``node``: a node's state changed (unschedulable, ready, bootID, kernel, taints); ``changes``
  says old -> new, ``state`` is the full new state, ``actor`` who changed it when known
  ("scenario", "kubelet", "node-controller", "api" for anything that came through the API).
* ``eviction``: an eviction attempt and its HTTP status (201, 429, 500, 404...).
* ``pod_disrupted``: a Ready pod stopped counting as healthy (deleted, terminating or its
  node went down), with each covering PDB's healthy count after it and desiredHealthy.
* ``pod_deleted``: a pod object is gone from the API.
* ``run_command``: submitted / started / finished (with provisioningState and exit code).
* ``reboot``: a node went down / came up, and through which path (pod or vmss).
* ``arm``: ARM calls that change something (VMSS restart), and injected ARM faults.

The safety checks over a timeline live in lab.sandbox.invariants (which reads this module).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_actor = threading.local()


@dataclass(frozen=True)
class Event:
    seq: int
    t: float  # seconds since the timeline started (monotonic clock)
    wall: str  # ISO 8601 UTC with milliseconds
    kind: str
    data: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


class Timeline:
    """Thread-safe append-only event list (the servers, the kubelet and tests all write to it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._t0 = time.monotonic()
        self._listeners: list = []

    def now(self) -> float:
        return time.monotonic() - self._t0

    def record(self, kind: str, **data: Any) -> Event:
        wall = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            event = Event(len(self._events), self.now(), wall, kind, data)
            self._events.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def listen(self, callback) -> None:
        """Call ``callback(event)`` after every new event (used by tests that wait for one)."""
        with self._lock:
            self._listeners.append(callback)

    def events(self, kind: str | None = None, **match: Any) -> list[Event]:
        """Events of one kind (all when None) whose data has the given values."""
        with self._lock:
            events = list(self._events)
        return [e for e in events
                if (kind is None or e.kind == kind) and all(e.data.get(k) == v for k, v in match.items())]

    def node_states(self, node: str) -> list[dict[str, Any]]:
        """The successive states of one node, oldest first."""
        return [e.data["state"] for e in self.events("node", node=node)]

    def wait_for(self, predicate, timeout: float = 5.0, kind: str | None = None) -> Event | None:
        """Block until an event (already recorded or future) satisfies ``predicate``; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events(kind):
                if predicate(event):
                    return event
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def write_jsonl(self, path: str | Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for event in self.events():
                f.write(json.dumps(asdict(event), default=str) + "\n")

    @classmethod
    def read_jsonl(cls, path: str | Path) -> Timeline:
        timeline = cls()
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    raw = json.loads(line)
                    timeline._events.append(Event(raw["seq"], raw["t"], raw["wall"], raw["kind"], raw["data"]))
        return timeline


@contextlib.contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute the store changes made in this block (this thread) to ``actor``."""
    previous = getattr(_actor, "name", None)
    _actor.name = actor
    try:
        yield
    finally:
        _actor.name = previous


def current_actor(default: str = "api") -> str:
    return getattr(_actor, "name", None) or default

