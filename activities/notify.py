"""The notify activity: tell operators about one event of a patch cycle (Slack, Teams, ...).

Payload: {"event": "cycle_started"|"node_draining"|"node_healthy"|"node_failed"|"cycle_halted"|
"cycle_finished", "eventId": str, "cluster": <AKS resource ID>, "instanceId": str, plus the
event's fields: node, pool, reason, result, step, total, patched, failed, skipped, seconds,
bootIdBefore, bootIdAfter, kernelBefore, kernelAfter}. rebooter.notify builds these.

Returns {"event", "eventId", "sent": n, "failed": [{"url": <masked>, "error"}]} and, when
nothing was attempted on purpose, "skipped": why. It never raises: a notification that cannot
be delivered is logged and reported, and the cycle goes on. A re-run sends again; the event id
(in the text and in generic webhook payloads) lets receivers drop the duplicate.
"""

from __future__ import annotations

import logging

from rebooter import clients
from rebooter import notify as notifications

log = logging.getLogger("rebooter.notify")


def notify(payload: dict) -> dict:
    try:
        cfg = clients.app_settings()
    except Exception as exc:  # noqa: BLE001 - invalid settings must not fail the cycle from here
        log.warning("notification not sent: the app settings cannot be loaded: %s", exc)
        return {"event": payload.get("event") if isinstance(payload, dict) else None,
                "eventId": payload.get("eventId", "") if isinstance(payload, dict) else "",
                "sent": 0, "failed": [{"url": "", "error": f"app settings: {exc}"}]}
    return notifications.notify(payload, cfg)
