"""Notification URLs, events and templates per cluster (issue 11 item 4): the payload carries the
cluster's settings; the activity sends only to URLs configured for that cluster."""

from __future__ import annotations

import json

from activities.notify import notify as activity
from rebooter.config import settings
from rebooter.notifications import events as notify_events

SUB = "00000000-0000-0000-0000-000000000000"
A = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-a"
B = A.replace("aks-a", "aks-b")


def payload_for(cluster: str, reason: str = "CVE") -> dict:
    """What orchestrators/durable.notify sends for this cluster's cycle."""
    cfg = settings.for_cluster(settings.load(), cluster)
    event = notify_events.cycle_payload("cycle_started", cluster=cluster, instance_id=f"i-{cluster[-5:]}",
                                        reason=reason, counts={"total": 1})
    return {**event, "settings": settings.notify_settings(cfg, "cycle_started")}


def test_each_cluster_notifies_its_own_urls_with_its_own_template(receiver, app_env):
    overrides = {"aks-b": {"notifyUrls": receiver.url("json", "/b"), "notifyTemplateCycleStarted": "B: $reason"}}
    app_env(REBOOTER_CLUSTERS=f"{A} {B}", REBOOTER_NOTIFY_URLS=receiver.url("json", "/a"),
            REBOOTER_CLUSTER_OVERRIDES=json.dumps(overrides))
    assert activity(payload_for(A))["sent"] == 1
    assert activity(payload_for(B))["sent"] == 1
    assert len(receiver.json_bodies("/a")) == 1 and len(receiver.json_bodies("/b")) == 1
    assert receiver.json_bodies("/b")[0]["message"].startswith("B: CVE")


def test_a_payload_cannot_add_a_destination(receiver, app_env):
    app_env(REBOOTER_CLUSTERS=A, REBOOTER_NOTIFY_URLS=receiver.url("json", "/a"))
    forged = payload_for(A)
    forged["settings"]["notifyUrls"] = [receiver.url("json", "/elsewhere")]
    result = activity(forged)
    assert result["sent"] == 0 and receiver.requests == []
