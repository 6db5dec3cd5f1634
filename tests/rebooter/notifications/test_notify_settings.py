"""Notification settings are checked at load: Apprise must understand every URL (offline) and
templates may only use the known placeholders; errors name the setting and mask the URL."""

from __future__ import annotations

import json

import pytest

from rebooter.config import settings
from rebooter.notifications import events as notify_events
from rebooter.notifications import secrets as notify_secrets
from rebooter.notifications import settings as notify_settings
from tests.rebooter.notifications.conftest import notify

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#ops"
WORKFLOW = "workflows://prod-12.westus.logic.azure.com:443/8f2e0c1d9a7b4c6e/SiGnAtUrE123abc"


def load(**env: str) -> dict:
    return settings.load(env)


def test_notifications_are_off_by_default_and_every_event_is_chosen():
    values = load()
    assert values["notifyUrls"] == []
    assert values["notifyEvents"] == list(notify_events.EVENTS)
    for event in notify_events.EVENTS.values():
        assert values[notify_events.template_key(event.name)] == event.body


def test_template_settings_exist_for_every_event_with_the_expected_keys():
    for name in notify_events.EVENTS:
        setting = settings.SETTINGS[notify_events.template_setting(name)]
        assert setting.key == notify_events.template_key(name)
        assert not setting.per_cycle
    assert settings.SETTINGS["REBOOTER_NOTIFY_URLS"].kured == "notify-url"
    assert settings.SETTINGS["REBOOTER_NOTIFY_TEMPLATE_NODE_DRAINING"].kured == "message-template-drain"
    assert settings.SETTINGS["REBOOTER_NOTIFY_TEMPLATE_NODE_HEALTHY"].kured == "message-template-uncordon"


def test_slack_teams_workflows_mail_and_webhook_urls_load_space_or_comma_separated():
    raw = (f"{SLACK}, {WORKFLOW} mailto://ops:hunter22@example.com?to=a@example.com,b@example.com;"
           "jsons://hooks.example.com/rebooter")
    values = load(REBOOTER_NOTIFY_URLS=raw)
    assert len(values["notifyUrls"]) == 4
    assert values["notifyUrls"][2].endswith("?to=a@example.com,b@example.com")
    assert notify_settings.configured_urls(values)[0] == SLACK


def test_the_teams_workflow_https_url_itself_is_accepted():
    url = ("https://prod-12.westus.logic.azure.com:443/workflows/8f2e0c1d9a7b4c6e/triggers/manual/paths/invoke"
           "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SeCrEtSiG123abc")
    assert notify_settings.configured_urls(load(REBOOTER_NOTIFY_URLS=url)) == [url]


def test_loaded_urls_serialize_masked_so_orchestrator_input_holds_no_secret():
    values = load(REBOOTER_NOTIFY_URLS=f"{SLACK} {WORKFLOW}")
    text = json.dumps(values)
    for secret in ("TIiajkdnlazkcOXrIdevi7FQ", "A1BRTD4JD", "SiGnAtUrE123abc", "8f2e0c1d9a7b4c6e"):
        assert secret not in text
        assert secret not in repr(values)
    assert json.loads(text)["notifyUrls"] == ["slack://T1****/A1****/TI****/#ops",
                                             "workflows://prod-12.westus.logic.azure.com:443/8f****/Si****"]
    assert notify_events.wants(json.loads(text), "node_failed")  # the orchestrator's view still says "on"


@pytest.mark.parametrize("bad", [
    "slack://onlyonetoken0123456789",
    "nosuchservice://host/path",
    "hooks.example.com/no-scheme",
    "msteams://legacy",
])
def test_a_url_apprise_cannot_use_is_a_settings_error_naming_the_setting(bad):
    with pytest.raises(settings.SettingsError) as info:
        load(REBOOTER_NOTIFY_URLS=f"{SLACK} {bad}")
    message = str(info.value)
    assert "REBOOTER_NOTIFY_URLS" in message
    assert notify_secrets.mask_url(bad) in message
    assert "onlyonetoken0123456789" not in message
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in message  # the good URL is not echoed either


def test_the_settings_error_masks_the_secrets_of_the_bad_url():
    with pytest.raises(settings.SettingsError) as info:
        load(REBOOTER_NOTIFY_URLS="nosuchservice://admin:pa55word-XYZ@hooks.example.com/T0kEn42abc?key=s3cr3tvalue")
    message = str(info.value)
    assert "nosuchservice://admin:****@hooks.example.com/T0****?key=****" in message
    for secret in ("pa55word-XYZ", "T0kEn42abc", "s3cr3tvalue"):
        assert secret not in message


@pytest.mark.parametrize(("template", "detail"), [
    ("Draining $node on $clutser", "$clutser"),
    ("Draining ${node} for ${why}", "$why"),
    ("Costs 5$ on $node", "not followed by a placeholder name"),
])
def test_an_unknown_placeholder_is_a_settings_error_naming_the_setting(template, detail):
    with pytest.raises(settings.SettingsError) as info:
        load(REBOOTER_NOTIFY_TEMPLATE_NODE_DRAINING=template)
    message = str(info.value)
    assert "REBOOTER_NOTIFY_TEMPLATE_NODE_DRAINING" in message
    assert detail in message


def test_every_known_placeholder_and_escaped_dollars_are_accepted():
    template = " ".join(f"${name}" for name in notify_events.PLACEHOLDERS) + " costs $$5"
    assert load(REBOOTER_NOTIFY_TEMPLATE_CYCLE_FINISHED=template)["notifyTemplateCycleFinished"] == template


def test_default_templates_use_only_known_placeholders():
    for event in notify_events.EVENTS.values():
        assert notify_settings.parse_template(event.body) == event.body
        assert notify_settings.parse_template(event.title) == event.title


def test_events_setting_accepts_a_list_and_rejects_unknown_events():
    assert load(REBOOTER_NOTIFY_EVENTS="cycle_halted node_failed")["notifyEvents"] == ["node_failed", "cycle_halted"]
    with pytest.raises(settings.SettingsError) as info:
        load(REBOOTER_NOTIFY_EVENTS="node_failed,node_exploded")
    assert "REBOOTER_NOTIFY_EVENTS" in str(info.value) and "node_exploded" in str(info.value)


def test_the_activity_with_invalid_settings_reports_instead_of_raising(app_env):
    app_env(REBOOTER_NOTIFY_URLS="nosuchservice://host/T0kEn42abc")
    result = notify({"event": "cycle_started", "eventId": "i:cycle_started"})
    assert result["sent"] == 0
    assert "REBOOTER_NOTIFY_URLS" in result["failed"][0]["error"]
    assert "T0kEn42abc" not in result["failed"][0]["error"]


def test_wants_follows_urls_and_events():
    assert not notify_events.wants(load(), "cycle_started")
    on = json.loads(json.dumps(load(REBOOTER_NOTIFY_URLS=SLACK, REBOOTER_NOTIFY_EVENTS="node_failed")))
    assert notify_events.wants(on, "node_failed")
    assert not notify_events.wants(on, "cycle_started")
