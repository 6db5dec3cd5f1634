"""Prometheus alert blocker (kured's --prometheus-url, --alert-filter-regexp,
--alert-filter-match-only, --alert-firing-only), usable with Azure Monitor managed Prometheus.

Reboots wait while alerts are active: taking nodes out of a cluster that is already in
trouble makes it worse. The query is Prometheus' instant-query API on the synthetic ``ALERTS``
series (``ALERTS{alertstate="firing"}`` with firing-only); any alert whose sample value is not 0
counts, after the name filter:

* no regexp: every alert blocks;
* regexp, match-only off (kured's default): alerts whose *name* matches are ignored;
* regexp, match-only on: only alerts whose name matches block.

The regexp is searched (not anchored), like Go's ``MatchString``; it uses Python's ``re``
syntax, which agrees with Go's RE2 for ordinary patterns.

A query that fails (unreachable, timeout, HTTP error, unexpected answer) BLOCKS, with the
reason: "cannot tell" is not "all clear". Transient errors get a couple of quick retries
(urllib3 Retry) inside a short timeout, so an activity never waits long.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # imported lazily: settings.py imports this module for its parsers
    import requests

PROMETHEUS_SCOPE = "https://prometheus.monitor.azure.com/.default"
# Azure Monitor workspace query endpoints are https://<workspace>.<region>.prometheus.monitor.azure.com
# (Microsoft Learn, "Query Prometheus metrics using the API and PromQL"); an Entra token for the
# scope above is only ever sent to such a host, whatever the input of an orchestration says.
ENTRA_HOST_SUFFIXES = (".prometheus.monitor.azure.com",)
TIMEOUT = (3.0, 5.0)  # (connect, read) seconds per attempt; 3 attempts stay under ~20 s
RETRIES = 2
BACKOFF = 0.2  # urllib3: 0 s, 0.4 s between attempts
RETRY_STATUSES = (429, 502, 503, 504)
MAX_NAMES = 10  # alert names listed in a reason


class AlertQueryError(Exception):
    """The alert query gave no usable answer; the message says why."""


@dataclass(frozen=True)
class AlertCheck:
    """What to ask and how to filter; built from settings with :func:`from_settings`."""

    url: str
    auth: str = "none"  # "none" | "entra"
    filter_regexp: str = ""
    match_only: bool = False
    firing_only: bool = False

    @property
    def query(self) -> str:
        return 'ALERTS{alertstate="firing"}' if self.firing_only else "ALERTS"


def from_settings(values: Mapping[str, Any]) -> AlertCheck | None:
    """The alert check configured in settings, or None when REBOOTER_PROMETHEUS_URL is empty."""
    url = str(values.get("prometheusUrl") or "").strip().rstrip("/")
    if not url:
        return None
    return AlertCheck(
        url=url,
        auth=str(values.get("prometheusAuth") or "none"),
        filter_regexp=str(values.get("alertFilterRegexp") or ""),
        match_only=bool(values.get("alertFilterMatchOnly", False)),
        firing_only=bool(values.get("alertFiringOnly", False)),
    )


# ---- setting parsers (used by rebooter.config.registry) --------------------------------------


def _masked(url: str) -> str:
    """The URL with any user:password@ part hidden (for error messages)."""
    scheme, sep, rest = url.strip().partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = "****@" + netloc.rpartition("@")[2]
    return f"{scheme}{sep}{netloc}{slash}{path}" if sep else ("****" if "@" in url else url)


def refuse_credentials(url: str) -> None:
    """Credentials in a URL would be echoed into statuses, histories and logs: refuse them."""
    netloc = url.partition("://")[2].partition("/")[0]
    if "@" in netloc:
        raise ValueError(f"credentials in the URL (user:password@) are not accepted, they would be shown and "
                         f"stored wherever the URL is; got {_masked(url)!r}")


def entra_host_problem(url: str) -> str:
    """Why an Entra token must not be sent to ``url`` ('' when it may): https, no credentials, and
    a parsed host name under an Azure Monitor managed Prometheus domain."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"not a URL: {_masked(url)!r}"
    if parts.scheme != "https":
        return f"an https:// URL is required (a bearer token is never sent over plain http), got {_masked(url)!r}"
    if "@" in parts.netloc:
        return f"credentials in the URL are not accepted, got {_masked(url)!r}"
    if not host.endswith(ENTRA_HOST_SUFFIXES):
        return (f"the host {host!r} is not an Azure Monitor managed Prometheus endpoint (*"
                f"{', *'.join(ENTRA_HOST_SUFFIXES)}), so no Entra token is sent to it")
    return ""


def parse_url_setting(raw: str) -> str:
    """Empty (no alert check) or an http(s) URL of a Prometheus-compatible query endpoint."""
    value = raw.strip().rstrip("/")
    if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError(f"expected an http:// or https:// URL such as https://<workspace>.<region>.prometheus."
                         f"monitor.azure.com, or empty, got {_masked(raw)!r}")
    refuse_credentials(value)
    return value


def parse_regexp_setting(raw: str) -> str:
    value = raw.strip()
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"expected a regular expression, got {raw!r}: {exc}") from None
    return value


