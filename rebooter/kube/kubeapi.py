"""Small helpers around the official ``kubernetes`` client, shared by the node operations.

Why they exist:

* The client does not retry 5xx, API-server throttling (429) or timeouts for POST/PATCH, and an
  activity must not give up on the first blip, nor spend long retrying: :func:`call` makes a
  bounded number of attempts (3, 0.5 s apart, under a few seconds of sleeping in total) and
  lets the caller say which statuses are *answers*, not blips (an eviction's 429 means "a
  PodDisruptionBudget says no" and its 500 "several PDBs": both go back to the orchestrator).
* Objects are read as the API's own JSON (plain dicts, camelCase), so the pure drain filters
  and the tests work on what the server sent, not on generated model classes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

REQUEST_TIMEOUT = (3.0, 10.0)  # (connect, read) seconds for every call
ATTEMPTS = 3
RETRY_DELAY = 0.5
RETRY_BUDGET = 3.0  # no new attempt once this long has passed (a hung server is not retried for long)
TRANSIENT = frozenset({429, 500, 502, 503, 504})
NOT_RETRIED_FOR_EVICTION = frozenset({502, 503, 504})


class KubeError(Exception):
    """A Kubernetes API call failed for good; the message names the call and the server's answer."""


class NodeNotFound(KubeError):
    """The node does not exist (anymore): scaled in, deleted, or a wrong name."""


def status_body(exc: ApiException) -> dict[str, Any]:
    """The metav1.Status the server sent with an error, or {} when it sent something else."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def error_message(exc: BaseException) -> str:
    """The server's own message for an API error, else the exception text (one line)."""
    if isinstance(exc, ApiException):
        body = status_body(exc)
        message = body.get("message") or exc.reason or "no message"
        return f"HTTP {exc.status}: {message}"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _retry_after(exc: ApiException) -> float:
    try:
        value = float((exc.headers or {}).get("Retry-After", RETRY_DELAY))
    except (TypeError, ValueError):
        value = RETRY_DELAY
    return min(max(value, 0.0), 1.0)


def call(fn: Callable[..., Any], *args: Any, retry_on: Iterable[int] = TRANSIENT, **kwargs: Any) -> Any:
    """Call one client method with a request timeout and a short, bounded retry.

    Retries ``retry_on`` statuses and transport errors (timeouts, refused or reset
    connections); any other ApiException is raised at once for the caller to interpret.
    No new attempt starts after RETRY_BUDGET seconds, so a hanging server costs one or two
    request timeouts, not three.
    """
    retry_statuses = frozenset(retry_on)
    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        last = attempt == ATTEMPTS or time.monotonic() - started > RETRY_BUDGET
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            if exc.status not in retry_statuses or last:
                raise
            time.sleep(_retry_after(exc) if exc.status == 429 else RETRY_DELAY)
        except urllib3.exceptions.HTTPError:
            if last:
                raise
            time.sleep(RETRY_DELAY)
    raise AssertionError("unreachable")


def call_json(fn: Callable[..., Any], *args: Any, retry_on: Iterable[int] = TRANSIENT, **kwargs: Any) -> dict[str, Any]:
    """Like :func:`call`, returning the response body as the API's JSON (a dict)."""
    response = call(fn, *args, retry_on=retry_on, _preload_content=False, **kwargs)
    try:
        data = response.data
    finally:
        response.release_conn()  # unread or not, the connection goes back to the pool
    return json.loads(data) if data else {}


def pod_id(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 timestamps as the API writes them (``2024-01-02T03:04:05Z``), timezone-aware."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
