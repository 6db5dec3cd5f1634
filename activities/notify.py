"""The notify activity: tell operators about one event of a patch cycle (Slack, Teams, ...).

Payload: {"settings": {notifyUrls (masked), notifyEvents, notifyTemplate<Event>}, "event": "cycle_started"|"node_draining"|"node_healthy"|"node_failed"|"cycle_halted"|
"cycle_finished", "eventId": str, "cluster": <AKS resource ID>, "instanceId": str, plus the
event's fields: node, pool, reason, result, step, total, patched, failed, skipped, seconds,
bootIdBefore, bootIdAfter, kernelBefore, kernelAfter}. rebooter.notify_events builds these.

Returns {"event", "eventId", "sent": n, "failed": [{"url": <masked>, "error"}]} and, when
nothing was attempted on purpose, "skipped": why. It never raises: a notification that cannot
be delivered is logged and reported, and the cycle goes on. A re-run sends again; the event id
(in the text and in generic webhook payloads) lets receivers drop the duplicate.
"""

from __future__ import annotations

import logging

from rebooter.arm import clients
from rebooter.notifications import send as notify_send

log = logging.getLogger("rebooter.notify")


def notify(payload: dict) -> dict:
    """The payload's ``settings`` (rebooter.config.settings.notify_settings: the cluster's masked URLs,
    events and this event's template) say what to send where; only the URLs' secrets are looked
    up, and only for URLs configured for this cluster."""
    event = payload.get("event") if isinstance(payload, dict) else None
    the_id = payload.get("eventId", "") if isinstance(payload, dict) else ""
    try:
        cfg = dict(payload["settings"])
        cfg["notifyUrls"] = clients.notify_urls(payload["cluster"], list(cfg.get("notifyUrls") or []))
    except Exception as exc:  # noqa: BLE001 - invalid settings must not fail the cycle from here
        log.warning("notification not sent: no usable settings: %s", exc)
        return {"event": event, "eventId": the_id, "sent": 0, "failed": [{"url": "", "error": f"settings: {exc}"}]}
    return notify_send.notify(payload, cfg)
