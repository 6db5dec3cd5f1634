"""The Prometheus alert blocker against a local stub (127.0.0.1, port 0): filters and failures."""

from __future__ import annotations

import time

import pytest

from rebooter.policy import alerts
from rebooter.policy.alerts import AlertCheck, active_alerts, alert_reasons, query_alerts
from tests.helpers.prometheus_stub import PrometheusStub, alert


@pytest.fixture
def prom():
    with PrometheusStub() as stub:
        yield stub


# ---- pure filters (kured's semantics) ---------------------------------------------------------


SAMPLES = [alert("Watchdog"), alert("NodeDiskFull"), alert("KubePodCrashLooping", "pending"),
           alert("Silenced", value="0"), {"metric": {"__name__": "ALERTS"}, "value": [0, "1"]}]


def test_every_active_alert_blocks_without_a_filter():
    assert active_alerts(SAMPLES) == ["KubePodCrashLooping", "NodeDiskFull", "Watchdog"]


def test_filter_ignores_matching_alerts():
    assert active_alerts(SAMPLES, "^Watchdog$") == ["KubePodCrashLooping", "NodeDiskFull"]


def test_filter_is_a_search_like_go_matchstring():
    assert active_alerts(SAMPLES, "Disk") == ["KubePodCrashLooping", "Watchdog"]


def test_match_only_blocks_only_on_matching_alerts():
    assert active_alerts(SAMPLES, "^Node", match_only=True) == ["NodeDiskFull"]


def test_firing_only_drops_pending():
    assert active_alerts(SAMPLES, firing_only=True) == ["NodeDiskFull", "Watchdog"]


# ---- against the stub -------------------------------------------------------------------------


def test_query_and_reason(prom):
    prom.alerts = [alert("NodeDiskFull"), alert("Watchdog"), alert("HighLatency", "pending")]
    check = AlertCheck(prom.url, filter_regexp="^Watchdog$")
    assert query_alerts(check) == ["HighLatency", "NodeDiskFull"]
    assert prom.requests[-1]["path"] == "/api/v1/query" and prom.requests[-1]["query"] == "ALERTS"
    assert prom.requests[-1]["authorization"] is None
    reasons = alert_reasons(check)
    assert reasons == ["2 active alerts in Prometheus: HighLatency, NodeDiskFull"]


def test_firing_only_queries_firing_alerts(prom):
    prom.alerts = [alert("NodeDiskFull", "pending")]
    check = AlertCheck(prom.url, firing_only=True)
    assert alert_reasons(check) == []
    assert prom.requests[-1]["query"] == 'ALERTS{alertstate="firing"}'


def test_match_only_against_the_stub(prom):
    prom.alerts = [alert("NodeDiskFull"), alert("Watchdog")]
    assert query_alerts(AlertCheck(prom.url, filter_regexp="Disk", match_only=True)) == ["NodeDiskFull"]
    assert query_alerts(AlertCheck(prom.url, filter_regexp="Nothing", match_only=True)) == []


def test_no_alerts_no_reasons(prom):
    assert alert_reasons(AlertCheck(prom.url)) == []


def test_not_configured_is_no_check():
    assert alert_reasons(None) == []
    assert alerts.from_settings({"prometheusUrl": ""}) is None


AZURE_PROM = "https://ws-1a2b.westeurope.prometheus.monitor.azure.com"


