import json

import pytest

from rebooter.config import cycle_request, settings

CLUSTER = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-demo/providers/Microsoft.ContainerService/managedClusters/aks-demo"


@pytest.fixture
def app():
    return settings.load({"REBOOTER_CLUSTERS": CLUSTER})


def parse(body, app):
    return cycle_request.parse_body(json.dumps(body) if not isinstance(body, bytes) else body, app)


def test_valid_body_becomes_cycle_input(app):
    job = parse({"cluster": CLUSTER.lower(), "pools": ["user"], "nodes": ["aks-user-1"], "reason": "CVE",
                 "overrides": {"drainTimeoutSeconds": 3600}}, app)
    assert job["cluster"] == CLUSTER and job["pools"] == ["user"] and job["nodes"] == ["aks-user-1"]
    assert job["settings"]["drainTimeoutSeconds"] == 3600 and job["trigger"] == "http"


@pytest.mark.parametrize(
    "body,field,text",
    [
        (b"{not json", "body", "JSON"),
        (b"[1]", "body", "JSON object"),
        ({}, "cluster", "required"),
        ({"cluster": "aks-demo"}, "cluster", "AKS resource ID"),
        ({"cluster": CLUSTER.replace("aks-demo", "other")}, "cluster", "not a configured cluster"),
        ({"cluster": CLUSTER, "pools": ["user; rm -rf /"]}, "pools[0]", "agent pool name"),
        ({"cluster": CLUSTER, "nodes": ["$(reboot)"]}, "nodes[0]", "node name"),
        ({"cluster": CLUSTER, "nodes": "n1"}, "nodes", "list"),
        ({"cluster": CLUSTER, "colour": "red"}, "colour", "unknown field"),
        ({"cluster": CLUSTER, "overrides": {"maxUnavailable": 0}}, "overrides", "between 1 and 100"),
        ({"cluster": CLUSTER, "overrides": {"armEndpoint": "https://x"}}, "overrides", "not an overridable"),
    ],
)
def test_bad_bodies_name_the_field(app, body, field, text):
    with pytest.raises(cycle_request.RequestError) as info:
        parse(body, app)
    assert info.value.field == field and text in info.value.detail


def test_instance_id_is_one_per_cluster():
    assert cycle_request.instance_id(CLUSTER) == cycle_request.instance_id(CLUSTER.upper().replace("SUBSCRIPTIONS", "subscriptions"))


def test_settings_errors_name_each_setting():
    with pytest.raises(settings.SettingsError) as info:
        settings.load({"REBOOTER_DRAIN_TIMEOUT_SECONDS": "-5", "REBOOTER_REBOOT_METHOD": "ipmi",
                       "REBOOTER_CLUSTERS": "not-an-id"})
    text = str(info.value)
    assert "REBOOTER_DRAIN_TIMEOUT_SECONDS" in text and "REBOOTER_REBOOT_METHOD" in text and "REBOOTER_CLUSTERS" in text
