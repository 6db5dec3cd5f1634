"""Typed, scoped settings (issue 11): scopes, safe directions, bounds, and the request checks."""

from __future__ import annotations

import json

import pytest

from rebooter.config import cycle_request, names, settings

SUB = "00000000-0000-0000-0000-000000000000"
CLUSTER = f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.ContainerService/managedClusters/aks-demo"
TWIN = CLUSTER.replace("rg-demo", "rg-other")


@pytest.fixture
def app():
    return settings.load({"REBOOTER_CLUSTERS": CLUSTER})


def parse(body, app, admin=False):
    return cycle_request.parse_body(json.dumps(body), app, admin=admin)


def test_every_setting_has_a_scope_and_every_cycle_setting_a_safe_direction():
    for s in settings.SETTINGS.values():
        assert s.scope in ("app", "cluster", "cycle"), s.name
        assert (s.safer is not None) == (s.scope == "cycle"), s.name
        assert s.per_cycle == (s.scope == "cycle")
    # The public shape infra/checks/app_settings.py relies on.
    assert all(isinstance(s.name, str) and isinstance(s.default, str) and s.meaning and s.key
               for s in settings.SETTINGS.values())


# ---- item 2: per-cycle overrides only make a cycle safer or slower --------------------------------

LOOSER = [("approval", "none", {"REBOOTER_APPROVAL": "first"}), ("disableEviction", True, {}),
          ("maxUnavailable", 100, {}), ("undrainablePolicy", "force", {}), ("maxFailedNodes", 1000, {}),
          ("undrainablePolicy", "quarantine", {}), ("soakSeconds", 0, {"REBOOTER_SOAK_SECONDS": "60"}),
          ("drainPodSelector", "app=web", {}), ("force", True, {}), ("deleteEmptydirData", True,
                                                                      {"REBOOTER_DELETE_EMPTYDIR_DATA": "false"}),
          ("approvalDefault", "approve", {}), ("maxUnavailablePerPool", 0, {"REBOOTER_MAX_UNAVAILABLE_PER_POOL": "1"}),
          ("drainGracePeriodSeconds", 5, {}), ("zoneAware", False, {"REBOOTER_ZONE_AWARE": "true"}),
          ("drainTimeoutSeconds", 60, {})]


@pytest.mark.parametrize(("key", "value", "env"), LOOSER)
def test_a_looser_override_is_refused_with_403_naming_it_and_allowed_on_the_admin_route(key, value, env):
    app = settings.load({"REBOOTER_CLUSTERS": CLUSTER, **env})
    with pytest.raises(cycle_request.RequestError) as info:
        parse({"cluster": CLUSTER, "overrides": {key: value}}, app)
    assert info.value.status == 403 and info.value.field == f"overrides.{key}" and key in info.value.detail
    job = parse({"cluster": CLUSTER, "overrides": {key: value}}, app, admin=True)
    assert job["settings"][key] == value


def test_the_issue_example_is_refused_naming_every_loosened_setting(app):
    body = {"cluster": CLUSTER, "overrides": {"approval": "none", "disableEviction": True, "maxUnavailable": 100,
                                              "undrainablePolicy": "force", "maxFailedNodes": 1000}}
    with pytest.raises(cycle_request.RequestError) as info:
        parse(body, app)
    assert info.value.status == 403
    for key in ("disableEviction", "maxUnavailable", "undrainablePolicy", "maxFailedNodes"):
        assert f"overrides.{key}" in info.value.detail


SAFER = [("approval", "each"), ("approval", "first"), ("maxUnavailable", 1), ("soakSeconds", 600),
         ("drainDelaySeconds", 30), ("rebootDelaySeconds", 30), ("undrainablePolicy", "skip"),
         ("disableEviction", False), ("zoneAware", True), ("maxUnavailablePerPool", 1), ("approvalDefault", "reject"),
         ("drainTimeoutSeconds", 3600), ("skipWaitForDeleteTimeoutSeconds", 0), ("drainPodSelector", "")]


@pytest.mark.parametrize(("key", "value"), SAFER)
def test_a_safer_or_slower_override_is_accepted(app, key, value):
    assert parse({"cluster": CLUSTER, "overrides": {key: value}}, app)["settings"][key] == value


def test_safe_direction_is_relative_to_the_clusters_own_settings():
    env = {"REBOOTER_CLUSTERS": CLUSTER, "REBOOTER_CLUSTER_OVERRIDES": json.dumps({"aks-demo": {"maxUnavailable": 3}})}
    app = settings.load(env)
    assert parse({"cluster": CLUSTER, "overrides": {"maxUnavailable": 2}}, app)["settings"]["maxUnavailable"] == 2
    with pytest.raises(cycle_request.RequestError):
        parse({"cluster": CLUSTER, "overrides": {"maxUnavailable": 4}}, app)


def test_undrainable_order_is_force_quarantine_skip():
    app = settings.load({"REBOOTER_CLUSTERS": CLUSTER, "REBOOTER_UNDRAINABLE_POLICY": "quarantine"})
    assert parse({"cluster": CLUSTER, "overrides": {"undrainablePolicy": "skip"}}, app)
    with pytest.raises(cycle_request.RequestError):
        parse({"cluster": CLUSTER, "overrides": {"undrainablePolicy": "force"}}, app)


