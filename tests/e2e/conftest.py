"""End-to-end fixtures: the whole product (sandbox + settings + local engine + HTTP front)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from lab.local.stack import LocalStack, free_port

ROOT = Path(__file__).resolve().parents[2]
# The tests' own faster layer, on top of the lab's sandbox timeouts. `make demo` and `make serve`
# run on the app's default intervals (lab/local/stack.py); the tests patch many small clusters
# and would spend most of their time on the lock retry (30 s: the wait for a held lock is still on
# a clock) and the other polls, so here every interval is short. Defaults only: a test's own
# settings and a REBOOTER_* variable the caller exported win.
TEST_INTERVALS = {
    "REBOOTER_PROBE_POLL_SECONDS": "0.5",
    "REBOOTER_LOCK_RETRY_SECONDS": "1",
    "REBOOTER_DRAIN_RETRY_SECONDS": "1",
    "REBOOTER_HEALTH_POLL_SECONDS": "1",
    "REBOOTER_ACTIVITY_RETRY_SECONDS": "0.5",
}
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


class Api:
    """The app's HTTP API as an operator calls it."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url

    def start(self, body) -> requests.Response:
        data = body if isinstance(body, bytes | str) else None
        return requests.post(f"{self.base}/api/patch-cycles", data=data, json=None if data is not None else body,
                             timeout=30)

    def command(self, instance_id: str, action: str, **body) -> requests.Response:
        return requests.post(f"{self.base}/api/patch-cycles/{instance_id}/{action}", json=body, timeout=30)

    def session_post(self, path: str, body) -> requests.Response:
        return requests.post(f"{self.base}/api/{path}", json=body, timeout=30)

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(f"{self.base}/api/{path}", params=params, timeout=30)

    def until(self, instance_id: str, predicate, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(instance_id)
            if predicate(status):
                return status
            assert status["status"] not in TERMINAL, f"cycle ended first: {status}"
            assert time.monotonic() < deadline, f"condition not reached: {status.get('customStatus')}"
            time.sleep(0.1)

    def until_ok(self, fetch, predicate, timeout: float = 10):
        """Poll any read until predicate(value) is truthy (entity signals settle asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            value = fetch()
            if predicate(value):
                return value
            assert time.monotonic() < deadline, f"condition not reached: {value}"
            time.sleep(0.1)

    def status(self, instance_id: str) -> dict:
        response = requests.get(f"{self.base}/api/patch-cycles/{instance_id}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, instance_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(instance_id)
            if status["status"] in TERMINAL:
                return status
            assert time.monotonic() < deadline, f"cycle still {status['status']}: {status.get('customStatus')}"
            time.sleep(0.2)


@pytest.fixture
def stack_for():
    """Start a LocalStack for a scenario file (relative to the repo) with optional settings, on the
    tests' faster intervals (TEST_INTERVALS)."""
    started: list[LocalStack] = []

    def start(scenario, **settings: str) -> LocalStack:
        source = ROOT / scenario if isinstance(scenario, str) else scenario
        stack = LocalStack(source, http_port=free_port(), settings=settings, defaults=TEST_INTERVALS).start()
        started.append(stack)
        stack.api = Api(stack.base_url)
        return stack

    yield start
    for stack in started:
        stack.stop()
