"""A Kubernetes API server emulator: an in-memory store (store.py) served over HTTPS (server.py)."""

from .errors import ApiError
from .store import Scheduler, Store, ThreadScheduler, WatchEvent

__all__ = ["ApiError", "Scheduler", "Store", "ThreadScheduler", "WatchEvent"]
