"""Shared fixtures: one engine (and one HTTP front on a free port) for the toy app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.local import LocalEngine

from . import toy_app


@pytest.fixture(scope="session")
def engine() -> Iterator[LocalEngine]:
    eng = LocalEngine(toy_app.app).start()
    yield eng
    eng.stop()


@pytest.fixture(scope="session")
def front(engine: LocalEngine):
    handle = engine.serve_http(host="127.0.0.1", port=0)
    yield handle
    handle.stop()
