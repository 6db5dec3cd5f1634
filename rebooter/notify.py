"""Notifications: tell operators in Slack, Teams, e-mail or a webhook when something needs them.

kured sends through shoutrrr, whose Teams support broke when Microsoft retired Office 365
connectors for Power Automate workflows (kured charts#106). We send through Apprise, which
speaks both (``workflows://`` and the workflow's own https URL) and many other services.

What lives here (no Azure Functions imports; Apprise is imported only when URLs are set):

- the events, each with a title, a default message template (``string.Template``, overridden
  by a ``REBOOTER_NOTIFY_TEMPLATE_<EVENT>`` setting) and a severity;
- the setting parsers: URLs are checked by Apprise's own parser (offline), templates may only
  use the known placeholders, so a typo stops the start instead of a message going silent;
- URL masking, used everywhere a URL is shown, and a log filter that scrubs the configured
  URLs' secrets from Apprise's and urllib3's own log records;
- ``render`` (payload -> title and body) and ``send`` (one message to every URL, each failure
  recorded, nothing raised: a notification must never fail a patch cycle);
- (from rebooter.notify_events, re-exported) the event catalogue and the pure payload builders
  the orchestrators call deterministically.

The configured URLs carry secrets (webhook tokens, passwords), and the settings dict is
the orchestrators' input, which the Durable backend stores in its history. So the parsed
``notifyUrls`` value is a ``NotifyUrls`` list of *masked* URLs (what JSON sees) that keeps
the real ones in memory only, for the activity of the same process.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any
from urllib.parse import unquote

from rebooter import names
from rebooter.notify_events import (  # noqa: F401 - re-exported: callers use rebooter.notify for all of it
    EVENTS,
    PLACEHOLDERS,
    Event,
    cycle_payload,
    event_id,
    node_event_for,
    node_payload,
    node_result_payload,
    template_key,
    template_setting,
    wants,
)

log = logging.getLogger("rebooter.notify")

# The generic webhook schemes whose JSON/form/XML payload gets the event id as its own field.
_WEBHOOK_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}


# ------------------------------------------------------------------------------------------
# Settings
# ------------------------------------------------------------------------------------------


class NotifyUrls(list):
    """The configured notification URLs, masked; the real ones stay in this process.

    A list of masked URLs is what ``json.dumps``, ``repr`` and so the orchestrators' input and
    the Durable history see; ``secret_urls`` holds the URLs Apprise sends to.
    """

    def __init__(self, urls: Iterable[str] = ()) -> None:
        urls = tuple(urls)
        super().__init__(mask_url(url) for url in urls)
        self.secret_urls = urls


_NEXT_URL = re.compile(r"[,;]+(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def split_urls(raw: str) -> list[str]:
    """Space- or comma-separated URLs; a comma inside a URL (mailto ?to=a,b) stays in it.

    URLs hold no spaces, so every word is (part of) one; within a word a comma starts a new
    URL only before ``scheme://``. Stray words stay, so validation can name them.
    """
    seen: dict[str, None] = {}
    for word in raw.split():
        for piece in _NEXT_URL.split(word):
            piece = piece.strip(",;")
            if piece:
                seen.setdefault(piece, None)
    return list(seen)


def parse_urls_setting(raw: str) -> NotifyUrls:
    """REBOOTER_NOTIFY_URLS: every URL must be one Apprise can load (checked offline)."""
    urls = split_urls(raw)
    bad = [_describe_bad(url) for url in urls if _load_plugin(url) is None]
    if bad:
        raise ValueError(
            f"not a notification URL Apprise can use: {', '.join(bad)} (expected Apprise URLs such as "
            "slack://..., workflows://... or the Teams workflow's https URL, mailto://..., json://host/path)"
        )
    return NotifyUrls(urls)


def _describe_bad(url: str) -> str:
    if "://" in url:
        return mask_url(url)
    return f"{url if _WORD.match(url) else mask_url(url)} (no scheme://)"


def parse_events_setting(raw: str) -> list[str]:
    """REBOOTER_NOTIFY_EVENTS: ``all`` or a comma/space list of event names."""
    words = [w for w in re.split(r"[\s,]+", raw.strip().lower()) if w]
    if words in ([], ["all"]):
        return list(EVENTS)
    unknown = [w for w in words if w not in EVENTS]
    if unknown:
        raise ValueError(f"unknown event(s) {', '.join(unknown)}; expected all or some of {', '.join(EVENTS)}")
    return [e for e in EVENTS if e in words]


def parse_template(raw: str) -> str:
    """REBOOTER_NOTIFY_TEMPLATE_*: a string.Template using only the known placeholders."""
    text = raw.strip()
    template = Template(text)
    if not template.is_valid():
        bad = next(m for m in template.pattern.finditer(text) if m.group("invalid") is not None)
        raise ValueError(
            f"a '$' at position {bad.start('invalid')} is not followed by a placeholder name "
            f"(write $$ for a literal $) in {text!r}"
        )
    unknown = [name for name in template.get_identifiers() if name not in PLACEHOLDERS]
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('$' + u for u in unknown)}; "
            f"expected some of {', '.join('$' + p for p in PLACEHOLDERS)}"
        )
    return text


# ------------------------------------------------------------------------------------------
# Secrets: masking URLs, scrubbing log records
# ------------------------------------------------------------------------------------------

_HOSTNAME = re.compile(
    r"^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63})$"
)
_WORD = re.compile(r"^[#@+]?[A-Za-z]?[a-z_.-]{0,31}$")  # a plain word: channel, path verb; no digits
_SAFE_QUERY_KEYS = {
    "format", "overflow", "method", "mode", "image", "footer", "timestamp", "blocks", "wrap", "pa",
    "verify", "rto", "cto", "emojis", "store", "tz", "to", "from", "name", "secure", "smtp", "port",
    "api-version", "sv", "sp", "avatar", "ver", "retry", "wait", "optional",
}  # their values are settings, not credentials
MASK = "****"


def _mask_token(value: str) -> str:
    return value[:2] + MASK if len(value) >= 8 else MASK


def _url_parts(url: str) -> dict[str, str]:
    """A tolerant split of scheme://user:password@host:port/path?query#fragment."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":") if at else ("", "", "")
    host, port = hostport, ""
    head, colon_, tail = hostport.rpartition(":")
    if colon_ and tail.isdigit() and (not head.startswith("[") or head.endswith("]")):
        host, port = head, tail
    return {"scheme": scheme, "sep": sep, "user": user, "colon": colon, "password": password, "at": at,
            "host": host, "port": port, "slash": slash, "path": path, "query": query, "fragment": fragment}


