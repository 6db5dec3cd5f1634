"""Activity faults at the engine level: every activity executed twice, or an activity that
fails after doing its work (its completion is lost, as when a host dies right after the call).

Installed once per process through ``LocalEngine(app, activity_middleware=...)``; what it does
is switched per run with ``configure``, so one engine serves many runs. Durable Functions runs
activities at least once; these are the two ways "at least once" shows up.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Activity = Callable[[Any, Any], Any]


class InjectedActivityFault(RuntimeError):
    """Raised by an activity that did its work but whose completion the fault throws away."""


@dataclass(frozen=True)
class Behaviour:
    twice: bool = False  # run every activity twice, the second result counts
    fail_after: str = ""  # this activity does its work, then raises
    fail_count: int = 0  # for its first fail_count calls


class ActivityFaults:
    """The engine's activity middleware: ``(name, activity) -> activity``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviour = Behaviour()
        self._failed = 0
        self.fired: Counter[str] = Counter()

    def configure(self, behaviour: Behaviour | None = None) -> None:
        """Set what the next run's activities suffer (None: nothing) and reset the counters."""
        with self._lock:
            self._behaviour = behaviour or Behaviour()
            self._failed = 0
            self.fired = Counter()

    def _take_failure(self, name: str) -> bool:
        with self._lock:
            b = self._behaviour
            if b.fail_after != name or self._failed >= b.fail_count:
                return False
            self._failed += 1
            self.fired["activityFailsAfterWork"] += 1
            return True

    def __call__(self, name: str, activity: Activity) -> Activity:
        def wrapped(ctx: Any, input_value: Any) -> Any:
            behaviour = self._behaviour
            if behaviour.twice:
                try:
                    activity(ctx, input_value)
                except Exception:  # noqa: BLE001 - the first execution's outcome is lost either way
                    pass
                with self._lock:
                    self.fired["activityTwice"] += 1
            result = activity(ctx, input_value)
            if self._take_failure(name):
                raise InjectedActivityFault(f"injected fault: {name} did its work, then failed before reporting it")
            return result

        wrapped.__name__ = getattr(activity, "__name__", name)
        return wrapped
