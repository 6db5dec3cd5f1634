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
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures

import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
from durabletask.testing import InMemoryOrchestrationBackend
from durabletask.testing.in_memory_backend import OrchestrationInstance

LOOPBACK = "127.0.0.1"


class LoopbackBackend(InMemoryOrchestrationBackend):
    """In-memory backend bound to 127.0.0.1 (``port=0`` picks a free port)."""

    # How long one wait without a deadline lasts before it checks for shutdown and waits again.
    # Any value works: it bounds only how soon a stopped backend's watcher threads end.
    NO_DEADLINE_SLICE_SECONDS = 30.0

    def __init__(self, port: int = 0, *, max_workers: int = 32, max_history_size: int = 10000) -> None:
        super().__init__(max_history_size=max_history_size, port=port)
        self._max_workers = max_workers

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