class RecordingSession:
    """Stands in for requests.Session: records each GET, answers an empty vector."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def get(self, url, params=None, headers=None, timeout=None):
        self.calls.append({"url": url, "headers": dict(headers or {})})
        body = b'{"status": "success", "data": {"resultType": "vector", "result": []}}'
        return type("Response", (), {"status_code": 200, "content": body})()


def test_entra_token_is_sent_to_an_azure_monitor_host():
    scopes, http = [], RecordingSession()
    query_alerts(AlertCheck(AZURE_PROM, auth="entra"), token=lambda: scopes.append(1) or "tok-123", http=http)
    assert http.calls[-1]["headers"]["Authorization"] == "Bearer tok-123" and scopes == [1]


@pytest.mark.parametrize("url", [
    "https://evil.example@ws.westeurope.prometheus.monitor.azure.com",  # userinfo, the host looks right
    "https://ws.westeurope.prometheus.monitor.azure.com.evil.example",  # suffix of a foreign domain
    "https://prometheus.monitor.azure.com@evil.example",  # the real host is evil.example
    "http://ws.westeurope.prometheus.monitor.azure.com",  # plain http
    "https://evil.example",
])
def test_no_entra_token_leaves_for_another_host(url):
    """Regression (issue 11 item 11): the host is checked on the parsed host name, at the moment
    the token would be sent, whatever settings reached the activity."""
    http, asked = RecordingSession(), []
    reasons = alert_reasons(AlertCheck(url, auth="entra"), token=lambda: asked.append(1) or "tok", http=http)
    assert http.calls == [] and asked == [] and len(reasons) == 1 and "Entra" in reasons[0] or "https" in reasons[0]
    assert alerts.validate_alert_settings({"prometheusUrl": url, "prometheusAuth": "entra"})


def test_prometheus_url_with_credentials_is_refused_and_never_echoed():
    with pytest.raises(ValueError) as info:
        alerts.parse_url_setting("https://user:s3cret-pass@prom.example:9090")
    assert "s3cret-pass" not in str(info.value) and "credentials" in str(info.value)
    with pytest.raises(ValueError) as info:
        alerts.parse_url_setting("https://user:s3cret-pass@prom example")
    assert "s3cret-pass" not in str(info.value)


def test_token_failure_blocks():
    def broken() -> str:
        raise RuntimeError("ManagedIdentityCredential: no identity\nmore")

    http = RecordingSession()
    reasons = alert_reasons(AlertCheck(AZURE_PROM, auth="entra"), token=broken, http=http)
    assert len(reasons) == 1 and "cannot get an Entra ID token" in reasons[0] and "no identity" in reasons[0]
    assert http.calls == []


def test_http_500_blocks_with_the_reason(prom):
    prom.status = 500
    reasons = alert_reasons(AlertCheck(prom.url))
    assert len(reasons) == 1
    assert "failed, so reboots wait" in reasons[0] and "HTTP 500: query failed" in reasons[0]


def test_non_json_answer_blocks(prom):
    prom.body = b"<html>login</html>"
    reasons = alert_reasons(AlertCheck(prom.url))
    assert reasons and "unexpected answer" in reasons[0]


def test_wrong_result_type_blocks(prom):
    prom.body = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'
    assert "unexpected result type 'matrix'" in alert_reasons(AlertCheck(prom.url))[0]


def test_wrong_path_blocks(prom):
    reasons = alert_reasons(AlertCheck(prom.url + "/prefix"))
    assert reasons and "HTTP 404" in reasons[0]


def test_timeout_blocks_quickly(prom):
    prom.delay = 1.0
    started = time.monotonic()
    reasons = alert_reasons(AlertCheck(prom.url), timeout=0.2, http=alerts.session(retries=1, backoff=0))
    assert time.monotonic() - started < 2.0
    assert len(reasons) == 1 and "failed, so reboots wait" in reasons[0]
    assert "timed out" in reasons[0].lower()


def test_unreachable_blocks():
    with PrometheusStub() as stub:
        url = stub.url
    reasons = alert_reasons(AlertCheck(url), timeout=0.5, http=alerts.session(retries=0))
    assert reasons and "failed, so reboots wait" in reasons[0]


def test_transient_503_is_retried(prom):
    prom.fail_times = 2
    prom.alerts = [alert("NodeDiskFull")]
    assert query_alerts(AlertCheck(prom.url), http=alerts.session(backoff=0)) == ["NodeDiskFull"]
    assert len(prom.requests) == 3


def test_persistent_503_blocks(prom):
    prom.fail_times = 10
    reasons = alert_reasons(AlertCheck(prom.url), http=alerts.session(backoff=0))
    assert reasons and "HTTP 503" in reasons[0]
    assert len(prom.requests) == 1 + alerts.RETRIES
