"""Observers of the store: in-process subscribers and the server's watch streams.

Events are queued as changes are committed and delivered in commit order once the outermost
store operation ends (still under the store lock, in the thread that made the change). A change
made by an observer is queued and delivered after the current event has reached everyone.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ApiError
from .objects import deep_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchEvent:
    """One change, as the watch history keeps it (obj and old are stored snapshots: do not mutate)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    kind: str
    obj: dict
    old: dict | None


class ObserverMixin:
    """Part of Store: subscribe / watch registration and event delivery."""

    lock: threading.RLock
    resource_version: int
    _history: deque[WatchEvent]
    _pending: deque[WatchEvent]
    _subscribers: list[Callable[[str, str, dict], None]]
    _watchers: list[Callable[[WatchEvent], None]]
    _dispatching: bool

    def subscribe(self, callback: Callable[[str, str, dict], None]) -> None:
        """callback(event_type, kind, obj) after every change; obj is the caller's own copy."""
        with self.lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[str, str, dict], None]) -> None:
        with self.lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def start_watch(self, watcher: Callable[[WatchEvent], None], since: int | None) -> list[WatchEvent]:
        """Register a raw watcher; returns history after resource version `since` (410 Gone if too old)."""
        with self.lock:
            backlog: list[WatchEvent] = []
            if since is not None and since < self.resource_version:
                if not self._history or self._history[0].rv > since + 1:
                    raise ApiError(410, "Expired", f"too old resource version: {since} ({self.resource_version})")
                backlog = [e for e in self._history if e.rv > since]
            self._watchers.append(watcher)
            return backlog

    def stop_watch(self, watcher: Callable[[WatchEvent], None]) -> None:
        with self.lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def _dispatch(self) -> None:
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._pending:
                event = self._pending.popleft()
                for watcher in list(self._watchers):
                    try:
                        watcher(event)
                    except Exception:  # an observer's bug must not break the store
                        log.exception("watcher failed")
                for callback in list(self._subscribers):
                    try:
                        callback(event.type, event.kind, deep_copy(event.obj))
                    except Exception:
                        log.exception("subscriber failed on %s %s", event.type, event.kind)
        finally:
            self._dispatching = False
