"""Helpers for the local-runner tests: real HTTP calls and polling."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any


def http(method: str, url: str, body: Any = None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """A real HTTP call; returns (status, headers, JSON body or text or None)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and raw is None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, resp_headers, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, resp_headers, payload = error.code, dict(error.headers), error.read()
    if not payload:
        return status, resp_headers, None
    try:
        return status, resp_headers, json.loads(payload)
    except ValueError:
        return status, resp_headers, payload.decode()


def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy (entity signals settle asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)
