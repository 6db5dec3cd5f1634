"""KubeApiServer: the Store served over HTTPS with aiohttp, for the kubernetes client and kubectl.

The server runs its own asyncio loop in a daemon thread. Store calls and JSON encoding run
in a small thread pool, never on the loop, so a thread holding the store lock (an observer,
a test) cannot stall watches, and an observer may itself call this server over HTTP.

Faults: ``fault_hook(method, path)`` is consulted before every request; a FaultAction can
delay the answer (a hang: the client's timeout fires) and/or answer with a status code and a
Status body (500, 503, 429 with Retry-After, ...). Every request is recorded in ``requests``
(method, path, query, status) so tests can assert what a client really sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aiohttp import web
from multidict import CIMultiDict

from . import discovery, handlers, openapi
from .errors import ApiError
from .handlers import Reply
from .routing import Target, parse
from .scheduling import ThreadScheduler
from .store import Store
from .watch import serve_watch

log = logging.getLogger(__name__)

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            409: "Conflict", 410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
            503: "ServiceUnavailable", 504: "Timeout"}


@dataclass
class FaultAction:
    """What to do instead of (or before) answering a request."""

    status: int | None = None  # answer with this code and a Status body; None: answer normally
    delay_seconds: float = 0.0  # wait this long first (longer than the client's timeout = a hang)
    retry_after: int | None = None  # Retry-After header (and details.retryAfterSeconds)
    reason: str | None = None
    message: str | None = None

    def status_body(self) -> dict:
        code = self.status or 500
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message or f"injected fault: {code}", "reason": self.reason or _REASONS.get(code, ""),
                "code": code}
        if self.retry_after is not None:
            body["details"] = {"retryAfterSeconds": self.retry_after}
        return body


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    content_type: str
    status: int | None = None
    body: bytes = field(default=b"", repr=False)


class LoopScheduler:
    """The store's Scheduler, bound to the server's loop; the work itself runs in the server's pool.

    Work still pending when the server stops is handed to a ThreadScheduler with its remaining
    delay, so a pod in its grace period is still removed after the server is gone.
    """

    def __init__(self, server: KubeApiServer):
        self._server = server
        self._fallback = ThreadScheduler()
        self._pending: dict[int, tuple[float, Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self._next = 0

    def call_later(self, delay_seconds: float, fn: Callable[[], None]) -> None:
        loop, executor = self._server.loop, self._server.executor
        if loop is None or loop.is_closed() or self._server.closing:
            self._fallback.call_later(delay_seconds, fn)
            return
        with self._lock:
            self._next += 1
            token = self._next
            self._pending[token] = (time.monotonic() + delay_seconds, fn)

        def run() -> None:
            try:
                fn()
            except Exception:
                log.exception("scheduled store work failed")

        def fire() -> None:
            with self._lock:
                if self._pending.pop(token, None) is None:
                    return  # handed over at stop()
            try:
                executor.submit(run)
            except RuntimeError:  # pool shut down: the server is stopping
                self._fallback.call_later(0, fn)

        try:
            loop.call_soon_threadsafe(loop.call_later, max(0.0, delay_seconds), fire)
        except RuntimeError:  # the loop closed in between
            fire()

    def hand_over(self) -> None:
        """Move every pending call to the thread fallback (called when the server stops)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        now = time.monotonic()
        for due, fn in pending.values():
            self._fallback.call_later(max(0.0, due - now), fn)


