from __future__ import annotations

import pytest

from rebooter import clients
from tests.notify.receiver import Receiver


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def app_env(monkeypatch):
    """Set app settings for the activity (it reads them through clients.app_settings())."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        clients.reset()

    clients.reset()
    yield apply
    clients.reset()
