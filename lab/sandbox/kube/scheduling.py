"""How the store runs delayed work (graceful pod deletion, PDB re-checks): the ``Scheduler``
protocol and the default that needs no server. The API server binds one to its event loop
(server.LoopScheduler) and the sandbox cluster one to its own timer thread (lab.sandbox.scheduler).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class Scheduler(Protocol):
    """How the store runs delayed work (graceful deletion, PDB re-checks)."""

    def call_later(self, delay_seconds: float, fn: Callable[[], None]) -> None: ...


class ThreadScheduler:
    """Default scheduler when no server provides one: a daemon threading.Timer per call."""

    def call_later(self, delay_seconds: float, fn: Callable[[], None]) -> None:
        timer = threading.Timer(max(0.0, delay_seconds), fn)
        timer.daemon = True
        timer.start()