def _mask(url: str) -> tuple[str, set[str]]:
    """The masked URL and the substrings it hid (one walk, so both always agree)."""
    p = _url_parts(url.strip())
    hidden: set[str] = set()

    def hide(value: str, keep: bool, masked: str | None = None) -> str:
        if keep or not value:
            return value
        hidden.add(value)
        return _mask_token(value) if masked is None else masked

    out = p["scheme"] + p["sep"]
    if p["at"]:
        out += hide(p["user"], bool(_WORD.match(p["user"])))
        out += (":" + hide(p["password"], False, MASK)) if p["colon"] else ""
        out += "@"
    out += hide(p["host"], bool(_HOSTNAME.match(p["host"])))
    out += (":" + p["port"]) if p["port"] else ""
    if p["slash"]:
        out += "/" + "/".join(hide(seg, bool(_WORD.match(unquote(seg)))) for seg in p["path"].split("/"))
    if p["query"]:
        pairs = []
        for pair in p["query"].split("&"):
            key, eq, value = pair.partition("=")
            pairs.append(key + eq + hide(value, key.lower() in _SAFE_QUERY_KEYS, MASK))
        out += "?" + "&".join(pairs)
    if p["fragment"]:
        out += "#" + hide(p["fragment"], bool(_WORD.match(unquote(p["fragment"]))))
    if out != url.strip():
        hidden.add(url.strip())
    hidden |= {unquote(s) for s in hidden}
    return out, hidden


def mask_url(url: str) -> str:
    """The URL with its secrets masked: passwords, tokens in host or path, query values.

    Kept: the scheme, a user name that is a plain word, a host that is a DNS name or an IP,
    the port, path segments and fragments that are plain words (no digits), and the values of
    a few harmless query keys (format, method, api-version, ...). The rest shows at most its
    first two characters.
    """
    return _mask(url)[0]


def secret_parts(url: str) -> set[str]:
    """The substrings of a URL that mask_url hides (and their URL-decoded forms), 4+ chars."""
    return {s for s in _mask(url)[1] if len(s) >= 4}


