"""The whole product on one machine: the sandbox cluster, the app's settings pointing at it,
the local durable engine running function_app's functions, and the HTTP front on 127.0.0.1.

Used by ``python -m lab.local demo|serve`` and by the end-to-end tests, so what the README shows
is what the tests check.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rebooter.arm import clients

# The sandbox's timeouts: a sandbox node reboots in seconds, so a stuck step there is a fault
# worth reporting within a minute, not after the app's defaults (up to an hour). Only timeouts:
# every interval a user gets in Azure (polls, retries, back-offs, the watch bound) stays at the
# app's default (rebooter/config/registry.py), so what `make demo` and `make serve` show is what
# Azure does. They are the lab's defaults only: a REBOOTER_* variable the caller exported wins.
SANDBOX_TIMEOUTS = {
    # The probe's run-command finishes in about a second in the sandbox (default 300 s).
    "REBOOTER_PROBE_TIMEOUT_SECONDS": "60",
    # The sandbox kubelet starts a probe pod in well under a second (default 60 s).
    "REBOOTER_PROBE_POD_TIMEOUT_SECONDS": "20",
    # A lock held by another node frees within that node's few seconds of patching (default 3600 s).
    "REBOOTER_LOCK_TIMEOUT_SECONDS": "120",
    # Pods terminate in about a second, or a PDB blocks for good (default 1800 s).
    "REBOOTER_DRAIN_TIMEOUT_SECONDS": "60",
    # A sandbox node is back Ready seconds after its reboot (default 900 s).
    "REBOOTER_HEALTH_TIMEOUT_SECONDS": "60",
}

_app: Any = None


def load_app() -> Any:
    """function_app's DFApp, imported once per process (its functions can be listed only once)."""
    global _app
    if _app is None:
        import function_app

        _app = function_app.app
    return _app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sandbox_settings(sandbox: Any, overrides: Mapping[str, str] | None = None,
                     defaults: Mapping[str, str] | None = None,
                     caller_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """App settings that point the production code at the sandbox (same code path as Azure).

    Layers, weakest first: the sandbox's timeouts and ``defaults`` (e.g. the demo's budget, or the
    tests' faster intervals), then whatever the caller exported (REBOOTER_* in ``caller_env``), then
    ``overrides`` (what a test asks for) and the sandbox's own address, which must win for the app
    to reach it."""
    caller_env = os.environ if caller_env is None else caller_env
    lab = {**SANDBOX_TIMEOUTS, **(defaults or {})}
    return {
        **{key: caller_env.get(key) or value for key, value in lab.items()},
        **(overrides or {}),
        "REBOOTER_CLUSTERS": sandbox.cluster_resource_id,
        "REBOOTER_ARM_ENDPOINT": sandbox.arm_url,
        "REBOOTER_ARM_CA_BUNDLE": str(sandbox.ca_file),
        "REBOOTER_CREDENTIAL": "sandbox",
    }


def differing_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every REBOOTER_* setting whose value differs from the app's default, for the banner: what
    a user sees locally is the defaults except for these lines."""
    from rebooter.config.registry import SETTINGS

    env = os.environ if env is None else env
    return {name: env[name] for name, setting in SETTINGS.items()
            if env.get(name) not in (None, "", setting.default)}


class LocalStack(AbstractContextManager):
    """Sandbox + settings + engine + HTTP front; ``stop()`` (or ``with``) tears all of it down."""

    def __init__(self, scenario: str | Path | Any, *, http_port: int | None = 7071,
                 settings: Mapping[str, str] | None = None, defaults: Mapping[str, str] | None = None,
                 run_timers: bool = False) -> None:
        """``settings`` are forced (a test's own); ``defaults`` give way to the caller's REBOOTER_*;
        ``run_timers``: fire the timer trigger on REBOOTER_SCHEDULE, as the Functions host does."""
        self.scenario = scenario
        self.run_timers = run_timers
        self.http_port = http_port
        self.extra_settings = dict(settings or {})
        self.lab_defaults = dict(defaults or {})
        self.sandbox: Any = None
        self.engine: Any = None
        self.front: Any = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> LocalStack:
        from lab.local.engine import LocalEngine
        from lab.sandbox.runtime import Sandbox

        self.sandbox = Sandbox(self.scenario).start()
        env = sandbox_settings(self.sandbox, self.extra_settings, self.lab_defaults)
        self._saved_env = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        clients.reset()
        self.engine = LocalEngine(load_app()).start(run_timers=self.run_timers)
        if self.http_port is not None:
            self.front = self.engine.serve_http(host="127.0.0.1", port=self.http_port)
        return self

    def stop(self) -> None:
        for part in (self.front, self.engine, self.sandbox):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - keep tearing down the rest
                    pass
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clients.reset()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
