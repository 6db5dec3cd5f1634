"""Run an aiohttp application on 127.0.0.1 in a background thread with its own event loop.

Synchronous clients (the Azure SDKs, the kubernetes client, tests) call the emulators from
other threads, so each server owns a loop in a daemon thread; ``start`` returns once the
socket is listening, ``stop`` shuts it down cleanly (cleanup hooks run on the loop).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from aiohttp import web


class ServerThread:
    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None, host: str = "127.0.0.1",
                 port: int = 0, name: str = "sandbox-server") -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.host = host
        self.port = port
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> str:
        ready: Future = Future()
        self._thread = threading.Thread(target=self._main, args=(ready,), name=self.name, daemon=True)
        self._thread.start()
        ready.result(timeout=30)
        return self.url

    def _main(self, ready: Future) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve(ready))
        except Exception as exc:  # report start-up failures to start()
            if not ready.done():
                ready.set_exception(exc)
        finally:
            self.loop.close()
            self._stopped.set()

    async def _serve(self, ready: Future) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        server = site._server  # the asyncio.Server: read the port the OS gave us
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._stop_event = asyncio.Event()
        ready.set_result(self.url)
        await self._stop_event.wait()
        await self._runner.cleanup()

    def call(self, fn: Callable[..., Awaitable[Any]], *args: Any, timeout: float = 30) -> Any:
        """Run a coroutine function on the server's loop from another thread and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(*args), self.loop).result(timeout)

    def stop(self) -> None:
        event = getattr(self, "_stop_event", None)
        if self.loop is None or self._stopped.is_set() or event is None:
            return
        self.loop.call_soon_threadsafe(event.set)
        self._stopped.wait(timeout=15)
