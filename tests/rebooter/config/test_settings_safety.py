"""The safety settings load, validate (errors name the setting) and feed the domain functions."""

from __future__ import annotations

import pytest

from rebooter.config import settings
from rebooter.policy import alerts, window_settings


def load(**env: str) -> dict:
    return settings.load(env)


def test_defaults_are_always_open_and_no_blockers():
    values = load()
    assert window_settings.effective_window(values).always_open
    assert alerts.from_settings(values) is None
    assert values["blockingPodSelectors"] == []
    assert values["windowSource"] == "settings"


def test_values_are_json_friendly_and_round_trip():
    values = load(REBOOTER_WINDOW_DAYS="Sat, sun", REBOOTER_WINDOW_START="9:05", REBOOTER_WINDOW_END="7:00",
                  REBOOTER_WINDOW_TIME_ZONE="Europe/Berlin", REBOOTER_WINDOW_EXCLUDE_DATES="2024-12-25 2024-12-24",
                  REBOOTER_BLOCKING_POD_SELECTORS="app=backup; team in (db, cache),!canary ;",
                  REBOOTER_PROMETHEUS_URL="https://ws.westeurope.prometheus.monitor.azure.com/",
                  REBOOTER_PROMETHEUS_AUTH="entra", REBOOTER_ALERT_FILTER_REGEXP="^(Watchdog|InfoInhibitor)$",
                  REBOOTER_ALERT_FIRING_ONLY="true")
    assert values["windowDays"] == ["sat", "sun"]
    assert values["windowStart"] == "09:05" and values["windowEnd"] == "07:00"
    assert values["windowExcludeDates"] == ["2024-12-24", "2024-12-25"]
    assert values["blockingPodSelectors"] == ["app=backup", "team in (db, cache),!canary"]
    assert values["prometheusUrl"] == "https://ws.westeurope.prometheus.monitor.azure.com"
    window = window_settings.window_from_settings(values)
    assert window.describe() == "sat,sun 09:05-07:00 Europe/Berlin, except 2024-12-24, 2024-12-25"
    check = alerts.from_settings(values)
    assert check.query == 'ALERTS{alertstate="firing"}' and check.auth == "entra"


@pytest.mark.parametrize(("env", "setting"), [
    ({"REBOOTER_WINDOW_DAYS": "mon,someday"}, "REBOOTER_WINDOW_DAYS"),
    ({"REBOOTER_WINDOW_START": "8"}, "REBOOTER_WINDOW_START"),
    ({"REBOOTER_WINDOW_END": "12:60"}, "REBOOTER_WINDOW_END"),
    ({"REBOOTER_WINDOW_TIME_ZONE": "CEST"}, "REBOOTER_WINDOW_TIME_ZONE"),
    ({"REBOOTER_WINDOW_EXCLUDE_DATES": "tomorrow"}, "REBOOTER_WINDOW_EXCLUDE_DATES"),
    ({"REBOOTER_WINDOW_SOURCE": "arm"}, "REBOOTER_WINDOW_SOURCE"),
    ({"REBOOTER_WINDOW_SOURCE": "aks", "REBOOTER_WINDOW_START": "22:00"}, "REBOOTER_WINDOW_SOURCE"),
    ({"REBOOTER_PROMETHEUS_URL": "prometheus:9090"}, "REBOOTER_PROMETHEUS_URL"),
    ({"REBOOTER_PROMETHEUS_URL": "http://10.0.0.4:9090", "REBOOTER_PROMETHEUS_AUTH": "entra"}, "REBOOTER_PROMETHEUS_URL"),
    ({"REBOOTER_PROMETHEUS_AUTH": "entra"}, "REBOOTER_PROMETHEUS_AUTH"),
    ({"REBOOTER_ALERT_FILTER_REGEXP": "(unclosed"}, "REBOOTER_ALERT_FILTER_REGEXP"),
    ({"REBOOTER_ALERT_FILTER_MATCH_ONLY": "maybe"}, "REBOOTER_ALERT_FILTER_MATCH_ONLY"),
    ({"REBOOTER_BLOCKING_POD_SELECTORS": "app=a;team in (x,y"}, "REBOOTER_BLOCKING_POD_SELECTORS"),
    ({"REBOOTER_BLOCKING_POD_SELECTORS": "app=has space"}, "REBOOTER_BLOCKING_POD_SELECTORS"),
])
def test_bad_values_name_the_setting(env, setting):
    with pytest.raises(settings.SettingsError) as info:
        settings.load(env)
    assert setting in str(info.value)


def test_aks_source_with_default_window_loads():
    assert load(REBOOTER_WINDOW_SOURCE="aks")["windowSource"] == "aks"


def test_new_settings_have_meaning_and_kured_flags():
    for name, flag in [("REBOOTER_WINDOW_DAYS", "reboot-days"), ("REBOOTER_WINDOW_START", "start-time"),
                       ("REBOOTER_WINDOW_END", "end-time"), ("REBOOTER_WINDOW_TIME_ZONE", "time-zone"),
                       ("REBOOTER_PROMETHEUS_URL", "prometheus-url"),
                       ("REBOOTER_ALERT_FILTER_REGEXP", "alert-filter-regexp"),
                       ("REBOOTER_ALERT_FILTER_MATCH_ONLY", "alert-filter-match-only"),
                       ("REBOOTER_ALERT_FIRING_ONLY", "alert-firing-only"),
                       ("REBOOTER_BLOCKING_POD_SELECTORS", "blocking-pod-selector")]:
        assert settings.SETTINGS[name].kured == flag
        assert settings.SETTINGS[name].meaning
