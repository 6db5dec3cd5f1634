"""durabletask's in-memory backend, listening on 127.0.0.1 only.

``InMemoryOrchestrationBackend.start`` binds ``[::]`` (every interface), cannot take
port 0, and leaves gRPC's SO_REUSEPORT on, so two backends on one port both start and
split the traffic. This subclass replaces only ``start``: loopback address, port 0 means
"let the kernel pick", reuse-port off, and a bind failure is an error.
"""

from __future__ import annotations

from concurrent import futures

import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
from durabletask.testing import InMemoryOrchestrationBackend

LOOPBACK = "127.0.0.1"


class LoopbackBackend(InMemoryOrchestrationBackend):
    """In-memory backend bound to 127.0.0.1 (``port=0`` picks a free port)."""

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
