from __future__ import annotations

import pytest

from rebooter.arm import clients
from tests.rebooter.notifications.receiver import Receiver


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


DEFAULT_CLUSTER = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-demo"
                   "/providers/Microsoft.ContainerService/managedClusters/aks-demo")


def notify(payload: dict) -> dict:
    """The notify activity with the payload the orchestrators build (orchestrators/durable.notify):
    the cluster's notification settings, from the app settings these tests set, in ``settings``."""
    from activities.notify import notify as activity
    from rebooter.config import settings

    if not isinstance(payload, dict):
        return activity(payload)  # what the activity does with a payload that is not an object
    payload = {"cluster": DEFAULT_CLUSTER, **payload}
    try:
        cfg = settings.for_cluster(settings.load(), payload["cluster"])
    except settings.SettingsError:
        cfg = {}  # the activity itself reports the invalid settings
    return activity({**payload, "settings": settings.notify_settings(cfg, str(payload.get("event")))})
