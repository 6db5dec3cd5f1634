"""URLs carry secrets (webhook tokens, passwords): they are masked wherever a URL is shown,
and scrubbed from Apprise's and urllib3's own log records, even at trace level."""

from __future__ import annotations

import logging

import pytest

from rebooter.config import settings
from rebooter.notifications import secrets as notify_secrets
from tests.rebooter.notifications.conftest import notify
from tests.rebooter.notifications.receiver import Receiver, closed_port

SECRETS = ("S3cretPassw0rd", "T0kenPath42", "s3cr3tSig99")


@pytest.mark.parametrize(("url", "masked"), [
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", "slack://T1****/A1****/TI****/#general"),
    ("workflows://prod-12.westus.logic.azure.com:443/8f2e0c1d9a7b4c6e/SiGnAtUrE123abc",
     "workflows://prod-12.westus.logic.azure.com:443/8f****/Si****"),
    ("https://prod-12.westus.logic.azure.com:443/workflows/8f2e0c1d9a7b4c6e/triggers/manual/paths/invoke"
     "?api-version=2016-06-01&sig=SiGnAtUrE123abc",
     "https://prod-12.westus.logic.azure.com:443/workflows/8f****/triggers/manual/paths/invoke"
     "?api-version=2016-06-01&sig=****"),
    ("mailto://ops:hunter22@example.com?to=a@example.com", "mailto://ops:****@example.com?to=a@example.com"),
    ("json://127.0.0.1:8080/hook", "json://127.0.0.1:8080/hook"),
    ("jsons://user:S3cretPassw0rd@hooks.example.com/T0kenPath42?-sig=s3cr3tSig99&format=markdown",
     "jsons://user:****@hooks.example.com/T0****?-sig=****&format=markdown"),
    ("tgram://123456789:AAF-token_value/987", "tgram://12****/****"),
    ("json://[::1]:8080/hook", "json://[::1]:8080/hook"),
])
def test_mask_url_hides_passwords_tokens_and_query_values(url, masked):
    assert notify_secrets.mask_url(url) == masked


def test_secret_parts_are_what_the_mask_hides():
    url = "jsons://user:S3cretPassw0rd@hooks.example.com/T0kenPath42?-sig=s3cr3tSig99&format=markdown"
    parts = notify_secrets.secret_parts(url)
    assert set(SECRETS) <= parts
    assert "markdown" not in parts and "hooks.example.com" not in parts and "user" not in parts


def _secret_url(port: int) -> str:
    return f"json://user:S3cretPassw0rd@127.0.0.1:{port}/T0kenPath42?-sig=s3cr3tSig99"


def _assert_clean(caplog) -> None:
    texts = [caplog.text] + [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_failures_are_logged_with_the_url_masked_even_at_trace_level(app_env, caplog):
    caplog.set_level(1)  # below DEBUG: Apprise's TRACE records too
    with Receiver(status=500) as broken:
        down = closed_port()
        app_env(REBOOTER_NOTIFY_URLS=f"{_secret_url(broken.port)} {_secret_url(down)}")
        result = notify({"event": "node_failed", "eventId": "cycle-1:node_failed:n1", "node": "n1"})
        assert broken.requests[0]["path"] == "/T0kenPath42?sig=s3cr3tSig99"  # the secrets were really used
    assert result["sent"] == 0
    assert [f["url"] for f in result["failed"]] == [
        f"json://user:****@127.0.0.1:{broken.port}/T0****?-sig=****",
        f"json://user:****@127.0.0.1:{down}/T0****?-sig=****",
    ]
    warnings = [r.getMessage() for r in caplog.records if r.name == "rebooter.notify" and r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert f"json://user:****@127.0.0.1:{broken.port}/T0****?-sig=****" in warnings[0]
    assert any(r.name.startswith("apprise") for r in caplog.records)  # Apprise did log, and was scrubbed
    _assert_clean(caplog)
    for failure in result["failed"]:
        for secret in SECRETS:
            assert secret not in failure["error"]


def test_a_successful_send_logs_no_secret_either(app_env, caplog):
    caplog.set_level(1)
    with Receiver() as ok:
        app_env(REBOOTER_NOTIFY_URLS=_secret_url(ok.port))
        assert notify({"event": "cycle_started", "eventId": "cycle-1:cycle_started"})["sent"] == 1
        assert ok.requests[0]["headers"]["Authorization"].startswith("Basic ")
    assert any("sent to json://user:****@" in r.getMessage() for r in caplog.records)
    _assert_clean(caplog)


def test_an_invalid_url_is_neither_echoed_by_apprise_nor_by_the_error(caplog):
    caplog.set_level(1)
    bad = "nosuchservice://user:S3cretPassw0rd@hooks.example.com/T0kenPath42?sig=s3cr3tSig99"
    with pytest.raises(settings.SettingsError) as info:
        settings.load({"REBOOTER_NOTIFY_URLS": bad})
    _assert_clean(caplog)
    for secret in SECRETS:
        assert secret not in str(info.value)