# ---- item 5: every duration has a maximum ------------------------------------------------------


def test_durations_have_a_week_as_maximum_with_a_clear_error(app):
    with pytest.raises(cycle_request.RequestError) as info:
        parse({"cluster": CLUSTER, "overrides": {"drainDelaySeconds": 1e12}}, app, admin=True)
    assert info.value.status == 400 and "drainDelaySeconds" in info.value.detail and "604800" in info.value.detail
    with pytest.raises(settings.SettingsError, match="REBOOTER_DRAIN_DELAY_SECONDS.*604800"):
        settings.load({"REBOOTER_DRAIN_DELAY_SECONDS": "1e12"})
    durations = [s for s in settings.SETTINGS.values() if s.name.endswith("_SECONDS")]
    for s in durations:
        with pytest.raises(ValueError):
            s.parse(str(settings.WEEK + 1))


# ---- item 14 and 12: every value checked before anything starts ---------------------------------


@pytest.mark.parametrize(("body", "field", "text"), [
    ({"overrides": {"drainPodSelector": "app=web;reboot"}}, "overrides", "drainPodSelector"),
    ({"overrides": {"soakSeconds": [1]}}, "overrides", "string, number or boolean"),
    ({"nodes": [f"n{i}" for i in range(cycle_request.MAX_NODES + 1)]}, "nodes", "at most 5000"),
    ({"pools": [f"p{i}" for i in range(cycle_request.MAX_POOLS + 1)]}, "pools", "at most 100"),
    ({"nodes": ["aks-user-1\n"]}, "nodes[0]", "node name"),
    ({"pools": ["user\n"]}, "pools[0]", "pool name"),
])
def test_bad_values_are_400_naming_the_field(app, body, field, text):
    with pytest.raises(cycle_request.RequestError) as info:
        parse({"cluster": CLUSTER, **body}, app, admin=True)
    assert info.value.status == 400 and info.value.field == field and text in info.value.detail


def test_deeply_nested_body_is_a_400_not_a_recursion_error(app):
    with pytest.raises(cycle_request.RequestError) as info:
        cycle_request.parse_body("[" * 100_000 + "]" * 100_000, app)
    assert info.value.field == "body" and "nested too deeply" in info.value.detail


@pytest.mark.parametrize("check", [names.check_node_name, names.check_pool_name, names.check_label_value,
                                   names.check_instance_id])
def test_name_validators_use_a_full_match(check):
    """Regression (item 12): ``$`` matches before a trailing newline; every validator refuses it."""
    with pytest.raises(ValueError):
        check("abc\n")
    assert check("abc") == "abc"


# ---- per-cluster overrides: scope and names -----------------------------------------------------


@pytest.mark.parametrize(("overrides", "text"), [
    ({"aks-demo": {"armEndpoint": "https://x.example"}}, "app-wide"),
    ({"aks-demo": {"schedule": "0 0 * * * *"}}, "app-wide"),
    ({"aks-demo": {"colour": "red"}}, "not a setting key"),
    ({"aks-nope": {"paused": True}}, "not a cluster of REBOOTER_CLUSTERS"),
    ({"aks-demo": {"prometheusAuth": "entra"}}, "with the overrides of cluster aks-demo"),
    ({"aks-demo": {"drainDelaySeconds": 1e12}}, "604800"),
])
def test_bad_cluster_overrides_stop_the_start_naming_them(overrides, text):
    with pytest.raises(settings.SettingsError) as info:
        settings.load({"REBOOTER_CLUSTERS": CLUSTER, "REBOOTER_CLUSTER_OVERRIDES": json.dumps(overrides)})
    assert text in str(info.value)


def test_a_name_shared_by_two_clusters_must_be_overridden_by_key():
    env = {"REBOOTER_CLUSTERS": f"{CLUSTER} {TWIN}", "REBOOTER_CLUSTER_OVERRIDES": '{"aks-demo": {"paused": true}}'}
    with pytest.raises(settings.SettingsError, match="names 2 clusters"):
        settings.load(env)
    env["REBOOTER_CLUSTER_OVERRIDES"] = json.dumps({f"{SUB}.rg-other.aks-demo": {"paused": True}})
    app = settings.load(env)
    assert settings.for_cluster(app, TWIN)["paused"] and not settings.for_cluster(app, CLUSTER)["paused"]


# ---- item 3: orchestrations re-validate their input ---------------------------------------------


def test_revalidate_catches_forged_settings(app):
    cfg = cycle_request.cycle_input(CLUSTER, settings.for_cluster(app, CLUSTER), reason="", trigger="http")["settings"]
    assert settings.revalidate(cfg) == []
    forged = {**cfg, "prometheusUrl": "https://evil.example@ws.westeurope.prometheus.monitor.azure.com",
              "prometheusAuth": "entra", "drainDelaySeconds": 1e12, "rebootMethod": "ipmi"}
    problems = " ".join(settings.revalidate(forged))
    assert "REBOOTER_PROMETHEUS_URL" in problems and "REBOOTER_DRAIN_DELAY_SECONDS" in problems
    assert "REBOOTER_REBOOT_METHOD" in problems and "evil" not in problems.replace("evil.example@", "")
