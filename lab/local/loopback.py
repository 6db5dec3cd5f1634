"""durabletask's in-memory backend, listening on 127.0.0.1 only.

``InMemoryOrchestrationBackend.start`` binds ``[::]`` (every interface), cannot take
port 0, and leaves gRPC's SO_REUSEPORT on, so two backends on one port both start and
split the traffic. This subclass replaces ``start``: loopback address, port 0 means
"let the kernel pick", reuse-port off, and a bind failure is an error.

It also replaces ``_wait_for_state``. durabletask (1.12.0) watches every sub-orchestration
from a thread calling ``_wait_for_state(..., timeout=None)`` and turns that "no timeout" into
``wait(timeout=30.0)``; when a child runs longer than 30 s the watcher gives up, the child's
completion never reaches its parent, and the parent stays Running forever (every patch_node
that drains, reboots or waits for health longer than 30 s). Here "no timeout" means what it
says: wait, slice after slice, until the state is reached or the backend stops.

And it replaces ``_enqueue_orchestration``: durabletask's backend dispatches events that reach
an instance after it ended (an activity's result, an entity's answer) and the SDK then runs the
orchestrator again, on past its termination. A patch_node terminated mid-drain went on draining,
rebooting, renewing and releasing its lock (a renewal after the end pushed its lock slot past
its TTL: faultrun's lock-ttl check, seed 45 in a soak). Azure does not: the Azure Storage
provider discards a message batch for an instance that is no longer Running, Pending or
Suspended ("Instance is Terminated"; Azure/durabletask,
src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs, IsExecutableInstanceAsync; and
AzureStorageOrchestrationServiceSettings.cs, AllowReplayingTerminalInstances, false by default:
"events for that orchestrator are discarded"). Here those events are dropped too, and listed in
``dropped``. (Actions of the episode that processes the termination are still carried out, as
DTFx's TaskOrchestrationDispatcher carries out every decision of an episode.)
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
from durabletask.testing import InMemoryOrchestrationBackend
from durabletask.testing.in_memory_backend import OrchestrationInstance

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class DroppedEvents:
    """Events that reached an instance after it ended, and were not delivered."""

    instance_id: str
    status: str  # the instance's terminal status, e.g. ORCHESTRATION_STATUS_TERMINATED
    events: tuple[str, ...]  # history event kinds, e.g. ("taskCompleted",)


class LoopbackBackend(InMemoryOrchestrationBackend):
    """In-memory backend bound to 127.0.0.1 (``port=0`` picks a free port)."""

    # How long one wait without a deadline lasts before it checks for shutdown and waits again.
    # Any value works: it bounds only how soon a stopped backend's watcher threads end.
    NO_DEADLINE_SLICE_SECONDS = 30.0
    DROPPED_KEPT = 1000

    def __init__(self, port: int = 0, *, max_workers: int = 32, max_history_size: int = 10000) -> None:
        super().__init__(max_history_size=max_history_size, port=port)
        self._max_workers = max_workers
        self.dropped: list[DroppedEvents] = []  # most recent last; bounded by DROPPED_KEPT

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self._port}"

    def start(self) -> str:
        self._shutdown_event.clear()
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="local-backend"),
            options=[("grpc.so_reuseport", 0)],
        )
        stubs.add_TaskHubSidecarServiceServicer_to_server(self, server)
        try:
            bound = server.add_insecure_port(f"{LOOPBACK}:{self._port}")
        except RuntimeError as exc:  # grpc raises on recent versions, returns 0 on older ones
            raise OSError(f"cannot bind the durable backend to {LOOPBACK}:{self._port}: {exc}") from exc
        if not bound:
            raise OSError(f"cannot bind the durable backend to {LOOPBACK}:{self._port}")
        self._port = bound
        self._server = server
        server.start()
        self._logger.info("In-memory backend started on %s", self.address)
        return self.address

    def _wait_for_state(self, instance_id: str, predicate: Callable[[OrchestrationInstance], bool],
                        timeout: float | None) -> OrchestrationInstance | None:
        """Like durabletask's, except that no timeout means no timeout (see the module docstring)."""
        if timeout is not None:  # a caller's deadline; 0 (already passed) must not become 30 s either
            return super()._wait_for_state(instance_id, predicate, max(timeout, 0.001))
        while not self._shutdown_event.is_set():
            # Each slice first re-checks the state under the backend's lock, so a change between
            # two slices is seen by the next one.
            found = super()._wait_for_state(instance_id, predicate, self.NO_DEADLINE_SLICE_SECONDS)
            if found is not None:
                return found
        return None

    def _enqueue_orchestration(self, instance_id: str) -> None:
        """Like durabletask's, except that an ended instance never runs again: the events that
        reached it are dropped (see the module docstring). Every caller holds the backend's lock.
        A restart, a rewind or a new instance under the same ID reset the status first, so they
        still run."""
        instance = self._instances.get(instance_id)
        if instance is None or not self._is_terminal_status(instance.status):
            super()._enqueue_orchestration(instance_id)
            return
        kinds = tuple(str(event.WhichOneof("eventType")) for event in instance.pending_events)
        instance.pending_events.clear()
        status = pb.OrchestrationStatus.Name(instance.status)
        self.dropped = [*self.dropped[-(self.DROPPED_KEPT - 1):], DroppedEvents(instance_id, status, kinds)]
        self._logger.info("dropped %s for %s, which has ended (%s)", ", ".join(kinds) or "no event", instance_id, status)
