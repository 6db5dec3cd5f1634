"""Fixtures for the sandbox tests: a started Sandbox per test (fast timings), stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from lab.sandbox.runtime import Sandbox

from .sandbox_testkit import SMALL, scenario_dict


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def make(text: str = SMALL, **timings: float) -> Sandbox:
        sb = Sandbox(scenario_dict(text, **timings)).start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(make_sandbox) -> Sandbox:
    return make_sandbox()


