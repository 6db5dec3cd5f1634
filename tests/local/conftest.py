"""Shared fixtures: one engine (and one HTTP front on a free port) for the toy app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import toy_app  # noqa: E402

from lab.local import LocalEngine  # noqa: E402


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