class _LogGuard(logging.Filter):
    """Scrubs known URL secrets from Apprise's and urllib3's records; can silence Apprise.

    Installed once on those loggers. Apprise logs a URL it cannot parse verbatim and, at
    debug level, the URLs it posts to (a Slack webhook's path is its token). The quiet flag and
    the capture list are context variables, so concurrent activities do not see each other's.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("rebooter_notify_quiet", default=False)
        self.capture: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
            "rebooter_notify_capture", default=None)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        with self._lock:
            merged = set(self._secrets) | set(secrets)
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.quiet.get() and record.name.startswith("apprise"):
            return False
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to fix; drop its args
            message = str(record.msg)
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        captured = self.capture.get()
        if captured is not None and record.levelno >= logging.WARNING and record.name.startswith("apprise"):
            captured.append(clean)
        return True


_guard = _LogGuard()
_GUARDED_LOGGERS = ("apprise", "urllib3.connectionpool")


def _protect(url: str) -> None:
    """Register a URL's secrets and make sure the guard sits on the noisy loggers."""
    _guard.add_secrets(secret_parts(url))
    for name in _GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _guard not in logger.filters:
            logger.addFilter(_guard)


def redact(text: str) -> str:
    """Text with every registered URL secret replaced by the mask."""
    return _guard.redact(text)


@contextlib.contextmanager
def _apprise_quiet() -> Iterator[None]:
    token = _guard.quiet.set(True)
    try:
        yield
    finally:
        _guard.quiet.reset(token)


@contextlib.contextmanager
def _apprise_warnings() -> Iterator[list[str]]:
    captured: list[str] = []
    token = _guard.capture.set(captured)
    try:
        yield captured
    finally:
        _guard.capture.reset(token)


# ------------------------------------------------------------------------------------------
# Apprise
# ------------------------------------------------------------------------------------------


def _asset():
    import apprise

    return apprise.AppriseAsset(app_id="rebooter", app_desc="rebooter: AKS node reboots",
                                app_url="https://learn.microsoft.com/azure/aks/node-updates-kured")


def _load_plugin(url: str, extras: Mapping[str, str] | None = None):
    """The Apprise plugin for a URL, or None when Apprise cannot use it. Offline, quiet.

    ``extras`` become fields of a generic webhook's payload (json/form/xml), through the
    plugin's own ``payload`` argument (what ``:key=value`` in the URL would give).
    """
    import apprise
    from apprise.plugins import url_to_dict

    _protect(url)
    with _apprise_quiet():
        try:
            details = url_to_dict(url)
            if details is None:
                return None
            if extras and details.get("schema") in _WEBHOOK_SCHEMES:
                details["payload"] = {**extras, **(details.get("payload") or {})}
            return apprise.Apprise.instantiate(details, asset=_asset())
        except Exception:  # noqa: BLE001 - Apprise's parser failing is "not a usable URL"
            return None


# ------------------------------------------------------------------------------------------
# Rendering and sending
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    event: str
    event_id: str
    title: str
    body: str
    severity: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def format_duration(seconds: Any) -> str:
    """4m 07s, 1h 02m, 12s: how long, for a human."""
    try:
        total = float(seconds)
    except (TypeError, ValueError):
        return ""
    if total != total or total < 0:
        return ""
    whole = int(round(total))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


# Caller text (a cycle's reason, who cancelled and why) goes into every message. It must not be
# able to ping a channel or add a link. Apprise's Slack plugin turns `<!channel>`, `!channel>`,
# `&lt;!channel&gt;`, `<@user>`, `<url|text>` and bare `https://` URLs into Slack controls
# (apprise/plugins/slack.py, _re_channel_support/_re_user_id_support/_re_url_support; Slack's own
# rules: docs.slack.dev "Formatting text for app surfaces"), and Markdown makes `[text](url)` a
# link. So every value put into a template has these characters (`@` and `!` included, which
# start mentions) replaced by look-alikes and `://` broken; the template's own text is untouched.
_ZWSP = "\u200b"
_NEUTRAL = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "\uff06", "|": "\u00a6", "[": "\u27e6",
                          "]": "\u27e7", "@": "\uff20", "!": "\u01c3", "\r": " ", "\n": " ", "\t": " "})


def neutralize(text: str) -> str:
    """``text`` safe to place in a Slack/Teams/Markdown message: no mention, no link, one line."""
    text = "".join(ch if ch.isprintable() or ch in "\r\n\t" else " " for ch in text)
    return text.translate(_NEUTRAL).replace("://", ":" + _ZWSP + "//")


def placeholders(payload: Mapping[str, Any]) -> dict[str, str]:
    """The template values of an activity payload (missing fields are empty), neutralized."""
    return {key: neutralize(value) for key, value in _placeholders(payload).items()}