def validate_alert_settings(values: Mapping[str, Any]) -> list[str]:
    """Cross-field checks for settings.load: an Entra token is only ever sent over https."""
    errors = []
    url = str(values.get("prometheusUrl") or "")
    if values.get("prometheusAuth") == "entra" and url and (problem := entra_host_problem(url)):
        errors.append(f"REBOOTER_PROMETHEUS_URL: REBOOTER_PROMETHEUS_AUTH is entra, so {problem}")
    if values.get("prometheusAuth") == "entra" and not url:
        errors.append("REBOOTER_PROMETHEUS_AUTH: is entra but REBOOTER_PROMETHEUS_URL is empty")
    return errors


# ---- pure filtering ---------------------------------------------------------------------------


def _passes_filter(name: str, pattern: re.Pattern[str] | None, match_only: bool) -> bool:
    if pattern is None:
        return True
    return bool(pattern.search(name)) == match_only


def active_alerts(result: list[dict[str, Any]], filter_regexp: str = "", match_only: bool = False,
                  firing_only: bool = False) -> list[str]:
    """Names of the alerts that block, sorted and unique, from an instant-vector ``result``."""
    pattern = re.compile(filter_regexp) if filter_regexp else None
    names: set[str] = set()
    for sample in result:
        metric = sample.get("metric") or {}
        name = metric.get("alertname")
        if not name:
            continue
        try:
            value = float((sample.get("value") or [0, "0"])[1])
        except (TypeError, ValueError, IndexError):
            value = 1.0  # unreadable sample value: count it rather than miss an alert
        if value == 0:
            continue
        if firing_only and metric.get("alertstate") != "firing":
            continue
        if _passes_filter(name, pattern, match_only):
            names.add(name)
    return sorted(names)


def parse_response(status: int, body: bytes | str) -> list[dict[str, Any]]:
    """The instant vector of a /api/v1/query answer, or AlertQueryError saying what was wrong."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if status != 200:
        detail = data.get("error") if isinstance(data, dict) else text.strip()[:200]
        raise AlertQueryError(f"HTTP {status}" + (f": {detail}" if detail else ""))
    if not isinstance(data, dict) or data.get("status") != "success":
        detail = data.get("error") if isinstance(data, dict) else "not JSON"
        raise AlertQueryError(f"unexpected answer: {detail}")
    payload = data.get("data") or {}
    if payload.get("resultType") != "vector" or not isinstance(payload.get("result"), list):
        raise AlertQueryError(f"unexpected result type {payload.get('resultType')!r} (expected vector)")
    return payload["result"]


# ---- the query --------------------------------------------------------------------------------


def session(retries: int = RETRIES, backoff: float = BACKOFF) -> requests.Session:
    """A session retrying transient failures (connect/read errors, 429/502/503/504) a few times."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                  status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}), raise_on_status=False,
                  respect_retry_after_header=False)
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def query_alerts(check: AlertCheck, token: Callable[[], str] | None = None,
                 http: requests.Session | None = None, timeout: float | tuple[float, float] = TIMEOUT) -> list[str]:
    """Ask Prometheus and return the names of the alerts that block (empty: none).

    ``token`` supplies an Entra ID access token (called only with auth "entra"). Raises
    AlertQueryError on any failure.
    """
    import requests

    headers = {"Accept": "application/json"}
    if check.auth == "entra":
        if problem := entra_host_problem(check.url):
            raise AlertQueryError(problem)
        if token is None:
            raise AlertQueryError("an Entra ID token is required (REBOOTER_PROMETHEUS_AUTH=entra) but none was supplied")
        try:
            headers["Authorization"] = f"Bearer {token()}"
        except Exception as exc:  # noqa: BLE001 - any credential failure blocks with its reason
            raise AlertQueryError(f"cannot get an Entra ID token for {PROMETHEUS_SCOPE}: "
                                  f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    own = http is None
    http = http or session()
    try:
        response = http.get(f"{check.url}/api/v1/query", params={"query": check.query}, headers=headers,
                            timeout=timeout)
    except requests.RequestException as exc:
        raise AlertQueryError(_describe(exc)) from None
    finally:
        if own:
            http.close()
    result = parse_response(response.status_code, response.content)
    return active_alerts(result, check.filter_regexp, check.match_only, check.firing_only)


def _describe(exc: BaseException) -> str:
    """The root cause of a transport failure, without urllib3's pool and retry wrapping."""
    cause: object = exc
    while getattr(cause, "reason", None) is not None or (getattr(cause, "args", None) and
                                                          isinstance(cause.args[0], BaseException)):
        cause = getattr(cause, "reason", None) or cause.args[0]  # type: ignore[union-attr]
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    if "): " in text:  # "HTTPConnection(host=..., port=...): Failed to establish ..." -> the message
        text = text.split("): ", 1)[1]
    kind = "timed out" if "timed out" in text.lower() or "timeout" in type(cause).__name__.lower() else "request failed"
    return f"{kind}: {text[:300]}"


def alert_reasons(check: AlertCheck | None, token: Callable[[], str] | None = None,
                  http: requests.Session | None = None, timeout: float | tuple[float, float] = TIMEOUT) -> list[str]:
    """Blocking reasons from the alert check ([] when not configured or nothing is active)."""
    if check is None:
        return []
    try:
        names = query_alerts(check, token, http, timeout)
    except AlertQueryError as exc:
        return [f"alert query to {check.url} failed, so reboots wait: {exc}"]
    if not names:
        return []
    shown = ", ".join(names[:MAX_NAMES]) + (f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else "")
    state = "firing" if check.firing_only else "active"
    return [f"{len(names)} {state} alert{'s' if len(names) != 1 else ''} in Prometheus: {shown}"]
