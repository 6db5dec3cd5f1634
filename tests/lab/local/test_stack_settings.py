"""The lab's settings layers: its sandbox timeouts give way to what the caller exported, a test's
own settings and the sandbox's address win, every interval stays at the app's default (what a
user gets in Azure), and the banner lists what differs from the app."""

from types import SimpleNamespace

from lab.local.__main__ import DEMO_SETTINGS
from lab.local.stack import SANDBOX_TIMEOUTS, differing_settings, sandbox_settings
from rebooter.config.settings import SETTINGS

SANDBOX = SimpleNamespace(cluster_resource_id="/subscriptions/s/resourceGroups/rg/providers/"
                                              "Microsoft.ContainerService/managedClusters/c",
                          arm_url="https://127.0.0.1:1", ca_file="/tmp/ca.pem")
ADDRESS = {"REBOOTER_CLUSTERS", "REBOOTER_ARM_ENDPOINT", "REBOOTER_ARM_CA_BUNDLE", "REBOOTER_CREDENTIAL"}


def test_the_callers_setting_wins_over_the_labs_timeout_and_the_demo_budget():
    caller = {"REBOOTER_HEALTH_TIMEOUT_SECONDS": "600", "REBOOTER_MAX_UNAVAILABLE": "1"}
    env = sandbox_settings(SANDBOX, defaults=DEMO_SETTINGS, caller_env=caller)
    assert env["REBOOTER_HEALTH_TIMEOUT_SECONDS"] == "600"
    assert env["REBOOTER_MAX_UNAVAILABLE"] == "1"
    assert env["REBOOTER_DRAIN_TIMEOUT_SECONDS"] == SANDBOX_TIMEOUTS["REBOOTER_DRAIN_TIMEOUT_SECONDS"]


def test_without_the_caller_the_lab_defaults_apply():
    env = sandbox_settings(SANDBOX, defaults=DEMO_SETTINGS, caller_env={})
    assert env["REBOOTER_MAX_UNAVAILABLE"] == "2"
    assert env["REBOOTER_HEALTH_TIMEOUT_SECONDS"] == SANDBOX_TIMEOUTS["REBOOTER_HEALTH_TIMEOUT_SECONDS"]


def test_demo_and_serve_shorten_only_timeouts_every_interval_stays_the_apps_default():
    env = sandbox_settings(SANDBOX, defaults=DEMO_SETTINGS, caller_env={})
    changed = set(env) - ADDRESS - set(DEMO_SETTINGS)
    assert changed == set(SANDBOX_TIMEOUTS)
    assert all(name.endswith("_TIMEOUT_SECONDS") for name in changed), changed
    for name in ("REBOOTER_PROBE_POLL_SECONDS", "REBOOTER_LOCK_RETRY_SECONDS", "REBOOTER_DRAIN_RETRY_SECONDS",
                 "REBOOTER_HEALTH_POLL_SECONDS", "REBOOTER_ACTIVITY_RETRY_SECONDS", "REBOOTER_WATCH_SECONDS"):
        assert name not in env, f"{name} must stay at the app's default ({SETTINGS[name].default})"


def test_every_sandbox_timeout_is_shorter_than_the_apps_default():
    for name, value in SANDBOX_TIMEOUTS.items():
        assert float(value) < float(SETTINGS[name].default), name


def test_a_tests_own_settings_and_the_sandbox_address_always_win():
    caller = {"REBOOTER_HEALTH_POLL_SECONDS": "10", "REBOOTER_ARM_ENDPOINT": "https://management.azure.com"}
    env = sandbox_settings(SANDBOX, overrides={"REBOOTER_HEALTH_POLL_SECONDS": "3"}, caller_env=caller)
    assert env["REBOOTER_HEALTH_POLL_SECONDS"] == "3"
    assert env["REBOOTER_ARM_ENDPOINT"] == SANDBOX.arm_url
    assert env["REBOOTER_CLUSTERS"] == SANDBOX.cluster_resource_id


def test_the_banner_lists_exactly_the_settings_that_differ_from_the_apps_defaults():
    default = SETTINGS["REBOOTER_SOAK_SECONDS"].default
    env = {"REBOOTER_HEALTH_POLL_SECONDS": "1", "REBOOTER_SOAK_SECONDS": default, "REBOOTER_PAUSED": "",
           "HOME": "/root"}
    assert differing_settings(env) == {"REBOOTER_HEALTH_POLL_SECONDS": "1"}
