"""Starters answer invalid settings and ambiguous cluster names with a named error (issue 11 item 12)."""

from __future__ import annotations

import asyncio
import json

import azure.functions as func

from starters import clusters, cycles

SUB = "00000000-0000-0000-0000-000000000000"
ONE = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.ContainerService/managedClusters/aks-x"
TWO = ONE.replace("rg-a", "rg-b")


def request(cluster: str, body: bytes = b"") -> func.HttpRequest:
    return func.HttpRequest("POST", f"http://127.0.0.1/api/clusters/{cluster}/lock/break", body=body,
                            route_params={"cluster": cluster})


class Client:
    """Records what the route would do to the durable backend."""

    def __init__(self) -> None:
        self.signals: list = []

    async def read_entity_state(self, entity):
        return type("State", (), {"entity_exists": False, "entity_state": None})()

    async def signal_entity(self, entity, operation, payload=None):
        self.signals.append((entity.key, operation))


def test_a_name_two_clusters_share_is_ambiguous_and_breaks_no_lock(monkeypatch):
    monkeypatch.setenv("REBOOTER_CLUSTERS", f"{ONE} {TWO}")
    client = Client()
    body = json.dumps({"reason": "stuck"}).encode()
    answer = asyncio.run(clusters.http_break_lock(request("aks-x", body), client))
    assert answer.status_code == 400 and f"{SUB}.rg-a.aks-x" in json.loads(answer.get_body())["detail"]
    assert client.signals == []
    answer = asyncio.run(clusters.http_break_lock(request(f"{SUB}.rg-b.aks-x", body), client))
    assert answer.status_code == 202 and client.signals == [(f"{SUB}.rg-b.aks-x", "break")]


def test_invalid_settings_are_a_named_503_on_cluster_routes_and_a_logged_error_on_the_timer(monkeypatch, caplog):
    monkeypatch.setenv("REBOOTER_CLUSTERS", ONE)
    monkeypatch.setenv("REBOOTER_MAX_UNAVAILABLE", "0")
    answer = asyncio.run(clusters.http_lock(request("aks-x"), Client()))
    assert answer.status_code == 503 and "REBOOTER_MAX_UNAVAILABLE" in json.loads(answer.get_body())["detail"]
    with caplog.at_level("ERROR", logger="rebooter.starters"):
        assert asyncio.run(cycles.timer_start(Client())) == []
    assert "REBOOTER_MAX_UNAVAILABLE" in caplog.text


def test_one_lookup_finds_a_configured_cluster_by_key_or_name():
    from rebooter.config.names import configured_named

    assert configured_named([ONE, TWO], "AKS-X") == [ONE, TWO]  # a shared name: ambiguous
    assert configured_named([ONE, TWO], f"{SUB}.RG-B.aks-x") == [TWO]
    assert configured_named([ONE, TWO], "aks-y") == []
