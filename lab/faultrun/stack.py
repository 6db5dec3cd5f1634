"""One local durable engine per process, and a fresh sandbox per run.

``local.stack.LocalStack`` binds one sandbox to one engine. Fault runs use many small
sandboxes, so the engine (with the activity-fault middleware and the HTTP front) is started
once per process and each run brings its own sandbox and app settings (the same
``local.stack.sandbox_settings`` LocalStack uses). Every plan names its own cluster
(``aks-fr-<seed>``), so instance IDs and entities of different runs never meet.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lab.faultrun.middleware import ActivityFaults, Behaviour
from lab.local.stack import load_app, sandbox_settings
from rebooter.arm import clients

_shared: SharedEngine | None = None
_shared_lock = threading.Lock()


class SharedEngine:
    """The app on the local engine, with an HTTP front on a free loopback port."""

    def __init__(self) -> None:
        from lab.local.engine import LocalEngine

        self.faults = ActivityFaults()
        self.engine = LocalEngine(load_app(), activity_middleware=self.faults).start()
        try:
            self.front = self.engine.serve_http(host="127.0.0.1", port=0)
        except BaseException:
            self.engine.stop()
            raise
        self._busy = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.front.origin

    def stop(self) -> None:
        for part in (self.front, self.engine):
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - keep tearing down
                pass

    @contextmanager
    def sandbox(self, scenario: Any, settings: Mapping[str, str], behaviour: Behaviour | None = None) -> Iterator[Any]:
        """A started sandbox with the app's settings pointing at it, for the length of one run."""
        from lab.sandbox.runtime import Sandbox

        with self._busy:  # one run at a time: app settings are process-wide
            box = Sandbox(scenario).start()
            env = sandbox_settings(box, settings)
            saved = {key: os.environ.get(key) for key in env}
            os.environ.update(env)
            clients.reset()
            self.faults.configure(behaviour)
            try:
                yield box
            finally:
                self.faults.configure(None)
                box.stop()
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                clients.reset()


def shared_engine() -> SharedEngine:
    """This process's engine, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SharedEngine()
            atexit.register(_shared.stop)
        return _shared
