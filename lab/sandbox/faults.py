"""Which injected fault (if any) applies to a request or a run-command, right now.

Faults come from the scenario (``faults:``) or are added while the sandbox runs
(``sandbox.faults.add(...)``, used by tests). A request-level fault applies inside its time
window (``start`` .. ``start + duration`` seconds after the sandbox started, or after it was
added), to matching methods and paths, at most ``count`` times.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable

from lab.sandbox.model import FaultSpec, Scenario
from lab.sandbox.scenario_parts import NodeResolver, read_faults
from lab.sandbox.schema import Errors, Reader


class FaultPlan:
    def __init__(self, faults: Iterable[FaultSpec] = (), scenario: Scenario | None = None) -> None:
        self.scenario = scenario  # lets add() resolve node references like "user/1"
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        # (fault, absolute start time, uses so far)
        self._faults: list[list] = [[f, None, 0] for f in faults]

    def start(self) -> None:
        """Anchor the scenario's fault windows at the moment the sandbox is up."""
        with self._lock:
            self._t0 = time.monotonic()

    def add(self, fault: FaultSpec | None = None, **fields) -> FaultSpec:
        """Inject a fault now: its ``start`` counts from this call.

        Either a FaultSpec, or the fields of a scenario's ``faults:`` entry as keywords
        (``add(type="kubeApiThrottle", retryAfter=2, count=3)``), validated the same way
        (ScenarioError on a bad field).
        """
        if fault is None:
            fault = self._parse(fields)
        elif fields:
            fault = dataclasses.replace(fault, **fields)
        with self._lock:
            self._faults.append([fault, time.monotonic(), 0])
        return fault

    def _parse(self, fields: dict) -> FaultSpec:
        errors = Errors()
        pools = list(self.scenario.pools) if self.scenario else []
        nodes = list(self.scenario.nodes) if self.scenario else []
        parsed = read_faults(errors, Reader(errors, {"faults": [fields]}, "", ("faults",)), NodeResolver(pools, nodes))
        errors.raise_if_any()
        return parsed[0]

    def clear(self) -> None:
        with self._lock:
            self._faults = [entry for entry in self._faults if entry[0].type.startswith("node")]

    def match(self, types: Iterable[str], method: str = "", path: str = "", command: str = "") -> FaultSpec | None:
        """The first active fault of one of ``types`` matching the request; consumes one use of it."""
        types = tuple(types)
        now = time.monotonic()
        with self._lock:
            for entry in self._faults:
                fault, anchor, used = entry
                if fault.type not in types:
                    continue
                begin = (anchor if anchor is not None else self._t0) + fault.start
                if now < begin or (fault.duration is not None and now >= begin + fault.duration):
                    continue
                if fault.count is not None and used >= fault.count:
                    continue
                if fault.methods and method.upper() not in fault.methods:
                    continue
                if fault.path and fault.path not in path:
                    continue
                if fault.command_contains and fault.command_contains not in command:
                    continue
                entry[2] = used + 1
                return fault
        return None

    def node_fault(self, node: str) -> str:
        """The last node fault (NODE_FAULTS) put on this node (scenario or added), or ""."""
        with self._lock:
            for fault, _, _ in reversed(self._faults):
                if fault.type.startswith("node") and node in fault.nodes:
                    return fault.type
        return ""

    def node_faults(self, node: str) -> set[str]:
        """Every node fault on this node (a node may both re-run its reboot pod and come back NotReady)."""
        with self._lock:
            return {fault.type for fault, _, _ in self._faults if fault.type.startswith("node") and node in fault.nodes}
