"""Watch: newline-delimited JSON events over a chunked response, as the API server streams them.

Supports resourceVersion (replay from the store's history, an ERROR event with a 410 Expired
Status when it is too old), no/"0" resourceVersion (synthetic ADDED for what exists), label and
field selectors (an object leaving the selection is sent as DELETED, entering as ADDED),
timeoutSeconds, sendInitialEvents (ADDED + the initial-events-end BOOKMARK) and
allowWatchBookmarks (accepted).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from concurrent.futures import Executor
from typing import Protocol

from aiohttp import web

from .errors import ApiError, bad_request
from .routing import Target
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .store import Store, WatchEvent


class WatchHost(Protocol):
    """What a watch needs from the server that accepted it (server.KubeApiServer): the store to
    read, the pool to block in, and whether the server is shutting down."""

    store: Store
    executor: Executor
    closing: bool

DEFAULT_TIMEOUT = 1800.0


def _matcher(t: Target, query: Mapping[str, str]):
    labels = parse_label_selector(query.get("labelSelector"))
    fields = parse_field_selector(query.get("fieldSelector"), t.info.plural, t.info.namespaced)

    def matches(obj: dict | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        if t.namespace is not None and meta.get("namespace") != t.namespace:
            return False
        if t.name is not None and meta.get("name") != t.name:
            return False
        return labels_match(labels, meta.get("labels")) and fields_match(fields, t.info.plural, obj)

    return matches


def _timeout_seconds(raw: str | None) -> float:
    """timeoutSeconds is an int64 query parameter (metav1.ListOptions.TimeoutSeconds): the API
    server decodes it with strconv.ParseInt (kubernetes/kubernetes
    staging/src/k8s.io/apimachinery/pkg/runtime/conversion.go, Convert_Slice_string_To_Pointer_int64)
    and answers 400 BadRequest to a value that does not decode
    (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/get.go, ListResource), e.g. "1.5"."""
    if raw is None or raw == "":
        return DEFAULT_TIMEOUT
    if not raw.lstrip("-").isdigit():
        raise bad_request(f'strconv.ParseInt: parsing "{raw}": invalid syntax')
    return float(int(raw)) if int(raw) > 0 else DEFAULT_TIMEOUT


def _line(event_type: str, obj: dict) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


async def serve_watch(server: WatchHost, request: web.Request, t: Target) -> web.StreamResponse:
    query = request.query
    matches = _matcher(t, query)
    timeout = _timeout_seconds(query.get("timeoutSeconds"))
    rv_text = query.get("resourceVersion") or ""
    initial_end = query.get("sendInitialEvents") == "true"
    if rv_text not in ("", "0") and not rv_text.isdigit():
        raise bad_request(f'invalid resource version: "{rv_text}"')
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
    store = server.store

    def watcher(event: WatchEvent) -> None:
        if event.kind == t.info.plural:
            loop.call_soon_threadsafe(queue.put_nowait, event)

    def register() -> tuple[list[bytes], ApiError | None]:
        with store.lock:
            if rv_text in ("", "0") or initial_end:
                items, rv = store.list_raw(t.info.plural, t.namespace)
                store.start_watch(watcher, None)
                lines = [_line("ADDED", o) for o in items if matches(o)]
                if initial_end:
                    lines.append(_line("BOOKMARK", {
                        "kind": t.info.kind, "apiVersion": t.info.api_version,
                        "metadata": {"resourceVersion": str(rv), "annotations": {"k8s.io/initial-events-end": "true"}}}))
                return lines, None
            try:
                backlog = store.start_watch(watcher, int(rv_text))
            except ApiError as err:
                return [], err
            return [line for e in backlog if e.kind == t.info.plural and (line := _event_line(e, matches))], None

    lines, expired = await loop.run_in_executor(server.executor, register)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        if expired is not None:
            await response.write(_line("ERROR", expired.status()))
            return response
        for line in lines:
            await response.write(line)
        deadline = loop.time() + timeout
        while not server.closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                event = await asyncio.wait_for(queue.get(), timeout=min(remaining, 0.5))
            except TimeoutError:
                continue
            line = _event_line(event, matches)
            if line:
                await response.write(line)
        await response.write_eof()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        store.stop_watch(watcher)
    return response


def _event_line(event: WatchEvent, matches) -> bytes | None:
    now, before = matches(event.obj), matches(event.old)
    if event.type == "MODIFIED":
        if now and not before:
            return _line("ADDED", event.obj)
        if before and not now:
            return _line("DELETED", event.obj)
        return _line("MODIFIED", event.obj) if now else None
    return _line(event.type, event.obj) if now else None