def kubeconfig(server_url: str, ca_pem: bytes, token: str, namespace: str = "default") -> dict:
    """A kubeconfig dict for the emulator: the CA inline, a bearer-token user."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {
            "server": server_url, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": "sandbox-user", "user": {"token": token}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "sandbox-user", "namespace": namespace}}],
        "current-context": "sandbox",
        "preferences": {},
    }


class KubeApiServer:
    """HTTPS Kubernetes API over a Store; start() returns the base URL."""

    def __init__(self, store: Store, ssl_context: ssl.SSLContext | None, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, version: str = "v1.37.1"):
        self.store = store
        self.ssl_context = ssl_context
        self.host, self.port = host, port
        self.token = token
        self.version = version
        self.fault_hook: Callable[[str, str], FaultAction | None] | None = None
        self.requests: deque[RequestRecord] = deque(maxlen=10_000)
        self.scheduler = LoopScheduler(self)
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kube-api")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing = False
        self.url = ""
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            try:
                loop.run_until_complete(self._startup())
            except BaseException as err:  # report to start()
                failure.append(err)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="kube-api-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        if isinstance(self.store.scheduler, ThreadScheduler):  # keep a scheduler the caller chose
            self.store.scheduler = self.scheduler
        return self.url

    async def _startup(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.port = port
        self.url = f"{'https' if self.ssl_context else 'http'}://{self.host}:{port}"

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        self.closing = True
        if self.loop is not None and self._thread is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.store.scheduler is self.scheduler:
            self.store.scheduler = ThreadScheduler()
        self.scheduler.hand_over()

    def __enter__(self) -> KubeApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- request handling -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = RequestRecord(request.method, request.path, request.query_string,
                               request.headers.get("Content-Type", ""), body=body)
        self.requests.append(record)
        try:
            response = await self._dispatch(request, body)
        except ApiError as err:
            response = self._status_response(err.status(), err.retry_after)
        except Exception as err:  # a bug here must still answer like an API server
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = self._status_response(ApiError(500, "InternalError", f"Internal error occurred: {err}").status())
        record.status = response.status
        return response

    async def _dispatch(self, request: web.Request, body: bytes) -> web.StreamResponse:
        method, path = request.method, request.path
        if self.fault_hook is not None:
            action = self.fault_hook(method, path)
            if action is not None:
                if action.delay_seconds > 0:
                    await asyncio.sleep(action.delay_seconds)
                if action.status is not None:
                    return self._status_response(action.status_body(), action.retry_after)
        if self.token is not None and request.headers.get("Authorization", "") != f"Bearer {self.token}":
            raise ApiError(401, "Unauthorized", "Unauthorized")
        doc = self._discovery(method, path)
        if doc is not None:
            return self._json_response(200, doc)
        target = parse(path)
        if target is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        query = request.query
        accept = request.headers.get("Accept", "")
        content_type = request.headers.get("Content-Type", "application/json")
        if method == "GET" and target.sub is None and (target.watch or query.get("watch") in ("true", "1")):
            return await serve_watch(self, request, target)
        call = self._route(target, method, body, content_type, query, accept)
        reply = await asyncio.get_running_loop().run_in_executor(self.executor, call)
        return reply

    def _route(self, t: Target, method: str, raw: bytes, content_type: str, query, accept: str):
        store = self.store

        def run(fn: Callable[[], Reply]) -> Callable[[], web.Response]:
            def call() -> web.Response:
                reply = fn()
                if isinstance(reply.body, str):
                    return web.Response(status=reply.status, text=reply.body, content_type="text/plain",
                                        headers=reply.headers)
                headers = CIMultiDict(reply.headers)
                for w in reply.warnings:
                    headers.add("Warning", '299 - ' + json.dumps(w))
                return self._json_response(reply.status, reply.body, headers)
            return call

        def body():
            return handlers.decode_body(raw, content_type)

        if t.name is None:
            if method == "GET":
                return run(lambda: handlers.do_list(store, t, query, accept))
            if method == "POST":
                return run(lambda: handlers.do_create(store, t, body(), query))
            if method == "DELETE":
                return run(lambda: handlers.do_delete_collection(store, t, body(), query))
        elif t.sub in (None, "status", "scale"):
            if method == "GET":
                return run(lambda: handlers.do_get(store, t, accept, query))
            if method == "PUT":
                return run(lambda: handlers.do_replace(store, t, body(), query))
            if method == "PATCH":
                return run(lambda: handlers.do_patch(store, t, body(), content_type, query))
            if method == "DELETE" and t.sub is None:
                return run(lambda: handlers.do_delete(store, t, body(), query))
        elif t.sub == "eviction" and method == "POST":
            return run(lambda: handlers.do_evict(store, t, body()))
        elif t.sub == "binding" and method == "POST":
            return run(lambda: handlers.do_binding(store, t, body()))
        elif t.sub == "log" and method == "GET":
            return run(lambda: handlers.do_log(store, t, query))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _discovery(self, method: str, path: str) -> dict | None:
        if method != "GET":
            return None
        p = path.rstrip("/") or "/"
        if p.startswith("/openapi/"):
            doc = openapi.lookup(p)
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return doc
        if p == "/version":
            return discovery.version_info(self.version)
        if p == "/api":
            return discovery.core_versions(f"{self.host}:{self.port}")
        if p == "/apis":
            return discovery.group_list()
        if p == "/api/v1":
            return discovery.resource_list("", "v1")
        parts = p.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            doc = discovery.group(parts[1])
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return doc
        if parts[0] == "apis" and len(parts) == 3:
            doc = discovery.resource_list(parts[1], parts[2])
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return doc
        return None

    @staticmethod
    def _json_response(status: int, body: dict, headers: CIMultiDict | dict[str, str] | None = None) -> web.Response:
        return web.Response(status=status, body=json.dumps(body, separators=(",", ":")).encode(),
                            content_type="application/json", headers=headers)

    def _status_response(self, status: dict, retry_after: int | None = None) -> web.Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return self._json_response(int(status.get("code", 500)), status, headers)
