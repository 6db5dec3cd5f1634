"""The lab's settings layers: its fast defaults give way to what the caller exported, a test's
own settings and the sandbox's address win, and the banner lists what differs from the app."""

from types import SimpleNamespace

from lab.local.stack import FAST_SETTINGS, differing_settings, sandbox_settings
from rebooter.config.settings import SETTINGS

SANDBOX = SimpleNamespace(cluster_resource_id="/subscriptions/s/resourceGroups/rg/providers/"
                                              "Microsoft.ContainerService/managedClusters/c",
                          arm_url="https://127.0.0.1:1", ca_file="/tmp/ca.pem")


def test_the_callers_setting_wins_over_the_labs_fast_default_and_the_demo_budget():
    caller = {"REBOOTER_HEALTH_POLL_SECONDS": "10", "REBOOTER_MAX_UNAVAILABLE": "1"}
    env = sandbox_settings(SANDBOX, defaults={"REBOOTER_MAX_UNAVAILABLE": "2"}, caller_env=caller)
    assert env["REBOOTER_HEALTH_POLL_SECONDS"] == "10"
    assert env["REBOOTER_MAX_UNAVAILABLE"] == "1"
    assert env["REBOOTER_DRAIN_RETRY_SECONDS"] == FAST_SETTINGS["REBOOTER_DRAIN_RETRY_SECONDS"]


def test_without_the_caller_the_lab_defaults_apply():
    env = sandbox_settings(SANDBOX, defaults={"REBOOTER_MAX_UNAVAILABLE": "2"}, caller_env={})
    assert env["REBOOTER_MAX_UNAVAILABLE"] == "2"
    assert env["REBOOTER_HEALTH_POLL_SECONDS"] == FAST_SETTINGS["REBOOTER_HEALTH_POLL_SECONDS"]


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
