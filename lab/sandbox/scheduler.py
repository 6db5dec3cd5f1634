"""One background thread that runs delayed callbacks in time order (the sandbox's clock).

The Kubernetes store, the simulated kubelet and the controllers schedule thousands of small
delayed actions (a pod becomes Ready after 0.2 s, a node comes back after its reboot). A
thread per timer (threading.Timer) would cost a thread each; this keeps one heap and one
worker, and implements the store's ``Scheduler`` protocol (``call_later``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class TimerScheduler:
    def __init__(self, name: str = "sandbox-scheduler") -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay_seconds: float, fn: Callable[[], None]) -> None:
        when = time.monotonic() + max(0.0, delay_seconds)
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (when, next(self._seq), fn))
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # one failing callback must not stop the clock
                log.exception("scheduled callback failed")
