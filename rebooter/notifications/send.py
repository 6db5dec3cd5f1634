"""Sending a notification through Apprise: one message to every configured URL, each failure
recorded, nothing raised (a notification must never fail a patch cycle).

kured sends through shoutrrr, whose Teams support broke when Microsoft retired Office 365
connectors for Power Automate workflows (kured charts#106). We send through Apprise, which
speaks both (``workflows://`` and the workflow's own https URL) and many other services.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rebooter.notifications.events import EVENTS
from rebooter.notifications.render import Message, render, text
from rebooter.notifications.secrets import apprise_warnings, mask_url, redact
from rebooter.notifications.settings import configured_urls, load_plugin

log = logging.getLogger("rebooter.notify")


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

            plugin = load_plugin(url, extras)
            if plugin is None:
                error = "Apprise cannot use this URL"
            else:
                with apprise_warnings() as warnings:
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


def notify(payload: Mapping[str, Any], cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The activity's work: render the event, send it where the settings say. Never raises."""
    event_name = payload.get("event") if isinstance(payload, Mapping) else None
    the_id = text(payload.get("eventId")) if isinstance(payload, Mapping) else ""
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


