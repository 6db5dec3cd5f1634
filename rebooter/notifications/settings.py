"""Notification settings: REBOOTER_NOTIFY_URLS, _EVENTS and _TEMPLATE_*, parsed and checked.

URLs are checked by Apprise's own parser (offline), templates may only use the known
placeholders, so a typo stops the start instead of a message going silent. The parsed
``notifyUrls`` value is a ``NotifyUrls`` list of *masked* URLs (what JSON, and so the
orchestrators' input and the Durable history, see) that keeps the real ones in memory only, for
the activity of the same process. Apprise is imported only when URLs are set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from string import Template

from rebooter.notifications.events import EVENTS, PLACEHOLDERS
from rebooter.notifications.secrets import WORD, apprise_quiet, mask_url, protect

# The generic webhook schemes whose JSON/form/XML payload gets the event id as its own field.
_WEBHOOK_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}


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
    bad = [_describe_bad(url) for url in urls if load_plugin(url) is None]
    if bad:
        raise ValueError(
            f"not a notification URL Apprise can use: {', '.join(bad)} (expected Apprise URLs such as "
            "slack://..., workflows://... or the Teams workflow's https URL, mailto://..., json://host/path)"
        )
    return NotifyUrls(urls)


def _describe_bad(url: str) -> str:
    if "://" in url:
        return mask_url(url)
    return f"{url if WORD.match(url) else mask_url(url)} (no scheme://)"


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


def _asset():
    import apprise

    return apprise.AppriseAsset(app_id="rebooter", app_desc="rebooter: AKS node reboots",
                                app_url="https://learn.microsoft.com/azure/aks/node-updates-kured")


def load_plugin(url: str, extras: Mapping[str, str] | None = None):
    """The Apprise plugin for a URL, or None when Apprise cannot use it. Offline, quiet.

    ``extras`` become fields of a generic webhook's payload (json/form/xml), through the
    plugin's own ``payload`` argument (what ``:key=value`` in the URL would give).
    """
    import apprise
    from apprise.plugins import url_to_dict

    protect(url)
    with apprise_quiet():
        try:
            details = url_to_dict(url)
            if details is None:
                return None
            if extras and details.get("schema") in _WEBHOOK_SCHEMES:
                details["payload"] = {**extras, **(details.get("payload") or {})}
            return apprise.Apprise.instantiate(details, asset=_asset())
        except Exception:  # noqa: BLE001 - Apprise's parser failing is "not a usable URL"
            return None


def configured_urls(cfg: Mapping[str, object]) -> list[str]:
    """The real URLs behind the settings' masked ``notifyUrls``."""
    urls = cfg.get("notifyUrls") or []
    return list(getattr(urls, "secret_urls", urls))
