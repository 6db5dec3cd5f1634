"""Invalid settings fail fast, naming the setting and the expected form; nothing half-loads."""

import pytest

from rebooter.config import settings


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("REBOOTER_WINDOW_TIME_ZONE", "Mars/Olympus", "REBOOTER_WINDOW_TIME_ZONE"),
        ("REBOOTER_WINDOW_START", "25:00", "REBOOTER_WINDOW_START"),
        ("REBOOTER_WINDOW_DAYS", "mon,funday", "REBOOTER_WINDOW_DAYS"),
        ("REBOOTER_WINDOW_EXCLUDE_DATES", "2026-13-01", "REBOOTER_WINDOW_EXCLUDE_DATES"),
        ("REBOOTER_DRAIN_TIMEOUT_SECONDS", "-1", "non-negative"),
        ("REBOOTER_HEALTH_POLL_SECONDS", "soon", "number of seconds"),
        ("REBOOTER_UNDRAINABLE_POLICY", "ignore", "expected one of skip, quarantine, force"),
        ("REBOOTER_REBOOT_METHOD", "ipmi", "expected one of pod, vmss"),
        ("REBOOTER_MAX_UNAVAILABLE", "0", "between 1 and 100"),
        ("REBOOTER_PRE_REBOOT_NODE_LABELS", "no-equals-sign", "key=value"),
        ("REBOOTER_CLUSTER_OVERRIDES", '{"aks-a": {"drainTimeoutSeconds": -5}}', "aks-a.drainTimeoutSeconds"),
        ("REBOOTER_CLUSTER_OVERRIDES", '{"aks-a": {"colour": "red"}}', "not a setting key"),
        ("REBOOTER_SCHEDULE", "0 * * * *", "6-field NCRONTAB"),
        ("REBOOTER_CLUSTERS", "/subscriptions/x/resourceGroups/rg", "AKS resource ID"),
    ],
)
def test_bad_setting_is_named_with_the_expected_form(name, value, expected):
    with pytest.raises(settings.SettingsError) as info:
        settings.load({name: value})
    assert name in str(info.value) and expected in str(info.value)


def test_a_window_that_ends_before_it_starts_wraps_past_midnight_instead_of_failing():
    values = settings.load({"REBOOTER_WINDOW_START": "22:00", "REBOOTER_WINDOW_END": "04:00"})
    assert (values["windowStart"], values["windowEnd"]) == ("22:00", "04:00")


def test_cron_source_needs_a_schedule_and_a_duration():
    with pytest.raises(settings.SettingsError, match="REBOOTER_WINDOW_SCHEDULE"):
        settings.load({"REBOOTER_WINDOW_SOURCE": "cron"})
    with pytest.raises(settings.SettingsError, match="REBOOTER_WINDOW_DURATION_SECONDS"):
        settings.load({"REBOOTER_WINDOW_SOURCE": "cron", "REBOOTER_WINDOW_SCHEDULE": "0 0 2 * * sat"})


def test_invalid_settings_are_logged_when_the_app_loads(monkeypatch, caplog):
    from starters import cycles

    monkeypatch.setenv("REBOOTER_UNDRAINABLE_POLICY", "ignore")
    with caplog.at_level("ERROR", logger="rebooter.starters"):
        cycles.check_settings_at_startup()
    assert "REBOOTER_UNDRAINABLE_POLICY" in caplog.text