def _placeholders(payload: Mapping[str, Any]) -> dict[str, str]:
    cluster_id = _text(payload.get("cluster")).strip()
    try:
        cluster = names.parse_cluster_id(cluster_id).name
    except ValueError:
        cluster = cluster_id
    return {
        "cluster": cluster,
        "cluster_id": cluster_id,
        "node": _text(payload.get("node")),
        "pool": _text(payload.get("pool")),
        "reason": _text(payload.get("reason")),
        "instance_id": _text(payload.get("instanceId")),
        "step": _text(payload.get("step")),
        "result": _text(payload.get("result")),
        "patched": _text(payload.get("patched")),
        "failed": _text(payload.get("failed")),
        "skipped": _text(payload.get("skipped")),
        "total": _text(payload.get("total")),
        "duration": format_duration(payload.get("seconds")),
        "boot_id_before": _text(payload.get("bootIdBefore")),
        "boot_id_after": _text(payload.get("bootIdAfter")),
        "kernel_before": _text(payload.get("kernelBefore")),
        "kernel_after": _text(payload.get("kernelAfter")),
    }


# What $result means when the orchestrator leaves it out (the event itself says it).
_DEFAULT_RESULT = {"node_healthy": "patched", "node_failed": "failed", "cycle_halted": "halted",
                   "cycle_finished": "completed"}


def render(payload: Mapping[str, Any], cfg: Mapping[str, Any]) -> Message:
    """Title and markdown body of an event; the event id closes the body. ValueError if unusable."""
    if not isinstance(payload, Mapping):
        raise ValueError(f"expected a JSON object payload, got {type(payload).__name__}")
    name = payload.get("event")
    event = EVENTS.get(name) if isinstance(name, str) else None
    if event is None:
        raise ValueError(f"event: expected one of {', '.join(EVENTS)}, got {name!r}")
    values = placeholders(payload)
    values["result"] = values["result"] or _DEFAULT_RESULT.get(event.name, "")
    the_id = _text(payload.get("eventId")) or event_id(values["instance_id"], event.name, values["node"])
    template = cfg.get(template_key(event.name)) or event.body
    body = Template(template).safe_substitute(values).strip()
    title = Template(event.title).safe_substitute(values).strip()
    severity = event.severity
    if event.name == "cycle_finished" and values["failed"] not in ("", "0"):
        severity = "warning"
    return Message(event.name, the_id, title, f"{body}\n\nevent id: {the_id}", severity)


def send(message: Message, urls: Sequence[str]) -> dict[str, Any]:
    """Send to every URL, in order. Never raises: {"sent": n, "failed": [{"url", "error"}]}."""
    sent = 0
    failed: list[dict[str, str]] = []
    extras = {"eventId": message.event_id, "event": message.event}
    for url in urls:
        masked = mask_url(url)
        error = ""
        try:
            import apprise

            plugin = _load_plugin(url, extras)
            if plugin is None:
                error = "Apprise cannot use this URL"
            else:
                with _apprise_warnings() as warnings:
                    ok = plugin.notify(body=message.body, title=message.title,
                                       notify_type=apprise.NotifyType(message.severity),
                                       body_format=apprise.NotifyFormat.MARKDOWN)
                if not ok:
                    error = "; ".join(warnings) or "not delivered (the service refused it or did not answer)"
        except Exception as exc:  # noqa: BLE001 - a notification must never fail the cycle
            error = redact(f"{type(exc).__name__}: {exc}")
        if error:
            failed.append({"url": masked, "error": redact(error)[:500]})
            log.warning("notification %s (%s) not delivered to %s: %s", message.event_id, message.event, masked,
                        redact(error))
        else:
            sent += 1
            log.info("notification %s (%s) sent to %s", message.event_id, message.event, masked)
    return {"sent": sent, "failed": failed}


def configured_urls(cfg: Mapping[str, Any]) -> list[str]:
    """The real URLs behind the settings' masked ``notifyUrls``."""
    urls = cfg.get("notifyUrls") or []
    return list(getattr(urls, "secret_urls", urls))


def notify(payload: Mapping[str, Any], cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The activity's work: render the event, send it where the settings say. Never raises."""
    event_name = payload.get("event") if isinstance(payload, Mapping) else None
    the_id = _text(payload.get("eventId")) if isinstance(payload, Mapping) else ""
    result: dict[str, Any] = {"event": event_name, "eventId": the_id, "sent": 0, "failed": []}
    urls = configured_urls(cfg)
    if not urls:
        result["skipped"] = "notifications are off (REBOOTER_NOTIFY_URLS is empty)"
        return result
    try:
        message = render(payload, cfg)
    except Exception as exc:  # noqa: BLE001
        log.warning("notification not sent: %s", exc)
        result["failed"] = [{"url": "", "error": f"bad payload: {exc}"}]
        return result
    result["eventId"] = message.event_id
    if message.event not in (cfg.get("notifyEvents") or EVENTS):
        result["skipped"] = f"event {message.event} is not in REBOOTER_NOTIFY_EVENTS"
        return result
    result.update(send(message, urls))
    return result


