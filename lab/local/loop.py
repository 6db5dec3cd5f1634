"""One asyncio event loop in a background thread, shared by the local HTTP servers.

The classic ``DurableOrchestrationClient`` caches one aiohttp session per process, bound
to the loop that created it; used from another loop (a second engine, a test's
``asyncio.run``) it fails. Starters run on the engine's loop, and
``install_loop_aware_session`` makes the SDK drop a session that belongs to another
loop before reusing it, so the classic client works from any loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from azure.durable_functions.models.utils import http_utils

T = TypeVar("T")


async def retire_foreign_session() -> None:
    """Close and forget the classic client's cached session if another event loop owns it."""
    session = http_utils._client_session
    loop = asyncio.get_running_loop()
    owner = getattr(session, "_loop", loop) if session is not None else loop
    if owner is loop:
        return
    http_utils._client_session = None
    http_utils._session_lock = asyncio.Lock()
    if owner.is_closed():
        await session.close()  # nothing left to close on a dead loop; marks it closed (no warning)
    elif owner.is_running():
        asyncio.run_coroutine_threadsafe(session.close(), owner)


_original_get_session = http_utils._get_session


async def _loop_aware_get_session() -> Any:
    await retire_foreign_session()
    return await _original_get_session()


def install_loop_aware_session() -> None:
    """Make the classic client's session getter loop-aware (idempotent, process-wide)."""
    http_utils._get_session = _loop_aware_get_session


class LoopThread:
    """A daemon thread running an event loop; ``run`` executes a coroutine on it from any thread."""

    def __init__(self, name: str = "local-durable-http") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._started = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._started.set)
        self._loop.run_forever()

    def start(self) -> LoopThread:
        self._thread.start()
        self._started.wait()
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("LoopThread.run called from its own loop; await the coroutine instead")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.run(close_client_session(), timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


async def close_client_session() -> None:
    """Close the classic client's cached session if it belongs to the running loop (call before the loop ends)."""
    session = http_utils._client_session
    if session is not None and getattr(session, "_loop", None) is asyncio.get_running_loop():
        await http_utils._close_session()
